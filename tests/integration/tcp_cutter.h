// tcp_cutter.h — a loopback TCP relay between a client and the server that a test can cut:
// every relayed connection is reset at once (as a dead Wi-Fi or a crashed NAT would, with no
// WebSocket close frame), and new connections can be refused for a while. Lets integration
// tests drop a native client's transport without touching the server.
//
// One thread relays with poll(); every public call is thread-safe.
#pragma once

#include <poll.h>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace tandem::integration {

class TcpCutter {
 public:
  // Listens on an ephemeral loopback port and relays to 127.0.0.1:`target_port`.
  explicit TcpCutter(int target_port);
  ~TcpCutter();
  TcpCutter(const TcpCutter&) = delete;
  TcpCutter& operator=(const TcpCutter&) = delete;

  int port() const { return port_; }
  // Resets every relayed connection (RST both ways), asynchronously: the relay thread does it
  // within moments; the client notices as its transport dies. New connections are accepted
  // again at once unless refuse_for() says otherwise.
  void cut();
  // Connections arriving within `period` from now are reset as soon as they are accepted;
  // refuse_for(0ms) lets them through again.
  void refuse_for(std::chrono::milliseconds period);
  int accepted() const { return accepted_.load(); }
  // While on, whatever the server sends is read and thrown away: the client sees nothing —
  // answers lost with a dying network, while its requests still reach the server. The next
  // cut() ends it, at the moment the connections are reset (so nothing swallowed so far leaks
  // through, and reconnections are relayed normally).
  void swallow_replies(bool on) { swallow_replies_ = on; }

 private:
  struct Pair {
    int client = -1;
    int server = -1;
  };
  void run();
  void relay(const std::vector<pollfd>& fds, std::array<char, 16384>& buffer);
  static void reset(int fd);

  int target_port_;
  int listener_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};  // a pipe that interrupts poll() for cut() and the destructor
  std::atomic<bool> stopping_{false};
  std::atomic<bool> cut_requested_{false};
  std::atomic<bool> swallow_replies_{false};
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::chrono::steady_clock::time_point refuse_until_{};
  std::vector<Pair> pairs_;  // owned by the relay thread
  std::thread thread_;
};

}  // namespace tandem::integration
