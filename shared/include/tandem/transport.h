// tandem/transport.h — the only thing the client core knows about sockets.
//
// A Transport carries text frames to one server — Tandem's JSON protocol — and binary ones:
// Yjs documents over the same connection (PROTOCOL.md §19). Implementations: the libwebsockets client
// (native), the browser WebSocket (Emscripten), and fakes in tests. The core calls open(),
// send() and close(); the transport reports back through TransportEvents, always on the
// core's thread (drivers pump their I/O and deliver events from their own loop).
#pragma once

#include <string>
#include <string_view>

namespace tandem {

// What a transport reports. Exactly one on_closed follows every open(), whether the
// connection was established or not (a failed dial reports on_closed with 1006).
class TransportEvents {
 public:
  virtual ~TransportEvents() = default;
  virtual void on_open() = 0;
  virtual void on_message(std::string_view frame) = 0;
  // A binary message (Yjs, Hocuspocus framing). Ignored unless the owner wants them.
  virtual void on_binary(std::string_view) {}
  virtual void on_closed(int code, std::string_view reason) = 0;
};

enum class SendStatus {
  Sent,     // handed to the socket (or its buffer)
  NotOpen,  // no open connection; nothing was sent
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Starts connecting to `url` (ws://host:port/ws?token=...). Reports through `events`.
  virtual void open(const std::string& url, TransportEvents& events) = 0;
  // Sends one text frame.
  virtual SendStatus send(std::string_view frame) = 0;
  // Sends one binary message. The browser transport has none (its binary messages go through
  // tandem.mjs, outside the core): NotOpen there.
  virtual SendStatus send_binary(std::string_view message) = 0;
  // Starts a close handshake with `code`; on_closed follows.
  virtual void close(int code, std::string_view reason) = 0;
};

}  // namespace tandem
