// tests/server/local_broker_test.cpp — the in-process broker through the hub (hub.broker()):
// a broadcast goes out at once as the very same bytes to every member of the room but the
// excepted one, a keyed broadcast replaces a still-queued one with the same key, and a
// publication waits for the group commit (without a store it goes out at once). Connections
// outside the room get neither.
#include "engine/local_broker.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fakes.h"
#include "hub.h"
#include "store/sqlite_store.h"

namespace tandem::server {
namespace {

constexpr UnixMillis kWallStart = 1700000000000;

class LocalBrokerTest : public ::testing::Test {
 protected:
  // With `stored`, the hub commits to an in-memory SQLite store, so publications are held for
  // commit(); without, nothing is held.
  void start(bool stored) {
    if (stored) {
      store::SqliteOptions options;
      options.path = ":memory:";
      auto opened = store::SqliteStore::open(options);
      ASSERT_TRUE(opened.ok());
      store_ = std::move(opened).value();
    }
    Settings settings;
    settings.jwt_secret = std::string(testing::kSecret);
    hub_ = std::make_unique<Hub>(settings, ids_, edge_, nullptr, store_.get());
  }

  Now now() const { return Now{Millis(1000), kWallStart}; }

  // A connection of `sub` subscribed to `room`.
  ConnectionId member_of(const std::string& room, const std::string& sub) {
    OpenRequest request;
    request.token = testing::token_for(sub, kWallStart / 1000 + 3600);  // workflow:*, chat:lobby
    const ConnectionId id = hub_->open(request, now());
    hub_->receive(id, R"({"type":"subscribe","room":")" + room + R"("})", now());
    opened_.push_back(id);
    return id;
  }
  // Commits what joining wrote (new rooms, sessions) and empties every queue (subscribed,
  // snapshots, the presence diffs of later joiners).
  void settle() {
    hub_->commit();
    for (ConnectionId id : opened_)
      while (hub_->next_frame(id)) {
      }
  }

  static Bytes text(const std::string& s) { return std::make_shared<const std::string>(s); }

  std::unique_ptr<store::SqliteStore> store_;
  testing::FakeEdge edge_;
  testing::CountingIds ids_;
  std::unique_ptr<Hub> hub_;
  std::vector<ConnectionId> opened_;
};

TEST_F(LocalBrokerTest, broadcast_queues_the_same_bytes_for_every_member_but_the_excepted) {
  start(false);
  const ConnectionId a = member_of("chat:lobby", "ana");
  const ConnectionId b = member_of("chat:lobby", "ben");
  const ConnectionId c = member_of("chat:lobby", "cleo");
  const ConnectionId elsewhere = member_of("workflow:1", "dan");
  settle();

  Bytes bytes = text(R"({"type":"pong","ts":1})");
  hub_->broker().broadcast("chat:lobby", bytes, {.except = a});
  EXPECT_EQ(hub_->next_frame(a), nullptr);
  EXPECT_EQ(hub_->next_frame(b).get(), bytes.get());  // the very same string, not a copy
  EXPECT_EQ(hub_->next_frame(c).get(), bytes.get());
  EXPECT_EQ(hub_->next_frame(elsewhere), nullptr);
}

TEST_F(LocalBrokerTest, a_keyed_broadcast_replaces_a_still_queued_one_with_the_same_key) {
  start(false);
  const ConnectionId a = member_of("chat:lobby", "ana");
  settle();

  auto key = std::make_shared<const std::string>("presence_update\nchat:lobby\nben");
  Bytes older = text(R"({"type":"pong","ts":1})");
  Bytes newer = text(R"({"type":"pong","ts":2})");
  hub_->broker().broadcast("chat:lobby", older, {.key = key});
  hub_->broker().broadcast("chat:lobby", newer, {.key = key});
  EXPECT_EQ(hub_->next_frame(a).get(), newer.get());
  EXPECT_EQ(hub_->next_frame(a), nullptr);
}

TEST_F(LocalBrokerTest, a_publication_reaches_the_members_only_after_the_group_commit) {
  start(true);
  const ConnectionId a = member_of("chat:lobby", "ana");
  const ConnectionId b = member_of("chat:lobby", "ben");
  const ConnectionId elsewhere = member_of("workflow:1", "dan");
  settle();

  hub_->writes().add(store::WriteBatch::RaiseFence{1});  // stands for the event's writes
  Bytes event = text(R"({"type":"pong","ts":3})");
  hub_->broker().publish("chat:lobby", 1, event);
  EXPECT_EQ(hub_->next_frame(a), nullptr);  // not durable yet
  Bytes ephemeral = text(R"({"type":"pong","ts":4})");
  hub_->broker().broadcast("workflow:1", ephemeral, {});
  EXPECT_EQ(hub_->next_frame(elsewhere).get(), ephemeral.get());  // broadcasts never wait

  hub_->commit();
  EXPECT_EQ(hub_->next_frame(a).get(), event.get());
  EXPECT_EQ(hub_->next_frame(b).get(), event.get());
  EXPECT_EQ(hub_->next_frame(elsewhere), nullptr);
}

TEST_F(LocalBrokerTest, without_a_store_a_publication_goes_out_at_once) {
  start(false);
  const ConnectionId a = member_of("chat:lobby", "ana");
  settle();

  Bytes event = text(R"({"type":"pong","ts":5})");
  hub_->broker().publish("chat:lobby", 1, event);
  EXPECT_EQ(hub_->next_frame(a).get(), event.get());
}

}  // namespace
}  // namespace tandem::server
