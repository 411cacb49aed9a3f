// conformance_test.cpp — HTTP/1.1 (RFC 9112, 9110) and WebSocket (RFC 6455) conformance of the
// real server, byte by byte with a raw socket (raw_client.h): request smuggling defences,
// header values with NUL or control characters, unsupported WebSocket versions, unmasked
// frames, nothing after our close frame, and a close code that reaches a client which is still
// sending (docs/SECURITY.md, PROTOCOL.md §17). Each case also checks the server still serves.
#include <string>

#include "raw_client.h"
#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

constexpr std::string_view kAdminToken = "conformance-admin-token-0123456789";

class conformance_test : public ServerTest {
 protected:
  conformance_test() : ServerTest({"--admin-token", std::string(kAdminToken), "--max-bad-frames", "20"}) {}

  // Sends `request` on a fresh connection and reads the answer; the connection must then end.
  RawHttpResponse refused(std::string_view request, RawEnding* ending = nullptr) {
    RawClient client(server.port());
    EXPECT_TRUE(client.send(request));
    RawHttpResponse response = client.read_response();
    const RawEnding end = client.wait_end();
    if (ending) *ending = end;
    EXPECT_NE(end, RawEnding::StillOpen) << "the connection must close after a refusal";
    return response;
  }

  // An upgraded raw connection with a valid token in the URL, past `connected`.
  std::unique_ptr<RawClient> upgraded() {
    auto client = std::make_unique<RawClient>(server.port());
    const RawHttpResponse answer = client->upgrade("/ws?token=" + mint_token());
    EXPECT_EQ(answer.status, 101);
    auto connected = client->read_frame();
    EXPECT_TRUE(connected && connected->payload.find("\"connected\"") != std::string::npos);
    return client;
  }

  void expect_server_up() {
    EXPECT_EQ(server.get("/healthz").status, 200) << server.output();
    auto client = upgraded();
    ASSERT_TRUE(client->send_text(R"({"type":"ping","id":"alive"})"));
    auto pong = client->read_frame();
    ASSERT_TRUE(pong.has_value());
    EXPECT_NE(pong->payload.find("pong"), std::string::npos);
  }
};

