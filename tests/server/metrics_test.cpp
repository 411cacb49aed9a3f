// tests/server/metrics_test.cpp — the Prometheus text format of the metrics, and what the hub
// counts (messages and bytes in, frames vs messages out for batches, errors and closes by
// code, slow consumers, distinct users) driven through a fake edge.
#include "metrics.h"

#include <gtest/gtest.h>

#include <sstream>

#include "fakes.h"
#include "hub.h"

namespace tandem::server {
namespace {

using testing::kSecret;

constexpr UnixMillis kWallStart = 1700000000000;
constexpr Now kNow{Millis(1000), kWallStart};

// Every test has a hub behind a fake edge; the text-format tests just ignore it.
class metrics_test : public ::testing::Test {
 protected:
  metrics_test() : hub_(settings(), ids_, edge_) {}

  static Settings settings() {
    Settings s;
    s.jwt_secret = std::string(kSecret);
    s.max_bad_frames = 3;
    s.max_outbound_bytes = 4096;
    s.max_batch_bytes = 1024;
    return s;
  }

  ConnectionId open_as(std::string user) {
    OpenRequest request;
    request.token = testing::token_for(std::move(user), kWallStart / 1000 + 3600);
    return hub_.open(request, kNow);
  }

  // Drains like the edge; returns the frames taken.
  std::vector<std::string> drain(ConnectionId id) {
    std::vector<std::string> frames;
    while (Bytes frame = hub_.next_frame(id)) frames.push_back(*frame);
    return frames;
  }

  MetricsSnapshot snapshot() const { return hub_.metrics().snapshot(hub_.stats().connections, 0); }

