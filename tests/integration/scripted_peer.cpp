// scripted_peer.cpp — the scripted WebSocket peer used by the transport tests.
#include "scripted_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace tandem::integration {
namespace {

constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr int kOpClose = 8;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

// Waits until `fd` is ready for `events` or the deadline passes.
void wait_ready(int fd, short events, Clock::time_point deadline, const char* what) {
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) fail(std::string("timed out waiting to ") + what);
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return;
    if (n < 0 && errno != EINTR) fail(std::string("poll failed while waiting to ") + what);
  }
}

std::string accept_key(std::string_view client_key) {
  std::string material(client_key);
  material += kWebSocketGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
  unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
}

std::string header_value(std::string_view request, std::string_view name) {
  // Case-insensitive search for "\r\n<name>:" — enough for a fixture talking to one client.
  for (std::size_t pos = request.find("\r\n"); pos != std::string_view::npos; pos = request.find("\r\n", pos + 2)) {
    std::string_view line = request.substr(pos + 2);
    line = line.substr(0, line.find("\r\n"));
    if (line.size() <= name.size() || line[name.size()] != ':') continue;
    if (strncasecmp(line.data(), name.data(), name.size()) != 0) continue;
    std::string_view value = line.substr(name.size() + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return std::string(value);
  }
  return {};
}

}  // namespace

void PeerConnection::write_all(std::string_view bytes) {
  const auto deadline = Clock::now() + kStepDeadline;
  while (!bytes.empty()) {
    wait_ready(fd_, POLLOUT, deadline, "write");
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      fail("send failed: " + std::string(std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string PeerConnection::read_exact(std::size_t n, Clock::time_point deadline) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    wait_ready(fd_, POLLIN, deadline, "read");
    const ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
    if (r == 0) fail("peer closed the TCP connection");
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      fail("recv failed: " + std::string(std::strerror(errno)));
    }
    got += static_cast<std::size_t>(r);
  }
  return out;
}

std::string PeerConnection::handshake() {
  const auto deadline = Clock::now() + kStepDeadline;
  std::string request;
  while (request.find("\r\n\r\n") == std::string::npos) {
    request += read_exact(1, deadline);
    if (request.size() > 16384) fail("upgrade request too long");
  }
  const std::string key = header_value(request, "Sec-WebSocket-Key");
  if (key.empty()) fail("upgrade request without Sec-WebSocket-Key");
  write_all("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: " + accept_key(key) + "\r\n\r\n");
  // "GET <target> HTTP/1.1"
  const std::size_t start = request.find(' ') + 1;
  return request.substr(start, request.find(' ', start) - start);
}

void PeerConnection::send_frame(int opcode, std::string_view payload, bool fin) {
  std::string frame;
  frame += static_cast<char>((fin ? 0x80 : 0x00) | (opcode & 0x0f));
  const std::size_t n = payload.size();
  if (n < 126) {
    frame += static_cast<char>(n);
  } else if (n <= 0xffff) {
    frame += static_cast<char>(126);
    frame += static_cast<char>((n >> 8) & 0xff);
    frame += static_cast<char>(n & 0xff);
  } else {
    frame += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8) frame += static_cast<char>((n >> shift) & 0xff);
  }
  frame += payload;
  write_all(frame);
}

void PeerConnection::send_close(int code, std::string_view reason) {
  std::string payload;
  payload += static_cast<char>((code >> 8) & 0xff);
  payload += static_cast<char>(code & 0xff);
  payload += reason;
  send_frame(kOpClose, payload);
}

PeerFrame PeerConnection::read_frame(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string head = read_exact(2, deadline);
  PeerFrame frame;
  frame.fin = (head[0] & 0x80) != 0;
  frame.opcode = head[0] & 0x0f;
  const bool masked = (head[1] & 0x80) != 0;
  std::uint64_t len = static_cast<unsigned char>(head[1]) & 0x7f;
  if (len == 126 || len == 127) {
    const std::string ext = read_exact(len == 126 ? 2 : 8, deadline);
    len = 0;
    for (char c : ext) len = (len << 8) | static_cast<unsigned char>(c);
  }
  const std::string mask = masked ? read_exact(4, deadline) : std::string(4, '\0');
  frame.payload = read_exact(static_cast<std::size_t>(len), deadline);
  for (std::size_t i = 0; i < frame.payload.size(); ++i) frame.payload[i] ^= mask[i % 4];
  return frame;
}

void PeerConnection::wait_for_disconnect(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char sink[4096];
  for (;;) {
    wait_ready(fd_, POLLIN, deadline, "see the client disconnect");
    const ssize_t r = ::recv(fd_, sink, sizeof sink, 0);
    if (r == 0) return;
    if (r < 0 && errno != EINTR && errno != EAGAIN) return;  // a reset is a disconnect too
  }
}

PeerConnection::~PeerConnection() { drop(); }

void PeerConnection::drop() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

ScriptedPeer::ScriptedPeer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) fail("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // the kernel picks a free port
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 4) != 0)
    fail("bind/listen failed");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

ScriptedPeer::~ScriptedPeer() {
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::string ScriptedPeer::url(std::string_view target) const {
  return "ws://127.0.0.1:" + std::to_string(port_) + std::string(target);
}

void ScriptedPeer::run(std::function<void(PeerConnection&)> script) {
  thread_ = std::thread([this, script = std::move(script)] {
    try {
      wait_ready(listen_fd_, POLLIN, Clock::now() + kStepDeadline, "accept");
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) fail("accept failed");
      PeerConnection connection(fd);  // closes the socket when the script ends
      script(connection);
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  });
}

std::string ScriptedPeer::finish() {
  if (thread_.joinable()) thread_.join();
  return error_;
}

}  // namespace tandem::integration
