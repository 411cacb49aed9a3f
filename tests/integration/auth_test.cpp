// auth_test.cpp — connecting to a real tandem-server: tokens in the URL and in a first `auth`
// message, and every way authentication is refused (close 4401) or never happens (4408).
#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;
using tandem::protocol::Connected;

namespace {

class auth_test : public ServerTest {
 protected:
  auth_test() : ServerTest({"--auth-timeout-ms", "400"}) {}

  // Opens with `token` and waits for the close the server must answer with.
  CloseReport refused(const std::string& token) {
    TransportProbe probe;
    open_with_token(probe, token);
    if (!probe.wait_closed()) return CloseReport{0, "no close within the deadline"};
    EXPECT_TRUE(decoded(probe.log).empty()) << "nothing may be sent before authentication";
    return *probe.log.closed;
  }
};

}  // namespace

TEST_F(auth_test, valid_token_in_url_connects_as_the_token_user) {
  TransportProbe probe;
  open_with_token(probe, mint_token({.sub = "user-ana", .name = "Ana", .color = "#3366cc"}));
  auto connected = wait_for_message<Connected>(probe);
  ASSERT_TRUE(connected.has_value()) << server.output();
  const Connected& c = connected->first;
  EXPECT_EQ(c.user.id, "user-ana");
  EXPECT_EQ(c.user.name, "Ana");
  EXPECT_EQ(c.user.color, "#3366cc");
  EXPECT_FALSE(c.connection_id.empty());
  EXPECT_FALSE(c.session.empty());
  EXPECT_FALSE(c.resumed);
  EXPECT_EQ(c.heartbeat_ms, 25000);
  EXPECT_EQ(c.limits.max_frame_bytes, 65536);
  EXPECT_FALSE(c.server_version.empty());
  // `connected` is the first thing the server says.
  const auto frames = decoded(probe.log);
  ASSERT_FALSE(frames.empty());
  EXPECT_TRUE(std::holds_alternative<Connected>(frames.front().message));
}

TEST_F(auth_test, forged_signature_closes_4401) {
  const CloseReport close = refused(forged_token());
  EXPECT_EQ(close.code, 4401) << close.reason;
}

TEST_F(auth_test, alg_none_token_closes_4401) {
  const CloseReport close = refused(alg_none_token());
  EXPECT_EQ(close.code, 4401) << close.reason;
}

TEST_F(auth_test, expired_token_closes_4401_saying_so) {
  const CloseReport close = refused(expired_token());
  EXPECT_EQ(close.code, 4401) << close.reason;
  EXPECT_NE(close.reason.find("expired"), std::string::npos) << close.reason;
}

TEST_F(auth_test, garbage_token_closes_4401) {
  const CloseReport close = refused("not.a.jwt");
  EXPECT_EQ(close.code, 4401) << close.reason;
}

TEST_F(auth_test, token_in_first_auth_message_connects) {
  TransportProbe probe;
  probe.open(server.ws_url());
  ASSERT_TRUE(probe.wait_open());
  ASSERT_EQ(probe.send(protocol::encode_client(protocol::Auth{mint_token({.sub = "user-bo", .name = "Bo"}), {}})),
            SendStatus::Sent);
  auto connected = wait_for_message<Connected>(probe);
  ASSERT_TRUE(connected.has_value()) << server.output();
  EXPECT_EQ(connected->first.user.id, "user-bo");
  EXPECT_EQ(connected->first.user.name, "Bo");
}

TEST_F(auth_test, bad_token_in_auth_message_closes_4401) {
  TransportProbe probe;
  probe.open(server.ws_url());
  ASSERT_TRUE(probe.wait_open());
  probe.send(protocol::encode_client(protocol::Auth{forged_token(), {}}));
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(probe.log.closed->code, 4401) << probe.log.closed->reason;
}

TEST_F(auth_test, other_message_before_auth_closes_4401) {
  TransportProbe probe;
  probe.open(server.ws_url());
  ASSERT_TRUE(probe.wait_open());
  probe.send(protocol::encode_client(protocol::Ping{}, "p1"));
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(probe.log.closed->code, 4401);
  EXPECT_EQ(probe.log.closed->reason, "authenticate first");
  EXPECT_TRUE(decoded(probe.log).empty());
}

TEST_F(auth_test, no_auth_within_the_timeout_closes_4408) {
  TransportProbe probe;
  probe.open(server.ws_url());
  ASSERT_TRUE(probe.wait_open());
  const auto opened = Clock::now();
  ASSERT_TRUE(probe.wait_closed());
  const auto after = std::chrono::duration_cast<milliseconds>(Clock::now() - opened);
  EXPECT_EQ(probe.log.closed->code, 4408) << probe.log.closed->reason;
  EXPECT_GE(after, milliseconds{300});   // --auth-timeout-ms 400, minus the time to see on_open
  EXPECT_LT(after, milliseconds{3000});
}
