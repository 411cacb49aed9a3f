// frames_test.cpp — what a real tandem-server does with bad input on an authenticated
// connection: error replies that leave the connection usable, and the hard frame limit (1009).
#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;
using tandem::protocol::Connected;
using tandem::protocol::ErrorReply;
using tandem::protocol::Pong;

namespace {

constexpr std::int64_t kMaxFrameBytes = 2048;
constexpr std::int64_t kHardFrameBytes = 16384;

class frames_test : public ServerTest {
 protected:
  frames_test()
      : ServerTest({"--max-frame-bytes", std::to_string(kMaxFrameBytes), "--hard-frame-bytes",
                    std::to_string(kHardFrameBytes)}) {}

  // Opens an authenticated connection.
  void connect(TransportProbe& probe) {
    open_with_token(probe, mint_token());
    ASSERT_TRUE(wait_for_message<Connected>(probe).has_value()) << server.output();
  }

  // The connection is still usable: a ping with `id` is answered by a pong with that id.
  void expect_alive(TransportProbe& probe, const std::string& id) {
    ASSERT_EQ(probe.send(protocol::encode_client(protocol::Ping{}, id)), SendStatus::Sent);
    auto pong = wait_for_message<Pong>(probe, id);
    ASSERT_TRUE(pong.has_value()) << "no pong for " << id;
    EXPECT_FALSE(probe.log.closed.has_value());
  }
};

}  // namespace

TEST_F(frames_test, ping_gets_pong_with_the_same_id) {
  TransportProbe probe;
  connect(probe);
  const auto before_ms = std::chrono::duration_cast<milliseconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  probe.send(protocol::encode_client(protocol::Ping{}, "ping-42"));
  auto pong = wait_for_message<Pong>(probe, "ping-42");
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->second, "ping-42");
  EXPECT_GE(pong->first.ts, before_ms - 1000);  // server wall clock, Unix ms
  EXPECT_LE(pong->first.ts, before_ms + 60'000);
}

TEST_F(frames_test, malformed_json_gets_bad_json_and_the_connection_still_answers) {
  TransportProbe probe;
  connect(probe);
  probe.send("{\"type\":\"ping\",");
  auto error = wait_for_message<ErrorReply>(probe);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->first.code, "bad_json");
  expect_alive(probe, "after-bad-json");
}

TEST_F(frames_test, unknown_type_gets_unknown_type_with_the_request_id) {
  TransportProbe probe;
  connect(probe);
  probe.send(R"({"type":"teleport","id":"t-1"})");
  auto error = wait_for_message<ErrorReply>(probe, "t-1");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->first.code, "unknown_type");
  expect_alive(probe, "after-unknown");
}

TEST_F(frames_test, frame_over_max_gets_too_big_and_the_connection_stays_alive) {
  TransportProbe probe;
  connect(probe);
  // Valid JSON, just too large: the server must discard it by size, not parse it.
  const std::string big = R"({"type":"ping","id":"big","pad":")" + std::string(kMaxFrameBytes * 3, 'p') + "\"}";
  ASSERT_EQ(probe.send(big), SendStatus::Sent);
  auto error = wait_for_message<ErrorReply>(probe);
  ASSERT_TRUE(error.has_value()) << server.output();
  EXPECT_EQ(error->first.code, "too_big");
  expect_alive(probe, "after-too-big");
  // Frames are answered in order, so an answer to the discarded ping would be here by now.
  for (const auto& frame : decoded(probe.log)) EXPECT_NE(frame.id, std::optional<std::string>("big"));
}

TEST_F(frames_test, frame_over_the_hard_limit_closes_1009) {
  TransportProbe probe;
  connect(probe);
  ASSERT_EQ(probe.send(std::string(kHardFrameBytes * 2, 'h')), SendStatus::Sent);
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(probe.log.closed->code, 1009) << probe.log.closed->reason;
}
