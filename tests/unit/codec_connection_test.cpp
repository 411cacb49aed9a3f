// codec_connection_test.cpp — the connection family (auth, ping, connected, pong, ack, error)
// and the frame envelope every family shares: malformed frames, id salvage, batches.
#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "tandem/protocol/codec.h"

using namespace tandem::protocol;
using namespace tandem::protocol::test;

namespace {
Connected sample_connected() {
  Connected c;
  c.connection_id = "c7";
  c.session = "s9f2";
  c.resumed = true;
  c.user = {"ana", "Ana María", "#e91e63"};
  c.heartbeat_ms = 25000;
  c.limits = {65536, 64, 100};
  c.server_version = "0.1.0";
  return c;
}
}  // namespace

TEST(codec_connection_test, client_messages_round_trip) {
  expect_client_round_trip(Auth{"eyJhbGciOiJIUzI1NiJ9.e30.sig", std::nullopt}, std::nullopt);
  expect_client_round_trip(Auth{"eyJhbGciOiJIUzI1NiJ9.e30.sig", "s9f2"}, "a1");
  expect_client_round_trip(Ping{}, std::nullopt);
  expect_client_round_trip(Ping{}, "p1");
}

TEST(codec_connection_test, server_messages_round_trip) {
  expect_server_round_trip(sample_connected());
  expect_server_round_trip(Pong{1732345678901}, "p1");
  expect_server_round_trip(Ack{false}, "42");
  expect_server_round_trip(Ack{true}, "42");
  expect_server_round_trip(ErrorReply{"locked", "n3 is locked by Ben", "workflow:42"}, "43");
  expect_server_round_trip(ErrorReply{"bad_json", "", std::nullopt});
}

TEST(codec_connection_test, ack_omits_duplicate_unless_true) {
  EXPECT_EQ(encode_server(Ack{}, "1"), R"({"type":"ack","id":"1"})");
  EXPECT_EQ(encode_server(Ack{true}, "1"), R"({"type":"ack","id":"1","duplicate":true})");
}

TEST(codec_connection_test, unknown_fields_are_ignored) {
  auto decoded = decode_client(R"({"type":"ping","id":"9","future":{"x":[1,2]},"v":2})");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->id, "9");
}

TEST(codec_connection_test, null_counts_as_absent) {
  auto decoded = decode_client(R"({"type":"auth","id":null,"token":"eyJhbGciOi.x.y","session":null})");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->id, std::nullopt);
  EXPECT_EQ(std::get<Auth>(decoded->message).session, std::nullopt);
}

// The envelope rules every family shares, plus the connection family's own fields.
TEST(codec_connection_test, malformed_client_frames_report_exact_codes) {
  const std::string token = R"("token":"eyJhbGciOi.x.y")";
  expect_client_rejects({
      {"not JSON", "hello", errc::bad_json},
      {"empty frame", "", errc::bad_json},
      {"truncated object", R"({"type":"ping")", errc::bad_json},
      {"trailing garbage", R"({"type":"ping"}x)", errc::bad_json},
      {"two objects", R"({"type":"ping"}{"type":"ping"})", errc::bad_json},
      {"invalid UTF-8 in a string", "{\"type\":\"ping\",\"x\":\"\xc3\x28\"}", errc::bad_json},
      {"overlong UTF-8", "{\"type\":\"ping\",\"x\":\"\xc0\xaf\"}", errc::bad_json},
      {"NUL escape", R"({"type":"auth","id":"1",)" + token.substr(0, token.size() - 1) + R"(\u0000"})", errc::bad_json},
      {"lone surrogate escape", R"({"type":"ping","x":"\ud800"})", errc::bad_json},
      {"NaN literal", R"({"type":"ping","x":NaN})", errc::bad_json},
      {"array from a client", R"([{"type":"ping"}])", errc::invalid_message},
      {"empty array from a client", "[]", errc::invalid_message},
      {"string instead of object", R"("ping")", errc::invalid_message},
      {"number instead of object", "42", errc::invalid_message},
      {"missing type", R"({"id":"5"})", errc::invalid_message, "5"},
      {"non-string type", R"({"type":7,"id":"5"})", errc::invalid_message, "5"},
      {"empty type", R"({"type":"","id":"5"})", errc::invalid_message, "5"},
      {"unknown type", R"({"type":"teleport","id":"5"})", errc::unknown_type, "5"},
      {"server-only type from a client", R"({"type":"connected","id":"5"})", errc::unknown_type, "5"},
      {"id is a number", R"({"type":"ping","id":5})", errc::invalid_message},
      {"id with bad characters", R"({"type":"ping","id":"a b"})", errc::invalid_message},
      {"id too long", R"({"type":"ping","id":")" + std::string(65, 'a') + R"("})", errc::too_big},
      {"empty id", R"({"type":"ping","id":""})", errc::invalid_message},
      {"auth without token", R"({"type":"auth","id":"5"})", errc::invalid_message, "5"},
      {"auth token not a string", R"({"type":"auth","id":"5","token":123456789012})", errc::invalid_message, "5"},
      {"auth token too short", R"({"type":"auth","id":"5","token":"abc"})", errc::invalid_message, "5"},
      {"auth token too long", R"({"type":"auth","id":"5","token":")" + std::string(8193, 'a') + R"("})", errc::too_big, "5"},
      {"auth session with spaces", R"({"type":"auth","id":"5",)" + token + R"(,"session":"a b"})", errc::invalid_message, "5"},
      {"type is an object", R"({"type":{"x":1},"id":"5"})", errc::invalid_message, "5"},
  });
}

