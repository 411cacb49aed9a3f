// server/src/lws_socket_hooks.cpp — recv()/close() under libwebsockets: the wire guard and the
// close linger of lws_socket_hooks.h.
#include "lws_socket_hooks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>

#include "http_api.h"
#include "log.h"

namespace tandem::server::socket_hooks {

namespace {

// The system calls themselves: the hooks below replace libc's recv() and close() for the whole
// program, so they cannot call those.
ssize_t system_recv(int fd, void* buffer, std::size_t length, int flags) {
  return static_cast<ssize_t>(syscall(SYS_recvfrom, fd, buffer, length, flags, nullptr, nullptr));
}
int system_close(int fd) { return static_cast<int>(syscall(SYS_close, fd)); }

std::int64_t now_ms() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
}

struct Watched {
  WireGuard guard;
  bool check_bytes = true;
  bool ended = false;      // an HTTP refusal was answered: lws reads end of stream
  bool held = false;       // a frame refusal: lws reads nothing more until the edge closes
  bool lingering = false;  // lws closed it; we drain it until linger_until
  std::int64_t linger_until = 0;
};

constexpr std::size_t kMaxWatchedDescriptors = std::size_t{1} << 20;

// Made once by enable() and never freed: recv() and close() may run during exit, after static
// destructors, on any thread.
struct State {
  int linger_ms = 0;
  std::size_t capacity = 0;                         // descriptors below this can be watched
  std::unique_ptr<std::atomic<bool>[]> flags;       // "fd is watched": read by any thread
  std::vector<std::unique_ptr<Watched>> watched;    // the state: lws thread only
  std::vector<int> lingering;
  std::vector<FrameRefusal> refusals;
};
std::atomic<State*> g_state{nullptr};

State* state() { return g_state.load(std::memory_order_acquire); }

Watched* watched(int fd) {
  State* s = state();
  if (!s || fd < 0 || static_cast<std::size_t>(fd) >= s->capacity) return nullptr;
  if (!s->flags[static_cast<std::size_t>(fd)].load(std::memory_order_acquire)) return nullptr;
  return s->watched[static_cast<std::size_t>(fd)].get();
}

void unwatch(int fd) {
  State* s = state();
  s->flags[static_cast<std::size_t>(fd)].store(false, std::memory_order_release);
  s->watched[static_cast<std::size_t>(fd)].reset();
}

std::string peer_of(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  char text[INET6_ADDRSTRLEN] = "?";
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    if (address.ss_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&address)->sin_addr, text, sizeof text);
    else if (address.ss_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&address)->sin6_addr, text, sizeof text);
  }
  return text;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 426: return "Upgrade Required";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

const char* error_code(int status) {
  switch (status) {
    case 426: return "upgrade_required";
    case 431: return "header_too_large";
    case 501: return "not_implemented";
    default: return "bad_request";
  }
}

enum class Drain { PeerDone, MoreLater };

// Reads and drops what the peer sent, a bounded amount per call.
Drain drain(int fd) {
  static char scratch[64 * 1024];
  for (int round = 0; round < 16; ++round) {
    const ssize_t n = system_recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return Drain::MoreLater;
    return Drain::PeerDone;  // end of stream, or an error: nothing more will come
  }
  return Drain::MoreLater;
}

}  // namespace

void enable(int linger_ms) {
  if (state()) return;
  rlimit limit{};
  std::size_t capacity = 65536;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    capacity = static_cast<std::size_t>(limit.rlim_cur);
  auto* s = new State;  // never freed (see State)
  s->capacity = std::min(capacity, kMaxWatchedDescriptors);
  s->flags = std::make_unique<std::atomic<bool>[]>(s->capacity);
  s->watched.resize(s->capacity);
  s->linger_ms = linger_ms;
  g_state.store(s, std::memory_order_release);
}