TEST_F(conformance_test, duplicate_content_length_is_refused_with_400_and_the_connection_closes) {
  const auto response = refused("POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("Content-Length"), std::string::npos) << response.body;
  expect_server_up();
}

TEST_F(conformance_test, content_length_with_transfer_encoding_is_refused_with_400) {
  const auto response = refused(
      "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("Transfer-Encoding together with Content-Length"), std::string::npos) << response.body;
  expect_server_up();
}

TEST_F(conformance_test, a_smuggled_request_after_a_get_with_both_lengths_never_runs) {
  // The classic CL.TE pair on a GET followed by a second request hidden in the "body": the
  // first is refused and the connection ends, so the hidden one is never answered.
  RawEnding ending{};
  const auto response = refused(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\nGET /api/v1/ws/stats HTTP/1.1\r\nHost: x\r\n\r\n",
      &ending);
  EXPECT_EQ(response.status, 400);
  expect_server_up();
}

TEST_F(conformance_test, transfer_encoding_on_an_upgrade_is_refused_with_400) {
  const auto response = refused(RawClient::upgrade_request("/ws", "Transfer-Encoding: chunked\r\n"));
  EXPECT_EQ(response.status, 400);
  expect_server_up();
}

TEST_F(conformance_test, a_bearer_key_followed_by_a_nul_does_not_authenticate) {
  // The same key without the NUL works: the refusal is about the byte, not the key.
  RawClient good(server.port());
  ASSERT_TRUE(good.send("GET /api/v1/ws/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kAdminToken) +
                        "\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(good.read_response().status, 200);

  const auto response = refused("GET /api/v1/ws/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                std::string(kAdminToken) + std::string("\0junk", 5) + "\r\n\r\n");
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("control character in header authorization"), std::string::npos) << response.body;
  expect_server_up();
}

TEST_F(conformance_test, control_characters_in_a_header_value_are_refused_not_truncated) {
  EXPECT_EQ(refused("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x01" "b\r\n\r\n").status, 400);
  EXPECT_EQ(refused("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x7f" "b\r\n\r\n").status, 400);
  EXPECT_EQ(refused("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n\r\n").status, 400);
  expect_server_up();
}

TEST_F(conformance_test, malformed_header_lines_are_refused) {
  EXPECT_EQ(refused("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\r\n folded\r\n\r\n").status, 400);        // obs-fold
  EXPECT_EQ(refused("GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n").status, 400);                            // space before colon
  EXPECT_EQ(refused("GET /healthz HTTP/1.1\r\n\r\n").status, 400);                                        // no Host
  EXPECT_EQ(refused("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status, 400);                   // two Hosts
  EXPECT_EQ(refused("POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello").status, 400);
  EXPECT_EQ(refused("POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n").status, 400);
  EXPECT_EQ(refused("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n").status, 400);
  expect_server_up();
}

TEST_F(conformance_test, an_unsupported_websocket_version_gets_426_naming_13) {
  for (std::string_view version : {"8", "12", "14", ""}) {
    RawClient client(server.port());
    ASSERT_TRUE(client.send(RawClient::upgrade_request("/ws", {}, version)));
    const auto response = client.read_response();
    EXPECT_EQ(response.status, 426) << "version \"" << version << "\"";
    EXPECT_EQ(response.header("sec-websocket-version"), "13");
  }
  expect_server_up();
}

TEST_F(conformance_test, an_unmasked_frame_closes_1002_and_is_not_answered) {
  auto client = upgraded();
  ASSERT_TRUE(client->send_frame(1, R"({"type":"ping","id":"unmasked"})", /*masked=*/false));
  auto close = client->read_until_close();
  ASSERT_TRUE(close.has_value()) << server.output();
  EXPECT_EQ(close->close_code(), 1002);
  for (const RawFrame& frame : client->frames())
    EXPECT_EQ(frame.payload.find("unmasked\""), std::string::npos) << "the unmasked ping was answered";
  expect_server_up();
}

TEST_F(conformance_test, nothing_is_sent_after_the_close_frame) {
  auto client = upgraded();
  ASSERT_TRUE(client->send_text(std::string(2 * 1024 * 1024, 'x')));  // over hard_frame_bytes: 1009
  auto close = client->read_until_close();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->close_code(), 1009);
  EXPECT_EQ(client->wait_end(), RawEnding::Fin);
  EXPECT_TRUE(client->unread().empty()) << client->unread().size() << " bytes came after the close frame";
  expect_server_up();
}

TEST_F(conformance_test, a_client_still_sending_bad_frames_receives_4400_not_a_reset) {
  // Sends the whole flood first and reads only afterwards, as a busy single-threaded client
  // does: the close frame must be waiting, then a clean end of stream.
  auto client = upgraded();
  std::string flood;
  for (int i = 0; i < 5000; ++i) flood += RawClient::frame(1, "this is not json");
  EXPECT_TRUE(client->send(flood)) << "the server reset the connection while the client was still sending";
  auto close = client->read_until_close();
  ASSERT_TRUE(close.has_value()) << server.output();
  EXPECT_EQ(close->close_code(), 4400);
  EXPECT_EQ(client->wait_end(), RawEnding::Fin);
  expect_server_up();
}

TEST_F(conformance_test, a_client_still_sending_after_an_oversize_message_receives_1009_not_a_reset) {
  auto client = upgraded();
  std::string flood = RawClient::frame(1, std::string(2 * 1024 * 1024, 'x'));
  for (int i = 0; i < 50; ++i) flood += RawClient::frame(1, std::string(100000, 'y'));
  EXPECT_TRUE(client->send(flood));
  auto close = client->read_until_close();
  ASSERT_TRUE(close.has_value()) << server.output();
  EXPECT_EQ(close->close_code(), 1009);
  EXPECT_EQ(client->wait_end(), RawEnding::Fin);
  expect_server_up();
}

}  // namespace
