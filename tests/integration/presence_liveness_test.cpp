// tests/integration/presence_liveness_test.cpp — presence when a peer stops behaving, against
// a real tandem-server: a client that stops answering WS pings is removed (presence_diff
// leave) after idle_timeout, and a client that never reads is cut with 4508 while the others
// keep receiving every message.
//
// The misbehaving peer is a raw TCP socket speaking just enough WebSocket: the upgrade request
// with ?token=, then masked text frames; it never reads, so it never answers a ping and its
// receive window fills.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "server_test_support.h"

namespace tandem::integration {
namespace {

// A WebSocket client that writes and never reads.
class SilentPeer {
 public:
  SilentPeer(int port, const std::string& token) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int small = 4096;  // a small receive window: the server's writes back up quickly
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    write_all("GET /ws?token=" + token + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\n\r\n");
    // Reads the 101 answer (and nothing after it): frames sent before the upgrade completed
    // could be taken for part of the HTTP request.
    std::string answer;
    char c = 0;
    while (connected_ && answer.find("\r\n\r\n") == std::string::npos && ::recv(fd_, &c, 1, 0) == 1) answer += c;
    upgraded_ = answer.starts_with("HTTP/1.1 101");
  }
  ~SilentPeer() {
    if (fd_ >= 0) ::close(fd_);
  }
  SilentPeer(const SilentPeer&) = delete;
  SilentPeer& operator=(const SilentPeer&) = delete;

  bool connected() const { return connected_ && upgraded_; }

  // One masked text frame (mask key 0: the payload goes as is; the server only needs a mask).
  void send_text(const std::string& text) {
    std::string frame;
    frame += static_cast<char>(0x81);
    if (text.size() < 126) {
      frame += static_cast<char>(0x80 | text.size());
    } else {
      frame += static_cast<char>(0x80 | 126);
      frame += static_cast<char>((text.size() >> 8) & 0xff);
      frame += static_cast<char>(text.size() & 0xff);
    }
    frame.append(4, '\0');
    frame += text;
    write_all(frame);
  }

