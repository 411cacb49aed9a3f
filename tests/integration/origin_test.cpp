// origin_test.cpp — the allowed_origins setting on the wire, against a real tandem-server: a
// WebSocket upgrade from a listed origin gets 101; from another origin HTTP 403 with a short
// body, before any upgrade, and the connection closed; without an Origin header (non-browser
// clients, the native client among them) 101; `self` lets in the pages of the server's own
// host and port; with the setting unset every origin gets 101, as before it existed.
//
// The upgrades are raw sockets, so the test sees exactly what reaches a client: the status
// line, the headers and the body.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>

#include "server_test_support.h"

namespace tandem::integration {
namespace {

constexpr const char* kAppOrigin = "https://app.example.com";

// What the server answered to one upgrade request, read from a raw socket.
struct UpgradeAnswer {
  int status = 0;        // 0: no answer before the deadline, or the connection was dropped
  std::string head;      // status line and headers
  std::string body;      // the body its Content-Length announced (none for 101)
  bool closed = false;   // not 101: the server closed the connection after the answer
};

// Sends a WebSocket upgrade for /ws?token=... with `origin` as the Origin header (none when
// nullopt) and reads the answer's head, and its body when it announces one.
UpgradeAnswer try_upgrade(int port, const std::optional<std::string>& origin) {
  UpgradeAnswer answer;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    return answer;
  }
  const std::string request = "GET /ws?token=" + mint_token() + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
                              (origin ? "Origin: " + *origin + "\r\n" : std::string()) + "\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);

  std::string received;
  const auto deadline = Clock::now() + kStepDeadline;
  bool peer_closed = false;
  auto read_more = [&] {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) return false;
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    peer_closed = n <= 0;
    if (n <= 0) return false;
    received.append(buffer, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t head_end = std::string::npos;
  while ((head_end = received.find("\r\n\r\n")) == std::string::npos)
    if (!read_more()) break;
  // lws 4.1.6 answers a refused upgrade with "HTTP/1.0 403" (docs/LWS-NOTES.md §10).
  if (head_end != std::string::npos && received.starts_with("HTTP/1.")) {
    answer.status = std::atoi(received.c_str() + received.find(' ') + 1);
    answer.head = received.substr(0, head_end);
    std::string lower = answer.head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::size_t at = lower.find("content-length:");
    const std::size_t length = at == std::string::npos ? 0 : std::strtoul(lower.c_str() + at + 15, nullptr, 10);
    while (answer.status != 101 && received.size() < head_end + 4 + length)
      if (!read_more()) break;
    if (answer.status != 101) {
      answer.body = received.substr(head_end + 4);
      while (!peer_closed && read_more()) answer.body = received.substr(head_end + 4);  // anything after it
      answer.closed = peer_closed;
    }
  }
  ::close(fd);
  return answer;
}

class origin_test : public ServerTest {
 protected:
  origin_test() : ServerTest({"--allowed-origins", kAppOrigin}) {}
};

TEST_F(origin_test, a_listed_origin_is_upgraded) {
  const UpgradeAnswer answer = try_upgrade(server.port(), kAppOrigin);
  EXPECT_EQ(answer.status, 101) << answer.head << server.output();
}

TEST_F(origin_test, another_origin_gets_403_with_a_short_body_before_the_upgrade) {
  const UpgradeAnswer answer = try_upgrade(server.port(), "https://evil.example");
  EXPECT_EQ(answer.status, 403) << answer.head << server.output();
  EXPECT_EQ(answer.body, R"({"error":"forbidden","message":"origin not allowed"})");
  EXPECT_TRUE(answer.closed) << "the refused connection should be closed after the answer";
  std::string head = answer.head;
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(head.find("upgrade"), std::string::npos) << answer.head;
  EXPECT_EQ(head.find("sec-websocket-accept"), std::string::npos) << answer.head;
  EXPECT_NE(head.find("content-type: application/json"), std::string::npos) << answer.head;

  // A near miss is another origin too; the server logged why, and no connection was opened.
  EXPECT_EQ(try_upgrade(server.port(), "http://app.example.com").status, 403);
  EXPECT_EQ(try_upgrade(server.port(), "https://app.example.com.evil.example").status, 403);
  EXPECT_NE(server.output().find("origin https://evil.example is not in allowed_origins"), std::string::npos)
      << server.output();
  EXPECT_EQ(server.connections(), 0);
  EXPECT_EQ(server.get("/healthz").status, 200);
}

TEST_F(origin_test, no_origin_header_is_a_non_browser_client_and_is_upgraded) {
  EXPECT_EQ(try_upgrade(server.port(), std::nullopt).status, 101) << server.output();
  // The native client sends none (any Origin it could send would not be on this list): it
  // connects and is served as usual.
  TransportProbe probe;
  open_with_token(probe, mint_token());
  EXPECT_TRUE(wait_for_message<protocol::Connected>(probe).has_value()) << server.output();
}

class origin_self_test : public ServerTest {
 protected:
  origin_self_test() : ServerTest({"--allowed-origins", "self"}) {}
};

TEST_F(origin_self_test, self_lets_the_servers_own_pages_in) {
  const std::string own = "http://127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(try_upgrade(server.port(), own).status, 101) << server.output();
  EXPECT_EQ(try_upgrade(server.port(), "http://127.0.0.1:1").status, 403);
  EXPECT_EQ(try_upgrade(server.port(), "http://localhost:" + std::to_string(server.port())).status, 403);
}

class origin_unset_test : public ServerTest {};

TEST_F(origin_unset_test, without_the_setting_every_origin_is_upgraded) {
  EXPECT_EQ(try_upgrade(server.port(), "https://evil.example").status, 101) << server.output();
  EXPECT_EQ(try_upgrade(server.port(), "null").status, 101);
  EXPECT_EQ(try_upgrade(server.port(), std::nullopt).status, 101);
}

}  // namespace
}  // namespace tandem::integration
