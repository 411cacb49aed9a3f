// codec_chat_test.cpp — the chat family: chat and typing in both directions (two structs per
// type string), clear, history, cleared.
#include <gtest/gtest.h>

#include "codec_test_util.h"

using namespace tandem::protocol;
using namespace tandem::protocol::test;

TEST(codec_chat_test, messages_round_trip) {
  expect_client_round_trip(ChatSend{"chat:lobby", "Deploying now \xf0\x9f\x9a\x80 \"quoted\" \\ tab\t"}, "30");
  expect_client_round_trip(TypingSend{"chat:lobby", true}, std::nullopt);
  expect_client_round_trip(TypingSend{"chat:lobby", false}, std::nullopt);
  expect_client_round_trip(ChatClear{"chat:lobby"}, "31");
  const ChatMessage message{"chat:lobby", "ana", "Ana", "#e91e63", "hi", 41, 1732345678901};
  expect_server_round_trip(message);
  expect_server_round_trip(ChatHistory{"chat:lobby", 41, {{"ben", "Ben", "#3f51b5", "morning", 40, 1}, message.entry()}});
  expect_server_round_trip(ChatHistory{"chat:lobby", 0, {}});
  expect_server_round_trip(TypingEvent{"chat:lobby", "ana", "Ana", true});
  expect_server_round_trip(TypingEvent{"chat:lobby", "ana", "Ana", false});
  expect_server_round_trip(Cleared{"chat:lobby", "ana", 42, 1732345680000});
}

TEST(codec_chat_test, same_type_string_decodes_by_direction) {
  const std::string client = encode_client(ChatSend{"chat:a", "x"});
  auto from_client = decode_client(client);
  ASSERT_TRUE(from_client.ok());
  EXPECT_TRUE(std::holds_alternative<ChatSend>(from_client->message));
  // The client's form lacks the server's user/seq/ts, so it is not a valid server message.
  auto as_server = decode_server(client);
  ASSERT_FALSE(as_server[0].ok());
  EXPECT_EQ(as_server[0].error().code, errc::invalid_message);
}

TEST(codec_chat_test, typing_active_defaults_to_true) {
  EXPECT_EQ(encode_client(TypingSend{"chat:a", true}), R"({"type":"typing","room":"chat:a"})");
  auto decoded = decode_client(R"({"type":"typing","room":"chat:a"})");
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(std::get<TypingSend>(decoded->message).active);
}

TEST(codec_chat_test, text_bound_is_in_bytes) {
  const std::string at_limit = repeat("\xc3\xa9", 4096);  // 2048 two-byte characters
  EXPECT_EQ(at_limit.size(), 4096u);
  expect_client_round_trip(ChatSend{"chat:a", at_limit});
  auto over = decode_client(encode_client(ChatSend{"chat:a", at_limit + "e"}, "8"));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, errc::too_big);
}

TEST(codec_chat_test, malformed_messages_report_exact_codes) {
  expect_client_rejects({
      {"chat without text", R"({"type":"chat","id":"6","room":"chat:a"})", errc::invalid_message, "6"},
      {"chat empty text", R"({"type":"chat","id":"6","room":"chat:a","text":""})", errc::invalid_message, "6"},
      {"chat text as number", R"({"type":"chat","id":"6","room":"chat:a","text":5})", errc::invalid_message, "6"},
      {"chat text as array", R"({"type":"chat","id":"6","room":"chat:a","text":["hi"]})", errc::invalid_message, "6"},
      {"chat text too long", R"({"type":"chat","id":"6","room":"chat:a","text":")" + std::string(4097, 't') + R"("})", errc::too_big, "6"},
      {"chat bad room", R"({"type":"chat","id":"6","room":"lobby","text":"hi"})", errc::invalid_message, "6"},
      {"typing active as string", R"({"type":"typing","id":"6","room":"chat:a","active":"no"})", errc::invalid_message, "6"},
      {"clear without room", R"({"type":"clear","id":"6"})", errc::invalid_message, "6"},
      {"history from a client", R"({"type":"history","id":"6","room":"chat:a"})", errc::unknown_type, "6"},
  });
  expect_server_rejects({
      {"chat without seq", R"({"type":"chat","room":"chat:a","user":"a","name":"A","color":"#fff","text":"x","ts":1})", errc::invalid_message},
      {"chat without name", R"({"type":"chat","room":"chat:a","user":"a","color":"#fff","text":"x","seq":1,"ts":1})", errc::invalid_message},
      {"history entry not an object", R"({"type":"history","room":"chat:a","seq":1,"messages":["x"]})", errc::invalid_message},
      {"history entry text too long", R"({"type":"history","room":"chat:a","seq":1,"messages":[{"user":"a","name":"A","color":"#fff","text":")" + std::string(4097, 't') + R"(","seq":1,"ts":1}]})", errc::too_big},
      {"typing without active", R"({"type":"typing","room":"chat:a","user":"a","name":"A"})", errc::invalid_message},
      {"cleared ts fractional", R"({"type":"cleared","room":"chat:a","user":"a","seq":1,"ts":0.5})", errc::invalid_message},
  });
}
