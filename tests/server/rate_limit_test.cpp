// tests/server/rate_limit_test.cpp — the per-connection rate limit (PROTOCOL.md §17) through the
// hub with a fake edge: a burst passes up to rate_burst, the rest is dropped with rate_limited
// (carrying each request's id), tokens come back at rate_per_sec, and more than
// max_rate_violations refusals within a minute close the connection with 4429.
#include <gtest/gtest.h>

#include "fakes.h"
#include "hub.h"

namespace tandem::server {
namespace {

constexpr UnixMillis kWallStart = 1700000000000;

class RateLimitTest : public ::testing::Test {
 protected:
  RateLimitTest() : hub_(settings(), ids_, edge_) {}

  static Settings settings() {
    Settings s;
    s.jwt_secret = std::string(testing::kSecret);
    s.rate_per_sec = 10;
    s.rate_burst = 20;
    s.max_rate_violations = 5;
    return s;
  }
  Now now() const { return Now{mono_, kWallStart + mono_.count()}; }

  ConnectionId open() {
    jwt::Claims claims;
    claims.sub = "ana";
    claims.rooms = {"workflow:*"};
    claims.exp = kWallStart / 1000 + 3600;
    OpenRequest request;
    request.token = jwt::mint(claims, testing::kSecret);
    const ConnectionId id = hub_.open(request, now());
    testing::drain_frames(hub_, id);
    return id;
  }
  void ping(ConnectionId id, int n) { hub_.receive(id, R"({"type":"ping","id":"p)" + std::to_string(n) + R"("})", now()); }

  // Pongs and rate_limited errors among what `id` was sent, as request ids.
  struct Answers {
    std::vector<std::string> passed, limited;
  };
  Answers answers(ConnectionId id) {
    Answers out;
    for (const auto& frame : testing::drain_frames(hub_, id)) {
      if (std::holds_alternative<protocol::Pong>(frame.message)) out.passed.push_back(frame.id.value_or("?"));
      if (const auto* error = std::get_if<protocol::ErrorReply>(&frame.message)) {
        EXPECT_EQ(error->code, protocol::errc::rate_limited);
        out.limited.push_back(frame.id.value_or("?"));
      }
    }
    return out;
  }

  Millis mono_{1000};
  testing::FakeEdge edge_;
  testing::CountingIds ids_;
  Hub hub_;
};

TEST_F(RateLimitTest, a_burst_passes_up_to_rate_burst_and_the_rest_is_dropped_with_its_id) {
  const ConnectionId id = open();
  for (int n = 1; n <= 23; ++n) ping(id, n);
  const Answers got = answers(id);
  EXPECT_EQ(got.passed.size(), 20u);
  EXPECT_EQ(got.limited, (std::vector<std::string>{"p21", "p22", "p23"}));
  EXPECT_EQ(hub_.close_request(id), nullptr);

  mono_ += Millis(500);  // 5 tokens back at 10 per second
  for (int n = 24; n <= 30; ++n) ping(id, n);
  const Answers later = answers(id);
  EXPECT_EQ(later.passed, (std::vector<std::string>{"p24", "p25", "p26", "p27", "p28"}));
  EXPECT_EQ(later.limited, (std::vector<std::string>{"p29", "p30"}));
  EXPECT_EQ(hub_.close_request(id), nullptr);  // 5 violations: at the bound, not over it
}

TEST_F(RateLimitTest, more_than_max_rate_violations_in_a_minute_close_with_4429) {
  const ConnectionId id = open();
  for (int n = 1; n <= 25; ++n) ping(id, n);  // 20 pass, 5 violations
  EXPECT_EQ(hub_.close_request(id), nullptr);
  mono_ += Millis(61000);  // a new window: 5 more are tolerated
  for (int n = 26; n <= 50; ++n) ping(id, n);  // the bucket is full again: 20 pass, 5 violations
  EXPECT_EQ(hub_.close_request(id), nullptr);
  ping(id, 51);  // the 6th violation within the window
  const CloseRequest* close = hub_.close_request(id);
  ASSERT_NE(close, nullptr);
  EXPECT_EQ(close->code, 4429);
}

}  // namespace
}  // namespace tandem::server