TEST(codec_connection_test, malformed_server_frames_report_exact_codes) {
  expect_server_rejects({
      {"not JSON", "{", errc::bad_json},
      {"empty batch", "[]", errc::invalid_message},
      {"connected without user", R"({"type":"connected","connection_id":"c1","session":"s","resumed":false,"heartbeat_ms":25000,"limits":{"max_frame_bytes":1,"max_rooms":1,"rate_per_sec":1},"server_version":"1"})", errc::invalid_message},
      {"connected heartbeat fractional", R"({"type":"connected","connection_id":"c1","session":"s","resumed":false,"user":{"id":"a","name":"A","color":"#fff"},"heartbeat_ms":2.5,"limits":{"max_frame_bytes":1,"max_rooms":1,"rate_per_sec":1},"server_version":"1"})", errc::invalid_message},
      {"connected user.color too long", R"({"type":"connected","connection_id":"c1","session":"s","resumed":false,"user":{"id":"a","name":"A","color":"#ffffffffff"},"heartbeat_ms":25000,"limits":{"max_frame_bytes":1,"max_rooms":1,"rate_per_sec":1},"server_version":"1"})", errc::too_big},
      {"pong ts negative", R"({"type":"pong","ts":-1})", errc::invalid_message},
      {"pong ts huge", R"({"type":"pong","ts":1e400})", errc::invalid_message},
      {"ack duplicate not bool", R"({"type":"ack","id":"1","duplicate":"yes"})", errc::invalid_message},
      {"error without code", R"({"type":"error","message":"x"})", errc::invalid_message},
      {"client-only type from a server", R"({"type":"auth","token":"eyJhbGciOi.x.y"})", errc::unknown_type},
  });
}

TEST(codec_connection_test, id_is_salvaged_only_when_valid) {
  std::optional<std::string> id;
  ASSERT_FALSE(decode_client(R"({"type":"nope","id":"ok-1"})", &id).ok());
  EXPECT_EQ(id, "ok-1");
  id.reset();
  ASSERT_FALSE(decode_client(R"({"type":"nope","id":"not ok"})", &id).ok());
  EXPECT_EQ(id, std::nullopt);
  id.reset();
  ASSERT_FALSE(decode_client(R"({"type":3,"id":"x:9"})", &id).ok());
  EXPECT_EQ(id, "x:9");
}

TEST(codec_connection_test, server_batch_decodes_each_element_in_order) {
  const std::string a = encode_server(Ack{}, "1");
  const std::string b = encode_server(Pong{5}, "2");
  const std::string c = encode_server(ErrorReply{"internal", "oops", std::nullopt}, "3");
  const std::string frame = batch({a, b, c});
  EXPECT_EQ(frame, "[" + a + "," + b + "," + c + "]");
  auto frames = decode_server(frame);
  ASSERT_EQ(frames.size(), 3u);
  ASSERT_TRUE(frames[0].ok() && frames[1].ok() && frames[2].ok());
  EXPECT_EQ(frames[0]->id, "1");
  EXPECT_TRUE(std::holds_alternative<Ack>(frames[0]->message));
  EXPECT_EQ(std::get<Pong>(frames[1]->message).ts, 5);
  EXPECT_EQ(std::get<ErrorReply>(frames[2]->message).code, "internal");
}

TEST(codec_connection_test, bad_element_in_a_batch_fails_alone) {
  auto frames = decode_server(R"([{"type":"ack","id":"1"},{"type":"pong"},42,{"type":"warp"},{"type":"pong","ts":1}])");
  ASSERT_EQ(frames.size(), 5u);
  EXPECT_TRUE(frames[0].ok());
  ASSERT_FALSE(frames[1].ok());
  EXPECT_EQ(frames[1].error().code, errc::invalid_message);
  ASSERT_FALSE(frames[2].ok());
  EXPECT_EQ(frames[2].error().code, errc::invalid_message);
  ASSERT_FALSE(frames[3].ok());
  EXPECT_EQ(frames[3].error().code, errc::unknown_type);
  EXPECT_TRUE(frames[4].ok());
}

TEST(codec_connection_test, single_message_batch_is_not_wrapped) {
  const std::string a = encode_server(Ack{}, "1");
  EXPECT_EQ(batch({a}), a);
}
