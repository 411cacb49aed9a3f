// lws_sse_transport.h — tandem::Transport over Server-Sent Events and POSTs (PROTOCOL.md §5.5)
// on the libwebsockets HTTP client, for native programs behind proxies that refuse WebSocket
// upgrades. The same messages as LwsTransport; only the carrier differs.
//
// open(url) takes the session's WebSocket URL (ws://host:port/prefix/ws?token=...) and reads
// the event stream at http://host:port/prefix/sse?token=... (wss -> https). on_open comes with
// the stream's first event; every message event is one on_message; `event: close` ends it with
// its code and reason. Frames given to send() go out in POSTs, one at a time, joined by "\n",
// numbered (?n=), with the URL's token as bearer; a POST whose answer was lost is sent again with
// the same number (the server answers 409 for one it already has). A stream that breaks
// without `close` is taken up again with Last-Event-ID within the server's resume_ms; when that
// fails, on_closed(1006) and the client core reconnects as after any lost connection.
//
// Threading and events as LwsTransport (lws_transport.h): one thread; events are delivered from
// poll(), never from open/send/close. Binary messages (Yjs) need a WebSocket: send_binary
// answers NotOpen.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "lws_transport.h"  // LwsLogLevel, TransportPhase
#include "tandem/clock.h"
#include "tandem/transport.h"

namespace tandem::native {

struct LwsSseTransportSettings {
  // Largest event (all its data lines) accepted; a bigger one ends the stream with 1009.
  std::size_t max_message_bytes = 16 * 1024 * 1024;
  // Seconds lws allows for a TCP connect, TLS and the answer's headers.
  int network_timeout_s = 20;
  // Attempts of one POST (its first send included) before the stream is given up (1006).
  int post_attempts = 4;
  LwsLogLevel log_level = LwsLogLevel::Errors;
  std::string ca_file;  // https only: as LwsTransportSettings::ca_file
};

class LwsSseTransport final : public tandem::Transport {
 public:
  explicit LwsSseTransport(LwsSseTransportSettings settings = {});
  ~LwsSseTransport() override;  // drops the stream and any POST at once; no events after this
  LwsSseTransport(const LwsSseTransport&) = delete;
  LwsSseTransport& operator=(const LwsSseTransport&) = delete;

  void open(const std::string& url, TransportEvents& events) override;
  SendStatus send(std::string_view frame) override;  // queued; NotOpen before on_open or after close()
  SendStatus send_binary(std::string_view) override { return SendStatus::NotOpen; }
  // Drops the stream and what was not yet POSTed; on_closed(code, reason) follows from poll().
  void close(int code, std::string_view reason) override;

  // As LwsTransport::poll / wake.
  std::size_t poll(Millis wait = Millis{0});
  void wake();
  TransportPhase phase() const;

  // The stream's id once open (tests and diagnostics), else empty.
  const std::string& stream_id() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::native
