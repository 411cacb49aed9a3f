// core_transport.cpp — the client core's Transport on a WsConn (core_transport.h).
#include "core_transport.h"

#include <arpa/inet.h>
#include <sys/epoll.h>

namespace tandem::bench {

CoreTransport::~CoreTransport() = default;  // closing the socket takes it out of the epoll set

void CoreTransport::open(const std::string& url, TransportEvents& events) {
  events_ = &events;
  opened_ = false;
  closing_ = false;
  interest_ = 0;
  ++dials_;
  conn_ = std::make_unique<WsConn>();
  const auto parsed = parse_ws_url(url);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (parsed) address.sin_port = htons(static_cast<std::uint16_t>(parsed->port));
  if (!parsed || inet_pton(AF_INET, parsed->host.c_str(), &address.sin_addr) != 1 ||
      !conn_->start(address, parsed->host + ":" + std::to_string(parsed->port), parsed->path))
    return;  // Closed at once: pump() reports 1006
  epoll_event ev{};
  ev.data.ptr = this;
  ev.events = interest_ = EPOLLIN | EPOLLOUT;
  epoll_ctl(epoll_, EPOLL_CTL_ADD, conn_->fd(), &ev);
}

SendStatus CoreTransport::send(std::string_view frame) {
  if (!conn_ || !opened_ || closing_ || conn_->state() != WsConn::State::Open) return SendStatus::NotOpen;
  conn_->send_text(frame);
  return SendStatus::Sent;
}

void CoreTransport::close(int code, std::string_view) {
  if (!conn_ || closing_) return;
  closing_ = true;
  closing_code_ = code;
}

void CoreTransport::on_ready(std::uint32_t events) {
  if (!conn_ || closing_) return;
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) conn_->on_writable();
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    conn_->on_readable([&](std::string_view text) {
      if (!opened_) {
        opened_ = true;
        events_->on_open();
      }
      if (!closing_) events_->on_message(text);
    });
  }
  // The upgrade answered and nothing else arrived with it: open now.
  if (conn_ && !opened_ && !closing_ && conn_->state() == WsConn::State::Open) {
    opened_ = true;
    events_->on_open();
  }
}

void CoreTransport::pump() {
  if (!conn_) return;
  if (closing_) return report_closed(closing_code_, "closed by the client");
  if (conn_->state() == WsConn::State::Closed) return report_closed(conn_->close_code(), conn_->failure());
  const std::uint32_t wanted = EPOLLIN | (conn_->wants_write() ? EPOLLOUT : 0u);
  if (wanted == interest_) return;
  interest_ = wanted;
  epoll_event ev{};
  ev.data.ptr = this;
  ev.events = wanted;
  epoll_ctl(epoll_, EPOLL_CTL_MOD, conn_->fd(), &ev);
}

void CoreTransport::report_closed(int code, std::string_view reason) {
  const std::string why(reason);
  conn_.reset();  // its socket leaves the epoll set as it closes
  if (TransportEvents* events = events_) events->on_closed(code, why);  // may open() again
}

}  // namespace tandem::bench
