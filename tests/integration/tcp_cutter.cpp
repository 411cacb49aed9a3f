// tcp_cutter.cpp — the cuttable loopback relay (see tcp_cutter.h).
#include "tcp_cutter.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <tuple>
#include <stdexcept>

namespace tandem::integration {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

TcpCutter::TcpCutter(int target_port) : target_port_(target_port) {
  auto fail = [this](const char* what) {
    for (int fd : {listener_, wake_[0], wake_[1]})
      if (fd >= 0) ::close(fd);
    throw std::runtime_error(std::string("tcp cutter: ") + what);
  };
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) fail("socket failed");
  const int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = loopback(0);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_, 64) != 0)
    fail("cannot listen");
  socklen_t length = sizeof addr;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length);
  port_ = ntohs(addr.sin_port);
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) fail("pipe failed");
  thread_ = std::thread([this] { run(); });
}

TcpCutter::~TcpCutter() {
  stopping_ = true;
  (void)!::write(wake_[1], "x", 1);
  thread_.join();
  for (const Pair& pair : pairs_) {
    ::close(pair.client);
    ::close(pair.server);
  }
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void TcpCutter::cut() {
  cut_requested_ = true;
  (void)!::write(wake_[1], "x", 1);
}

void TcpCutter::refuse_for(std::chrono::milliseconds period) {
  std::lock_guard lock(mutex_);
  refuse_until_ = std::chrono::steady_clock::now() + period;
}

// SO_LINGER 0 turns close() into a RST: the peer sees the connection die, not end.
void TcpCutter::reset(int fd) {
  const linger abort_now{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
  ::close(fd);
}

void TcpCutter::run() {
  std::array<char, 16384> buffer{};
  while (!stopping_) {
    if (cut_requested_.exchange(false)) {
      for (const Pair& pair : pairs_) {
        reset(pair.client);
        reset(pair.server);
      }
      pairs_.clear();
      swallow_replies_ = false;  // it covered the connections just cut, no later ones
    }
    std::vector<pollfd> fds{{listener_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    for (const Pair& pair : pairs_) {
      fds.push_back({pair.client, POLLIN, 0});
      fds.push_back({pair.server, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 200) < 0) continue;
    if (fds[1].revents & POLLIN) {
      char drain[64];
      while (::read(wake_[0], drain, sizeof drain) > 0) {
      }
    }
    // Relay first, for exactly the pairs `fds` was built from; a pair accepted below joins the
    // next round.
    relay(fds, buffer);
    if (fds[0].revents & POLLIN) {
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        ++accepted_;
        bool refuse = false;
        {
          std::lock_guard lock(mutex_);
          refuse = std::chrono::steady_clock::now() < refuse_until_;
        }
        const int server = refuse ? -1 : ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in target = loopback(target_port_);
        if (refuse || ::connect(server, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
          reset(client);
          if (server >= 0) ::close(server);
        } else {
          pairs_.push_back({client, server});
        }
      }
    }
  }
}

// Moves whatever arrived on each pair's sockets to the other side. `fds` holds the listener,
// the wake pipe, then two entries per pair of pairs_, in order. Writes block: fine on loopback
// at test volumes, with both ends reading. A closed or failed side closes both.
void TcpCutter::relay(const std::vector<pollfd>& fds, std::array<char, 16384>& buffer) {
  std::vector<Pair> alive;
  for (std::size_t i = 0; i < pairs_.size(); ++i) {
    const Pair pair = pairs_[i];
    bool open = true;
    for (auto [from, to, revents] : {std::tuple{pair.client, pair.server, fds[2 + 2 * i].revents},
                                     std::tuple{pair.server, pair.client, fds[3 + 2 * i].revents}}) {
      if (!open || !(revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::read(from, buffer.data(), buffer.size());
      if (n <= 0) {
        open = false;
        break;
      }
      if (from == pair.server && swallow_replies_) continue;
      for (ssize_t sent = 0; sent < n;) {
        const ssize_t w = ::send(to, buffer.data() + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
        if (w <= 0) {
          open = false;
          break;
        }
        sent += w;
      }
    }
    if (open) {
      alive.push_back(pair);
    } else {
      ::close(pair.client);
      ::close(pair.server);
    }
  }
  pairs_ = std::move(alive);
}

}  // namespace tandem::integration
