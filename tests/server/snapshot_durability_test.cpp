// snapshot_durability_test.cpp — regressions found in review of issue 4, against the hub with a
// real SQLite file (a restart = a new hub on the same file, without commit(): a kill -9):
//   - nothing a joiner is sent (subscribed, replayed events, history, stream replay) shows a
//     change of the current loop pass before it is stored, nor one whose commit never succeeds;
//   - a fence granted before a restart is stale on every node afterwards;
//   - a session whose resume window just ended (before a tick expired it) is still continued
//     from the store, so its resends stay duplicates.
#include <gtest/gtest.h>

#include "session_book.h"
#include "stored_hub_fixture.h"

namespace tandem::server {
namespace {

class snapshot_durability_test : public testing::StoredHubFixture {
 protected:
  template <class M>
  static std::vector<M> only(const std::vector<protocol::ServerFrame>& frames) {
    std::vector<M> out;
    for (auto& f : frames)
      if (auto* m = std::get_if<M>(&f.message)) out.push_back(*m);
    return out;
  }
  static std::string errors(const std::vector<protocol::ServerFrame>& frames) {
    std::string out;
    for (auto& e : only<protocol::ErrorReply>(frames)) out += e.code + ";";
    return out;
  }
};

// Ana chats and Ben joins in one loop pass: Ben sees the message only once it is stored.
TEST_F(snapshot_durability_test, chat_history_on_join_waits_for_the_commit_of_a_message_of_the_same_pass) {
  ConnectionId ana = connect("ana");
  hub_->receive(ana, R"({"type":"subscribe","id":"s","room":"chat:lobby"})", at(1));
  hub_->commit();
  testing::drain_frames(*hub_, ana);
  // One loop pass: Ana's chat, then Ben joins. No commit yet.
  hub_->receive(ana, R"({"type":"chat","id":"1","room":"chat:lobby","text":"not stored yet"})", at(2));
  ConnectionId ben = connect("ben");
  hub_->receive(ben, R"({"type":"subscribe","id":"s","room":"chat:lobby"})", at(3));
  auto ana_frames = testing::drain_frames(*hub_, ana);
  EXPECT_TRUE(only<protocol::ChatMessage>(ana_frames).empty()) << "Ana's own event is correctly held";
  auto ben_frames = testing::drain_frames(*hub_, ben);  // what the edge could write now, before commit()
  for (const auto& history : only<protocol::ChatHistory>(ben_frames))
    EXPECT_TRUE(history.messages.empty()) << "Ben got '" << history.messages[0].text << "' before it was stored";
  EXPECT_TRUE(only<protocol::ChatMessage>(ben_frames).empty());
  hub_->commit();
  for (const auto& f : testing::drain_frames(*hub_, ben)) ben_frames.push_back(f);
  auto history = only<protocol::ChatHistory>(ben_frames);
  ASSERT_EQ(history.size(), 1u);
  ASSERT_EQ(history[0].messages.size(), 1u);  // stored now, so shown
  EXPECT_EQ(history[0].messages[0].text, "not stored yet");
  auto stored = store_->load_room("chat:lobby");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->chat.size(), 1u);
}


// The same with a store that keeps failing: after kStoreRetries the server gives up; the message
// never existed, and Ben was never shown it.
TEST_F(snapshot_durability_test, chat_history_never_shows_a_message_whose_commit_fails) {
  ConnectionId ana = connect("ana");
  hub_->receive(ana, R"({"type":"subscribe","id":"s","room":"chat:lobby"})", at(1));
  hub_->commit();
  testing::drain_frames(*hub_, ana);
  hub_->writes().add(store::WriteBatch::NewRoom{"poison", "e"});
  hub_->writes().add(store::WriteBatch::NewRoom{"poison", "e"});  // UNIQUE: every commit of this batch fails
  hub_->receive(ana, R"({"type":"chat","id":"1","room":"chat:lobby","text":"never stored"})", at(2));
  ConnectionId ben = connect("ben");
  hub_->receive(ben, R"({"type":"subscribe","id":"s","room":"chat:lobby"})", at(3));
  std::vector<protocol::ServerFrame> ben_frames;
  for (int i = 0; i < kStoreRetries; ++i) {
    hub_->commit();
    for (auto& f : testing::drain_frames(*hub_, ben)) ben_frames.push_back(f);
  }
  EXPECT_TRUE(hub_->store_failed());
  auto ana_frames = testing::drain_frames(*hub_, ana);
  EXPECT_TRUE(only<protocol::ChatMessage>(ana_frames).empty());
  EXPECT_EQ(errors(ana_frames), "internal;");
  for (const auto& history : only<protocol::ChatHistory>(ben_frames))
    EXPECT_TRUE(history.messages.empty()) << "Ben was shown '" << history.messages[0].text << "'";
  EXPECT_TRUE(only<protocol::ChatMessage>(ben_frames).empty());
}

// A stream event of the same pass is not replayed to a joiner before it is stored.
TEST_F(snapshot_durability_test, stream_replay_on_join_waits_for_the_commit) {
  ConnectionId agent = connect("agent");
  hub_->receive(agent, R"({"type":"subscribe","id":"s","room":"agent:a1"})", at(1));
  hub_->commit();
  hub_->receive(agent, R"({"type":"stream","id":"1","room":"agent:a1","event":"token","data":"x"})", at(2));
  ConnectionId ben = connect("ben");
  hub_->receive(ben, R"({"type":"subscribe","id":"s","room":"agent:a1"})", at(3));
  auto ben_frames = testing::drain_frames(*hub_, ben);
  EXPECT_TRUE(only<protocol::StreamEvent>(ben_frames).empty()) << "Ben got a stream event before it was stored";
  hub_->commit();
  EXPECT_EQ(only<protocol::StreamEvent>(testing::drain_frames(*hub_, ben)).size(), 1u);  // stored: replayed
}

// A recovered subscribe in the same pass as a new event: replayed only after its commit.
TEST_F(snapshot_durability_test, recovered_subscribe_replays_only_stored_events) {
  ConnectionId ana = connect("ana");
  hub_->receive(ana, R"({"type":"subscribe","id":"s","room":"chat:lobby"})", at(1));
  hub_->commit();
  auto sub = only<protocol::Subscribed>(testing::drain_frames(*hub_, ana));
  ASSERT_EQ(sub.size(), 1u);
  const std::string epoch = sub[0].epoch;
  ConnectionId ben = connect("ben");
  hub_->receive(ana, R"({"type":"chat","id":"1","room":"chat:lobby","text":"not stored yet"})", at(2));
  hub_->receive(ben, R"({"type":"subscribe","id":"s","room":"chat:lobby","since":{"epoch":")" + epoch +
                         R"(","seq":0}})",
                at(3));
  auto ben_frames = testing::drain_frames(*hub_, ben);
  EXPECT_TRUE(only<protocol::ChatMessage>(ben_frames).empty()) << "replayed before it was stored";
  hub_->commit();
  ben_frames = testing::drain_frames(*hub_, ben);
  ASSERT_EQ(only<protocol::Subscribed>(ben_frames).size(), 1u);
  EXPECT_TRUE(only<protocol::Subscribed>(ben_frames)[0].recovered);
  EXPECT_EQ(only<protocol::ChatMessage>(ben_frames).size(), 1u);
}

