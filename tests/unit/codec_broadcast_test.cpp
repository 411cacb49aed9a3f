// codec_broadcast_test.cpp — the broadcast family: broadcast in both directions, `data` any JSON
// value (or none) bounded in bytes, `self` written only when true, and the server's `data`
// written verbatim (not parsed again) yet decoding to the same message.
#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "tandem/protocol/rules.h"

using namespace tandem::protocol;
using namespace tandem::protocol::test;

TEST(codec_broadcast_test, messages_round_trip) {
  expect_client_round_trip(BroadcastSend{"workflow:42", "dragging", R"({"node":"n3","x":120.5,"y":-40})", false}, "60");
  expect_client_round_trip(BroadcastSend{"chat:lobby", "reaction", R"("🎉")", true}, std::nullopt);
  expect_client_round_trip(BroadcastSend{"call:standup", "hand_raised", std::nullopt, false});
  expect_client_round_trip(BroadcastSend{"call:standup", "volume", "0.75", true});
  expect_client_round_trip(BroadcastSend{"call:standup", "list", R"([1,"two",{"three":[3]},null,true])", false});
  expect_server_round_trip(
      BroadcastMessage{"workflow:42", "dragging", R"({"node":"n3","x":120.5,"y":-40})", "ana", "Ana María", "#e91e63", "c7"});
  expect_server_round_trip(BroadcastMessage{"chat:lobby", "wave", std::nullopt, "ben", "Ben", "#3f51b5", "c8-b"});
  expect_server_round_trip(BroadcastMessage{"chat:lobby", "flag", "false", "ben", "Ben", "#3f51b5", "c8"});
}

TEST(codec_broadcast_test, self_is_written_only_when_true_and_defaults_to_false) {
  EXPECT_EQ(encode_client(BroadcastSend{"chat:lobby", "wave", std::nullopt, false}),
            R"({"type":"broadcast","room":"chat:lobby","event":"wave"})");
  EXPECT_EQ(encode_client(BroadcastSend{"chat:lobby", "wave", "1", true}, "3"),
            R"({"type":"broadcast","id":"3","room":"chat:lobby","event":"wave","data":1,"self":true})");
  auto decoded = decode_client(R"({"type":"broadcast","room":"chat:lobby","event":"wave","self":false,"data":null})");
  ASSERT_TRUE(decoded.ok());
  const auto& send = std::get<BroadcastSend>(decoded->message);
  EXPECT_FALSE(send.self);
  EXPECT_FALSE(send.data.has_value()) << "null counts as absent (PROTOCOL.md §1)";
}

TEST(codec_broadcast_test, data_keeps_its_json_text_and_the_server_writes_it_without_parsing_it_again) {
  // Whitespace and key order as sent are normalised once, by the decoder; what it produced is
  // then copied into the server's frame as is.
  auto decoded = decode_client(R"({"type":"broadcast","room":"chat:lobby","event":"e","data":{ "b" : [1, 2], "a" : "x\"y" }})");
  ASSERT_TRUE(decoded.ok());
  const auto& send = std::get<BroadcastSend>(decoded->message);
  ASSERT_TRUE(send.data.has_value());
  EXPECT_EQ(*send.data, R"({"b":[1,2],"a":"x\"y"})");
  const std::string out = encode_server(BroadcastMessage{send.room, send.event, send.data, "ana", "Ana", "#fff", "c1"});
  EXPECT_EQ(out, R"({"type":"broadcast","room":"chat:lobby","event":"e","data":{"b":[1,2],"a":"x\"y"},)"
                 R"("user":"ana","name":"Ana","color":"#fff","connection":"c1"})");
}

TEST(codec_broadcast_test, data_is_bounded_in_bytes_at_the_limit_exactly) {
  // A JSON string of n bytes prints as n + 2 (its quotes).
  const std::string at_limit = "\"" + std::string(bounds::max_broadcast_data_bytes - 2, 'x') + "\"";
  const std::string over_limit = "\"" + std::string(bounds::max_broadcast_data_bytes - 1, 'x') + "\"";
  EXPECT_TRUE(decode_client(R"({"type":"broadcast","room":"chat:a","event":"e","data":)" + at_limit + "}").ok());
  expect_client_rejects({
      {"broadcast data one byte over", R"({"type":"broadcast","id":"9","room":"chat:a","event":"e","data":)" + over_limit + "}",
       errc::too_big, "9"},
  });
  expect_server_rejects({
      {"broadcast message data over", R"({"type":"broadcast","room":"chat:a","event":"e","data":)" + over_limit +
                                          R"(,"user":"a","name":"A","color":"#fff","connection":"c1"})",
       errc::too_big},
  });
}

TEST(codec_broadcast_test, malformed_messages_report_exact_codes) {
  expect_client_rejects({
      {"broadcast without event", R"({"type":"broadcast","id":"7","room":"chat:a","data":{}})", errc::invalid_message, "7"},
      {"broadcast empty event", R"({"type":"broadcast","id":"7","room":"chat:a","event":""})", errc::invalid_message, "7"},
      {"broadcast event with spaces", R"({"type":"broadcast","id":"7","room":"chat:a","event":"is dragging"})", errc::invalid_message, "7"},
      {"broadcast event not a string", R"({"type":"broadcast","id":"7","room":"chat:a","event":5})", errc::invalid_message, "7"},
      {"broadcast event over 64", R"({"type":"broadcast","id":"7","room":"chat:a","event":")" + std::string(65, 'e') + R"("})", errc::too_big, "7"},
      {"broadcast without room", R"({"type":"broadcast","id":"7","event":"e"})", errc::invalid_message, "7"},
      {"broadcast bad room", R"({"type":"broadcast","id":"7","room":"Chat:a","event":"e"})", errc::invalid_message, "7"},
      {"broadcast self not a bool", R"({"type":"broadcast","id":"7","room":"chat:a","event":"e","self":1})", errc::invalid_message, "7"},
      {"broadcast data overflowing number", R"({"type":"broadcast","id":"7","room":"chat:a","event":"e","data":[1e999]})", errc::invalid_message, "7"},
  });
  expect_server_rejects({
      {"broadcast without connection", R"({"type":"broadcast","room":"chat:a","event":"e","user":"a","name":"A","color":"#fff"})", errc::invalid_message},
      {"broadcast without user", R"({"type":"broadcast","room":"chat:a","event":"e","name":"A","color":"#fff","connection":"c1"})", errc::invalid_message},
      {"broadcast bad color", R"({"type":"broadcast","room":"chat:a","event":"e","user":"a","name":"A","color":"#","connection":"c1"})", errc::invalid_message},
  });
}
