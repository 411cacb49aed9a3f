// model_stream.cpp — the HTTP/1.0 POST of model_stream.h: a plain non-blocking socket, polled
// in short steps — the dial, the request and the answer — so cancel() and the deadline are
// noticed; the body is appended as it arrives.
#include "model_stream.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>

namespace tandem::bot {

namespace {

constexpr std::size_t kMaxHeadBytes = 16 * 1024;
constexpr int kPollStepMs = 50;

struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

using Clock = std::chrono::steady_clock;

// Waits until `fd` is ready for `events`, in kPollStepMs steps so that a cancel or the
// deadline is noticed: true once ready, false when cancelled or past the deadline.
bool wait_for(int fd, short events, Clock::time_point deadline, const std::atomic<bool>& cancelled) {
  while (!cancelled.load() && Clock::now() < deadline) {
    pollfd ready{fd, events, 0};
    if (::poll(&ready, 1, kPollStepMs) > 0) return true;
  }
  return false;
}

// A connected non-blocking socket to the endpoint, trying each of its addresses until one
// answers — each dial bounded by the deadline and the cancel (a model host that drops SYNs
// would otherwise hold the reply for the kernel's ~2 minutes of retries). The name lookup
// itself is the system's (getaddrinfo), not bounded here.
bool connect_to(const ModelEndpoint& endpoint, Socket& socket, Clock::time_point deadline,
                const std::atomic<bool>& cancelled) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(endpoint.host.c_str(), endpoint.port.c_str(), &hints, &found) != 0) return false;
  for (addrinfo* a = found; a; a = a->ai_next) {
    socket.fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (socket.fd < 0) continue;
    if (::connect(socket.fd, a->ai_addr, a->ai_addrlen) == 0) break;
    if (errno == EINPROGRESS && wait_for(socket.fd, POLLOUT, deadline, cancelled)) {
      int error = 0;
      socklen_t size = sizeof error;
      if (::getsockopt(socket.fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0) break;
    }
    ::close(socket.fd);
    socket.fd = -1;
  }
  freeaddrinfo(found);
  return socket.fd >= 0;
}

// Sends all of `data` on the non-blocking socket, within the deadline: false otherwise.
bool send_all(int fd, const std::string& data, Clock::time_point deadline, const std::atomic<bool>& cancelled) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd, POLLOUT, deadline, cancelled)) return false;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<ModelEndpoint> parse_model_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme))
    return Error{"usage", "--model-url must be an http:// URL (no TLS: run the model service beside the bot), got \"" + url + "\""};
  ModelEndpoint endpoint;
  std::string rest = url.substr(kScheme.size());
  if (const auto slash = rest.find('/'); slash != std::string::npos) {
    endpoint.path = rest.substr(slash);
    rest.resize(slash);
  }
  if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    endpoint.port = rest.substr(colon + 1);
    rest.resize(colon);
  }
  endpoint.host = rest;
  if (endpoint.host.empty() || endpoint.port.empty() ||
      endpoint.port.find_first_not_of("0123456789") != std::string::npos)
    return Error{"usage", "--model-url needs http://host[:port][/path], got \"" + url + "\""};
  return endpoint;
}

ModelStream::ModelStream(ModelEndpoint endpoint, std::string body, int timeout_ms)
    : thread_([this, endpoint = std::move(endpoint), body = std::move(body), timeout_ms]() mutable {
        run(std::move(endpoint), std::move(body), timeout_ms);
      }) {}

ModelStream::~ModelStream() {
  cancel();
  if (thread_.joinable()) thread_.join();
}

std::string ModelStream::text() const {
  std::lock_guard lock(mutex_);
  return text_;
}

void ModelStream::append(const std::string& more) {
  std::lock_guard lock(mutex_);
  text_ += more;
}

void ModelStream::run(ModelEndpoint endpoint, std::string body, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  Socket socket;
  if (!connect_to(endpoint, socket, deadline, cancelled_)) {
    if (!cancelled_.load())
      append("(the model at " + endpoint.host + ":" + endpoint.port +
             (Clock::now() >= deadline ? " did not answer in time)" : " could not be reached)"));
    finished_.store(true);
    return;
  }
  const std::string request = "POST " + endpoint.path + " HTTP/1.0\r\nHost: " + endpoint.host + ":" + endpoint.port +
                              "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                              "\r\n\r\n" + body;
  send_all(socket.fd, request, deadline, cancelled_);  // a failed send shows in the answer (none)
  std::string head;  // status line and headers, until the blank line
  bool in_body = false;
  char buffer[4096];
  while (!cancelled_.load()) {
    if (Clock::now() >= deadline) {
      append(" (the model took too long)");
      break;
    }
    pollfd readable{socket.fd, POLLIN, 0};
    if (::poll(&readable, 1, kPollStepMs) <= 0) continue;
    const ssize_t n = ::recv(socket.fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    if (n <= 0) break;  // the answer is complete (HTTP/1.0: the server closes)
    std::string chunk(buffer, static_cast<std::size_t>(n));
    if (in_body) {
      append(chunk);
      continue;
    }
    head += chunk;
    const auto end = head.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (head.size() > kMaxHeadBytes) break;
      continue;
    }
    in_body = true;
    const bool ok = head.size() > 9 && head.compare(0, 5, "HTTP/") == 0 && head[9] == '2';
    if (!ok) {
      append("(the model answered " + head.substr(0, head.find("\r\n")) + ")");
      break;
    }
    append(head.substr(end + 4));
  }
  finished_.store(true);
}

}  // namespace tandem::bot
