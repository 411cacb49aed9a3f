// room_replica_test.cpp — one room's model: presence snapshot and diffs (two tabs, one user),
// conflated updates, lock snapshot and events, seq duplicates and gaps, what each change says.
#include "tandem/room_replica.h"

#include <gtest/gtest.h>

using namespace tandem;
using protocol::LockHolder;
using protocol::PresenceMember;
using protocol::PresenceMeta;

namespace {

const protocol::UserInfo kAna{"ana", "Ana", "#e91e63"};
const protocol::UserInfo kBen{"ben", "Ben", "#3f51b5"};
const protocol::UserInfo kCleo{"cleo", "Cleo", "#009688"};
const LockHolder kAnaHolder{"ana", "Ana", "#e91e63"};

PresenceMeta meta(std::string connection, protocol::Presence state = {}) { return {std::move(connection), std::move(state)}; }

protocol::Presence at(double x, double y) {
  protocol::Presence p;
  p.cursor = protocol::Cursor{x, y};
  return p;
}

RoomReplica joined(std::int64_t seq = 10) {
  RoomReplica replica("workflow:42");
  (void)replica.apply(protocol::Subscribed{"workflow:42", "e1", seq, false});
  return replica;
}

protocol::Locked locked(std::string resource, std::int64_t fence, std::int64_t seq) {
  return protocol::Locked{"workflow:42", std::move(resource), kAnaHolder, fence, 1'000'000, seq, 1};
}

}  // namespace

TEST(room_replica_test, snapshot_fills_members_with_their_metas) {
  RoomReplica replica = joined();
  const RoomChanges changes = replica.apply(protocol::PresenceSnapshot{
      "workflow:42", {PresenceMember{kAna, {meta("c7", at(1, 2)), meta("c9")}}, PresenceMember{kBen, {meta("c8")}}}});
  EXPECT_TRUE(changes.has(RoomChange::Members));
  EXPECT_TRUE(changes.has(RoomChange::Presence));
  ASSERT_EQ(replica.members().size(), 2u);
  const RoomMember* ana = replica.member("ana");
  ASSERT_NE(ana, nullptr);
  EXPECT_EQ(ana->user.name, "Ana");
  ASSERT_EQ(ana->metas.size(), 2u);
  EXPECT_EQ(ana->metas[0].state.cursor, (protocol::Cursor{1, 2}));
  // The same snapshot again changes nothing.
  EXPECT_TRUE(replica.apply(protocol::PresenceSnapshot{
                                "workflow:42",
                                {PresenceMember{kAna, {meta("c7", at(1, 2)), meta("c9")}}, PresenceMember{kBen, {meta("c8")}}}})
                  .empty());
}

TEST(room_replica_test, two_tabs_are_one_member_who_leaves_with_the_last_tab) {
  RoomReplica replica = joined();
  (void)replica.apply(protocol::PresenceSnapshot{"workflow:42", {PresenceMember{kBen, {meta("c8")}}}});

  RoomChanges changes = replica.apply(protocol::PresenceDiff{"workflow:42", {PresenceMember{kAna, {meta("c7")}}}, {}});
  EXPECT_TRUE(changes.has(RoomChange::Members));
  changes = replica.apply(protocol::PresenceDiff{"workflow:42", {PresenceMember{kAna, {meta("c9")}}}, {}});
  EXPECT_FALSE(changes.has(RoomChange::Members));  // a second tab: same member
  EXPECT_TRUE(changes.has(RoomChange::Presence));
  ASSERT_EQ(replica.members().size(), 2u);
  EXPECT_EQ(replica.member("ana")->metas.size(), 2u);

  changes = replica.apply(protocol::PresenceDiff{"workflow:42", {}, {PresenceMember{kAna, {meta("c7")}}}});
  EXPECT_FALSE(changes.has(RoomChange::Members));
  ASSERT_NE(replica.member("ana"), nullptr);
  EXPECT_EQ(replica.member("ana")->metas.size(), 1u);
  EXPECT_EQ(replica.member("ana")->metas[0].connection, "c9");

  changes = replica.apply(protocol::PresenceDiff{"workflow:42", {}, {PresenceMember{kAna, {meta("c9")}}}});
  EXPECT_TRUE(changes.has(RoomChange::Members));
  EXPECT_EQ(replica.member("ana"), nullptr);
  EXPECT_EQ(replica.members().size(), 1u);
}