// Every lock ended with the restart: a fence from before it is stale on any node, including the
// one it was granted for.
TEST_F(snapshot_durability_test, a_fence_granted_before_a_restart_is_stale_on_every_node_after_it) {
  ConnectionId ana = connect("ana");
  hub_->receive(ana, R"({"type":"subscribe","id":"s","room":"workflow:1"})", at(1));
  hub_->receive(ana, R"({"type":"node_create","id":"c1","room":"workflow:1","node":{"id":"n1","type":"t"}})", at(2));
  hub_->receive(ana, R"({"type":"node_create","id":"c2","room":"workflow:1","node":{"id":"n2","type":"t"}})", at(2));
  hub_->receive(ana, R"({"type":"lock","id":"l","room":"workflow:1","resource":"n1"})", at(3));
  hub_->commit();
  auto granted = only<protocol::LockGranted>(testing::drain_frames(*hub_, ana));
  ASSERT_EQ(granted.size(), 1u);
  const std::int64_t fence = granted[0].fence;
  start();  // the lock is gone with the restart
  ConnectionId ben = connect("ben");
  hub_->receive(ben, R"({"type":"subscribe","id":"s","room":"workflow:1"})", at(10));
  hub_->commit();
  testing::drain_frames(*hub_, ben);
  for (const char* node : {"n1", "n2"}) {
    hub_->receive(ben, std::string(R"({"type":"node_update","id":"u)") + node + R"(","room":"workflow:1","node":")" +
                           node + R"(","fields":{"label":"stale"},"fence":)" + std::to_string(fence) + "}",
                  at(11));
    hub_->commit();
    auto frames = testing::drain_frames(*hub_, ben);
    EXPECT_EQ(errors(frames), "stale_fence;") << node << ": fence " << fence << " was granted before the restart";
  }
}

// A session whose resume window just ended, before a tick expired it, is continued from the
// store (not replaced by a new session that would apply its resends again).
TEST(session_book_store_test, a_session_just_past_its_window_is_continued_from_the_store) {
  SessionBook book(Millis(1000), 16);
  testing::CountingIds ids;
  auto first = book.claim(std::nullopt, "ana", 1, ids, Millis(0));
  book.remember_applied(first.session, "7");
  book.detach(first.session, 1, Millis(0));
  EXPECT_TRUE(book.needs_lookup(first.session, Millis(1000))) << "past its window: the store decides";
  const store::SessionRecord stored{first.session, "ana", {"7", "8"}};
  auto again = book.claim(first.session, "ana", 2, ids, Millis(1000), &stored);  // tick not yet run
  EXPECT_EQ(again.session, first.session);
  EXPECT_EQ(again.start, SessionStart::Resumed);
  EXPECT_TRUE(book.was_applied(first.session, "7"));
  EXPECT_TRUE(book.was_applied(first.session, "8")) << "the ids the store remembers come with it";
  EXPECT_FALSE(book.needs_lookup(first.session, Millis(1000)));
}

}  // namespace
}  // namespace tandem::server
