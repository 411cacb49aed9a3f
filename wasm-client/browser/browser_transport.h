// wasm-client/browser/browser_transport.h — tandem::Transport on the browser's WebSocket, or on
// Server-Sent Events and POSTs (PROTOCOL.md §5.5).
//
// The only file pair in the repo that touches the browser's WebSocket. The event stream is a
// WebSocket look-alike written in JS (sse_socket.js: EventSource + fetch, everything §5.5 asks
// of a client), so one class drives both carriers, each opened with the ws(s):// URL the core
// gives (the event stream finds its http(s)://…/sse URL from it, as sse_url_of does). The client
// core drives it through the Transport interface; browser events (open, message, close)
// arrive as fresh JS tasks and are passed on to TransportEvents, so they never re-enter a core
// call.
//
// Contract (tandem/transport.h): exactly one on_closed per open().
//   - the browser closes the socket (server close frame, network failure) -> on_closed with
//     the browser's code and reason; a failed dial is reported by the browser as 1006;
//   - the socket cannot even be created (a URL the carrier refuses) -> on_closed(1006, ...)
//     on a later task;
//   - the core calls close() -> the socket is detached at once and on_closed reports the
//     code the core asked for, on a later task. It does not wait for the server's answer:
//     the core closes when the server has gone silent, and a browser waits up to a minute for
//     a close handshake that will never come.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tandem/transport.h"

namespace tandem::browser {

enum class Carrier { WebSocket, EventStream };

class BrowserTransport final : public Transport {
 public:
  explicit BrowserTransport(Carrier carrier = Carrier::WebSocket) : carrier_(carrier) {}
  ~BrowserTransport() override;  // closes the socket (code 1000); no events after this
  BrowserTransport(const BrowserTransport&) = delete;
  BrowserTransport& operator=(const BrowserTransport&) = delete;

  void open(const std::string& url, TransportEvents& events) override;
  SendStatus send(std::string_view frame) override;  // NotOpen unless the socket is OPEN
  // Binary messages (Yjs) go through tandem.mjs on the same WebSocket, outside the core (an
  // event stream carries none).
  SendStatus send_binary(std::string_view) override { return SendStatus::NotOpen; }
  void close(int code, std::string_view reason) override;

  // Browser callbacks (plain functions the JS side calls; public only for them).
  void handle_open();
  void handle_message(std::string_view text);
  void handle_browser_close(int code, std::string_view reason);
  void deliver_deferred_close();

 private:
  // A close the transport reports itself, one JS task later (see the header comment).
  struct DeferredClose {
    int code;
    std::string reason;
  };

  void schedule_close(int code, std::string_view reason);
  void detach_socket();  // drops the browser socket's handlers and our handle to it
  void cancel_deferred_close();

  static constexpr int kNoSocket = 0;  // socket ids start at 1
  static constexpr int kNoTimer = 0;

  Carrier carrier_;
  TransportEvents* events_ = nullptr;  // set by open(); the core outlives the transport's use
  int socket_ = kNoSocket;             // the live browser socket of the current open()
  std::optional<DeferredClose> deferred_close_;
  int deferred_timer_ = kNoTimer;
};

}  // namespace tandem::browser