TEST(room_replica_test, one_diff_applies_joins_then_leaves) {
  RoomReplica replica = joined();
  (void)replica.apply(protocol::PresenceSnapshot{"workflow:42", {PresenceMember{kAna, {meta("c7")}}}});
  (void)replica.apply(protocol::PresenceDiff{
      "workflow:42", {PresenceMember{kCleo, {meta("c11")}}}, {PresenceMember{kAna, {meta("c7")}}}});
  ASSERT_EQ(replica.members().size(), 1u);
  EXPECT_NE(replica.member("cleo"), nullptr);
}

TEST(room_replica_test, presence_update_replaces_only_the_named_connections_state) {
  RoomReplica replica = joined();
  (void)replica.apply(protocol::PresenceSnapshot{"workflow:42", {PresenceMember{kAna, {meta("c7", at(1, 1)), meta("c9", at(5, 5))}}}});
  const RoomChanges changes = replica.apply(protocol::PresenceUpdate{"workflow:42", "ana", {meta("c7", at(14, 22))}});
  EXPECT_EQ(changes, RoomChanges(RoomChange::Presence));
  EXPECT_EQ(replica.member("ana")->metas[0].state.cursor, (protocol::Cursor{14, 22}));
  EXPECT_EQ(replica.member("ana")->metas[1].state.cursor, (protocol::Cursor{5, 5}));
  // An update for someone not (yet) known is ignored: there is no name to show.
  EXPECT_TRUE(replica.apply(protocol::PresenceUpdate{"workflow:42", "zed", {meta("c1", at(0, 0))}}).empty());
  EXPECT_EQ(replica.member("zed"), nullptr);
}

TEST(room_replica_test, lock_snapshot_then_events_keep_the_lock_table) {
  RoomReplica replica = joined(121);
  RoomChanges changes = replica.apply(protocol::LockState{"workflow:42", 121, {protocol::LockInfo{"n3", kAnaHolder, 57, 9}}});
  EXPECT_EQ(changes, RoomChanges(RoomChange::Locks));
  ASSERT_NE(replica.lock("n3"), nullptr);
  EXPECT_EQ(replica.lock("n3")->fence, 57);

  changes = replica.apply(locked("n4", 58, 122));
  EXPECT_EQ(changes, RoomChanges(RoomChange::Locks));
  EXPECT_EQ(replica.locks().size(), 2u);
  changes = replica.apply(protocol::Unlocked{"workflow:42", "n3", protocol::UnlockReason::Expired, 123, 2});
  EXPECT_EQ(changes, RoomChanges(RoomChange::Locks));
  EXPECT_EQ(replica.lock("n3"), nullptr);
  ASSERT_TRUE(replica.position().has_value());
  EXPECT_EQ(*replica.position(), (protocol::StreamPosition{"e1", 123}));
}

TEST(room_replica_test, seq_duplicates_are_dropped_and_gaps_are_not_applied) {
  RoomReplica replica = joined(10);
  EXPECT_EQ(replica.check(11), SeqCheck::Next);
  (void)replica.apply(locked("n1", 1, 11));
  EXPECT_EQ(replica.check(11), SeqCheck::Duplicate);
  EXPECT_EQ(replica.check(5), SeqCheck::Duplicate);
  EXPECT_TRUE(replica.apply(locked("n2", 2, 11)).empty());  // duplicate seq: not applied
  EXPECT_EQ(replica.lock("n2"), nullptr);
  EXPECT_EQ(replica.check(13), SeqCheck::Gap);
  EXPECT_TRUE(replica.apply(locked("n3", 3, 13)).empty());  // after a gap: not applied
  EXPECT_EQ(replica.lock("n3"), nullptr);
  EXPECT_EQ(replica.position()->seq, 11);
}

TEST(room_replica_test, recovered_subscribe_keeps_the_replica_and_a_fresh_one_replaces_the_locks) {
  RoomReplica replica = joined(10);
  (void)replica.apply(locked("n1", 1, 11));
  // Same epoch, recovered: the missed events follow; the position stays where we were.
  EXPECT_TRUE(replica.apply(protocol::Subscribed{"workflow:42", "e1", 14, true}).empty());
  EXPECT_EQ(replica.position()->seq, 11);
  EXPECT_NE(replica.lock("n1"), nullptr);
  // Not recovered (a new epoch): the position restarts and the locks wait for lock_state.
  const RoomChanges changes = replica.apply(protocol::Subscribed{"workflow:42", "e2", 3, false});
  EXPECT_EQ(changes, RoomChanges(RoomChange::Locks));
  EXPECT_TRUE(replica.locks().empty());
  EXPECT_EQ(*replica.position(), (protocol::StreamPosition{"e2", 3}));
}
