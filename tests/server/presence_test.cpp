// tests/server/presence_test.cpp — presence through the hub with a fake edge: snapshot to the
// joiner and joins to the others, two tabs as one member, leaves at once on unsubscribe and
// disconnect, presence only in subscribed rooms, and conflation: many states within one
// presence tick leave as one presence_update per user carrying the latest state; the state
// lives in the hub's presence engine. Crowds (a small presence_crowd_users here): counts instead
// of diffs, the full list again at half the threshold, and presence_list pages.
#include "presence/presence_book.h"

#include <gtest/gtest.h>

#include "fakes.h"
#include "hub.h"

namespace tandem::server {
namespace {

constexpr UnixMillis kWallStart = 1700000000000;
constexpr int kTickMs = 50;

class PresenceTest : public ::testing::Test {
 protected:
  PresenceTest() : PresenceTest(settings()) {}
  explicit PresenceTest(const Settings& s) : hub_(s, ids_, edge_) { hub_.tick(now()); }  // first flush sets the cadence

  static Settings settings() {
    Settings s;
    s.jwt_secret = std::string(testing::kSecret);
    s.presence_tick_ms = kTickMs;
    return s;
  }

  Now now() const { return Now{mono_, kWallStart + mono_.count()}; }

  ConnectionId open(const std::string& sub) {
    jwt::Claims claims;
    claims.sub = sub;
    claims.name = sub;
    claims.color = "#112233";
    claims.rooms = {"workflow:*"};
    claims.exp = kWallStart / 1000 + 3600;
    OpenRequest request;
    request.token = jwt::mint(claims, testing::kSecret);
    const ConnectionId id = hub_.open(request, now());
    drain(id);
    return id;
  }

  std::vector<protocol::ServerFrame> drain(ConnectionId id) { return testing::drain_frames(hub_, id); }

  template <class M>
  std::vector<M> drain_of(ConnectionId id) {
    std::vector<M> out;
    for (auto& frame : drain(id))
      if (auto* m = std::get_if<M>(&frame.message)) out.push_back(*m);
    return out;
  }

  void subscribe(ConnectionId id, const std::string& room = "workflow:1") {
    hub_.receive(id, R"({"type":"subscribe","id":"s","room":")" + room + R"("})", now());
  }
  void move_cursor(ConnectionId id, int x, const std::string& room = "workflow:1") {
    hub_.receive(id, R"({"type":"presence","room":")" + room + R"(","state":{"cursor":{"x":)" + std::to_string(x) +
                         R"(,"y":0}}})",
                 now());
  }
  void next_tick() {
    mono_ += Millis(kTickMs);
    hub_.tick(now());
  }

  static std::vector<std::string> connections_of(const protocol::PresenceMember& member) {
    std::vector<std::string> out;
    for (const auto& meta : member.metas) out.push_back(meta.connection);
    return out;
  }

  Millis mono_{1000};
  testing::FakeEdge edge_;
  testing::CountingIds ids_;
  Hub hub_;
};

TEST_F(PresenceTest, joiner_gets_the_snapshot_after_subscribed_and_the_others_a_join_diff) {
  const ConnectionId ana = open("ana");
  subscribe(ana);
  drain(ana);
  const ConnectionId ben = open("ben");
  subscribe(ben);

  auto frames = drain(ben);
  ASSERT_GE(frames.size(), 2u);  // lock_state and other snapshots may follow presence_state
  EXPECT_TRUE(std::holds_alternative<protocol::Subscribed>(frames[0].message));
  auto& snapshot = std::get<protocol::PresenceSnapshot>(frames[1].message);
  ASSERT_EQ(snapshot.members.size(), 2u);
  EXPECT_EQ(snapshot.members[0].user.id, "ana");
  EXPECT_EQ(snapshot.members[1].user.id, "ben");

  auto diffs = drain_of<protocol::PresenceDiff>(ana);
  ASSERT_EQ(diffs.size(), 1u);
  ASSERT_EQ(diffs[0].joins.size(), 1u);
  EXPECT_EQ(diffs[0].joins[0].user.id, "ben");
  EXPECT_EQ(connections_of(diffs[0].joins[0]), (std::vector<std::string>{"c2"}));
  EXPECT_TRUE(diffs[0].leaves.empty());
}

TEST_F(PresenceTest, two_tabs_of_one_user_are_one_member_who_leaves_with_the_last_tab) {
  const ConnectionId ben = open("ben");
  subscribe(ben);
  const ConnectionId tab1 = open("ana");
  subscribe(tab1);
  const ConnectionId tab2 = open("ana");
  subscribe(tab2);
  auto snapshot = drain_of<protocol::PresenceSnapshot>(tab2).at(0);
  ASSERT_EQ(snapshot.members.size(), 2u);
  EXPECT_EQ(connections_of(snapshot.members[1]), (std::vector<std::string>{"c2", "c3"}));
  drain(ben);

  hub_.closed(tab1);
  auto diffs = drain_of<protocol::PresenceDiff>(ben);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(connections_of(diffs[0].leaves.at(0)), (std::vector<std::string>{"c2"}));

  hub_.receive(tab2, R"({"type":"unsubscribe","room":"workflow:1"})", now());
  diffs = drain_of<protocol::PresenceDiff>(ben);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0].leaves.at(0).user.id, "ana");