  testing::FakeEdge edge_;
  testing::CountingIds ids_;
  Hub hub_;
};

// ---- text format ----------------------------------------------------------------------------

TEST_F(metrics_test, every_sample_has_help_and_type_lines_and_the_tandem_prefix) {
  MetricsSnapshot s;
  s.errors_by_code["bad_json"] = 2;
  s.closes_by_code[4508] = 1;
  const std::string text = prometheus_text(s);
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');

  std::istringstream lines(text);
  std::string line, helped, typed;
  int samples = 0;
  while (std::getline(lines, line)) {
    ASSERT_FALSE(line.empty());
    if (line.starts_with("# HELP ")) {
      helped = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      typed = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_EQ(typed, helped) << "TYPE must follow the HELP of the same family";
      const std::string type = line.substr(line.rfind(' ') + 1);
      EXPECT_TRUE(type == "gauge" || type == "counter") << line;
      if (type == "counter") {
        EXPECT_TRUE(typed.ends_with("_total")) << typed;
      }
      continue;
    }
    ++samples;
    const std::string name = line.substr(0, line.find_first_of(" {"));
    EXPECT_EQ(name, typed) << "sample without its # TYPE line: " << line;
    EXPECT_TRUE(name.starts_with("tandem_")) << line;
    const std::string value = line.substr(line.rfind(' ') + 1);
    EXPECT_EQ(value.find_first_not_of("0123456789"), std::string::npos) << line;
  }
  EXPECT_EQ(samples, 32);  // 30 single samples (7 of them webhooks) + one error code + one close code
}

TEST_F(metrics_test, labelled_samples_carry_their_code) {
  MetricsSnapshot s;
  s.errors_by_code["forbidden"] = 3;
  s.errors_by_code["bad_json"] = 1;
  s.closes_by_code[4400] = 2;
  const std::string text = prometheus_text(s);
  EXPECT_NE(text.find("\ntandem_errors_total{code=\"bad_json\"} 1\ntandem_errors_total{code=\"forbidden\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\ntandem_closes_total{code=\"4400\"} 2\n"), std::string::npos) << text;
}

TEST_F(metrics_test, label_values_are_escaped) {
  EXPECT_EQ(prometheus_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(prometheus_label_value("plain"), "plain");
}

TEST_F(metrics_test, rooms_come_from_the_registered_lister_sorted) {
  Metrics metrics;
  EXPECT_TRUE(metrics.rooms().empty());
  EXPECT_EQ(metrics.snapshot(0, 0).rooms, 0u);
  metrics.set_room_lister([] { return std::vector<RoomSummary>{{"b", 1, 1}, {"a", 2, 3}}; });
  ASSERT_EQ(metrics.rooms().size(), 2u);
  EXPECT_EQ(metrics.rooms()[0].room, "a");
  EXPECT_EQ(metrics.snapshot(0, 0).rooms, 2u);
}

TEST_F(metrics_test, users_are_distinct_and_leave_with_their_last_connection) {
  Metrics metrics;
  metrics.user_connected("ana");
  metrics.user_connected("ana");
  metrics.user_connected("bo");
  EXPECT_EQ(metrics.snapshot(3, 0).users, 2u);
  metrics.user_disconnected("ana");
  EXPECT_EQ(metrics.snapshot(2, 0).users, 2u);
  metrics.user_disconnected("ana");
  metrics.user_disconnected("nobody");  // never connected: ignored
  EXPECT_EQ(metrics.snapshot(1, 0).users, 1u);
}

// ---- what the hub counts --------------------------------------------------------------------


TEST_F(metrics_test, messages_in_count_received_text_and_its_bytes) {
  const ConnectionId id = open_as("ana");
  const std::string ping = R"({"type":"ping","id":"p1"})";
  hub_.receive(id, ping, kNow);
  hub_.receive(id, ping, kNow);
  EXPECT_EQ(snapshot().messages_in, 2u);
  EXPECT_EQ(snapshot().bytes_in, 2 * ping.size());
}

TEST_F(metrics_test, a_batch_frame_is_one_frame_carrying_several_messages) {
  const ConnectionId id = open_as("ana");
  hub_.receive(id, R"({"type":"ping","id":"p1"})", kNow);
  hub_.receive(id, R"({"type":"ping","id":"p2"})", kNow);
  // connected + two pongs are queued: the edge drains them as one batch frame.
  const std::vector<std::string> frames = drain(id);
  ASSERT_EQ(frames.size(), 1u);
  ASSERT_EQ(frames[0].front(), '[');
  const MetricsSnapshot s = snapshot();
  EXPECT_EQ(s.frames_out, 1u);
  EXPECT_EQ(s.messages_out, 3u);
  EXPECT_EQ(s.bytes_out, frames[0].size());
}

TEST_F(metrics_test, protocol_errors_are_counted_by_code_and_the_4400_close_too) {
  const ConnectionId id = open_as("ana");
  hub_.receive(id, "{not json", kNow);
  hub_.receive(id, R"({"type":"no_such_type"})", kNow);
  hub_.receive(id, "{not json", kNow);
  hub_.receive(id, "{not json", kNow);  // the 4th within a minute: close 4400
  const MetricsSnapshot s = snapshot();
  EXPECT_EQ(s.errors_by_code.at("bad_json"), 3u);
  EXPECT_EQ(s.errors_by_code.at("unknown_type"), 1u);
  EXPECT_EQ(s.closes_by_code.at(4400), 1u);
  EXPECT_EQ(s.slow_consumer_closes, 0u);
}

TEST_F(metrics_test, a_slow_consumer_close_is_counted) {
  const ConnectionId id = open_as("ana");
  // Never drained: pongs pile up past max_outbound_bytes (4096).
  for (int i = 0; i < 200 && !hub_.close_request(id); ++i)
    hub_.receive(id, R"({"type":"ping","id":"p)" + std::to_string(i) + R"("})", kNow);
  ASSERT_NE(hub_.close_request(id), nullptr);
  EXPECT_EQ(hub_.close_request(id)->code, 4508);
  const MetricsSnapshot s = snapshot();
  EXPECT_EQ(s.slow_consumer_closes, 1u);
  EXPECT_EQ(s.closes_by_code.at(4508), 1u);
}

TEST_F(metrics_test, users_count_distinct_authenticated_users) {
  const ConnectionId ana1 = open_as("ana");
  const ConnectionId ana2 = open_as("ana");
  const ConnectionId bo = open_as("bo");
  hub_.open(OpenRequest{}, kNow);  // not authenticated yet: a connection, not a user
  EXPECT_EQ(snapshot().connections, 4u);
  EXPECT_EQ(snapshot().users, 2u);
  hub_.closed(ana1);
  EXPECT_EQ(snapshot().users, 2u);
  hub_.closed(ana2);
  hub_.closed(bo);
  EXPECT_EQ(snapshot().users, 0u);
  EXPECT_EQ(snapshot().connections, 1u);
}

}  // namespace
}  // namespace tandem::server
