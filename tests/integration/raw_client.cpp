// raw_client.cpp — the byte-exact HTTP/WebSocket test client of raw_client.h.
#include "raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

namespace tandem::integration {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::optional<std::size_t> frame_size(std::string_view bytes, RawFrame* out) {
  if (bytes.size() < 2) return std::nullopt;
  const auto b0 = static_cast<unsigned char>(bytes[0]);
  const auto b1 = static_cast<unsigned char>(bytes[1]);
  std::size_t pos = 2;
  std::uint64_t length = b1 & 0x7f;
  if (length == 126) {
    if (bytes.size() < 4) return std::nullopt;
    length = (std::uint64_t{static_cast<unsigned char>(bytes[2])} << 8) | static_cast<unsigned char>(bytes[3]);
    pos = 4;
  } else if (length == 127) {
    if (bytes.size() < 10) return std::nullopt;
    length = 0;
    for (int k = 2; k < 10; ++k) length = (length << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(k)]);
    pos = 10;
  }
  const bool masked = (b1 & 0x80) != 0;  // servers never mask; tolerated for completeness
  std::string mask;
  if (masked) {
    if (bytes.size() < pos + 4) return std::nullopt;
    mask = std::string(bytes.substr(pos, 4));
    pos += 4;
  }
  if (bytes.size() < pos + length) return std::nullopt;
  out->opcode = b0 & 0x0f;
  out->fin = (b0 & 0x80) != 0;
  out->payload = std::string(bytes.substr(pos, static_cast<std::size_t>(length)));
  if (masked)
    for (std::size_t i = 0; i < out->payload.size(); ++i) out->payload[i] ^= mask[i % 4];
  return pos + static_cast<std::size_t>(length);
}

}  // namespace

std::string RawHttpResponse::header(std::string_view name) const {
  const std::string wanted = lower(name);
  for (const auto& [key, value] : headers)
    if (key == wanted) return value;
  return {};
}

int RawFrame::close_code() const {
  if (opcode != 8 || payload.size() < 2) return 1005;
  return (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
}

std::string RawFrame::close_reason() const { return payload.size() > 2 ? payload.substr(2) : std::string(); }

RawClient::RawClient(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawClient::~RawClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(kStepDeadline.count())) <= 0) return false;
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string RawClient::upgrade_request(std::string_view target, std::string_view extra, std::string_view version) {
  std::string request = "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  if (!version.empty()) request += "Sec-WebSocket-Version: " + std::string(version) + "\r\n";
  request += std::string(extra) + "\r\n";
  return request;
}

RawHttpResponse RawClient::upgrade(std::string_view target, std::string_view extra, milliseconds timeout) {
  if (!send(upgrade_request(target, extra))) return {};
  return read_response(timeout);
}

bool RawClient::fill(Clock::time_point deadline) {
  if (ending_ != RawEnding::StillOpen) return false;
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(left));
  if (ready <= 0) return false;
  char chunk[64 * 1024];
  const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n > 0) {
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  if (n == 0) {
    ending_ = RawEnding::Fin;
  } else if (errno == ECONNRESET) {
    ending_ = RawEnding::Reset;
  } else if (errno == EINTR || errno == EAGAIN) {
    return true;
  } else {
    ending_ = RawEnding::Reset;
  }
  return false;
}

RawHttpResponse RawClient::read_response(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  RawHttpResponse response;
  std::size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(deadline)) return response;
  const std::string head = buffer_.substr(0, head_end);
  buffer_.erase(0, head_end + 4);
  const std::size_t first_space = head.find(' ');
  if (first_space == std::string::npos) return response;
  response.status = std::atoi(head.c_str() + first_space + 1);
  for (std::size_t pos = head.find("\r\n"); pos != std::string::npos;) {
    const std::size_t next = head.find("\r\n", pos + 2);
    const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    if (const std::size_t colon = line.find(':'); colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      response.headers.emplace_back(lower(line.substr(0, colon)), value);
    }
    pos = next;
  }
  if (response.status == 101) return response;  // frames follow, not a body
  const std::string length_text = response.header("content-length");
  const std::size_t length = length_text.empty() ? 0 : std::stoul(length_text);
  while (buffer_.size() < length)
    if (!fill(deadline)) break;
  response.body = buffer_.substr(0, std::min(length, buffer_.size()));
  buffer_.erase(0, response.body.size());
  return response;
}

std::string RawClient::frame(int opcode, std::string_view payload, bool masked, bool fin) {
  std::string out;
  out += static_cast<char>((fin ? 0x80 : 0) | (opcode & 0x0f));
  const unsigned char mask_bit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    out += static_cast<char>(mask_bit | payload.size());
  } else if (payload.size() < 65536) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>((payload.size() >> 8) & 0xff);
    out += static_cast<char>(payload.size() & 0xff);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((payload.size() >> shift) & 0xff);
  }
  if (!masked) return out + std::string(payload);
  static thread_local std::mt19937 random{std::random_device{}()};
  char mask[4];
  for (char& m : mask) m = static_cast<char>(random() & 0xff);
  out.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ mask[i % 4]);
  return out;
}

std::optional<RawFrame> RawClient::read_frame(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    RawFrame frame;
    if (auto used = frame_size(buffer_, &frame)) {
      buffer_.erase(0, *used);
      frames_.push_back(frame);
      return frame;
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

std::optional<RawFrame> RawClient::read_until_close(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto frame = read_frame(left);
    if (!frame) return std::nullopt;
    if (frame->opcode == 8) return frame;
  }
}

bool RawClient::wait_for_text(std::string_view needle, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (buffer_.find(needle) == std::string::npos)
    if (!fill(deadline)) return buffer_.find(needle) != std::string::npos;
  return true;
}

RawEnding RawClient::wait_end(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (fill(deadline)) {
  }
  return ending_;
}

}  // namespace tandem::integration
