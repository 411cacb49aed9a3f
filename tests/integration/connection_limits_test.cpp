// connection_limits_test.cpp — the connection bounds of PROTOCOL.md §17 against a real server,
// each exceeded on purpose with raw sockets: max_connections (503 before the upgrade),
// max_connections_per_ip (429; X-Forwarded-For believed only from trusted_proxies),
// max_connections_per_user (429 before the upgrade with the token in the URL, close 4429 with
// an `auth` message), handshake_timeout_ms (slow and silent handshakes cut) and
// max_preauth_bytes (close 1009). After each, the server still serves.
#include <memory>
#include <string>
#include <vector>

#include "raw_client.h"
#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

class LimitsTest : public ServerTest {
 protected:
  explicit LimitsTest(std::vector<std::string> flags) : ServerTest(std::move(flags)) {}

  // An upgrade with `extra` header lines; the client stays open (returned) when it got 101.
  std::pair<RawHttpResponse, std::unique_ptr<RawClient>> upgrade(const std::string& target, std::string_view extra = {}) {
    auto client = std::make_unique<RawClient>(server.port());
    RawHttpResponse answer = client->upgrade(target, extra);
    return {std::move(answer), std::move(client)};
  }
  std::string with_token(const TokenSpec& spec = {}) { return "/ws?token=" + mint_token(spec); }

  // The server counts a connection as gone once it has seen it close: wait until an upgrade
  // that was refused is accepted again.
  std::unique_ptr<RawClient> upgrade_when_admitted(const std::string& target, std::string_view extra = {}) {
    std::unique_ptr<RawClient> admitted;
    EXPECT_TRUE(pump_until([&] { return admitted != nullptr; },
                           [&] {
                             auto [answer, client] = upgrade(target, extra);
                             if (answer.status == 101) admitted = std::move(client);
                           }));
    return admitted;
  }

  void expect_server_up() {
    EXPECT_EQ(server.get("/healthz").status, 200) << server.output();
  }
};

class max_connections_test : public LimitsTest {
 protected:
  max_connections_test() : LimitsTest({"--max-connections", "3"}) {}
};

TEST_F(max_connections_test, the_connection_past_the_cap_gets_503_before_the_upgrade_and_a_freed_slot_is_reused) {
  std::vector<std::unique_ptr<RawClient>> open;
  for (int i = 0; i < 3; ++i) {
    auto [answer, client] = upgrade(with_token({.sub = "user-" + std::to_string(i)}));
    ASSERT_EQ(answer.status, 101);
    open.push_back(std::move(client));
  }
  auto [refused, unused] = upgrade(with_token({.sub = "user-late"}));
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.header("retry-after"), "5");
  EXPECT_NE(refused.body.find("max_connections 3"), std::string::npos) << refused.body;
  open.pop_back();  // one leaves: its slot is free again
  EXPECT_NE(upgrade_when_admitted(with_token({.sub = "user-late"})), nullptr);
  expect_server_up();
}

class per_ip_test : public LimitsTest {
 protected:
  per_ip_test() : LimitsTest({"--max-connections-per-ip", "2"}) {}
};

TEST_F(per_ip_test, a_third_connection_from_one_address_gets_429_and_an_untrusted_forwarded_for_changes_nothing) {
  auto [a, first] = upgrade(with_token(), "X-Forwarded-For: 10.0.0.1\r\n");
  auto [b, second] = upgrade(with_token(), "X-Forwarded-For: 10.0.0.2\r\n");
  ASSERT_EQ(a.status, 101);
  ASSERT_EQ(b.status, 101);
  auto [c, third] = upgrade(with_token(), "X-Forwarded-For: 10.0.0.3\r\n");
  EXPECT_EQ(c.status, 429);
  EXPECT_NE(c.body.find("too many connections from 127.0.0.1"), std::string::npos) << c.body;
  expect_server_up();
}

class trusted_proxy_test : public LimitsTest {
 protected:
  trusted_proxy_test() : LimitsTest({"--max-connections-per-ip", "2", "--trusted-proxies", "127.0.0.1"}) {}
};

