// bench/src/core_transport.h — the client core's Transport (tandem/transport.h) on a WsConn,
// so that one epoll loop drives a thousand real tandem::Client instances — the reconnect,
// backoff with jitter, session resume and rejoin that browsers and native apps run — without
// an lws context per client (~30 KB and a service each).
//
// The loop owns the epoll set: it calls on_ready() for a transport's socket events and
// pump() once per pass, which reports what happened (open, messages, close) to the core on
// the loop's thread and keeps the socket's epoll interest current. Every report is made from
// the loop, never from inside a call the core made (open, send, close), so the core is never
// re-entered.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tandem/transport.h"
#include "ws_conn.h"

namespace tandem::bench {

class CoreTransport final : public tandem::Transport {
 public:
  explicit CoreTransport(int epoll_fd) : epoll_(epoll_fd) {}
  ~CoreTransport() override;

  // tandem::Transport
  void open(const std::string& url, TransportEvents& events) override;
  SendStatus send(std::string_view frame) override;
  SendStatus send_binary(std::string_view) override { return SendStatus::NotOpen; }  // the load is JSON
  void close(int code, std::string_view reason) override;

  // From the loop: the socket is readable and/or writable (epoll event bits).
  void on_ready(std::uint32_t events);
  // Once per loop pass: reports a close or a failed dial, and updates the epoll interest.
  void pump();

  std::uint64_t dials() const { return dials_; }  // open() calls so far

 private:
  void report_closed(int code, std::string_view reason);

  int epoll_;
  std::unique_ptr<WsConn> conn_;
  TransportEvents* events_ = nullptr;
  bool opened_ = false;            // on_open reported for this connection
  bool closing_ = false;           // close() asked: report on_closed at the next pump
  int closing_code_ = 1000;
  std::uint32_t interest_ = 0;     // what epoll watches for conn_'s socket
  std::uint64_t dials_ = 0;
};

}  // namespace tandem::bench
