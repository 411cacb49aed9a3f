// codec_locks_test.cpp — the locks family: lock, renew, unlock, takeover; lock_granted,
// lock_denied, locked, unlocked, takeover_requested, lock_state; the unlock reason enum.
#include <gtest/gtest.h>

#include "codec_test_util.h"

using namespace tandem::protocol;
using namespace tandem::protocol::test;

namespace {
const LockHolder kBen{"ben", "Ben", "#3f51b5"};
}

TEST(codec_locks_test, messages_round_trip) {
  expect_client_round_trip(Lock{"workflow:42", "n3", 30000}, "11");
  expect_client_round_trip(Lock{"workflow:42", "n3", std::nullopt}, "11");
  expect_client_round_trip(Renew{"workflow:42", "n3", 15000}, "12");
  expect_client_round_trip(Renew{"workflow:42", "n3", std::nullopt}, "12");
  expect_client_round_trip(Unlock{"workflow:42", "n3"}, "13");
  expect_client_round_trip(Takeover{"workflow:42", "n3"}, "14");
  expect_server_round_trip(LockGranted{"workflow:42", "n3", 57, 1732345708901}, "11");
  expect_server_round_trip(LockDenied{"workflow:42", "n3", kBen, 1732345690000}, "11");
  expect_server_round_trip(Locked{"workflow:42", "n3", kBen, 57, 1732345708901, 118, 1732345678901});
  for (auto reason : {UnlockReason::Released, UnlockReason::Expired, UnlockReason::Disconnected, UnlockReason::TakenOver})
    expect_server_round_trip(Unlocked{"workflow:42", "n3", reason, 119, 1732345708950});
  expect_server_round_trip(TakeoverRequested{"workflow:42", "n3", kBen, 5000});
  expect_server_round_trip(LockState{"workflow:42", 121, {{"n3", kBen, 57, 1732345708901}, {"n4", kBen, 58, 1}}});
  expect_server_round_trip(LockState{"workflow:42", 0, {}});
}

TEST(codec_locks_test, unlock_reasons_have_wire_names) {
  EXPECT_EQ(to_string(UnlockReason::TakenOver), "taken_over");
  EXPECT_EQ(enum_from_string<UnlockReason>("disconnected"), UnlockReason::Disconnected);
  EXPECT_EQ(enum_from_string<UnlockReason>("Expired"), std::nullopt);
}

TEST(codec_locks_test, malformed_messages_report_exact_codes) {
  expect_client_rejects({
      {"lock without resource", R"({"type":"lock","id":"1","room":"workflow:42"})", errc::invalid_message, "1"},
      {"lock resource empty", R"({"type":"lock","id":"1","room":"workflow:42","resource":""})", errc::invalid_message, "1"},
      {"lock resource too long", R"({"type":"lock","id":"1","room":"workflow:42","resource":")" + std::string(129, 'n') + R"("})", errc::too_big, "1"},
      {"ttl fractional", R"({"type":"lock","id":"1","room":"workflow:42","resource":"n3","ttl_ms":1000.5})", errc::invalid_message, "1"},
      {"ttl too small", R"({"type":"lock","id":"1","room":"workflow:42","resource":"n3","ttl_ms":5})", errc::invalid_message, "1"},
      {"ttl too large", R"({"type":"lock","id":"1","room":"workflow:42","resource":"n3","ttl_ms":1e12})", errc::invalid_message, "1"},
      {"ttl as string", R"({"type":"renew","id":"1","room":"workflow:42","resource":"n3","ttl_ms":"30s"})", errc::invalid_message, "1"},
      {"unlock without room", R"({"type":"unlock","id":"1","resource":"n3"})", errc::invalid_message, "1"},
      {"takeover resource as object", R"({"type":"takeover","id":"1","room":"workflow:42","resource":{"id":"n3"}})", errc::invalid_message, "1"},
  });
  expect_server_rejects({
      {"granted fence zero", R"({"type":"lock_granted","room":"workflow:42","resource":"n3","fence":0,"expires_at":1})", errc::invalid_message},
      {"granted without expires_at", R"({"type":"lock_granted","room":"workflow:42","resource":"n3","fence":1})", errc::invalid_message},
      {"denied holder not an object", R"({"type":"lock_denied","room":"workflow:42","resource":"n3","holder":"ben","expires_at":1})", errc::invalid_message},
      {"denied holder without name", R"({"type":"lock_denied","room":"workflow:42","resource":"n3","holder":{"user":"ben","color":"#fff"},"expires_at":1})", errc::invalid_message},
      {"unlocked bad reason", R"({"type":"unlocked","room":"workflow:42","resource":"n3","reason":"stolen","seq":1,"ts":1})", errc::invalid_message},
      {"unlocked reason as number", R"({"type":"unlocked","room":"workflow:42","resource":"n3","reason":2,"seq":1,"ts":1})", errc::invalid_message},
      {"locked without seq", R"({"type":"locked","room":"workflow:42","resource":"n3","holder":{"user":"b","name":"B","color":"#fff"},"fence":1,"expires_at":1,"ts":1})", errc::invalid_message},
      {"takeover_requested grace negative", R"({"type":"takeover_requested","room":"workflow:42","resource":"n3","by":{"user":"b","name":"B","color":"#fff"},"grace_ms":-5})", errc::invalid_message},
      {"lock_state locks not an array", R"({"type":"lock_state","room":"workflow:42","seq":1,"locks":{}})", errc::invalid_message},
      {"lock_state entry fence fractional", R"({"type":"lock_state","room":"workflow:42","seq":1,"locks":[{"resource":"n3","holder":{"user":"b","name":"B","color":"#fff"},"fence":1.25,"expires_at":1}]})", errc::invalid_message},
  });
}
