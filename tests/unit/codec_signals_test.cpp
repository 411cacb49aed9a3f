// codec_signals_test.cpp — the signals family: signal in both directions with an object
// payload bounded in bytes.
#include <gtest/gtest.h>

#include "codec_test_util.h"

using namespace tandem::protocol;
using namespace tandem::protocol::test;

TEST(codec_signals_test, messages_round_trip) {
  const std::string offer = R"({"kind":"offer","sdp":"v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\n"})";
  expect_client_round_trip(SignalSend{"call:standup", "c8", offer}, "50");
  expect_client_round_trip(SignalSend{"workflow:42", "c8", R"({"candidate":{"sdpMid":"0","sdpMLineIndex":0}})"}, std::nullopt);
  expect_server_round_trip(SignalMessage{"call:standup", "c7", "ana", offer});
}

TEST(codec_signals_test, malformed_messages_report_exact_codes) {
  expect_client_rejects({
      {"signal without to", R"({"type":"signal","id":"7","room":"call:a","data":{}})", errc::invalid_message, "7"},
      {"signal to with spaces", R"({"type":"signal","id":"7","room":"call:a","to":"c 8","data":{}})", errc::invalid_message, "7"},
      {"signal without data", R"({"type":"signal","id":"7","room":"call:a","to":"c8"})", errc::invalid_message, "7"},
      {"signal data is a string", R"({"type":"signal","id":"7","room":"call:a","to":"c8","data":"offer"})", errc::invalid_message, "7"},
      {"signal data over 32 KiB", R"({"type":"signal","id":"7","room":"call:a","to":"c8","data":{"sdp":")" + std::string(32800, 's') + R"("}})", errc::too_big, "7"},
      {"signal data nested wrong number", R"({"type":"signal","id":"7","room":"call:a","to":"c8","data":{"a":{"b":-1e999}}})", errc::invalid_message, "7"},
  });
  expect_server_rejects({
      {"signal without from", R"({"type":"signal","room":"call:a","user":"a","data":{}})", errc::invalid_message},
      {"signal data array", R"({"type":"signal","room":"call:a","from":"c1","user":"a","data":[]})", errc::invalid_message},
  });
}
