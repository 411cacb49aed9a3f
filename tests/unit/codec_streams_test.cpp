// codec_streams_test.cpp — the streams family: stream and stream_control in both directions,
// agent: rooms only, raw data of any JSON kind, the action enum.
#include <gtest/gtest.h>

#include "codec_test_util.h"

using namespace tandem::protocol;
using namespace tandem::protocol::test;

TEST(codec_streams_test, messages_round_trip) {
  expect_client_round_trip(StreamSend{"agent:build-7", "token", R"({"text":"Adding an HTTP node"})"}, std::nullopt);
  expect_client_round_trip(StreamSend{"agent:build-7", "done", std::nullopt}, "39");
  expect_client_round_trip(StreamSend{"agent:build-7", "token", R"("plain string")"}, std::nullopt);
  expect_client_round_trip(StreamSend{"agent:build-7", "progress", "0.5"}, std::nullopt);
  expect_client_round_trip(StreamSend{"agent:build-7", "items", R"([1,"two",{"three":3},null,true])"}, std::nullopt);
  for (auto action : {StreamAction::Pause, StreamAction::Resume, StreamAction::Cancel}) {
    expect_client_round_trip(StreamControlSend{"agent:build-7", action}, "40");
    expect_server_round_trip(StreamControl{"agent:build-7", action, "ana"});
  }
  expect_server_round_trip(StreamEvent{"agent:build-7", "token", R"({"text":"hi"})", "agent-1", 88, 1732345678901});
  expect_server_round_trip(StreamEvent{"agent:build-7", "done", std::nullopt, "agent-1", 89, 1732345678902});
}

TEST(codec_streams_test, data_bound_is_exclusive_of_the_envelope) {
  // A string payload of 32766 chars prints as 32768 bytes with its quotes: exactly the bound.
  const std::string at_limit = "\"" + std::string(32766, 'd') + "\"";
  expect_client_round_trip(StreamSend{"agent:a", "token", at_limit}, std::nullopt);
  auto over = decode_client(R"({"type":"stream","id":"3","room":"agent:a","event":"token","data":")" +
                            std::string(32767, 'd') + R"("})");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, errc::too_big);
}

TEST(codec_streams_test, malformed_messages_report_exact_codes) {
  expect_client_rejects({
      {"stream in a workflow room", R"({"type":"stream","id":"3","room":"workflow:1","event":"token"})", errc::invalid_message, "3"},
      {"stream without event", R"({"type":"stream","id":"3","room":"agent:a","data":{}})", errc::invalid_message, "3"},
      {"stream event with spaces", R"({"type":"stream","id":"3","room":"agent:a","event":"new token"})", errc::invalid_message, "3"},
      {"stream event too long", R"({"type":"stream","id":"3","room":"agent:a","event":")" + std::string(65, 'e') + R"("})", errc::too_big, "3"},
      {"stream data overflowing number", R"({"type":"stream","id":"3","room":"agent:a","event":"t","data":[1e999]})", errc::invalid_message, "3"},
      {"control bad action", R"({"type":"stream_control","id":"3","room":"agent:a","action":"rewind"})", errc::invalid_message, "3"},
      {"control action as bool", R"({"type":"stream_control","id":"3","room":"agent:a","action":true})", errc::invalid_message, "3"},
      {"control without action", R"({"type":"stream_control","id":"3","room":"agent:a"})", errc::invalid_message, "3"},
      {"control in a chat room", R"({"type":"stream_control","id":"3","room":"chat:a","action":"pause"})", errc::invalid_message, "3"},
  });
  expect_server_rejects({
      {"stream event without user", R"({"type":"stream","room":"agent:a","event":"t","seq":1,"ts":1})", errc::invalid_message},
      {"stream event seq huge", R"({"type":"stream","room":"agent:a","event":"t","user":"u","seq":9007199254740993e3,"ts":1})", errc::invalid_message},
      {"control without user", R"({"type":"stream_control","room":"agent:a","action":"pause"})", errc::invalid_message},
  });
}
