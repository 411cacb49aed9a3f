// tests/server/chat_test.cpp — the chat family against the hub with a fake edge and a real
// SQLite store in memory: typing indicators clear at exactly typing_timeout_ms (hub ticks), on
// chat and on leave; chat_history bounds the room's messages and the `history` snapshot; clear
// needs the "chat:clear" token permission.
#include <gtest/gtest.h>

#include "fakes.h"
#include "hub.h"
#include "store/sqlite_store.h"

namespace tandem::server {
namespace {

constexpr UnixMillis kWall = 1700000000000;

class chat_test : public ::testing::Test {
 protected:
  chat_test() {
    store::SqliteOptions options;
    options.path = ":memory:";
    options.retention.chat = 3;  // as main.cpp sets it from chat_history
    auto opened = store::SqliteStore::open(options);
    EXPECT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    settings_.jwt_secret = std::string(testing::kSecret);
    settings_.typing_timeout_ms = 5000;
    settings_.chat_history = 3;
    hub_ = std::make_unique<Hub>(settings_, ids_, edge_, nullptr, store_.get());
  }
  static Now at(std::int64_t ms) { return Now{Millis(ms), kWall + ms}; }
  ConnectionId member(const std::string& sub, std::vector<std::string> perms = {}) {
    jwt::Claims claims;
    claims.sub = sub;
    claims.rooms = {"*"};
    claims.perms = std::move(perms);
    claims.exp = kWall / 1000 + 3600;
    OpenRequest request;
    request.token = jwt::mint(claims, testing::kSecret);
    const ConnectionId id = hub_->open(request, at(0));
    send(id, R"({"type":"subscribe","id":"s","room":"chat:lobby"})", 0);
    return id;
  }
  void send(ConnectionId id, const std::string& text, std::int64_t ms) {
    hub_->receive(id, text, at(ms));
    hub_->commit();
  }
  template <class M>
  std::vector<M> received(ConnectionId id) {
    std::vector<M> out;
    for (auto& frame : testing::drain_frames(*hub_, id))
      if (M* m = std::get_if<M>(&frame.message)) out.push_back(*m);
    return out;
  }

  Settings settings_;
  testing::FakeEdge edge_;
  testing::CountingIds ids_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<Hub> hub_;
};

TEST_F(chat_test, typing_clears_itself_after_the_timeout_since_the_last_typing) {
  const ConnectionId ana = member("ana");
  const ConnectionId ben = member("ben");
  testing::drain_frames(*hub_, ana);
  send(ben, R"({"type":"typing","room":"chat:lobby"})", 1000);
  auto started = received<protocol::TypingEvent>(ana);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_TRUE(started[0].active);
  EXPECT_EQ(started[0].user, "ben");
  EXPECT_TRUE(received<protocol::TypingEvent>(ben).empty());  // not echoed to the typist

  send(ben, R"({"type":"typing","room":"chat:lobby"})", 3000);  // refreshes, not repeated
  EXPECT_TRUE(received<protocol::TypingEvent>(ana).empty());
  hub_->tick(at(7999));
  EXPECT_TRUE(received<protocol::TypingEvent>(ana).empty());
  hub_->tick(at(8000));
  auto stopped = received<protocol::TypingEvent>(ana);
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_FALSE(stopped[0].active);
  hub_->tick(at(20000));
  EXPECT_TRUE(received<protocol::TypingEvent>(ana).empty());
}

TEST_F(chat_test, typing_ends_on_chat_and_on_leave) {
  const ConnectionId ana = member("ana");
  const ConnectionId ben = member("ben");
  send(ben, R"({"type":"typing","room":"chat:lobby"})", 10);
  testing::drain_frames(*hub_, ana);
  send(ben, R"({"type":"chat","id":"c","room":"chat:lobby","text":"hi"})", 20);
  auto frames = testing::drain_frames(*hub_, ana);
  ASSERT_EQ(frames.size(), 2u);
  auto* typing = std::get_if<protocol::TypingEvent>(&frames[0].message);
  ASSERT_NE(typing, nullptr);
  EXPECT_FALSE(typing->active);
  EXPECT_TRUE(std::holds_alternative<protocol::ChatMessage>(frames[1].message));

  send(ben, R"({"type":"typing","room":"chat:lobby"})", 30);
  testing::drain_frames(*hub_, ana);
  hub_->closed(ben);
  auto after_leave = received<protocol::TypingEvent>(ana);
  ASSERT_EQ(after_leave.size(), 1u);
  EXPECT_FALSE(after_leave[0].active);
  hub_->tick(at(10000));
  EXPECT_TRUE(received<protocol::TypingEvent>(ana).empty());
}

TEST_F(chat_test, history_keeps_the_last_chat_history_messages) {
  const ConnectionId ana = member("ana");
  for (int i = 1; i <= 5; ++i)
    send(ana, R"({"type":"chat","room":"chat:lobby","text":"m)" + std::to_string(i) + R"("})", i);
  EXPECT_EQ(hub_->rooms().find("chat:lobby")->chat.size(), 3u);
  const ConnectionId ben = member("ben");
  auto history = received<protocol::ChatHistory>(ben);
  ASSERT_EQ(history.size(), 1u);
  ASSERT_EQ(history[0].messages.size(), 3u);
  EXPECT_EQ(history[0].messages[0].text, "m3");
  EXPECT_EQ(history[0].messages[2].text, "m5");
  EXPECT_EQ(history[0].seq, history[0].messages[2].seq);
  auto stored = store_->load_room("chat:lobby");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->chat.size(), 3u);
}

TEST_F(chat_test, clear_needs_the_permission_and_empties_memory_and_store) {
  const ConnectionId ana = member("ana");
  const ConnectionId mod = member("mod", {"chat:clear"});
  send(ana, R"({"type":"chat","room":"chat:lobby","text":"hello"})", 1);
  testing::drain_frames(*hub_, ana);
  send(ana, R"({"type":"clear","id":"x","room":"chat:lobby"})", 2);
  auto refused = testing::drain_frames(*hub_, ana);
  ASSERT_EQ(refused.size(), 1u);
  auto* error = std::get_if<protocol::ErrorReply>(&refused[0].message);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, "forbidden");
  EXPECT_EQ(hub_->rooms().find("chat:lobby")->chat.size(), 1u);

  send(mod, R"({"type":"clear","id":"y","room":"chat:lobby"})", 3);
  EXPECT_TRUE(hub_->rooms().find("chat:lobby")->chat.empty());
  EXPECT_EQ(received<protocol::Cleared>(ana).size(), 1u);
  auto stored = store_->load_room("chat:lobby");
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->chat.empty());
}

}  // namespace
}  // namespace tandem::server
