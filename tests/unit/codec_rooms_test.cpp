// codec_rooms_test.cpp — the rooms family: subscribe (with and without since), unsubscribe,
// subscribed; room-name rules.
#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "tandem/protocol/rules.h"

using namespace tandem::protocol;
using namespace tandem::protocol::test;

TEST(codec_rooms_test, messages_round_trip) {
  expect_client_round_trip(Subscribe{"workflow:42", std::nullopt}, "2");
  expect_client_round_trip(Subscribe{"chat:lobby", StreamPosition{"e1732345600", 117}}, "9");
  expect_client_round_trip(Subscribe{"user:ana@example.com", StreamPosition{"e1", 0}}, std::nullopt);
  expect_client_round_trip(Unsubscribe{"workflow:42"}, "10");
  expect_server_round_trip(Subscribed{"workflow:42", "e1732345600", 121, true}, "9");
  expect_server_round_trip(Subscribed{"chat:lobby", "e2", 0, false});
}

TEST(codec_rooms_test, subscribe_since_is_written_as_an_object) {
  EXPECT_EQ(encode_client(Subscribe{"chat:a", StreamPosition{"e1", 3}}, "1"),
            R"({"type":"subscribe","id":"1","room":"chat:a","since":{"epoch":"e1","seq":3}})");
}

TEST(codec_rooms_test, room_shape_rule) {
  EXPECT_TRUE(rules::valid_room_shape("workflow:42"));
  EXPECT_TRUE(rules::valid_room_shape("a:b"));
  EXPECT_TRUE(rules::valid_room_shape("user:ana:tab:2"));
  EXPECT_FALSE(rules::valid_room_shape("lobby"));
  EXPECT_FALSE(rules::valid_room_shape(":lobby"));
  EXPECT_FALSE(rules::valid_room_shape("chat:"));
  EXPECT_FALSE(rules::valid_room_shape("Chat:lobby"));
  EXPECT_FALSE(rules::valid_room_shape("9chat:lobby"));
  EXPECT_FALSE(rules::valid_room_shape(std::string(33, 'a') + ":x"));
  EXPECT_EQ(rules::room_kind("workflow:42"), rules::RoomKind::Workflow);
  EXPECT_EQ(rules::room_kind("agent:x"), rules::RoomKind::Agent);
  EXPECT_EQ(rules::room_kind("user:x"), rules::RoomKind::User);
  EXPECT_EQ(rules::room_kind("chat:x"), rules::RoomKind::Chat);
  EXPECT_EQ(rules::room_kind("call:x"), rules::RoomKind::Other);
}

TEST(codec_rooms_test, malformed_messages_report_exact_codes) {
  expect_client_rejects({
      {"subscribe without room", R"({"type":"subscribe","id":"1"})", errc::invalid_message, "1"},
      {"room not a string", R"({"type":"subscribe","id":"1","room":42})", errc::invalid_message, "1"},
      {"room without kind", R"({"type":"subscribe","id":"1","room":"lobby"})", errc::invalid_message, "1"},
      {"room with a space", R"({"type":"subscribe","id":"1","room":"chat:the lobby"})", errc::invalid_message, "1"},
      {"room with uppercase kind", R"({"type":"subscribe","id":"1","room":"Chat:lobby"})", errc::invalid_message, "1"},
      {"room too short", R"({"type":"subscribe","id":"1","room":"a:"})", errc::invalid_message, "1"},
      {"room too long", R"({"type":"subscribe","id":"1","room":"chat:)" + std::string(124, 'x') + R"("})", errc::too_big, "1"},
      {"room with slash", R"({"type":"subscribe","id":"1","room":"chat:../etc"})", errc::invalid_message, "1"},
      {"since not an object", R"({"type":"subscribe","id":"1","room":"chat:a","since":5})", errc::invalid_message, "1"},
      {"since without epoch", R"({"type":"subscribe","id":"1","room":"chat:a","since":{"seq":5}})", errc::invalid_message, "1"},
      {"since without seq", R"({"type":"subscribe","id":"1","room":"chat:a","since":{"epoch":"e"}})", errc::invalid_message, "1"},
      {"since seq negative", R"({"type":"subscribe","id":"1","room":"chat:a","since":{"epoch":"e","seq":-1}})", errc::invalid_message, "1"},
      {"since seq fractional", R"({"type":"subscribe","id":"1","room":"chat:a","since":{"epoch":"e","seq":1.5}})", errc::invalid_message, "1"},
      {"since seq beyond 2^53", R"({"type":"subscribe","id":"1","room":"chat:a","since":{"epoch":"e","seq":1e17}})", errc::invalid_message, "1"},
      {"since seq overflowing", R"({"type":"subscribe","id":"1","room":"chat:a","since":{"epoch":"e","seq":1e999}})", errc::invalid_message, "1"},
      {"since seq as string", R"({"type":"subscribe","id":"1","room":"chat:a","since":{"epoch":"e","seq":"5"}})", errc::invalid_message, "1"},
      {"since epoch empty", R"({"type":"subscribe","id":"1","room":"chat:a","since":{"epoch":"","seq":5}})", errc::invalid_message, "1"},
      {"unsubscribe room array", R"({"type":"unsubscribe","id":"1","room":["chat:a"]})", errc::invalid_message, "1"},
  });
  expect_server_rejects({
      {"subscribed without recovered", R"({"type":"subscribed","room":"chat:a","epoch":"e","seq":1})", errc::invalid_message},
      {"subscribed recovered as number", R"({"type":"subscribed","room":"chat:a","epoch":"e","seq":1,"recovered":1})", errc::invalid_message},
      {"subscribed negative seq", R"({"type":"subscribed","room":"chat:a","epoch":"e","seq":-3,"recovered":false})", errc::invalid_message},
  });
}
