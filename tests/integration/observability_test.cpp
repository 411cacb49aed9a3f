// observability_test.cpp — /metrics and the admin endpoints of a real tandem-server: a
// connection and its messages show up in the Prometheus text, and /api/v1/ws/stats and
// /api/v1/ws/rooms answer only with the admin bearer token.
#include <cJSON.h>

#include <cstdint>
#include <sstream>

#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

constexpr std::string_view kAdminToken = "observability-admin-token-0123456789";

// The value of the unlabelled sample `name` in Prometheus text, or -1 when it is missing.
std::int64_t sample(const std::string& text, std::string_view name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ' ')
      return std::stoll(line.substr(name.size() + 1));
  return -1;
}

std::string bearer(std::string_view token) { return "Authorization: Bearer " + std::string(token) + "\r\n"; }

class observability_test : public ServerTest {
 protected:
  observability_test() : ServerTest({"--admin-token", std::string(kAdminToken)}) {}

  HttpReply get(std::string_view path, std::string_view headers = {}) {
    return http_get(server.port(), path, milliseconds{1000}, headers);
  }
};

class observability_without_admin_token_test : public ServerTest {};

}  // namespace

TEST_F(observability_test, metrics_count_a_connection_and_its_messages) {
  HttpReply before = get("/metrics");
  ASSERT_EQ(before.status, 200);
  EXPECT_NE(before.body.find("# TYPE tandem_connections gauge\n"), std::string::npos) << before.body;
  EXPECT_EQ(sample(before.body, "tandem_connections"), 0);
  EXPECT_EQ(sample(before.body, "tandem_messages_in_total"), 0);

  TransportProbe probe;
  open_with_token(probe, mint_token());
  ASSERT_TRUE(wait_for_message<protocol::Connected>(probe).has_value());
  const std::string ping = R"({"type":"ping","id":"p1"})";
  ASSERT_EQ(probe.send(ping), SendStatus::Sent);
  ASSERT_TRUE(wait_for_message<protocol::Pong>(probe, "p1").has_value());
  ASSERT_EQ(probe.send("{not json"), SendStatus::Sent);
  ASSERT_TRUE(wait_for_message<protocol::ErrorReply>(probe).has_value());

  const HttpReply after = get("/metrics");
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(sample(after.body, "tandem_connections"), 1) << after.body;
  EXPECT_EQ(sample(after.body, "tandem_users"), 1) << after.body;
  EXPECT_EQ(sample(after.body, "tandem_messages_in_total"), 2) << after.body;
  EXPECT_EQ(sample(after.body, "tandem_bytes_in_total"), static_cast<std::int64_t>(ping.size() + 9)) << after.body;
  // connected, pong, error: three messages in at most three frames, and their bytes.
  EXPECT_EQ(sample(after.body, "tandem_messages_out_total"), 3) << after.body;
  EXPECT_GE(sample(after.body, "tandem_frames_out_total"), 1) << after.body;
  std::int64_t received_bytes = 0;
  for (const std::string& frame : probe.log.messages) received_bytes += static_cast<std::int64_t>(frame.size());
  EXPECT_EQ(sample(after.body, "tandem_bytes_out_total"), received_bytes) << after.body;
  EXPECT_NE(after.body.find("\ntandem_errors_total{code=\"bad_json\"} 1\n"), std::string::npos) << after.body;
}

TEST_F(observability_test, stats_need_the_admin_bearer_token) {
  TransportProbe probe;
  open_with_token(probe, mint_token());
  ASSERT_TRUE(wait_for_message<protocol::Connected>(probe).has_value());

  EXPECT_EQ(get("/api/v1/ws/stats").status, 401);
  EXPECT_EQ(get("/api/v1/ws/stats", bearer("not-the-admin-token-0123456789")).status, 403);
  EXPECT_EQ(get("/api/v1/ws/rooms").status, 401);

  const HttpReply stats = get("/api/v1/ws/stats", bearer(kAdminToken));
  ASSERT_EQ(stats.status, 200) << stats.body;
  cJSON* doc = cJSON_Parse(stats.body.c_str());
  ASSERT_NE(doc, nullptr) << stats.body;
  const cJSON* connections = cJSON_GetObjectItemCaseSensitive(doc, "connections");
  const cJSON* users = cJSON_GetObjectItemCaseSensitive(doc, "users");
  EXPECT_TRUE(cJSON_IsNumber(connections) && connections->valueint == 1) << stats.body;
  EXPECT_TRUE(cJSON_IsNumber(users) && users->valueint == 1) << stats.body;
  for (const char* field : {"rooms", "uptime_s", "messages_in", "messages_out", "bytes_in", "bytes_out"})
    EXPECT_TRUE(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(doc, field))) << field << " in " << stats.body;
  cJSON_Delete(doc);

  const HttpReply rooms = get("/api/v1/ws/rooms", bearer(kAdminToken));
  EXPECT_EQ(rooms.status, 200);
  EXPECT_TRUE(rooms.body.starts_with(R"({"rooms":[)")) << rooms.body;
}

TEST_F(observability_without_admin_token_test, admin_endpoints_are_off_and_say_why) {
  const HttpReply stats = http_get(server.port(), "/api/v1/ws/stats", milliseconds{1000}, bearer(kAdminToken));
  EXPECT_EQ(stats.status, 403);
  EXPECT_NE(stats.body.find("admin_token"), std::string::npos) << stats.body;
  EXPECT_EQ(server.get("/metrics").status, 200);  // /metrics needs no token
}

TEST_F(observability_test, rooms_are_counted_and_listed_with_members_and_connections) {
  TransportProbe ana_tab1, ana_tab2, ben;
  TokenSpec ana_spec, ben_spec;
  ana_spec.sub = "ana";
  ben_spec.sub = "ben";
  for (auto [probe, spec] : {std::pair{&ana_tab1, &ana_spec}, std::pair{&ana_tab2, &ana_spec}, std::pair{&ben, &ben_spec}}) {
    open_with_token(*probe, mint_token(*spec));
    ASSERT_TRUE(wait_for_message<protocol::Connected>(*probe).has_value());
    ASSERT_EQ(probe->send(R"({"type":"subscribe","id":"s","room":"workflow:7"})"), SendStatus::Sent);
    ASSERT_TRUE(wait_for_message<protocol::Subscribed>(*probe, "s").has_value());
  }

  // workflow:7 plus the automatic user:ana and user:ben rooms.
  EXPECT_EQ(sample(get("/metrics").body, "tandem_rooms"), 3);
  const HttpReply rooms = get("/api/v1/ws/rooms?prefix=workflow:", bearer(kAdminToken));
  ASSERT_EQ(rooms.status, 200);
  EXPECT_EQ(rooms.body, R"({"rooms":[{"room":"workflow:7","members":2,"connections":3}]})");
}
