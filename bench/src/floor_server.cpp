// bench/src/floor_server.cpp — tandem-floor, the least a WebSocket server can do for the race:
// what fanning out costs on this machine before any server's own work (issue 15).
//
// Same room semantics as bench/peers/ws-peer.mjs (a client sends {"type":"join","room"},
// answered {"type":"joined","room"}; then each {"type":"msg",...} goes, as the same text, to
// every member of its room, the sender included), done with nothing a real server needs: one
// thread, one epoll loop, no JSON parsing (the type is found by its prefix), no allocation per
// message, no limits, no auth. A pass reads every readable socket and appends each message,
// framed once, to every member's output buffer; then every touched connection is written with
// one send() — the fewest syscalls a server on one thread can make. What it costs is the
// kernel's loopback TCP path, which every server in the race pays too.
//
//   tandem-floor [PORT]     (default 0: any free port) — prints "floor ready on port N"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "peer_protocol.h"

namespace {

namespace bench = tandem::bench;

struct Conn {
  int fd = -1;
  bool upgraded = false;
  std::string in;     // bytes read and not yet handled
  std::string out;    // bytes to send
  std::string room;   // empty until it joins
  bool touched = false;
  bool want_out = false;  // EPOLLOUT is on
};

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::string accept_key(std::string_view key) {
  const std::string text = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
}

// A server text frame (unmasked) around `payload`, appended to `out`.
void append_frame(std::string& out, std::string_view payload) {
  out += static_cast<char>(0x81);
  if (payload.size() < 126) {
    out += static_cast<char>(payload.size());
  } else if (payload.size() < 65536) {
    out += static_cast<char>(126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size() & 0xff);
  } else {
    out += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((payload.size() >> shift) & 0xff);
  }
  out += payload;
}

// The value of "room":"..." in a message (no escapes expected: the race's room names are plain).
class Floor {
 public:
  int run(int port);

 private:
  void on_readable(Conn& c);
  bool handshake(Conn& c);
  void frames(Conn& c);
  void on_message(Conn& c, std::string_view text);
  void flush(Conn& c);
  void drop(Conn& c);
  void touch(Conn& c) {
    if (!c.touched) {
      c.touched = true;
      touched_.push_back(&c);
    }
  }

  int epoll_ = -1;
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;
  std::unordered_map<std::string, std::unordered_set<Conn*>> rooms_;
  std::vector<Conn*> touched_;
  std::vector<int> dropped_;
  std::string framed_;  // the message being relayed, framed once for all members
};

int Floor::run(int port) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(listener, 4096) != 0) {
    std::perror("floor: cannot listen");
    return 1;
  }
  socklen_t length = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  epoll_ = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the listener
  epoll_ctl(epoll_, EPOLL_CTL_ADD, listener, &ev);
  std::printf("floor ready on port %d\n", ntohs(address.sin_port));
  std::fflush(stdout);

  epoll_event events[512];
  while (!g_stop) {
    const int n = epoll_wait(epoll_, events, 512, 250);
    for (int i = 0; i < n; ++i) {
      if (!events[i].data.ptr) {
        for (int fd; (fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          auto conn = std::make_unique<Conn>();
          conn->fd = fd;
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.ptr = conn.get();
          epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &cev);
          conns_.emplace(fd, std::move(conn));
        }
        continue;
      }
      Conn& c = *static_cast<Conn*>(events[i].data.ptr);
      if (events[i].events & EPOLLOUT) touch(c);
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
    }
    for (Conn* c : touched_) {
      c->touched = false;
      if (c->fd >= 0) flush(*c);
    }
    touched_.clear();
    for (int fd : dropped_) conns_.erase(fd);
    dropped_.clear();
  }
  return 0;
}

void Floor::on_readable(Conn& c) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = recv(c.fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      c.in.append(buffer, static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < sizeof buffer) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return drop(c);
  }
  if (!c.upgraded && !handshake(c)) return;
  frames(c);
}

bool Floor::handshake(Conn& c) {
  const std::size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  const std::string head = c.in.substr(0, end);
  c.in.erase(0, end + 4);
  const std::size_t at = head.find("Sec-WebSocket-Key:");
  if (at == std::string::npos) {
    drop(c);
    return false;
  }
  std::size_t start = at + 18;
  while (start < head.size() && head[start] == ' ') ++start;
  const std::size_t stop = head.find("\r\n", start);
  c.out += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
           accept_key(std::string_view(head).substr(start, stop - start)) + "\r\n\r\n";
  c.upgraded = true;
  touch(c);
  return true;
}

// Client frames: masked, unfragmented text (what tandem-race sends); a close ends it.
void Floor::frames(Conn& c) {
  std::size_t at = 0;
  while (c.fd >= 0 && c.in.size() - at >= 6) {
    const auto* p = reinterpret_cast<const unsigned char*>(c.in.data() + at);
    const int opcode = p[0] & 0x0f;
    std::uint64_t length = p[1] & 0x7f;
    std::size_t header = 2;
    if (length == 126) {
      if (c.in.size() - at < 8) break;
      length = (std::uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (length == 127) {
      if (c.in.size() - at < 14) break;
      length = 0;
      for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
      header = 10;
    }
    if (c.in.size() - at < header + 4 + length) break;
    const unsigned char* mask = p + header;
    char* payload = c.in.data() + at + header + 4;
    for (std::uint64_t i = 0; i < length; ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
    at += header + 4 + length;
    if (opcode == 0x8) return drop(c);
    if (opcode == 0x1) on_message(c, std::string_view(payload, length));
  }
  c.in.erase(0, at);
}

void Floor::on_message(Conn& c, std::string_view text) {
  if (bench::is_join(text)) {
    if (!c.room.empty()) rooms_[c.room].erase(&c);
    c.room = std::string(bench::room_of(text));
    rooms_[c.room].insert(&c);
    append_frame(c.out, bench::joined(c.room));
    touch(c);
  } else if (bench::is_msg(text) && !c.room.empty() && bench::room_of(text) == c.room) {
    framed_.clear();
    append_frame(framed_, text);
    for (Conn* member : rooms_[c.room]) {
      member->out += framed_;
      touch(*member);
    }
  }
}

void Floor::flush(Conn& c) {
  if (!c.out.empty()) {
    const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return drop(c);
    if (n > 0) c.out.erase(0, static_cast<std::size_t>(n));
  }
  const bool want_out = !c.out.empty();
  if (want_out == c.want_out) return;
  c.want_out = want_out;
  epoll_event ev{};
  ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
  ev.data.ptr = &c;
  epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
}

void Floor::drop(Conn& c) {
  if (c.fd < 0) return;
  if (!c.room.empty()) rooms_[c.room].erase(&c);
  close(c.fd);
  dropped_.push_back(c.fd);
  c.fd = -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) {
    std::printf("usage: tandem-floor [PORT]\n  the least a WebSocket room server can do (ws-peer's protocol, one epoll thread,\n"
                "  no parsing): the kernel's floor for bench/race.sh. Prints \"floor ready on port N\".\n");
    return 0;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  return Floor().run(argc > 1 ? std::atoi(argv[1]) : 0);
}
