// tests/server/http_api_test.cpp — /healthz, the dev token endpoint, /metrics and the admin
// endpoints (bearer token checks), one room's members and locks among them (on a real hub).
#include "http_api.h"

#include <gtest/gtest.h>

#include "fakes.h"
#include "http_answer.h"
#include "tandem/json.h"

namespace tandem::server {
namespace {

constexpr Now kNow{Millis(125000), 1700000000123};

struct Api {
  Settings settings;
  HttpApi::ServerState state;
  HttpApi api{settings, [this] { return state; }, Millis(5000)};

  explicit Api(bool dev) {
    settings.dev = dev;
    settings.jwt_secret = std::string(testing::kSecret);
  }
  HttpResponse get(std::string path, std::vector<std::pair<std::string, std::string>> query = {}) {
    return testing::answer_now(api, HttpRequest{"GET", std::move(path), std::move(query), ""}, kNow);
  }
};

TEST(http_api_test, healthz_reports_version_uptime_and_connections) {
  Api api(false);
  api.state.hub.connections = 3;
  auto reply = api.get("/healthz");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "application/json");
  EXPECT_EQ(reply.body, R"({"status":"ok","version":")" + std::string(TANDEM_SERVER_VERSION) +
                            R"(","uptime_s":120,"connections":3})");
}

TEST(http_api_test, healthz_is_503_while_shutting_down) {
  Api api(false);
  api.state.shutting_down = true;
  auto reply = api.get("/healthz");
  EXPECT_EQ(reply.status, 503);
  EXPECT_NE(reply.body.find(R"("status":"shutting_down")"), std::string::npos);
}

TEST(http_api_test, unknown_paths_and_methods) {
  Api api(true);
  EXPECT_EQ(api.get("/api/v1/nothing").status, 404);
  EXPECT_EQ(testing::answer_now(api.api, HttpRequest{"POST", "/healthz", {}, ""}, kNow).status, 405);
  EXPECT_EQ(testing::answer_now(api.api, HttpRequest{"POST", "/api/v1/dev/token", {{"name", "Ana"}}, ""}, kNow).status, 405);
}

TEST(http_api_test, dev_token_endpoint_does_not_exist_outside_dev_mode) {
  Api api(false);
  EXPECT_EQ(api.get("/api/v1/dev/token", {{"name", "Ana"}}).status, 404);
}

