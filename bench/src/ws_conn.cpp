// bench/src/ws_conn.cpp — the raw WebSocket client connection (see ws_conn.h).
#include "ws_conn.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace tandem::bench {

namespace {

enum Opcode : std::uint8_t { kContinuation = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9, kPong = 0xA };

constexpr std::size_t kReadChunk = 64 * 1024;

}  // namespace

std::optional<WsUrl> parse_ws_url(std::string_view url) {
  constexpr std::string_view kScheme = "ws://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  WsUrl out;
  out.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    out.port = std::atoi(std::string(authority.substr(colon + 1)).c_str());
    authority = authority.substr(0, colon);
  }
  out.host = authority == "localhost" ? "127.0.0.1" : std::string(authority);
  if (out.host.empty() || out.port <= 0 || out.port > 65535) return std::nullopt;
  return out;
}

WsConn::~WsConn() {
  if (fd_ >= 0) ::close(fd_);
}

bool WsConn::start(const sockaddr_in& address, const std::string& host_header, const std::string& path_and_query) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    failure_ = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // latency is what we measure
  state_ = State::Connecting;
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 && errno != EINPROGRESS) {
    fail(std::string("connect: ") + std::strerror(errno));
    return true;
  }
  // The key's value does not matter to the bench: the server's accept hash is not checked.
  outbound_ = "GET " + path_and_query + " HTTP/1.1\r\nHost: " + host_header +
              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\n\r\n";
  return true;
}

void WsConn::fail(std::string why) {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  failure_ = std::move(why);
  outbound_.clear();
}

void WsConn::queue_frame(std::uint8_t opcode, std::string_view payload) {
  static thread_local std::mt19937 rng(std::random_device{}());
  std::string frame;
  frame.reserve(payload.size() + 14);
  frame.push_back(static_cast<char>(0x80 | opcode));  // FIN: clients never fragment here
  const std::size_t n = payload.size();
  if (n < 126) {
    frame.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    frame.push_back(static_cast<char>(0x80 | 126));
    frame.push_back(static_cast<char>(n >> 8));
    frame.push_back(static_cast<char>(n & 0xFF));
  } else {
    frame.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) frame.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  const std::uint32_t key = rng();
  char mask[4];
  std::memcpy(mask, &key, 4);
  frame.append(mask, 4);
  for (std::size_t i = 0; i < n; ++i) frame.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
  outbound_ += frame;
}

void WsConn::send_text(std::string_view text) {
  if (state_ == State::Closed) return;
  queue_frame(kText, text);
}

void WsConn::on_writable() {
  if (state_ == State::Closed) return;
  if (state_ == State::Connecting) {
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return fail(std::string("connect: ") + std::strerror(error));
    state_ = State::Handshaking;
  }
  while (!outbound_.empty()) {
    const ssize_t n = ::send(fd_, outbound_.data(), outbound_.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return fail(std::string("send: ") + std::strerror(errno));
    }
    outbound_.erase(0, static_cast<std::size_t>(n));
  }
}

void WsConn::on_readable(const OnMessage& on_message) {
  if (state_ == State::Closed || state_ == State::Connecting) return;
  char buffer[kReadChunk];
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n == 0) return fail("server closed the TCP connection");
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return fail(std::string("recv: ") + std::strerror(errno));
    }
    inbound_.append(buffer, static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) < sizeof buffer) break;
  }
  if (state_ == State::Handshaking) {
    const std::size_t end = inbound_.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (!inbound_.starts_with("HTTP/1.1 101")) return fail("upgrade refused: " + inbound_.substr(0, inbound_.find('\r')));
    inbound_.erase(0, end + 4);
    state_ = State::Open;
  }
  parse_frames(on_message);
}

void WsConn::parse_frames(const OnMessage& on_message) {
  std::size_t at = 0;
  while (state_ == State::Open) {
    if (inbound_.size() - at < 2) break;
    const auto* p = reinterpret_cast<const unsigned char*>(inbound_.data() + at);
    const bool fin = (p[0] & 0x80) != 0;
    const std::uint8_t opcode = p[0] & 0x0F;
    std::uint64_t length = p[1] & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
      if (inbound_.size() - at < 4) break;
      length = (std::uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (length == 127) {
      if (inbound_.size() - at < 10) break;
      length = 0;
      for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
      header = 10;
    }
    if (inbound_.size() - at < header + length) break;
    const std::string_view payload(inbound_.data() + at + header, static_cast<std::size_t>(length));
    at += header + static_cast<std::size_t>(length);
    switch (opcode) {
      case kText:
      case kContinuation:
        bytes_received_ += payload.size();
        message_.append(payload);
        if (fin) {
          on_message(message_);
          message_.clear();
        }
        break;
      case kPing: queue_frame(kPong, payload); break;
      case kClose: {
        const int code = payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]) : 1005;
        close_code_ = code;
        fail("closed by server with " + std::to_string(code) + " " + std::string(payload.substr(std::min<std::size_t>(2, payload.size()))));
        break;
      }
      case kBinary:
      case kPong:
      default: break;
    }
  }
  inbound_.erase(0, at);
}

}  // namespace tandem::bench