  const ConnectionId late = open("cleo");
  subscribe(late);
  snapshot = drain_of<protocol::PresenceSnapshot>(late).at(0);
  ASSERT_EQ(snapshot.members.size(), 2u);  // ben and cleo: ana is gone
  EXPECT_EQ(snapshot.members[0].user.id, "ben");
}

TEST_F(PresenceTest, a_leave_carries_the_last_state_and_resubscribing_sends_no_second_join) {
  const ConnectionId ana = open("ana");
  const ConnectionId ben = open("ben");
  subscribe(ana);
  subscribe(ben);
  subscribe(ben);  // again: a fresh snapshot for ben, nothing new for ana
  EXPECT_EQ(drain_of<protocol::PresenceSnapshot>(ben).size(), 2u);
  EXPECT_EQ(drain_of<protocol::PresenceDiff>(ana).size(), 1u);

  move_cursor(ben, 5);
  hub_.closed(ben);
  auto diffs = drain_of<protocol::PresenceDiff>(ana);
  ASSERT_EQ(diffs.size(), 1u);
  ASSERT_TRUE(diffs[0].leaves.at(0).metas.at(0).state.cursor.has_value());
  EXPECT_EQ(diffs[0].leaves[0].metas[0].state.cursor->x, 5);
  next_tick();
  EXPECT_TRUE(drain_of<protocol::PresenceUpdate>(ana).empty());  // the leaver's pending change died with it
}

TEST_F(PresenceTest, presence_needs_a_subscribed_room) {
  const ConnectionId ana = open("ana");
  hub_.receive(ana, R"({"type":"presence","id":"p","room":"workflow:1","state":{}})", now());
  auto frames = drain(ana);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(std::get<protocol::ErrorReply>(frames[0].message).code, "not_subscribed");
  hub_.receive(ana, R"({"type":"presence","id":"p","room":"user:ana","state":{}})", now());
  EXPECT_EQ(std::get<protocol::ErrorReply>(drain(ana).at(0).message).code, "not_subscribed");
}

TEST_F(PresenceTest, many_states_within_one_tick_leave_as_one_update_with_the_latest) {
  const ConnectionId ana = open("ana");
  const ConnectionId ben = open("ben");
  subscribe(ana);
  subscribe(ben);
  drain(ana);
  drain(ben);

  for (int x = 1; x <= 10; ++x) move_cursor(ben, x);
  EXPECT_TRUE(drain_of<protocol::PresenceUpdate>(ana).empty());  // nothing before the tick
  next_tick();
  auto updates = drain_of<protocol::PresenceUpdate>(ana);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].user, "ben");
  ASSERT_EQ(updates[0].metas.size(), 1u);
  EXPECT_EQ(updates[0].metas[0].state.cursor->x, 10);
  EXPECT_EQ(drain_of<protocol::PresenceUpdate>(ben).size(), 1u);  // the sender's other tabs need it too

  next_tick();
  EXPECT_TRUE(drain_of<protocol::PresenceUpdate>(ana).empty());  // nothing changed, nothing sent
}

TEST_F(PresenceTest, an_update_carries_every_tab_of_the_user_and_waits_for_the_tick) {
  const ConnectionId ben = open("ben");
  const ConnectionId tab1 = open("ana");
  const ConnectionId tab2 = open("ana");
  for (ConnectionId id : {ben, tab1, tab2}) subscribe(id);
  for (ConnectionId id : {ben, tab1, tab2}) drain(id);

  move_cursor(tab1, 1);
  move_cursor(tab2, 2);
  move_cursor(tab1, 3);
  mono_ += Millis(kTickMs - 1);
  hub_.tick(now());
  EXPECT_TRUE(drain_of<protocol::PresenceUpdate>(ben).empty());
  mono_ += Millis(1);
  hub_.tick(now());
  auto updates = drain_of<protocol::PresenceUpdate>(ben);
  ASSERT_EQ(updates.size(), 1u);
  ASSERT_EQ(updates[0].metas.size(), 2u);
  EXPECT_EQ(updates[0].metas[0].connection, "c2");
  EXPECT_EQ(updates[0].metas[0].state.cursor->x, 3);
  EXPECT_EQ(updates[0].metas[1].connection, "c3");
  EXPECT_EQ(updates[0].metas[1].state.cursor->x, 2);
}

