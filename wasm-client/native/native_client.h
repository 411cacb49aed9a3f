// native_client.h — the client core wired to the libwebsockets transport and a steady clock,
// for native programs: the desktop ImGui canvas calls poll() once per frame, tools and tests
// call poll(wait) in a loop. Everything runs on the calling thread.
//
// Use:
//   tandem::native::NativeClient nc({.session = {.url = "ws://127.0.0.1:8080/ws", .token = jwt}});
//   nc.client().on_state = [](const tandem::StateChange& c) { ... };
//   nc.start();
//   while (running) nc.poll(std::chrono::milliseconds{50});   // or nc.poll() in a UI frame
//   nc.shutdown();
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "lws_sse_transport.h"
#include "lws_transport.h"
#include "tandem/client.h"
#include "tandem/fallback_transport.h"
#include "tandem/clock.h"

namespace tandem::native {

// What carries the session (PROTOCOL.md §5.5).
enum class Carrier {
  WebSocket,         // LwsTransport only
  ServerSentEvents,  // LwsSseTransport only: an event stream and POSTs
  Automatic,         // a WebSocket, and SSE where upgrades do not get through (FallbackTransport)
};

class NativeClient {
 public:
  // `seed` drives backoff jitter; by default it comes from std::random_device so that many
  // clients restarted together do not retry in lockstep.
  explicit NativeClient(ClientConfig config, LwsTransportSettings transport_settings = {});
  NativeClient(ClientConfig config, LwsTransportSettings transport_settings, std::uint64_t seed,
               Carrier carrier = Carrier::WebSocket);
  NativeClient(ClientConfig config, LwsTransportSettings transport_settings, Carrier carrier);
  NativeClient(const NativeClient&) = delete;
  NativeClient& operator=(const NativeClient&) = delete;

  Client& client() { return client_; }
  LwsTransport& transport() { return transport_; }
  LwsSseTransport& sse_transport() { return sse_transport_; }
  Carrier carrier() const { return carrier_; }
  // What carries the connection now: "websocket" or "sse" ("" between attempts).
  std::string_view carrier_in_use() const;

  // Driver time: milliseconds of the steady clock since this object was made.
  Millis now() const;

  void start();  // connect (client().start(now()))
  void stop();   // client().stop(); keep polling (or call shutdown) to finish the close handshake

  // Runs the client's timers, services the socket (waiting up to `wait` for activity when
  // nothing is pending), delivers its events to the client, and runs the timers again.
  // Returns the number of transport events delivered. Do not call it from a client callback.
  std::size_t poll(Millis wait = Millis{0});

  // Polls in steps of `step` until `done` holds or `timeout` passes; returns done().
  bool poll_until(const std::function<bool()>& done, Millis timeout, Millis step = Millis{20});

  // stop(), then polls until the transport has reported the close (at most the transport's
  // close_timeout, bounded again by `timeout`). For tools about to exit.
  void shutdown(Millis timeout = Millis{2000});

 private:
  TransportPhase phase() const;
  Transport& chosen_transport();  // what carrier_ names, for client_

  std::chrono::steady_clock::time_point origin_;
  Carrier carrier_;
  LwsTransport transport_;
  LwsSseTransport sse_transport_;
  FallbackTransport fallback_;  // over both: what Carrier::Automatic connects through
  SeededRng rng_;
  Client client_;  // last: it refers to the transport and rng_, and closes through them when destroyed
};

}  // namespace tandem::native