TEST(http_api_test, dev_token_is_signed_with_the_server_secret_for_all_rooms) {
  Api api(true);
  auto reply = api.get("/api/v1/dev/token", {{"name", "Ana María"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto root = json::parse_json(reply.body);
  ASSERT_TRUE(root.ok());
  json::Fields body(root.value().get(), "reply");
  std::string token;
  std::int64_t expires_at = 0;
  std::string id, name, color;
  body.str("token", token, {1, 9000, false});
  body.int64("expires_at", expires_at, 0, INT64_MAX);
  body.nested("user", true, [&](json::Fields& user) {
    user.str("id", id);
    user.str("name", name);
    user.str("color", color);
  });
  ASSERT_TRUE(body.ok()) << body.error().message;

  auto claims = jwt::verify(token, {testing::kSecret, kNow.wall / 1000, 0});
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->sub, "dev:ana-mar--a");
  EXPECT_EQ(claims->name, "Ana María");
  EXPECT_EQ(claims->rooms, std::vector<std::string>{"*"});
  EXPECT_EQ(claims->exp, kNow.wall / 1000 + api.settings.dev_token_ttl_s);
  EXPECT_EQ(expires_at, claims->exp * 1000);
  EXPECT_EQ(id, claims->sub);
  EXPECT_EQ(name, "Ana María");
  EXPECT_EQ(color, color_for("Ana María"));
  EXPECT_TRUE(jwt::is_hex_color(color));
}

TEST(http_api_test, dev_token_takes_rooms_and_id) {
  Api api(true);
  auto reply = api.get("/api/v1/dev/token", {{"name", "Bo"}, {"id", "user-7"}, {"rooms", "workflow:*,chat:lobby"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto root = json::parse_json(reply.body);
  ASSERT_TRUE(root.ok());
  json::Fields body(root.value().get(), "reply");
  std::string token;
  body.str("token", token, {1, 9000, false});
  auto claims = jwt::verify(token, {testing::kSecret, kNow.wall / 1000, 0});
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->sub, "user-7");
  EXPECT_EQ(claims->rooms, (std::vector<std::string>{"workflow:*", "chat:lobby"}));
}

TEST(http_api_test, dev_token_rejects_bad_input) {
  Api api(true);
  EXPECT_EQ(api.get("/api/v1/dev/token").status, 400);
  EXPECT_EQ(api.get("/api/v1/dev/token", {{"name", ""}}).status, 400);
  EXPECT_EQ(api.get("/api/v1/dev/token", {{"name", std::string(65, 'a')}}).status, 400);
  EXPECT_EQ(api.get("/api/v1/dev/token", {{"name", "\xff\xfe"}}).status, 400);
  // A NUL in the name would mint a token named "" or cut at the NUL (found by fuzz.http_api).
  EXPECT_EQ(api.get("/api/v1/dev/token", {{"name", std::string("\0", 1)}}).status, 400);
  EXPECT_EQ(api.get("/api/v1/dev/token", {{"name", std::string("Ana\0Bo", 6)}}).status, 400);
  EXPECT_EQ(api.get("/api/v1/dev/token", {{"name", "Ana"}, {"rooms", "bad room"}}).status, 400);
  EXPECT_EQ(api.get("/api/v1/dev/token", {{"name", "Ana"}, {"rooms", ","}}).status, 400);
  EXPECT_EQ(api.get("/api/v1/dev/token", {{"name", "Ana"}, {"id", "no spaces"}}).status, 400);
}

TEST(http_api_test, colors_are_stable_per_name_and_well_formed) {
  EXPECT_EQ(color_for("Ana"), color_for("Ana"));
  EXPECT_NE(color_for("Ana"), color_for("Bo"));
  for (const char* name : {"", "a", "Ana", "Zoë", "a much longer display name"})
    EXPECT_TRUE(jwt::is_hex_color(color_for(name))) << name << " -> " << color_for(name);
}

// ---- /metrics and the admin endpoints --------------------------------------------------------

constexpr std::string_view kAdminToken = "admin-token-0123456789abcdef";

struct AdminApi {
  Settings settings;
  Metrics metrics;
  HttpApi::ServerState state;
  HttpApi api{settings, [this] {
                state.metrics = &metrics;
                return state;
              },
              Millis(5000)};

  explicit AdminApi(std::string_view admin_token) {
    settings.jwt_secret = std::string(testing::kSecret);
    settings.admin_token = std::string(admin_token);
  }
  HttpResponse get(std::string path, std::string authorization,
                   std::vector<std::pair<std::string, std::string>> query = {}) {
    return testing::answer_now(api, HttpRequest{"GET", std::move(path), std::move(query), std::move(authorization)}, kNow);
  }
};

TEST(http_api_test, metrics_needs_no_token_and_is_prometheus_text) {
  AdminApi api("");
  api.state.hub.connections = 2;
  api.metrics.message_in(10);
  auto reply = api.get("/metrics", "");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(reply.body.find("\ntandem_connections 2\n"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find("\ntandem_messages_in_total 1\n"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find("\ntandem_uptime_seconds 120\n"), std::string::npos) << reply.body;
}

TEST(http_api_test, admin_endpoints_are_off_without_an_admin_token) {
  AdminApi api("");
  for (const char* path : {"/api/v1/ws/stats", "/api/v1/ws/rooms"}) {
    auto reply = api.get(path, "Bearer anything");
    EXPECT_EQ(reply.status, 403) << path;
    EXPECT_NE(reply.body.find("admin_token"), std::string::npos) << reply.body;
  }
}

TEST(http_api_test, admin_endpoints_need_the_bearer_token) {
  AdminApi api(kAdminToken);
  for (const char* path : {"/api/v1/ws/stats", "/api/v1/ws/rooms"}) {
    EXPECT_EQ(api.get(path, "").status, 401) << path;
    EXPECT_EQ(api.get(path, "Basic " + std::string(kAdminToken)).status, 403) << path;
    EXPECT_EQ(api.get(path, "Bearer wrong-token-0123456789abcdef").status, 403) << path;
    EXPECT_EQ(api.get(path, "Bearer " + std::string(kAdminToken) + "x").status, 403) << path;
    EXPECT_EQ(api.get(path, "Bearer " + std::string(kAdminToken.substr(1))).status, 403) << path;
    EXPECT_EQ(api.get(path, "Bearer " + std::string(kAdminToken)).status, 200) << path;
    EXPECT_EQ(api.get(path, "bearer " + std::string(kAdminToken)).status, 200) << path;  // scheme is case-insensitive
  }
  EXPECT_EQ(testing::answer_now(api.api, HttpRequest{"POST", "/api/v1/ws/stats", {}, "Bearer " + std::string(kAdminToken)}, kNow).status,
            405);
}

TEST(http_api_test, bearer_matches_only_the_exact_token) {
  EXPECT_TRUE(bearer_matches("Bearer abc", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer abc", ""));
  EXPECT_FALSE(bearer_matches("Bearer ", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer abcd", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer  abc", "abc"));
  EXPECT_FALSE(bearer_matches("abc", "abc"));
}

TEST(http_api_test, stats_reports_connections_users_rooms_and_traffic) {
  AdminApi api(kAdminToken);
  api.state.hub.connections = 3;
  api.metrics.user_connected("ana");
  api.metrics.user_connected("ana");
  api.metrics.user_connected("bo");
  api.metrics.message_in(40);
  api.metrics.frame_out(3, 300);
  api.metrics.set_room_lister([] { return std::vector<RoomSummary>{{"workflow:1", 2, 3}}; });
  auto reply = api.get("/api/v1/ws/stats", "Bearer " + std::string(kAdminToken));
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body,
            R"({"connections":3,"users":2,"rooms":1,"uptime_s":120,"messages_in":1,"messages_out":3,)"
            R"("frames_out":1,"bytes_in":40,"bytes_out":300})");
}

TEST(http_api_test, rooms_lists_members_sorted_and_filters_by_prefix) {
  AdminApi api(kAdminToken);
  const std::string bearer = "Bearer " + std::string(kAdminToken);
  EXPECT_EQ(api.get("/api/v1/ws/rooms", bearer).body, R"({"rooms":[]})");
  api.metrics.set_room_lister(
      [] { return std::vector<RoomSummary>{{"workflow:2", 1, 1}, {"chat:lobby", 3, 4}, {"workflow:1", 2, 2}}; });
  EXPECT_EQ(api.get("/api/v1/ws/rooms", bearer).body,
            R"({"rooms":[{"room":"chat:lobby","members":3,"connections":4},)"
            R"({"room":"workflow:1","members":2,"connections":2},{"room":"workflow:2","members":1,"connections":1}]})");
  EXPECT_EQ(api.get("/api/v1/ws/rooms", bearer, {{"prefix", "chat:"}}).body,
            R"({"rooms":[{"room":"chat:lobby","members":3,"connections":4}]})");
}

// Several instances: each one's heartbeat carries its report (instance_report); the admin
// endpoints of any instance add up every live instance's figures and list every room once,
// from its owner.
TEST(http_api_test, with_several_instances_stats_and_rooms_cover_the_whole_cluster) {
  AdminApi other(kAdminToken);
  other.state.instance = "b";
  other.state.hub.connections = 2;
  other.metrics.user_connected("cy");
  other.metrics.message_in(10);
  other.metrics.set_room_lister([] { return std::vector<RoomSummary>{{"workflow:9", 2, 2}}; });
  const std::vector<std::string> reports{other.api.instance_report(kNow), "not json: a newer version's report"};

  AdminApi api(kAdminToken);
  api.state.instance = "a";
  api.state.cluster_reports = &reports;
  api.state.hub.connections = 3;
  api.metrics.user_connected("ana");
  api.metrics.message_in(40);
  api.metrics.set_room_lister([] { return std::vector<RoomSummary>{{"workflow:1", 2, 3}}; });
  const std::string bearer = "Bearer " + std::string(kAdminToken);
  EXPECT_EQ(api.get("/api/v1/ws/stats", bearer).body,
            R"({"connections":5,"users":2,"rooms":2,"uptime_s":120,"messages_in":2,"messages_out":0,)"
            R"("frames_out":0,"bytes_in":50,"bytes_out":0,"instances":[)"
            R"({"instance":"a","connections":3,"users":1,"rooms":1,"uptime_s":120},)"
            R"({"instance":"b","connections":2,"users":1,"rooms":1,"uptime_s":120}]})");
  EXPECT_EQ(api.get("/api/v1/ws/rooms", bearer).body,
            R"({"rooms":[{"room":"workflow:1","members":2,"connections":3},)"
            R"({"room":"workflow:9","members":2,"connections":2}]})");
}

// GET /api/v1/ws/rooms/{room}: one room's members and locks, as Hub::room_detail reports them
// (faked here; the real one below).
TEST(http_api_test, a_room_needs_the_admin_token_and_an_unknown_one_is_404) {
  AdminApi api(kAdminToken);
  int asked = 0;
  api.api.set_room_inspector([&](std::string_view room, Now) -> std::optional<RoomDetail> {
    ++asked;
    if (room != "workflow:1") return std::nullopt;
    return RoomDetail{"workflow:1", {}, {}};
  });
  const std::string path = "/api/v1/ws/rooms/workflow:1";
  EXPECT_EQ(api.get(path, "").status, 401);
  EXPECT_EQ(api.get(path, "Bearer wrong-token-0123456789abcdef").status, 403);
  EXPECT_EQ(asked, 0) << "nothing is looked up before the token is checked";
  EXPECT_EQ(testing::answer_now(api.api, HttpRequest{"POST", path, {}, "Bearer " + std::string(kAdminToken)}, kNow).status, 405);

  const std::string bearer = "Bearer " + std::string(kAdminToken);
  auto known = api.get(path, bearer);
  EXPECT_EQ(known.status, 200);
  EXPECT_EQ(known.body, R"({"room":"workflow:1","members":[],"locks":[]})");
  EXPECT_EQ(api.get("/api/v1/ws/rooms/workflow%3A1", bearer).status, 200) << "the room may be percent-encoded";
  auto unknown = api.get("/api/v1/ws/rooms/workflow:2", bearer);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find(R"("error":"not_found")"), std::string::npos) << unknown.body;
  EXPECT_EQ(api.get("/api/v1/ws/rooms/no-kind", bearer).status, 400);
  EXPECT_EQ(api.get("/api/v1/ws/rooms/workflow:1/more", bearer).status, 404);

  AdminApi off("");
  EXPECT_EQ(off.get(path, "Bearer anything").status, 403);
}

// Several instances: each knows the members and locks of its own rooms only; a room another
// instance reported is 404 naming that instance.
TEST(http_api_test, with_several_instances_a_room_elsewhere_is_404_naming_its_instance) {
  AdminApi other(kAdminToken);
  other.state.instance = "b";
  other.metrics.set_room_lister([] { return std::vector<RoomSummary>{{"workflow:9", 2, 2}}; });
  const std::vector<std::string> reports{other.api.instance_report(kNow)};

  AdminApi api(kAdminToken);
  api.state.instance = "a";
  api.state.cluster_reports = &reports;
  api.api.set_room_inspector([](std::string_view, Now) { return std::optional<RoomDetail>{}; });
  const std::string bearer = "Bearer " + std::string(kAdminToken);
  auto elsewhere = api.get("/api/v1/ws/rooms/workflow:9", bearer);
  EXPECT_EQ(elsewhere.status, 404);
  EXPECT_NE(elsewhere.body.find(R"("instance":"b")"), std::string::npos) << elsewhere.body;
  auto nowhere = api.get("/api/v1/ws/rooms/workflow:8", bearer);
  EXPECT_EQ(nowhere.status, 404);
  EXPECT_EQ(nowhere.body.find(R"("instance")"), std::string::npos) << nowhere.body;
}

// The endpoint on a real hub: Ana with two tabs and Ben in workflow:1, Ana holding a lock on n1.
TEST(http_api_test, a_room_lists_its_members_with_their_connections_and_its_locks) {
  Settings settings;
  settings.jwt_secret = std::string(testing::kSecret);
  settings.admin_token = std::string(kAdminToken);
  testing::FakeEdge edge;
  testing::CountingIds ids;
  Hub hub(settings, ids, edge);
  HttpApi api(settings,
              [&] {
                HttpApi::ServerState state;
                state.hub = hub.stats();
                state.metrics = &hub.metrics();
                return state;
              },
              Millis(5000));
  api.set_room_inspector([&](std::string_view room, Now now) { return hub.room_detail(room, now); });

  auto join = [&](const std::string& sub, const std::string& name, const std::string& color) {
    jwt::Claims claims;
    claims.sub = sub;
    claims.name = name;
    claims.color = color;
    claims.rooms = {"workflow:*"};
    claims.exp = kNow.wall / 1000 + 3600;
    OpenRequest request;
    request.token = jwt::mint(claims, testing::kSecret);
    const ConnectionId id = hub.open(request, kNow);
    hub.receive(id, R"({"type":"subscribe","id":"s","room":"workflow:1"})", kNow);
    return id;
  };
  const ConnectionId ana = join("ana", "Ana", "#e91e63");
  join("ben", "Ben", "#3f51b5");
  join("ana", "Ana", "#e91e63");  // a second tab
  hub.receive(ana, R"({"type":"lock","id":"l","room":"workflow:1","resource":"n1"})", kNow);
  hub.commit();
  const auto granted = testing::messages_of<protocol::LockGranted>(testing::drain_frames(hub, ana));
  ASSERT_EQ(granted.size(), 1u);

  auto reply = testing::answer_now(
      api, HttpRequest{"GET", "/api/v1/ws/rooms/workflow:1", {}, "Bearer " + std::string(kAdminToken)}, kNow);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body,
            R"({"room":"workflow:1","members":[)"
            R"({"user":"ana","name":"Ana","color":"#e91e63","connections":2},)"
            R"({"user":"ben","name":"Ben","color":"#3f51b5","connections":1}],)"
            R"("locks":[{"resource":"n1","holder":{"user":"ana","name":"Ana","color":"#e91e63"},"fence":)" +
                std::to_string(granted[0].fence) + R"(,"expires_at":)" + std::to_string(granted[0].expires_at) +
                R"(,"expires_in_ms":30000}]})");

  // A lease past its expiry is not in force any more, even before the tick releases it.
  const Now later{kNow.mono + Millis(30000), kNow.wall + 30000};
  auto expired = testing::answer_now(
      api, HttpRequest{"GET", "/api/v1/ws/rooms/workflow:1", {}, "Bearer " + std::string(kAdminToken)}, later);
  EXPECT_NE(expired.body.find(R"("locks":[])"), std::string::npos) << expired.body;
  EXPECT_EQ(testing::answer_now(api, HttpRequest{"GET", "/api/v1/ws/rooms/workflow:2", {}, "Bearer " + std::string(kAdminToken)}, kNow)
                .status,
            404);
}

}  // namespace
}  // namespace tandem::server