TEST_F(trusted_proxy_test, behind_a_trusted_proxy_the_forwarded_address_is_counted) {
  std::vector<std::unique_ptr<RawClient>> open;
  for (const char* address : {"10.0.0.1", "10.0.0.1", "10.0.0.2"}) {
    auto [answer, client] = upgrade(with_token(), std::string("X-Forwarded-For: 192.0.2.7, ") + address + "\r\n");
    ASSERT_EQ(answer.status, 101) << address;
    open.push_back(std::move(client));
  }
  auto [refused, unused] = upgrade(with_token(), "X-Forwarded-For: 10.0.0.1\r\n");
  EXPECT_EQ(refused.status, 429);
  EXPECT_NE(refused.body.find("from 10.0.0.1"), std::string::npos) << refused.body;
  expect_server_up();
}

class per_user_test : public LimitsTest {
 protected:
  per_user_test() : LimitsTest({"--max-connections-per-user", "2"}) {}
};

TEST_F(per_user_test, a_third_connection_of_one_user_gets_429_or_close_4429_and_other_users_are_unaffected) {
  std::vector<std::unique_ptr<RawClient>> open;
  for (int i = 0; i < 2; ++i) {
    auto [answer, client] = upgrade(with_token());
    ASSERT_EQ(answer.status, 101);
    ASSERT_TRUE(client->read_frame().has_value());  // connected: authenticated and counted
    open.push_back(std::move(client));
  }
  auto [refused, unused] = upgrade(with_token());
  EXPECT_EQ(refused.status, 429);
  EXPECT_NE(refused.body.find("max_connections_per_user 2"), std::string::npos) << refused.body;

  // Without a token in the URL the upgrade happens; the `auth` message is what is refused.
  auto [answer, late] = upgrade("/ws");
  ASSERT_EQ(answer.status, 101);
  ASSERT_TRUE(late->send_text(R"({"type":"auth","token":")" + mint_token() + R"("})"));
  auto close = late->read_until_close();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->close_code(), 4429);
  EXPECT_NE(close->close_reason().find("max_connections_per_user"), std::string::npos);

  auto [other, other_client] = upgrade(with_token({.sub = "user-bob"}));
  EXPECT_EQ(other.status, 101);
  expect_server_up();
}

class handshake_timeout_test : public LimitsTest {
 protected:
  handshake_timeout_test() : LimitsTest({"--handshake-timeout-ms", "1000"}) {}
};

TEST_F(handshake_timeout_test, a_slow_or_silent_handshake_is_cut_long_before_the_default) {
  // The default (10 s) would let both live for the whole test: ending within 6 s shows the
  // setting at work, with room for a loaded machine.
  RawClient silent(server.port());
  RawClient trickle(server.port());
  const auto started = Clock::now();
  ASSERT_TRUE(trickle.send("GET /healthz HTTP/1.1\r\n"));
  bool trickle_cut = false;
  for (int line = 0; !trickle_cut && Clock::now() - started < milliseconds{6000}; ++line) {
    if (!trickle.send("X-Slow-" + std::to_string(line) + ": x\r\n")) break;  // a reset: cut
    trickle_cut = trickle.wait_end(milliseconds{200}) != RawEnding::StillOpen;
  }
  EXPECT_LT(Clock::now() - started, milliseconds{6000}) << "a slowloris handshake outlived handshake_timeout_ms";
  EXPECT_NE(silent.wait_end(milliseconds{6000} - std::chrono::duration_cast<milliseconds>(Clock::now() - started)),
            RawEnding::StillOpen)
      << "a connection that never sent a byte outlived handshake_timeout_ms";
  expect_server_up();
}

class preauth_test : public LimitsTest {
 protected:
  preauth_test() : LimitsTest({"--max-preauth-bytes", "1024"}) {}
};

TEST_F(preauth_test, a_big_message_before_authentication_closes_1009_and_after_it_is_only_an_error) {
  auto [answer, anonymous] = upgrade("/ws");
  ASSERT_EQ(answer.status, 101);
  ASSERT_TRUE(anonymous->send_text(std::string(5000, ' ')));
  auto close = anonymous->read_until_close();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->close_code(), 1009);
  EXPECT_NE(close->close_reason().find("before authentication"), std::string::npos) << close->close_reason();

  auto [ok, authenticated] = upgrade(with_token());
  ASSERT_EQ(ok.status, 101);
  ASSERT_TRUE(authenticated->read_frame().has_value());  // connected
  ASSERT_TRUE(authenticated->send_text(R"({"type":"ping","id":"big","pad":")" + std::string(5000, 'p') + R"("})"));
  auto reply = authenticated->read_frame();
  ASSERT_TRUE(reply.has_value());
  EXPECT_NE(reply->opcode, 8) << "an authenticated 5 KB message must not close the connection";
  expect_server_up();
}

}  // namespace