// A reader that has not drained keeps only the newest update per user (frame_queue.h); each
// update carries all of the user's tabs, so a change of one tab is never lost behind another's.
TEST_F(PresenceTest, a_slow_reader_keeps_the_newest_update_per_user_with_every_tab) {
  const ConnectionId ben = open("ben");
  const ConnectionId tab1 = open("ana");
  const ConnectionId tab2 = open("ana");
  for (ConnectionId id : {ben, tab1, tab2}) subscribe(id);
  for (ConnectionId id : {ben, tab1, tab2}) drain(id);

  move_cursor(tab1, 111);
  next_tick();  // {c2: 111} waits in ben's queue
  move_cursor(tab2, 222);
  next_tick();  // the newer update replaces it
  auto updates = drain_of<protocol::PresenceUpdate>(ben);
  ASSERT_EQ(updates.size(), 1u);
  std::map<std::string, int> cursor_of;
  for (const auto& meta : updates[0].metas) cursor_of[meta.connection] = meta.state.cursor->x;
  EXPECT_EQ(cursor_of, (std::map<std::string, int>{{"c2", 111}, {"c3", 222}}));
}

TEST_F(PresenceTest, the_hub_owns_the_presence_engine_the_handlers_fill_and_empty) {
  const ConnectionId ana = open("ana");
  subscribe(ana);
  ASSERT_EQ(hub_.presence().snapshot("workflow:1").size(), 1u);
  EXPECT_EQ(hub_.presence().snapshot("workflow:1")[0].user.id, "ana");
  EXPECT_TRUE(hub_.presence().snapshot("user:ana").empty());  // the automatic room has no presence
  hub_.closed(ana);
  EXPECT_TRUE(hub_.presence().snapshot("workflow:1").empty());
}

TEST(presence_book_test, members_and_pending_changes_are_forgotten_when_the_room_empties) {
  PresenceBook book;
  protocol::UserInfo ana{"ana", "Ana", "#112233"};
  EXPECT_EQ(book.join("r", ana, "c1"), PresenceJoin::Joined);
  EXPECT_EQ(book.join("r", ana, "c1"), PresenceJoin::AlreadyPresent);
  EXPECT_EQ(book.set("r", "ana", "c1", protocol::Presence{}), PresenceSetResult::Stored);
  EXPECT_EQ(book.set("r", "ana", "c9", protocol::Presence{}), PresenceSetResult::NotPresent);
  EXPECT_TRUE(book.has_pending());
  ASSERT_TRUE(book.leave("r", "ana", "c1").has_value());
  EXPECT_FALSE(book.leave("r", "ana", "c1").has_value());
  EXPECT_EQ(book.room_count(), 0u);
  EXPECT_FALSE(book.has_pending());
}

// ---- crowds (PROTOCOL.md §7) ----------------------------------------------------------------

constexpr int kCrowdUsers = 4;  // a room of 5 users is a crowd; of 2 (half of 4) ordinary again

class PresenceCrowdTest : public PresenceTest {
 protected:
  PresenceCrowdTest() : PresenceTest(crowd_settings()) {}
  static Settings crowd_settings() {
    Settings s = settings();
    s.presence_crowd_users = kCrowdUsers;
    s.presence_list_max = 3;
    return s;
  }
  // Opens and subscribes one connection per name, draining everything they were sent.
  std::vector<ConnectionId> join_all(const std::vector<std::string>& names) {
    std::vector<ConnectionId> ids;
    for (const auto& name : names) {
      ids.push_back(open(name));
      subscribe(ids.back());
    }
    for (ConnectionId id : ids) drain(id);
    return ids;
  }
  protocol::ServerFrame ask_list(ConnectionId id, const std::string& fields) {
    hub_.receive(id, R"({"type":"presence_list","id":"l","room":"workflow:1")" + fields + "}", now());
    auto frames = drain(id);
    EXPECT_EQ(frames.size(), 1u);
    return frames.empty() ? protocol::ServerFrame{} : frames.front();
  }
};

