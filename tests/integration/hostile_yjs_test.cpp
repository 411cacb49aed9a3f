// hostile_yjs_test.cpp — what a hostile or broken client sends to the Yjs endpoints of a real
// tandem-server (issue 17), with the answers PROTOCOL.md §Yjs documents: malformed binary
// messages close 4400 (text 1003, oversize 1009) and change nothing; tokens without the
// document's pattern are refused (4401 / 4403); a read-only token's updates are not applied.
// After every case a fresh client's sync must find the document exactly as seeded.
#include <memory>
#include <string>
#include <vector>

#include "raw_client.h"
#include "server_test_support.h"
#include "yjs/lib0.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

constexpr char kDoc[] = "hostile";

// "hi" typed into y.getText("t") by client 1 (update_check.h spells it out).
const std::string kSeed("\x01\x01\x01\x00\x04\x01\x01\x74\x02\x68\x69\x00", 12);

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}
std::string var_bytes(std::string_view payload) {
  server::yjs::Lib0Writer w;
  w.write_var_bytes(payload);
  return std::move(w).take();
}
// y-websocket messages.
std::string sync_update(std::string_view update) { return bytes({0, 2}) + var_bytes(update); }
std::string sync_step1(std::string_view state_vector) { return bytes({0, 0}) + var_bytes(state_vector); }
std::string awareness(std::string_view inner) { return bytes({1}) + var_bytes(inner); }
// One String item "x" for client `client` at clock 0 in y.getText("t"), with `info` and content
// replaced when given.
std::string item_update(std::string_view content = "\x01x", int info = 4, int client = 7) {
  return bytes({1, 1, client, 0, info, 1, 1, 't'}) + std::string(content) + bytes({0});
}

struct YjsCase {
  std::string name;
  std::string message;  // one binary message (raw frame bytes when `raw` is set)
  int close_code = 4400;
  bool raw = false;     // `message` is already a WebSocket frame (text, oversize)
};

// How ctest lists a case: its name, not its bytes.
void PrintTo(const YjsCase& c, std::ostream* out) { *out << c.name; }

std::vector<YjsCase> yjs_cases() {
  std::vector<YjsCase> c;
  auto add = [&](std::string name, std::string message, int code = 4400) {
    c.push_back({std::move(name), std::move(message), code, false});
  };
  add("empty_message", "");
  add("truncated_message_type", bytes({0x80}));
  add("unknown_message_type", bytes({4}));
  add("sync_without_sub_type", bytes({0}));
  add("unknown_sync_sub_type", bytes({0, 3, 0}));
  add("update_without_length", bytes({0, 2}));
  add("update_length_past_the_end", bytes({0, 2, 5, 1}));
  add("update_truncated", sync_update(kSeed.substr(0, kSeed.size() - 1)));
  add("update_with_trailing_bytes", sync_update(kSeed + bytes({0})));
  add("message_with_trailing_bytes", sync_update(kSeed) + bytes({0}));
  add("truncated_varint_in_update", sync_update(bytes({1, 0x81})));
  add("client_count_that_cannot_fit", sync_update(bytes({0xff, 0xff, 0xff, 0x0f, 0})));
  add("unknown_content_ref", sync_update(item_update("\x01x", 11)));
  add("content_json_not_json", sync_update(item_update(std::string("\x01\x01{", 3), 2)));
  add("string_not_utf8", sync_update(item_update(std::string("\x02\xc3\x28", 3))));
  add("clock_past_2_pow_53", sync_update(bytes({1, 1, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 4, 1, 1, 't', 1, 'x', 0})));
  std::string nested;  // 300 arrays of one element each, around a null
  for (int i = 0; i < 300; ++i) nested += "\x75\x01";
  add("any_nested_too_deep", sync_update(item_update(bytes({1}) + nested + "\x7e", 8)));
  add("unknown_any_tag", sync_update(item_update(bytes({1, 0x10}), 8)));
  add("zero_length_gc", sync_update(bytes({1, 1, 7, 0, 0, 0, 0})));
  add("delete_set_truncated", sync_update(bytes({0, 1, 7, 1, 0})));
  add("state_vector_duplicate_client", sync_step1(bytes({2, 7, 1, 7, 2})));
  add("awareness_truncated", awareness(bytes({1, 5, 1})));
  add("awareness_state_not_json", awareness(bytes({1, 5, 1, 3, '{', 'x', '}'})));
  add("awareness_trailing_bytes", awareness(bytes({1, 5, 1, 4, 'n', 'u', 'l', 'l', 9})));
  add("query_awareness_with_bytes", bytes({3, 0}));
  c.push_back({"text_message", RawClient::frame(1, R"({"type":"ping"})"), 1003, true});
  c.push_back({"over_max_frame_bytes", RawClient::frame(2, std::string(70000, '\0')), 1009, true});
  return c;
}

