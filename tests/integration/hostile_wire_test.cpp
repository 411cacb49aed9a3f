// hostile_wire_test.cpp — the hostile-input suite (issue 16): a table of what a hostile client
// sends at the HTTP, WebSocket and protocol layers of a real tandem-server, each with the answer
// docs/SECURITY.md documents for it. After every case the server must still be alive and a
// fresh client must be able to subscribe to a room and chat in it. One server serves the whole
// table (cases use fresh connections), so the suite also shows that nothing a case did lingers.
#include <memory>
#include <string>
#include <vector>

#include "raw_client.h"
#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

enum class Layer {
  Http,       // `bytes` is the whole request on a fresh connection; expect `http_status` and the end
  WebSocket,  // upgrade to `target`, then `bytes`; expect close `close_code`
  Protocol,   // upgrade with a valid token, then `bytes`; expect a reply naming `reply` on an open connection
};

struct HostileCase {
  std::string name;  // a gtest-safe name (letters, digits, _)
  Layer layer;
  std::string bytes;
  int http_status = 0;  // Http
  int close_code = 0;   // WebSocket
  std::string reply;    // Protocol: an error code ("bad_json") or a reply type ("pong")
  std::string target = "token";  // WebSocket: "token" (a valid one in the URL), "none", or a URL path
};

std::string frame(std::string_view text) { return RawClient::frame(1, text); }
std::string frame_with_first_byte(unsigned char first, std::string_view payload) {
  std::string out = RawClient::frame(1, payload);
  out[0] = static_cast<char>(first);
  return out;
}
std::string repeated(const std::string& one, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += one;
  return out;
}

