// http_test.cpp — the HTTP side of the port a real tandem-server listens on.
#include <cJSON.h>

#include <fstream>

#include "raw_client.h"

#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

class http_test : public ServerTest {};

struct JsonDoc {
  explicit JsonDoc(const std::string& text) : root(cJSON_Parse(text.c_str())) {}
  ~JsonDoc() { cJSON_Delete(root); }
  JsonDoc(const JsonDoc&) = delete;
  JsonDoc& operator=(const JsonDoc&) = delete;
  const cJSON* get(const char* name) const { return cJSON_GetObjectItemCaseSensitive(root, name); }
  cJSON* root;
};

}  // namespace

TEST_F(http_test, healthz_answers_json_and_counts_connections) {
  HttpReply reply = server.get("/healthz");
  ASSERT_EQ(reply.status, 200);
  {
    JsonDoc doc(reply.body);
    ASSERT_NE(doc.root, nullptr) << reply.body;
    ASSERT_TRUE(cJSON_IsString(doc.get("status")));
    EXPECT_STREQ(doc.get("status")->valuestring, "ok");
    EXPECT_TRUE(cJSON_IsString(doc.get("version"))) << reply.body;
    EXPECT_TRUE(cJSON_IsNumber(doc.get("uptime_s"))) << reply.body;
    ASSERT_TRUE(cJSON_IsNumber(doc.get("connections"))) << reply.body;
    EXPECT_EQ(doc.get("connections")->valueint, 0);
  }

  TransportProbe probe;
  open_with_token(probe, mint_token());
  ASSERT_TRUE(wait_for_message<protocol::Connected>(probe).has_value());
  reply = server.get("/healthz");
  ASSERT_EQ(reply.status, 200);
  JsonDoc doc(reply.body);
  ASSERT_TRUE(cJSON_IsNumber(doc.get("connections"))) << reply.body;
  EXPECT_EQ(doc.get("connections")->valueint, 1);
}

// Load balancers often check with HEAD: the GET answer's status, no body; the server then
// goes on answering.
TEST_F(http_test, head_on_healthz_and_metrics_answers_200_without_a_body) {
  for (const char* path : {"/healthz", "/metrics"}) {
    const HttpReply reply = http_head(server.port(), path);
    EXPECT_EQ(reply.status, 200) << path;
    EXPECT_EQ(reply.body, "") << path;
  }
  EXPECT_EQ(http_head(server.port(), "/api/v1/publish").status, 405);
  EXPECT_EQ(server.get("/healthz").status, 200);
}

// The admin page comes with headers of its own (no caching, no frames, no other origins'
// code, no referrer) under both of its addresses: /admin.html is not left to the file mount.
TEST_F(http_test, the_admin_page_has_its_security_headers_at_both_addresses) {
  std::ofstream(server.web_root() / "admin.html") << "<!doctype html><title>admin</title>\n";
  for (const char* path : {"/admin", "/admin.html"}) {
    RawClient client(server.port());
    ASSERT_TRUE(client.send("GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    const RawHttpResponse reply = client.read_response();
    EXPECT_EQ(reply.status, 200) << path;
    EXPECT_NE(reply.body.find("<title>admin</title>"), std::string::npos) << path << ": " << reply.body;
    EXPECT_EQ(reply.header("cache-control"), "no-store") << path;
    EXPECT_NE(reply.header("content-security-policy").find("frame-ancestors 'none'"), std::string::npos) << path;
    EXPECT_EQ(reply.header("referrer-policy"), "no-referrer") << path;
  }
  EXPECT_EQ(server.get("/admin.htmlx").status, 404);
}

TEST_F(http_test, serves_static_files_from_the_web_root) {
  const HttpReply reply = server.get("/index.html");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("<title>integration</title>"), std::string::npos) << reply.body;
  EXPECT_EQ(server.get("/no-such-file.html").status, 404);
}