 private:
  void write_all(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<std::size_t>(n);
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  bool upgraded_ = false;
};

std::string token_for(const std::string& sub) {
  TokenSpec spec;
  spec.sub = sub;
  spec.name = sub;
  return mint_token(spec);
}

template <class M>
std::vector<M> all_of(const TransportProbe& probe) {  // every M received so far
  std::vector<M> out;
  for (const auto& frame : decoded(probe.log))
    if (const M* m = std::get_if<M>(&frame.message)) out.push_back(*m);
  return out;
}

class GhostTest : public ServerTest {
 protected:
  GhostTest() : ServerTest({"--heartbeat-ms", "1000", "--idle-timeout-ms", "2000"}) {}
};

TEST_F(GhostTest, a_peer_that_stops_answering_pings_leaves_presence) {
  TransportProbe ana;
  open_with_token(ana, token_for("ana"));
  ASSERT_TRUE(wait_for_message<protocol::Connected>(ana).has_value());
  ana.send(R"({"type":"subscribe","id":"a","room":"workflow:1"})");
  ASSERT_TRUE(wait_for_message<protocol::PresenceSnapshot>(ana).has_value());

  SilentPeer ghost(server.port(), token_for("ghost"));
  ASSERT_TRUE(ghost.connected());
  ghost.send_text(R"({"type":"subscribe","room":"workflow:1"})");
  auto has_diff = [&](bool join) {
    for (const auto& diff : all_of<protocol::PresenceDiff>(ana))
      for (const auto& member : join ? diff.joins : diff.leaves)
        if (member.user.id == "ghost") return true;
    return false;
  };
  ASSERT_TRUE(ana.wait_for([&] { return has_diff(true); }));
  // idle_timeout 2 s (+ lws's once-a-second check): the ghost must be gone well within 8 s.
  EXPECT_TRUE(ana.wait_for([&] { return has_diff(false); }, milliseconds{8000}));
  EXPECT_FALSE(ana.log.closed.has_value());  // ana answers pings: still here
}

class SlowConsumerTest : public ServerTest {
 protected:
  // The publisher floods on purpose (the queue bound is what is tested, not the rate limit).
  SlowConsumerTest()
      : ServerTest({"--max-outbound-bytes", "262144", "--max-batch-bytes", "4096", "--rate-per-sec", "1000000",
                    "--rate-burst", "1000000"}) {}
};

TEST_F(SlowConsumerTest, a_peer_that_never_reads_is_cut_while_others_receive_everything) {
  TransportProbe publisher, watcher;
  open_with_token(publisher, token_for("pub"));
  open_with_token(watcher, token_for("watch"));
  ASSERT_TRUE(wait_for_message<protocol::Connected>(publisher).has_value());
  ASSERT_TRUE(wait_for_message<protocol::Connected>(watcher).has_value());
  watcher.send(R"({"type":"subscribe","id":"w","room":"workflow:1"})");
  ASSERT_TRUE(wait_for_message<protocol::PresenceSnapshot>(watcher).has_value());

  SilentPeer slow(server.port(), token_for("slow"));
  ASSERT_TRUE(slow.connected());
  slow.send_text(R"({"type":"subscribe","room":"workflow:1"})");
  // Scans only what arrived since the last call: the log grows to thousands of frames.
  std::size_t scanned = 0;
  bool slow_cut = false;
  int publisher_leaves = 0;
  auto scan = [&] {
    for (; scanned < watcher.log.messages.size(); ++scanned)
      for (auto& result : protocol::decode_server(watcher.log.messages[scanned]))
        if (result.ok())
          if (auto* diff = std::get_if<protocol::PresenceDiff>(&result.value().message))
            for (const auto& member : diff->leaves) {
              if (member.user.id == "slow") slow_cut = true;
              if (member.user.id == "pub") ++publisher_leaves;
            }
  };

  // Each cycle: the publisher joins, sets a ~900-byte state, and leaves: every member gets a
  // join diff and a leave diff carrying that state (diffs are not conflated). Cycles go in
  // bursts; the burst's last ack paces the publisher, the watcher reads all along.
  const std::string data = R"({"pad":")" + std::string(900, 'x') + R"("})";
  int cycles = 0;
  constexpr int kMaxCycles = 20000;  // ~20 MB: more than any loopback socket buffers
  constexpr int kBurst = 20;  // ~40 KB of diffs per burst: well under the watcher's 256 KiB bound
  while (!slow_cut && cycles < kMaxCycles) {
    std::string last;
    for (int i = 0; i < kBurst; ++i, ++cycles) {
      const std::string id = std::to_string(cycles);
      publisher.send(R"({"type":"subscribe","id":"s)" + id + R"(","room":"workflow:1"})");
      publisher.send(R"({"type":"presence","room":"workflow:1","state":{"data":)" + data + "}}");
      publisher.send(R"({"type":"unsubscribe","id":"u)" + id + R"(","room":"workflow:1"})");
      last = "u" + id;
    }
    const std::string want = "\"id\":\"" + last + "\"";
    ASSERT_TRUE(publisher.wait_for([&] {
      watcher.transport.poll(milliseconds{0});
      return !publisher.log.messages.empty() && publisher.log.messages.back().find(want) != std::string::npos;
    })) << "no ack for " << last;
    publisher.log.messages.clear();  // only the newest answer matters
    scan();
  }
  ASSERT_TRUE(watcher.wait_for([&] { scan(); return slow_cut; })) << "the silent peer was never cut after " << cycles << " cycles\n" << server.output();
  // The watcher got every publisher leave, and is still connected.
  EXPECT_TRUE(watcher.wait_for([&] { scan(); return publisher_leaves == cycles; }))
      << publisher_leaves << " of " << cycles << " leaves";
  EXPECT_FALSE(watcher.log.closed.has_value());
  EXPECT_TRUE(watcher.wait_for([&] { return server.output().find("slow consumer") != std::string::npos; })) << server.output();
}

}  // namespace
}  // namespace tandem::integration