std::vector<HostileCase> hostile_cases() {
  const std::string upgrade = RawClient::upgrade_request("/ws");
  std::vector<HostileCase> c;
  auto http = [&](std::string name, std::string bytes, int status) {
    c.push_back({std::move(name), Layer::Http, std::move(bytes), status, 0, "", ""});
  };
  auto ws = [&](std::string name, std::string bytes, int code, std::string target = "token") {
    c.push_back({std::move(name), Layer::WebSocket, std::move(bytes), 0, code, "", std::move(target)});
  };
  auto protocol = [&](std::string name, std::string bytes, std::string reply) {
    c.push_back({std::move(name), Layer::Protocol, std::move(bytes), 0, 0, std::move(reply), "token"});
  };

  // ---- HTTP: framing and smuggling (RFC 9112) ----
  http("duplicate_content_length", "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400);
  http("content_length_and_chunked", "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
  http("chunked_post", "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400);
  http("chunked_get", "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
  http("obfuscated_transfer_encoding", "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n", 400);
  http("content_length_not_a_number", "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n", 400);
  http("content_length_negative", "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400);
  http("content_length_overflow", "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 184467440737095516160\r\n\r\n", 400);
  http("content_length_empty", "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400);
  // ---- HTTP: header bytes (RFC 9110 5.5) ----
  http("nul_in_bearer_key", std::string("GET /api/v1/ws/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k") + '\0' + "x\r\n\r\n", 400);
  http("escape_in_header", "GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: \x1b[2J\r\n\r\n", 400);
  http("del_in_header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: \x7f\r\n\r\n", 400);
  http("bare_cr_in_header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rSet-Cookie: x\r\n\r\n", 400);
  http("folded_header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n", 400);
  http("space_before_colon", "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", 400);
  http("header_without_colon", "GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", 400);
  http("header_name_with_bad_byte", "GET /healthz HTTP/1.1\r\nHost: x\r\nX\"A: b\r\n\r\n", 400);
  http("empty_header_name", "GET /healthz HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n", 400);
  http("missing_host", "GET /healthz HTTP/1.1\r\n\r\n", 400);
  http("two_hosts", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
  http("header_of_20_kib", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n", 431);
  // ---- HTTP: request line ----
  http("http_version_2", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 400);
  http("no_http_version", "GET /healthz\r\nHost: x\r\n\r\n", 400);
  http("garbage_request_line", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400);
  http("nul_in_request_line", std::string("GET /health") + '\0' + "z HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  http("unknown_method", "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 501);
  http("trace_method", "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 501);
  // ---- HTTP: the API ----
  http("publish_without_key", "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 403);
  http("publish_without_length", "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\n\r\n", 411);
  http("publish_body_over_max_frame", "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n" + std::string(70000, ' '), 413);
  http("admin_stats_without_token", "GET /api/v1/ws/stats HTTP/1.1\r\nHost: x\r\n\r\n", 403);
  http("path_traversal", "GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404);
  http("encoded_path_traversal", "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404);
  // ---- HTTP: WebSocket upgrades (RFC 6455 4.2) ----
  http("websocket_version_8", RawClient::upgrade_request("/ws", {}, "8"), 426);
  http("websocket_version_missing", RawClient::upgrade_request("/ws", {}, ""), 426);
  http("upgrade_with_chunked_body", RawClient::upgrade_request("/ws", "Transfer-Encoding: chunked\r\n"), 400);
  http("upgrade_with_body", RawClient::upgrade_request("/ws", "Content-Length: 4\r\n") + "abcd", 400);
  http("upgrade_without_connection_upgrade", "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", 400);
  http("upgrade_by_post", "POST /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", 400);
  http("upgrade_to_another_path", RawClient::upgrade_request("/admin"), 404);

  // ---- WebSocket: framing (RFC 6455 5) ----
  ws("unmasked_text", RawClient::frame(1, R"({"type":"ping","id":"u"})", /*masked=*/false), 1002);
  ws("unmasked_ping", RawClient::frame(9, "p", /*masked=*/false), 1002);
  ws("rsv1_without_extension", frame_with_first_byte(0xC1, R"({"type":"ping"})"), 1002);
  ws("reserved_opcode", frame_with_first_byte(0x83, "x"), 1002);
  ws("fragmented_ping", RawClient::frame(9, "p", true, /*fin=*/false), 1002);
  ws("ping_over_125_bytes", RawClient::frame(9, std::string(200, 'p')), 1002);
  ws("continuation_without_start", RawClient::frame(0, "x"), 1002);
  ws("close_with_invalid_code", RawClient::frame(8, std::string("\x03\xe7", 2)), 1002);
  ws("message_over_hard_limit", frame(std::string(2 * 1024 * 1024, 'x')), 1009);
  ws("bad_frames_flood", repeated(frame("not json"), 30), 4400);
  // ---- WebSocket: authentication ----
  ws("expired_token", "", 4401, "/ws?token=" + expired_token());
  ws("forged_token", "", 4401, "/ws?token=" + forged_token());
  ws("alg_none_token", "", 4401, "/ws?token=" + alg_none_token());
  ws("garbage_token", "", 4401, "/ws?token=not.a.jwt");
  ws("message_before_auth", frame(R"({"type":"subscribe","id":"s","room":"chat:x"})"), 4401, "none");
  ws("big_message_before_auth", frame(std::string(20000, ' ')), 1009, "none");
  ws("auth_with_forged_token", frame(R"({"type":"auth","token":")" + forged_token() + R"("})"), 4401, "none");
  ws("silent_until_the_auth_timeout", "", 4408, "none");
  ws("binary_before_auth", RawClient::frame(2, std::string("\x05notes\x00\x00\x01\x00", 10)), 4401, "none");

  // ---- protocol: messages (PROTOCOL.md §2, §15) ----
  protocol("truncated_json", R"({"type":"ping",)", "bad_json");
  protocol("invalid_utf8", frame(std::string("{\"type\":\"ping\",\"id\":\"\xff\xfe\"}")).substr(0), "bad_json");
  protocol("nested_ten_thousand_deep", std::string(10000, '['), "bad_json");
  protocol("unknown_type", R"({"type":"format_disk","id":"u1"})", "unknown_type");
  protocol("type_not_a_string", R"({"type":["ping"],"id":"t1"})", "invalid_message");
  protocol("array_at_top", R"([{"type":"ping"}])", "invalid_message");
  protocol("binary_frame", RawClient::frame(2, std::string("\x00\x01\x02", 3)), "invalid_message");
  protocol("message_over_max_frame", frame(R"({"type":"ping","pad":")" + std::string(70000, 'p') + R"("})"), "too_big");
  protocol("id_too_long", R"({"type":"ping","id":")" + std::string(300, 'i') + R"("})", "too_big");
  protocol("subscribe_other_users_room", R"({"type":"subscribe","id":"f1","room":"user:mallory"})", "forbidden");
  protocol("subscribe_room_without_kind", R"({"type":"subscribe","id":"f2","room":"lobby"})", "invalid_message");
  protocol("chat_room_not_joined", R"({"type":"chat","id":"n1","room":"chat:elsewhere","text":"hi"})", "not_subscribed");
  protocol("lock_negative_ttl", R"({"type":"lock","id":"l1","room":"workflow:1","resource":"n1","ttl_ms":-5})", "invalid_message");
  protocol("duplicate_keys_first_wins", R"({"type":"ping","type":"chat","id":"d1"})", "pong");
  protocol("huge_number_ignored", R"({"type":"ping","id":"h1","x":1e400})", "pong");
  protocol("rate_flood", repeated(frame(R"({"type":"ping"})"), 250), "rate_limited");
  return c;
}

class hostile_wire_test : public ::testing::TestWithParam<HostileCase> {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{"--auth-timeout-ms", "1500"});
    server_->start();
  }
  static void TearDownTestSuite() { server_.reset(); }

  static std::unique_ptr<RawClient> upgraded(const std::string& target) {
    auto client = std::make_unique<RawClient>(server_->port());
    const RawHttpResponse answer = client->upgrade(target);
    EXPECT_EQ(answer.status, 101) << target.substr(0, 80);
    return client;
  }
  static std::unique_ptr<RawClient> connected() {
    auto client = upgraded("/ws?token=" + mint_token({.sub = "user-probe"}));
    auto first = client->read_frame();
    EXPECT_TRUE(first && first->payload.find("\"connected\"") != std::string::npos);
    return client;
  }

  // Reads server messages until one names `wanted` (a type or an error code).
  static bool reply_names(RawClient& client, const std::string& wanted) {
    const auto deadline = Clock::now() + kStepDeadline;
    while (Clock::now() < deadline) {
      auto frame = client.read_frame(std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
      if (!frame) return false;
      if (frame->payload.find("\"" + wanted + "\"") != std::string::npos) return true;
    }
    return false;
  }

  // The server is alive and a fresh client subscribes to a room and chats in it.
  static void expect_subscribe_and_chat_work(const std::string& after) {
    ASSERT_EQ(server_->get("/healthz").status, 200) << "after " << after << "\n" << server_->output();
    auto client = connected();
    ASSERT_TRUE(client->send_text(R"({"type":"subscribe","id":"alive-s","room":"chat:hostile"})"));
    ASSERT_TRUE(reply_names(*client, "subscribed")) << "after " << after;
    ASSERT_TRUE(client->send_text(R"({"type":"chat","id":"alive-c","room":"chat:hostile","text":"still here"})"));
    ASSERT_TRUE(reply_names(*client, "still here")) << "after " << after;
  }

  static std::unique_ptr<ServerProcess> server_;
};

std::unique_ptr<ServerProcess> hostile_wire_test::server_;

TEST_P(hostile_wire_test, gets_its_documented_answer_and_the_server_serves_on) {
  const HostileCase& hostile = GetParam();
  switch (hostile.layer) {
    case Layer::Http: {
      RawClient client(server_->port());
      client.send(hostile.bytes);  // the server may answer and close before it has read it all
      const RawHttpResponse response = client.read_response();
      EXPECT_EQ(response.status, hostile.http_status) << response.body;
      break;
    }
    case Layer::WebSocket: {
      const std::string target = hostile.target == "token" ? "/ws?token=" + mint_token({.sub = "user-hostile"})
                                 : hostile.target == "none" ? std::string("/ws")
                                                            : hostile.target;
      auto client = upgraded(target);
      if (!hostile.bytes.empty()) client->send(hostile.bytes);
      auto close = client->read_until_close(milliseconds{8000});
      ASSERT_TRUE(close.has_value()) << "no close frame\n" << server_->output();
      EXPECT_EQ(close->close_code(), hostile.close_code) << close->close_reason();
      EXPECT_NE(client->wait_end(), RawEnding::Reset) << "the close code must not be followed by a reset";
      break;
    }
    case Layer::Protocol: {
      auto client = connected();
      const bool raw_frames = !hostile.bytes.empty() && (static_cast<unsigned char>(hostile.bytes[0]) & 0x80);
      ASSERT_TRUE(client->send(raw_frames ? hostile.bytes : frame(hostile.bytes)));
      EXPECT_TRUE(reply_names(*client, hostile.reply)) << "expected " << hostile.reply;
      for (const RawFrame& f : client->frames()) EXPECT_NE(f.opcode, 8) << "closed: " << f.close_reason();
      break;
    }
  }
  expect_subscribe_and_chat_work(hostile.name);
}

INSTANTIATE_TEST_SUITE_P(cases, hostile_wire_test, ::testing::ValuesIn(hostile_cases()),
                         [](const ::testing::TestParamInfo<HostileCase>& param) { return param.param.name; });

TEST(hostile_wire_suite, holds_at_least_sixty_cases_across_the_three_layers) {
  int http = 0, websocket = 0, protocol = 0;
  for (const HostileCase& c : hostile_cases())
    (c.layer == Layer::Http ? http : c.layer == Layer::WebSocket ? websocket : protocol)++;
  EXPECT_GE(http + websocket + protocol, 60);
  EXPECT_GE(http, 10);
  EXPECT_GE(websocket, 10);
  EXPECT_GE(protocol, 10);
}

}  // namespace
