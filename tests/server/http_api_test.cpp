// tests/server/http_api_test.cpp — /healthz and the dev token endpoint.
#include "http_api.h"

#include <gtest/gtest.h>

#include "fakes.h"
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
    return api.handle(HttpRequest{"GET", std::move(path), std::move(query)}, kNow);
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
  EXPECT_EQ(api.api.handle(HttpRequest{"POST", "/healthz", {}}, kNow).status, 405);
  EXPECT_EQ(api.api.handle(HttpRequest{"POST", "/api/v1/dev/token", {{"name", "Ana"}}}, kNow).status, 405);
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

}  // namespace
}  // namespace tandem::server
