// wasm-client/canvas/platform.h — the one place where the desktop and browser canvas differ:
// which transport carries the connection, and who runs the frame loop.
//
//   desktop  NetworkTransport is the libwebsockets client, which delivers events only from
//            inside its poll(). run_frame_loop() is a plain loop paced to kMaxFramesPerSecond
//            (vsync is absent under Xvfb and on some drivers; unpaced, the loop would spin a
//            core), and it spends the time between frames in poll(), so network events are
//            handled — and a pong timed — when they arrive, not at the next frame.
//   browser  NetworkTransport is the browser's WebSocket; its events arrive as JS tasks
//            between frames, with nothing to pump. A blocking loop would freeze the tab, so the
//            browser calls the frame once per animation frame (emscripten_set_main_loop) and
//            run_frame_loop() never returns: simulate_infinite_loop unwinds main() without
//            running destructors, so the locals the frame captured by reference stay alive.
//            Cleanup after the loop never runs.
//
// finish_closing(transport): after close(), lets the close handshake complete before exit.
#pragma once

#include <functional>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>

#include "browser_transport.h"
#else
#include <algorithm>
#include <chrono>
#include <thread>

#include "lws_transport.h"
#endif

namespace canvas {

enum class FrameStatus {
  Continue,  // draw another frame
  Stop,      // leave the loop (desktop: run_frame_loop returns; browser: the loop is cancelled)
};

using FrameFunction = std::function<FrameStatus()>;

#ifdef __EMSCRIPTEN__

using NetworkTransport = tandem::browser::BrowserTransport;  // the WebSocket carrier

inline FrameFunction& browser_frame() {
  static FrameFunction frame;
  return frame;
}

inline void run_frame_loop(NetworkTransport& /*events arrive on their own*/, FrameFunction frame) {
  browser_frame() = std::move(frame);
  constexpr int kUseRequestAnimationFrame = 0;  // as "frames per second"
  constexpr bool kSimulateInfiniteLoop = true;
  emscripten_set_main_loop(
      [] {
        if (browser_frame()() == FrameStatus::Stop) emscripten_cancel_main_loop();
      },
      kUseRequestAnimationFrame, kSimulateInfiniteLoop);
}

inline void finish_closing(NetworkTransport& /*the browser completes it on its own*/) {}

#else

using NetworkTransport = tandem::native::LwsTransport;

inline constexpr int kMaxFramesPerSecond = 60;

inline void run_frame_loop(NetworkTransport& transport, const FrameFunction& frame) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kFrameBudget = std::chrono::microseconds(1'000'000 / kMaxFramesPerSecond);
  auto next_frame = Clock::now();
  while (frame() == FrameStatus::Continue) {
    next_frame = std::max(next_frame + kFrameBudget, Clock::now());  // never catch up in a burst
    // At least one non-blocking poll per frame: a frame slower than the budget (a 500-node
    // graph under software GL takes 20-40 ms) leaves no time below, and without this the
    // connection starved — no pongs read, a heartbeat timeout, dials that never completed.
    transport.poll(tandem::Millis{0});
    for (auto now = Clock::now(); now < next_frame; now = Clock::now()) {
      // Without a live connection poll() may return at once instead of waiting (no lws context
      // yet), so it only delivers what is queued (a failed dial's on_closed) and we sleep.
      const bool connection_alive = transport.phase() != tandem::native::TransportPhase::Idle;
      transport.poll(connection_alive ? std::chrono::ceil<tandem::Millis>(next_frame - now)
                                      : tandem::Millis{0});
      if (!connection_alive) std::this_thread::sleep_until(next_frame);
    }
  }
}

// Pumps the transport until its on_closed has been delivered. The transport's own close
// timeout (1 s by default) bounds this when the server does not answer.
inline void finish_closing(NetworkTransport& transport) {
  constexpr tandem::Millis kPollSlice{50};
  while (transport.phase() != tandem::native::TransportPhase::Idle) transport.poll(kPollSlice);
}

#endif

}  // namespace canvas
