// codec_bots_test.cpp — the chat bots family: bot_toggle / bot_toggled, ai_request and ai_cancel
// (one struct each for both directions, the server's fields optional), chat_partial (text may
// be empty, `done` written only when true), and the chat fields bots add: `reply` on chat,
// `bots` on history (comma-separated, written only when some are on).
#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "tandem/protocol/rules.h"

using namespace tandem::protocol;
using namespace tandem::protocol::test;

TEST(codec_bots_test, messages_round_trip) {
  expect_client_round_trip(BotToggle{"chat:lobby", "helper", true}, "32");
  expect_client_round_trip(BotToggle{"chat:lobby", "pirate", false});
  expect_server_round_trip(BotToggled{"chat:lobby", "helper", true, "ana", 43, 1732345681000});
  expect_client_round_trip(AiRequest{"chat:lobby", "helper", "How do I deploy? 🚀"}, "33");
  expect_server_round_trip(AiRequest{"chat:lobby", "helper", "How?", "helper.1.1", "ben"});
  expect_client_round_trip(AiCancel{"chat:lobby", "helper.1.1"}, "34");
  expect_server_round_trip(AiCancel{"chat:lobby", "helper.1.1", "ana"});
  expect_client_round_trip(ChatPartial{"chat:lobby", "helper.1.1", "Start small,", std::nullopt, false}, "7");
  expect_client_round_trip(ChatPartial{"chat:lobby", "helper.1.1", "Start small, done.", std::nullopt, true});
  expect_server_round_trip(ChatPartial{"chat:lobby", "helper.1.1", "", "helper", false});
  ChatMessage reply{"chat:lobby", "bot:helper", "helper", "#7e57c2", "Done.", 45, 1732345684000};
  reply.reply = "helper.1.1";
  expect_server_round_trip(reply);
  ChatHistory history{"chat:lobby", 45, {reply.entry()}, "helper,pirate"};
  expect_server_round_trip(history);
}

TEST(codec_bots_test, optional_fields_are_written_only_when_set) {
  EXPECT_EQ(encode_client(ChatPartial{"chat:a", "r1", "hi", std::nullopt, false}),
            R"({"type":"chat_partial","room":"chat:a","reply":"r1","text":"hi"})");
  EXPECT_EQ(encode_client(ChatPartial{"chat:a", "r1", "hi", std::nullopt, true}),
            R"({"type":"chat_partial","room":"chat:a","reply":"r1","text":"hi","done":true})");
  EXPECT_EQ(encode_server(ChatHistory{"chat:a", 0, {}, ""}), R"({"type":"history","room":"chat:a","seq":0,"messages":[]})");
  EXPECT_EQ(encode_server(ChatMessage{"chat:a", "ana", "Ana", "#fff", "hi", 1, 2}),
            R"({"type":"chat","room":"chat:a","user":"ana","name":"Ana","color":"#fff","text":"hi","seq":1,"ts":2})");
}

TEST(codec_bots_test, bad_fields_are_refused) {
  const std::string over(bounds::max_chat_bytes + 1, 'x');
  expect_client_rejects({
      {"bot name with a space", R"({"type":"bot_toggle","id":"1","room":"chat:a","bot":"my bot","enabled":true})",
       errc::invalid_message, "1"},
      {"enabled missing", R"({"type":"bot_toggle","id":"2","room":"chat:a","bot":"helper"})", errc::invalid_message, "2"},
      {"empty prompt", R"({"type":"ai_request","id":"3","room":"chat:a","bot":"helper","prompt":""})",
       errc::invalid_message, "3"},
      {"prompt over max_chat_bytes", R"({"type":"ai_request","id":"4","room":"chat:a","bot":"helper","prompt":")" + over + R"("})",
       errc::too_big, "4"},
      {"partial over max_chat_bytes", R"({"type":"chat_partial","id":"5","room":"chat:a","reply":"r1","text":")" + over + R"("})",
       errc::too_big, "5"},
      {"cancel without reply", R"({"type":"ai_cancel","id":"6","room":"chat:a"})", errc::invalid_message, "6"},
  });
  expect_server_rejects({
      {"bot_toggled without seq", R"({"type":"bot_toggled","room":"chat:a","bot":"helper","enabled":true,"user":"ana","ts":1})",
       errc::invalid_message},
      {"history bots not a string", R"({"type":"history","room":"chat:a","seq":0,"messages":[],"bots":["helper"]})",
       errc::invalid_message},
  });
}