void watch(int fd, bool check_bytes) {
  State* s = state();
  if (!s || fd < 0) return;
  if (static_cast<std::size_t>(fd) >= s->capacity) {
    LOG_WARN("descriptor %d is beyond the %zu the socket hooks watch: its bytes go unchecked", fd, s->capacity);
    return;
  }
  auto watched_socket = std::make_unique<Watched>();
  watched_socket->check_bytes = check_bytes;
  s->watched[static_cast<std::size_t>(fd)] = std::move(watched_socket);
  s->flags[static_cast<std::size_t>(fd)].store(true, std::memory_order_release);
}

void answer(int fd, const WireRefusal& refusal, std::string_view code) {
  const HttpResponse body = json_error(refusal.http_status, code, refusal.message);
  std::string reply = "HTTP/1.1 " + std::to_string(refusal.http_status) + " " + reason_phrase(refusal.http_status) +
                      "\r\ncontent-type: application/json\r\ncontent-length: " + std::to_string(body.body.size()) +
                      "\r\nconnection: close\r\n";
  if (!refusal.extra_header.empty()) reply += refusal.extra_header + "\r\n";
  reply += "\r\n" + body.body;
  [[maybe_unused]] const ssize_t sent = send(fd, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void end_connection(int fd) {
  if (Watched* w = watched(fd)) w->ended = true;
}

std::vector<FrameRefusal> take_frame_refusals() {
  std::vector<FrameRefusal> out;
  if (State* s = state()) out.swap(s->refusals);
  return out;
}

void drain_lingering() {
  State* s = state();
  if (!s || s->lingering.empty()) return;
  const std::int64_t now = now_ms();
  std::size_t kept = 0;
  for (int fd : s->lingering) {
    if (drain(fd) == Drain::MoreLater && now < s->watched[static_cast<std::size_t>(fd)]->linger_until) {
      s->lingering[kept++] = fd;
      continue;
    }
    unwatch(fd);
    system_close(fd);
  }
  s->lingering.resize(kept);
}

void close_lingering() {
  State* s = state();
  if (!s) return;
  for (int fd : s->lingering) {
    unwatch(fd);
    system_close(fd);
  }
  s->lingering.clear();
}

std::size_t lingering() {
  State* s = state();
  return s ? s->lingering.size() : 0;
}

}  // namespace tandem::server::socket_hooks

using namespace tandem::server::socket_hooks;

// The program's recv(): libwebsockets' reads of a client connection pass the wire guard.
extern "C" ssize_t recv(int fd, void* buffer, std::size_t length, int flags) {
  Watched* w = watched(fd);
  if (!w) return system_recv(fd, buffer, length, flags);
  if (w->ended) return 0;
  if (w->held) {
    errno = EAGAIN;
    return -1;
  }
  const ssize_t n = system_recv(fd, buffer, length, flags);
  if (n <= 0 || !w->check_bytes || (flags & MSG_PEEK)) return n;
  auto verdict = w->guard.feed(std::string_view(static_cast<const char*>(buffer), static_cast<std::size_t>(n)));
  if (!verdict.refusal) return n;
  if (verdict.refusal->http_status != 0) {
    LOG_INFO("refused a request from %s: %d %s", peer_of(fd).c_str(), verdict.refusal->http_status,
             verdict.refusal->message.c_str());
    answer(fd, *verdict.refusal, error_code(verdict.refusal->http_status));
    w->ended = true;
    return 0;
  }
  w->held = true;
  state()->refusals.push_back(FrameRefusal{fd, std::move(*verdict.refusal)});
  if (verdict.pass > 0) return static_cast<ssize_t>(verdict.pass);
  errno = EAGAIN;
  return -1;
}

// The program's close(): a client connection lingers (lws_socket_hooks.h, 2).
extern "C" int close(int fd) {
  Watched* w = watched(fd);
  if (!w) return system_close(fd);
  if (w->lingering) return 0;
  State* s = state();
  if (s->linger_ms <= 0) {
    unwatch(fd);
    return system_close(fd);
  }
  shutdown(fd, SHUT_WR);
  if (drain(fd) == Drain::PeerDone) {
    unwatch(fd);
    return system_close(fd);
  }
  w->lingering = true;
  w->linger_until = now_ms() + s->linger_ms;
  s->lingering.push_back(fd);
  return 0;
}
