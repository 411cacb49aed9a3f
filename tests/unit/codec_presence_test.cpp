// codec_presence_test.cpp — the presence family: presence (client), presence_state,
// presence_diff, presence_update; typed state, metas and members.
#include <gtest/gtest.h>

#include "codec_test_util.h"

using namespace tandem::protocol;
using namespace tandem::protocol::test;

namespace {
Presence full_state() {
  Presence p;
  p.cursor = Cursor{120.5, -40};
  p.node = "n3";
  p.typing = false;
  p.media = Media{true, false, true};
  p.data = R"({"zoom":1.5,"tool":"pan"})";
  return p;
}
PresenceMember ana() {
  return {{"ana", "Ana", "#e91e63"}, {{"c7", full_state()}, {"c9", Presence{}}}};
}
PresenceMember ben() {
  Presence p;
  p.cursor = Cursor{10, 20};
  return {{"ben", "Ben", "#3f51b5"}, {{"c8", p}}};
}
}  // namespace

TEST(codec_presence_test, messages_round_trip) {
  expect_client_round_trip(PresenceSet{"workflow:42", full_state()}, std::nullopt);
  expect_client_round_trip(PresenceSet{"chat:lobby", Presence{}}, "3");
  expect_server_round_trip(PresenceSnapshot{"workflow:42", {ana(), ben()}});
  expect_server_round_trip(PresenceSnapshot{"workflow:42", {}});
  expect_server_round_trip(PresenceDiff{"workflow:42", {ben()}, {ana()}});
  expect_server_round_trip(PresenceUpdate{"workflow:42", "ben", {{"c8", full_state()}}});
}

TEST(codec_presence_test, media_flags_default_to_false) {
  auto decoded = decode_client(R"({"type":"presence","room":"chat:a","state":{"media":{"audio":true}}})");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const auto& state = std::get<PresenceSet>(decoded->message).state;
  EXPECT_EQ(state.media, (Media{true, false, false}));
  EXPECT_EQ(state.cursor, std::nullopt);
}

TEST(codec_presence_test, malformed_messages_report_exact_codes) {
  const std::string head = R"({"type":"presence","id":"4","room":"chat:a",)";
  expect_client_rejects({
      {"missing state", R"({"type":"presence","id":"4","room":"chat:a"})", errc::invalid_message, "4"},
      {"state not an object", head + R"("state":"here"})", errc::invalid_message, "4"},
      {"cursor not an object", head + R"("state":{"cursor":[1,2]}})", errc::invalid_message, "4"},
      {"cursor missing y", head + R"("state":{"cursor":{"x":1}}})", errc::invalid_message, "4"},
      {"cursor x as string", head + R"("state":{"cursor":{"x":"1","y":2}}})", errc::invalid_message, "4"},
      {"cursor beyond range", head + R"("state":{"cursor":{"x":1e10,"y":2}}})", errc::invalid_message, "4"},
      {"cursor infinite", head + R"("state":{"cursor":{"x":-1e999,"y":2}}})", errc::invalid_message, "4"},
      {"node with bad chars", head + R"("state":{"node":"n 3"}})", errc::invalid_message, "4"},
      {"typing as string", head + R"("state":{"typing":"yes"}})", errc::invalid_message, "4"},
      {"media audio as number", head + R"("state":{"media":{"audio":1}}})", errc::invalid_message, "4"},
      {"data not an object", head + R"("state":{"data":[1]}})", errc::invalid_message, "4"},
      {"data over 1 KiB", head + R"("state":{"data":{"s":")" + std::string(1100, 'x') + R"("}}})", errc::too_big, "4"},
      {"data with overflowing number", head + R"("state":{"data":{"n":1e999}}})", errc::invalid_message, "4"},
      {"bad room", R"({"type":"presence","id":"4","room":"nope","state":{}})", errc::invalid_message, "4"},
  });
  const std::string member = R"({"user":{"id":"ana","name":"Ana","color":"#e91e63"},"metas":[{"connection":"c1","state":{}}]})";
  expect_server_rejects({
      {"members not an array", R"({"type":"presence_state","room":"chat:a","members":{}})", errc::invalid_message},
      {"member not an object", R"({"type":"presence_state","room":"chat:a","members":[7]})", errc::invalid_message},
      {"member without user", R"({"type":"presence_state","room":"chat:a","members":[{"metas":[]}]})", errc::invalid_message},
      {"member user id empty", R"({"type":"presence_state","room":"chat:a","members":[{"user":{"id":"","name":"A","color":"#fff"},"metas":[]}]})", errc::invalid_message},
      {"meta without connection", R"({"type":"presence_state","room":"chat:a","members":[{"user":{"id":"a","name":"A","color":"#fff"},"metas":[{"state":{}}]}]})", errc::invalid_message},
      {"diff without leaves", R"({"type":"presence_diff","room":"chat:a","joins":[)" + member + "]}", errc::invalid_message},
      {"update metas over the bound", R"({"type":"presence_update","room":"chat:a","user":"a","metas":[)" + [] {
         std::string metas;
         for (int i = 0; i < 101; ++i) metas += std::string(i ? "," : "") + R"({"connection":"c","state":{}})";
         return metas;
       }() + "]}", errc::too_big},
      {"update without user", R"({"type":"presence_update","room":"chat:a","metas":[]})", errc::invalid_message},
  });
}
