// lws_transport.h — tandem::Transport on the libwebsockets client, for native programs (the
// ImGui canvas on the desktop, tandem-agent, tandem-bench, integration tests).
//
// Threading: single-threaded. open/send/close and poll() are called from one thread, and every
// TransportEvents callback is delivered from inside poll() on that thread — never from inside
// open/send/close — so the client core may call back into the transport from its handlers.
// Only wake() may be called from another thread.
//
// Contents: LwsTransportSettings (tunables with defaults), LwsTransport (the transport),
// TransportPhase (what the current connection is doing, for tests and diagnostics).
// libwebsockets.h stays out of this header: lws_transport.cpp is the only client file that
// includes it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "tandem/clock.h"
#include "tandem/transport.h"

namespace tandem::native {

// How much lws writes to stderr. lws logs process-wide, so the last transport created wins.
enum class LwsLogLevel {
  Silent,    // nothing
  Errors,    // errors and warnings (default): failed dials are reported through on_closed anyway
  Verbose,   // everything lws says at notice level, for debugging handshakes
};

struct LwsTransportSettings {
  // Largest message accepted from the server after fragments are joined. A bigger one closes the
  // connection with 1009. Generous on purpose: room snapshots and history can be large; this
  // bound exists only so a broken server cannot grow our memory without limit.
  std::size_t max_message_bytes = 16 * 1024 * 1024;
  // lws_service rounds per poll(). One round reads about 4 KiB (LWS-NOTES §8), so 256 rounds
  // drain about 1 MiB per call — more than a UI frame needs — while still bounding how long a
  // single poll() can take when the server streams faster than we read.
  int max_service_rounds_per_poll = 256;
  // Seconds lws allows for a TCP connect, TLS, the upgrade handshake, and the close handshake.
  // The client core has its own (shorter) connect timeout; this is the backstop.
  int network_timeout_s = 20;
  // After close(): how long to wait for the server's answering close frame before reporting
  // on_closed anyway and dropping the socket. The client core needs on_closed promptly even
  // when the server has gone silent (that is often why it closes), so this is short; a
  // healthy server answers within a round trip.
  Millis close_timeout{1000};
  LwsLogLevel log_level = LwsLogLevel::Errors;
  // wss:// only: a PEM file of certificates to trust besides the system's store
  // (/etc/ssl/certs), e.g. a private CA or a server's self-signed certificate. Empty: the
  // system store alone. The server's certificate must also name the URL's host (DNS name or IP
  // address); a failed check ends the dial with on_closed(1006, "connect failed: TLS: ...").
  std::string ca_file;
};

// What the current connection (the one the last open() started) is doing.
enum class TransportPhase {
  Idle,        // no open() yet, or the last connection's on_closed is queued or delivered
  Connecting,  // dialling / handshaking
  Open,        // handshake done; send() works
  Closing,     // close() was called or a close frame arrived; on_closed will follow
};

class LwsTransport final : public tandem::Transport {
 public:
  explicit LwsTransport(LwsTransportSettings settings = {});
  // Drops any connection at once (no close handshake) and delivers no further events.
  ~LwsTransport() override;
  LwsTransport(const LwsTransport&) = delete;
  LwsTransport& operator=(const LwsTransport&) = delete;

  // Starts dialling `url` (ws:// or wss://). Every outcome, including an unparsable URL, a
  // failed dial or an untrusted certificate (code 1006, the reason says which), is reported
  // through `events` from a later poll(); exactly one
  // on_closed follows each open(). Calling open() while a connection is still alive drops that
  // connection first; its on_closed(1006, "replaced by a new connection") is delivered before
  // any event of the new one.
  void open(const std::string& url, TransportEvents& events) override;

  // Queues one text frame; it goes out when the socket is writable (during poll()). NotOpen
  // before on_open, after close(), or once the connection is gone.
  SendStatus send(std::string_view frame) override;
  // The same for one binary message.
  SendStatus send_binary(std::string_view message) override;

  // Starts the close handshake with `code` (1000 or 3000-4999) and `reason` (cut to the 123
  // bytes a close frame allows). Frames queued before it are sent first. Messages arriving
  // after close() are dropped, as a browser does. on_closed carries `code` unless the server
  // closed first. Closing while still dialling abandons the dial. No-op when nothing is open.
  // on_closed follows within settings.close_timeout even if the server never answers.
  void close(int code, std::string_view reason) override;

  // Services the socket, then delivers every pending event on this thread. With wait > 0 it
  // first blocks up to `wait` for network activity (or wake()) when nothing is pending — tools
  // use that instead of sleeping; a UI calls poll() with no wait once per frame. Returns the
  // number of events delivered. Never call it from inside one of its own events.
  std::size_t poll(Millis wait = Millis{0});

  // Makes a poll() that is waiting return early. The only call that is safe from other
  // threads — but not while open() runs (the first open(), and a first wss:// URL after ws://
  // ones, create the lws context).
  void wake();

  TransportPhase phase() const;

  // Bytes queued by send() and not yet handed to the socket (the current connection).
  std::size_t queued_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::native