TEST_F(PresenceCrowdTest, past_the_threshold_a_joiner_gets_the_count_and_the_others_counts_per_tick_not_diffs) {
  const auto members = join_all({"ana", "ben", "cleo", "dan"});  // 4 users: an ordinary room
  const ConnectionId eve = open("eve");
  subscribe(eve);
  auto snapshot = drain_of<protocol::PresenceSnapshot>(eve).at(0);
  EXPECT_TRUE(snapshot.members.empty());
  EXPECT_EQ(snapshot.count, 5);
  EXPECT_TRUE(snapshot.partial);
  for (ConnectionId id : members) EXPECT_TRUE(drain(id).empty()) << "no diff in a crowd, nothing before the tick";

  const ConnectionId fay = open("fay");
  subscribe(fay);
  EXPECT_EQ(drain_of<protocol::PresenceSnapshot>(fay).at(0).count, 6);
  next_tick();  // two joins within one tick: one count
  for (ConnectionId id : members) {
    auto counts = drain_of<protocol::PresenceCount>(id);
    ASSERT_EQ(counts.size(), 1u);
    EXPECT_EQ(counts[0].count, 6);
  }
  drain(eve);
  next_tick();  // nothing changed: nothing sent
  for (ConnectionId id : members) EXPECT_TRUE(drain(id).empty());
  EXPECT_TRUE(drain(eve).empty());
}

TEST_F(PresenceCrowdTest, leaves_in_a_crowd_are_counted_and_at_half_the_threshold_everyone_gets_the_list_again) {
  const auto ids = join_all({"ana", "ben", "cleo", "dan", "eve", "fay"});
  next_tick();
  for (ConnectionId id : ids) drain(id);

  hub_.closed(ids[5]);
  hub_.closed(ids[4]);
  hub_.closed(ids[3]);  // 3 users: still a crowd (3 > 4 / 2)
  EXPECT_TRUE(drain(ids[0]).empty());
  next_tick();
  auto counts = drain_of<protocol::PresenceCount>(ids[0]);
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].count, 3);

  hub_.closed(ids[2]);  // 2 users: an ordinary room again, at once
  for (ConnectionId id : {ids[0], ids[1]}) {
    auto snapshots = drain_of<protocol::PresenceSnapshot>(id);
    ASSERT_EQ(snapshots.size(), 1u);
    EXPECT_FALSE(snapshots[0].partial);
    ASSERT_EQ(snapshots[0].members.size(), 2u);
    EXPECT_EQ(snapshots[0].members[0].user.id, "ana");
    EXPECT_EQ(snapshots[0].members[1].user.id, "ben");
  }
  const ConnectionId gil = open("gil");  // and joins are diffs again
  subscribe(gil);
  EXPECT_EQ(drain_of<protocol::PresenceSnapshot>(gil).at(0).members.size(), 3u);
  auto diffs = drain_of<protocol::PresenceDiff>(ids[0]);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0].joins.at(0).user.id, "gil");
}

TEST_F(PresenceCrowdTest, presence_list_pages_through_the_users_in_id_order_capped_at_presence_list_max) {
  const auto ids = join_all({"fay", "ana", "eve", "cleo", "ben", "dan", "gil"});
  std::vector<std::string> listed;
  std::string fields = R"(,"limit":100)";  // cut to presence_list_max (3)
  for (int page = 0; page < 10; ++page) {
    auto frame = ask_list(ids[0], fields);
    EXPECT_EQ(frame.id, "l");
    const auto* answer = std::get_if<protocol::PresenceListPage>(&frame.message);
    ASSERT_NE(answer, nullptr);
    EXPECT_EQ(answer->count, 7);
    EXPECT_LE(answer->members.size(), 3u);
    for (const auto& member : answer->members) listed.push_back(member.user.id);
    if (!answer->next) break;
    fields = R"(,"after":")" + *answer->next + R"(")";
  }
  EXPECT_EQ(listed, (std::vector<std::string>{"ana", "ben", "cleo", "dan", "eve", "fay", "gil"}));

  auto frame = ask_list(ids[0], R"(,"after":"gil")");  // past the end: an empty last page
  const auto& last = std::get<protocol::PresenceListPage>(frame.message);
  EXPECT_TRUE(last.members.empty());
  EXPECT_FALSE(last.next);

  const ConnectionId outsider = open("hal");  // not in the room
  hub_.receive(outsider, R"({"type":"presence_list","id":"x","room":"workflow:1"})", now());
  auto answers = drain(outsider);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(std::get<protocol::ErrorReply>(answers[0].message).code, protocol::errc::not_subscribed);
}

}  // namespace
}  // namespace tandem::server