class hostile_yjs_test : public ::testing::TestWithParam<YjsCase> {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<ServerProcess>();
    server_->start();
    auto writer = open(mint_token({.sub = "user-seed"}));
    ASSERT_TRUE(writer->send_frame(2, sync_update(kSeed)));
    // Stored and relayed once a second client sees it: the document holds the seed.
    ASSERT_EQ(logged_updates(), std::vector<std::string>{sync_update(kSeed)}) << server_->output();
  }
  static void TearDownTestSuite() { server_.reset(); }

  static std::unique_ptr<RawClient> open(const std::string& token, const std::string& doc = kDoc) {
    auto client = std::make_unique<RawClient>(server_->port());
    const RawHttpResponse answer = client->upgrade("/yjs/" + doc + "?token=" + token);
    EXPECT_EQ(answer.status, 101);
    return client;
  }

  // The update messages a fresh client's sync step 1 gets before the empty step 2 (the log).
  static std::vector<std::string> logged_updates() {
    auto client = open(mint_token({.sub = "user-check"}));
    EXPECT_TRUE(client->send_frame(2, sync_step1(bytes({0}))));
    std::vector<std::string> updates;
    const std::string empty_step2 = bytes({0, 1, 2, 0, 0});
    for (;;) {
      auto frame = client->read_frame();
      if (!frame) {
        ADD_FAILURE() << "no empty step 2 came";
        return updates;
      }
      if (frame->opcode != 2) continue;
      if (frame->payload == empty_step2) return updates;
      if (frame->payload.starts_with(bytes({0, 2}))) updates.push_back(frame->payload);
    }
  }

  static std::unique_ptr<ServerProcess> server_;
};

std::unique_ptr<ServerProcess> hostile_yjs_test::server_;

TEST_P(hostile_yjs_test, closes_as_documented_and_changes_nothing) {
  const YjsCase& hostile = GetParam();
  auto client = open(mint_token({.sub = "user-hostile"}));
  ASSERT_TRUE(client->send(hostile.raw ? hostile.message : RawClient::frame(2, hostile.message)));
  auto close = client->read_until_close(milliseconds{8000});
  ASSERT_TRUE(close.has_value()) << "no close frame\n" << server_->output();
  EXPECT_EQ(close->close_code(), hostile.close_code) << close->close_reason();
  EXPECT_FALSE(close->close_reason().empty());
  EXPECT_EQ(logged_updates(), std::vector<std::string>{sync_update(kSeed)});
}

INSTANTIATE_TEST_SUITE_P(cases, hostile_yjs_test, ::testing::ValuesIn(yjs_cases()),
                         [](const ::testing::TestParamInfo<YjsCase>& param) { return param.param.name; });

TEST(hostile_yjs_suite, holds_at_least_twenty_malformed_messages) { EXPECT_GE(yjs_cases().size(), 20u); }

TEST_F(hostile_yjs_test, tokens_without_the_documents_pattern_are_refused) {
  auto expect_close = [&](const std::string& target, int code) {
    RawClient client(server_->port());
    ASSERT_EQ(client.upgrade(target).status, 101) << target;
    auto close = client.read_until_close(milliseconds{8000});
    ASSERT_TRUE(close.has_value()) << target;
    EXPECT_EQ(close->close_code(), code) << target << ": " << close->close_reason();
  };
  expect_close("/yjs/hostile", 4401);                                    // no token
  expect_close("/yjs/hostile?token=" + forged_token(), 4401);            // another key
  expect_close("/yjs/hostile?token=" + expired_token(), 4401);           // expired
  expect_close("/yjs/hostile?token=" + alg_none_token(), 4401);          // alg none
  expect_close("/yjs/hostile?token=" + mint_token({.rooms = {"chat:*", "doc:other"}}), 4403);
  expect_close("/yjs/hostile?token=" + mint_token({.rooms = {"doc:hostile"}}) + "x", 4401);
  // A name outside [A-Za-z0-9_:.@/-] (or past 120 bytes) is no endpoint at all.
  RawClient bad(server_->port());
  EXPECT_EQ(bad.upgrade("/yjs/bad*name").status, 404);
  RawClient long_name(server_->port());
  EXPECT_EQ(long_name.upgrade("/yjs/" + std::string(121, 'a')).status, 404);
  EXPECT_EQ(logged_updates(), std::vector<std::string>{sync_update(kSeed)});
}

TEST_F(hostile_yjs_test, a_read_only_tokens_updates_are_not_applied) {
  auto reader = open(mint_token({.sub = "user-reader", .rooms = {"doc:*"}, .read_only = {"doc:hostile"}}));
  ASSERT_TRUE(reader->send_frame(2, sync_update(item_update())));
  // y-websocket's auth message: permission denied, with a reason; the connection stays.
  bool denied = false;
  for (int i = 0; i < 10 && !denied; ++i) {
    auto frame = reader->read_frame();
    if (!frame) break;
    ASSERT_NE(frame->opcode, 8) << frame->close_reason();
    denied = frame->opcode == 2 && frame->payload.starts_with(bytes({2, 0}));
  }
  EXPECT_TRUE(denied);
  EXPECT_EQ(logged_updates(), std::vector<std::string>{sync_update(kSeed)});
}

}  // namespace
