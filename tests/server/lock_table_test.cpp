// lock_table_test.cpp — the lock rules of PROTOCOL.md §8 at the table level, with a hand-driven
// clock: grant, deny with holder, renew, expiry, release, disconnect grace and resume,
// takeover, fence growth, the per-user bound, ttl clamping.
#include <gtest/gtest.h>

#include <string>

#include "locks/lock_table.h"

using namespace tandem;
using namespace tandem::server::locks;
using tandem::protocol::UnlockReason;

namespace {

constexpr const char* kRoom = "workflow:42";

LockOwner owner(ConnectionId connection, std::string user, std::string session = "") {
  LockOwner o;
  o.connection = connection;
  o.session = session.empty() ? "s" + std::to_string(connection) : std::move(session);
  o.user = protocol::LockHolder{user, user + "-name", "#123456"};
  return o;
}

const LockOwner kAna = owner(1, "ana");
const LockOwner kAnaTab2 = owner(2, "ana");
const LockOwner kBen = owner(3, "ben");

LockSettings small_settings() {
  LockSettings s;
  s.ttl = Millis(30000);
  s.ttl_min = Millis(1000);
  s.ttl_max = Millis(120000);
  s.grace = Millis(5000);
  s.max_locks_per_user = 3;
  return s;
}

Millis at(std::int64_t ms) { return Millis(ms); }

}  // namespace

TEST(lock_table_test, grants_a_free_resource_with_a_fence_and_expiry) {
  LockTable table(small_settings());
  auto out = table.acquire(kRoom, "n3", kAna, 10000, at(1000));
  ASSERT_EQ(out.result, LockResult::Granted);
  EXPECT_GE(out.lease.fence, 1);
  EXPECT_EQ(out.lease.expires_at, at(11000));
  ASSERT_EQ(out.changes.size(), 1u);
  EXPECT_EQ(out.changes[0].kind, LockChange::Kind::Locked);
  EXPECT_EQ(out.changes[0].lease.owner.user.user, "ana");
  EXPECT_EQ(table.counters().grants, 1u);
}

TEST(lock_table_test, denies_another_user_and_shows_the_holder) {
  LockTable table(small_settings());
  table.acquire(kRoom, "n3", kAna, 10000, at(0));
  auto out = table.acquire(kRoom, "n3", kBen, 10000, at(10));
  ASSERT_EQ(out.result, LockResult::HeldByOther);
  EXPECT_EQ(out.lease.owner.user, (protocol::LockHolder{"ana", "ana-name", "#123456"}));
  EXPECT_EQ(out.lease.expires_at, at(10000));
  EXPECT_TRUE(out.changes.empty());
  EXPECT_EQ(table.counters().denials, 1u);
}

TEST(lock_table_test, denies_another_connection_of_the_same_user) {
  LockTable table(small_settings());
  table.acquire(kRoom, "n3", kAna, std::nullopt, at(0));
  EXPECT_EQ(table.acquire(kRoom, "n3", kAnaTab2, std::nullopt, at(0)).result, LockResult::HeldByOther);
}

TEST(lock_table_test, locking_again_extends_with_the_same_fence_and_no_event) {
  LockTable table(small_settings());
  auto first = table.acquire(kRoom, "n3", kAna, 5000, at(0));
  auto again = table.acquire(kRoom, "n3", kAna, 5000, at(3000));
  ASSERT_EQ(again.result, LockResult::Extended);
  EXPECT_EQ(again.lease.fence, first.lease.fence);
  EXPECT_EQ(again.lease.expires_at, at(8000));
  EXPECT_TRUE(again.changes.empty());
}

TEST(lock_table_test, same_resource_name_in_two_rooms_are_two_locks) {
  LockTable table(small_settings());
  table.acquire("workflow:1", "n3", kAna, std::nullopt, at(0));
  EXPECT_EQ(table.acquire("workflow:2", "n3", kBen, std::nullopt, at(0)).result, LockResult::Granted);
}

TEST(lock_table_test, renew_by_the_holder_extends_from_now_with_the_same_fence) {
  LockTable table(small_settings());
  auto granted = table.acquire(kRoom, "n3", kAna, 5000, at(0));
  auto renewed = table.renew(kRoom, "n3", kAna.connection, 7000, at(4000));
  ASSERT_EQ(renewed.result, RenewResult::Renewed);
  EXPECT_EQ(renewed.lease.fence, granted.lease.fence);
  EXPECT_EQ(renewed.lease.expires_at, at(11000));
  // Past the original expiry, the lease is still there.
  EXPECT_TRUE(table.tick(at(9000)).empty());
  EXPECT_EQ(table.size(), 1u);
}

TEST(lock_table_test, renew_by_anyone_else_or_of_a_free_resource_is_not_held) {
  LockTable table(small_settings());
  table.acquire(kRoom, "n3", kAna, 5000, at(0));
  EXPECT_EQ(table.renew(kRoom, "n3", kBen.connection, 5000, at(10)).result, RenewResult::NotHeld);
  EXPECT_EQ(table.renew(kRoom, "n3", kAnaTab2.connection, 5000, at(10)).result, RenewResult::NotHeld);
  EXPECT_EQ(table.renew(kRoom, "n4", kAna.connection, 5000, at(10)).result, RenewResult::NotHeld);
}

TEST(lock_table_test, renew_after_expiry_is_not_held_and_reports_the_expiry) {
  LockTable table(small_settings());
  table.acquire(kRoom, "n3", kAna, 2000, at(0));
  auto late = table.renew(kRoom, "n3", kAna.connection, 2000, at(2000));
  EXPECT_EQ(late.result, RenewResult::NotHeld);
  ASSERT_EQ(late.changes.size(), 1u);
  EXPECT_EQ(late.changes[0].reason, UnlockReason::Expired);
}

TEST(lock_table_test, an_unrenewed_lease_expires_at_its_time_not_before) {
  LockTable table(small_settings());
  table.acquire(kRoom, "n3", kAna, 2000, at(0));
  EXPECT_TRUE(table.tick(at(1999)).empty());
  auto changes = table.tick(at(2000));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, LockChange::Kind::Unlocked);
  EXPECT_EQ(changes[0].reason, UnlockReason::Expired);
  EXPECT_EQ(changes[0].lease.resource, "n3");
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.counters().expiries, 1u);
  EXPECT_EQ(table.acquire(kRoom, "n3", kBen, std::nullopt, at(2001)).result, LockResult::Granted);
}

TEST(lock_table_test, an_overdue_lease_is_settled_by_the_next_request_even_without_a_tick) {
  LockTable table(small_settings());
  table.acquire(kRoom, "n3", kAna, 2000, at(0));
  auto out = table.acquire(kRoom, "n3", kBen, std::nullopt, at(2500));
  ASSERT_EQ(out.result, LockResult::Granted);
  ASSERT_EQ(out.changes.size(), 2u);
  EXPECT_EQ(out.changes[0].kind, LockChange::Kind::Unlocked);
  EXPECT_EQ(out.changes[0].reason, UnlockReason::Expired);
  EXPECT_EQ(out.changes[1].kind, LockChange::Kind::Locked);
}

TEST(lock_table_test, release_by_the_holder_unlocks_with_reason_released) {
  LockTable table(small_settings());
  table.acquire(kRoom, "n3", kAna, std::nullopt, at(0));
  EXPECT_EQ(table.release(kRoom, "n3", kBen.connection, at(1)).result, ReleaseResult::NotHeld);
  auto out = table.release(kRoom, "n3", kAna.connection, at(2));
  ASSERT_EQ(out.result, ReleaseResult::Released);
  ASSERT_EQ(out.changes.size(), 1u);
  EXPECT_EQ(out.changes[0].reason, UnlockReason::Released);
  EXPECT_EQ(table.release(kRoom, "n3", kAna.connection, at(3)).result, ReleaseResult::NotHeld);
  EXPECT_EQ(table.locks_held_by("ana"), 0u);
}

TEST(lock_table_test, leaving_the_room_releases_only_that_rooms_locks) {
  LockTable table(small_settings());
  table.acquire("workflow:1", "n1", kAna, std::nullopt, at(0));
  table.acquire("workflow:1", "n2", kAna, std::nullopt, at(0));
  table.acquire("workflow:2", "n1", kAna, std::nullopt, at(0));
  auto changes = table.leave_room("workflow:1", kAna.connection, at(5));
  ASSERT_EQ(changes.size(), 2u);
  for (const auto& change : changes) EXPECT_EQ(change.reason, UnlockReason::Released);
  EXPECT_EQ(table.locks_in("workflow:1").size(), 0u);
  EXPECT_EQ(table.locks_in("workflow:2").size(), 1u);
}

TEST(lock_table_test, a_disconnected_holders_locks_are_kept_for_the_grace_then_released) {
  LockTable table(small_settings());
  table.acquire(kRoom, "n3", kAna, 60000, at(0));
  table.disconnect(kAna.connection, at(1000));
  // Still held during the grace: others are denied.
  EXPECT_EQ(table.acquire(kRoom, "n3", kBen, std::nullopt, at(3000)).result, LockResult::HeldByOther);
  EXPECT_TRUE(table.tick(at(5999)).empty());
  auto changes = table.tick(at(6000));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].reason, UnlockReason::Disconnected);
  EXPECT_EQ(table.acquire(kRoom, "n3", kBen, std::nullopt, at(6001)).result, LockResult::Granted);
}

TEST(lock_table_test, a_resumed_session_reclaims_its_locks_within_the_grace) {
  LockTable table(small_settings());
  const LockOwner ana = owner(1, "ana", "sess-ana");
  auto granted = table.acquire(kRoom, "n3", ana, 60000, at(0));
  table.disconnect(ana.connection, at(1000));
  // A wrong session reclaims nothing.
  EXPECT_TRUE(table.resume("sess-other", 9, at(1500)).empty());
  auto reclaimed = table.resume("sess-ana", 7, at(1500));
  ASSERT_EQ(reclaimed.size(), 1u);
  EXPECT_EQ(reclaimed[0].owner.connection, 7u);
  EXPECT_EQ(reclaimed[0].fence, granted.lease.fence);
  // The grace no longer applies, and the new connection is the holder.
  EXPECT_TRUE(table.tick(at(10000)).empty());
  EXPECT_EQ(table.renew(kRoom, "n3", 7, std::nullopt, at(10000)).result, RenewResult::Renewed);
  EXPECT_EQ(table.renew(kRoom, "n3", ana.connection, std::nullopt, at(10000)).result, RenewResult::NotHeld);
}

TEST(lock_table_test, a_session_resumed_after_the_grace_gets_nothing_back) {
  LockTable table(small_settings());
  const LockOwner ana = owner(1, "ana", "sess-ana");
  table.acquire(kRoom, "n3", ana, 60000, at(0));
  table.disconnect(ana.connection, at(0));
  ASSERT_EQ(table.tick(at(5000)).size(), 1u);
  EXPECT_TRUE(table.resume("sess-ana", 7, at(5000)).empty());
}

TEST(lock_table_test, a_grace_that_ran_out_before_the_tick_is_not_reclaimed) {
  LockTable table(small_settings());
  const LockOwner ana = owner(1, "ana", "sess-ana");
  table.acquire(kRoom, "n3", ana, 60000, at(0));
  table.disconnect(ana.connection, at(0));
  // No tick yet, but the grace is over: the lease is released, not handed back.
  EXPECT_TRUE(table.resume("sess-ana", 7, at(small_settings().grace.count())).empty());
  auto released = table.tick(at(small_settings().grace.count()));
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].reason, UnlockReason::Disconnected);
}

TEST(lock_table_test, a_resumed_lease_keeps_its_pending_takeover) {
  LockTable table(small_settings());
  const LockOwner ana = owner(1, "ana", "sess-ana");
  table.acquire(kRoom, "n3", ana, 60000, at(0));
  ASSERT_EQ(table.takeover(kRoom, "n3", kBen, "t1", at(100)).result, TakeoverResult::Requested);
  table.disconnect(ana.connection, at(200));
  auto reclaimed = table.resume("sess-ana", 7, at(300));
  ASSERT_EQ(reclaimed.size(), 1u);
  ASSERT_TRUE(reclaimed[0].takeover.has_value());  // the handler asks the new connection again
  EXPECT_EQ(reclaimed[0].takeover->requester.user.user, kBen.user.user);
}

TEST(lock_table_test, takeover_of_another_users_lock_asks_the_holder_and_moves_on_release) {
  LockTable table(small_settings());
  auto held = table.acquire(kRoom, "n3", kAna, 60000, at(0));
  auto asked = table.takeover(kRoom, "n3", kBen, "t1", at(100));
  ASSERT_EQ(asked.result, TakeoverResult::Requested);
  ASSERT_EQ(asked.changes.size(), 1u);
  EXPECT_EQ(asked.changes[0].kind, LockChange::Kind::TakeoverRequested);
  EXPECT_EQ(asked.changes[0].lease.owner.connection, kAna.connection);  // goes to the holder
  EXPECT_EQ(asked.changes[0].requester->user.user, "ben");             // names who asks

  // The holder yields: unlocked (taken_over), then locked for the requester with a larger fence.
  auto yielded = table.release(kRoom, "n3", kAna.connection, at(200));
  ASSERT_EQ(yielded.result, ReleaseResult::Released);
  ASSERT_EQ(yielded.changes.size(), 2u);
  EXPECT_EQ(yielded.changes[0].kind, LockChange::Kind::Unlocked);
  EXPECT_EQ(yielded.changes[0].reason, UnlockReason::TakenOver);
  EXPECT_EQ(yielded.changes[1].kind, LockChange::Kind::Locked);
  EXPECT_EQ(yielded.changes[1].lease.owner.connection, kBen.connection);
  EXPECT_EQ(yielded.changes[1].reply_id, "t1");
  EXPECT_GT(yielded.changes[1].lease.fence, held.lease.fence);
  EXPECT_EQ(table.counters().takeovers, 1u);
}

TEST(lock_table_test, takeover_moves_after_the_grace_when_the_holder_does_not_yield) {
  LockTable table(small_settings());
  table.acquire(kRoom, "n3", kAna, 60000, at(0));
  table.takeover(kRoom, "n3", kBen, "t1", at(1000));
  EXPECT_TRUE(table.tick(at(5999)).empty());
  auto changes = table.tick(at(6000));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].reason, UnlockReason::TakenOver);
  EXPECT_EQ(changes[1].lease.owner.connection, kBen.connection);
  EXPECT_EQ(changes[1].reply_id, "t1");
  // The old holder can no longer renew.
  EXPECT_EQ(table.renew(kRoom, "n3", kAna.connection, std::nullopt, at(6001)).result, RenewResult::NotHeld);
}

TEST(lock_table_test, takeover_of_a_free_or_same_user_lock_moves_at_once) {
  LockTable table(small_settings());
  auto free_grant = table.takeover(kRoom, "n1", kAna, "t1", at(0));
  EXPECT_EQ(free_grant.result, TakeoverResult::Granted);
  ASSERT_EQ(free_grant.changes.size(), 1u);

  auto moved = table.takeover(kRoom, "n1", kAnaTab2, "t2", at(10));
  ASSERT_EQ(moved.result, TakeoverResult::Granted);
  ASSERT_EQ(moved.changes.size(), 2u);
  EXPECT_EQ(moved.changes[0].reason, UnlockReason::TakenOver);
  EXPECT_EQ(moved.lease.owner.connection, kAnaTab2.connection);
  EXPECT_GT(moved.lease.fence, free_grant.lease.fence);
  EXPECT_EQ(table.locks_held_by("ana"), 1u);
}

TEST(lock_table_test, a_second_takeover_while_one_is_pending_is_refused) {
  LockTable table(small_settings());
  table.acquire(kRoom, "n3", kAna, 60000, at(0));
  table.takeover(kRoom, "n3", kBen, "t1", at(0));
  EXPECT_EQ(table.takeover(kRoom, "n3", owner(4, "cleo"), "t2", at(1)).result, TakeoverResult::AlreadyRequested);
}

TEST(lock_table_test, a_requester_that_disconnects_drops_its_pending_takeover) {
  LockTable table(small_settings());
  table.acquire(kRoom, "n3", kAna, 60000, at(0));
  table.takeover(kRoom, "n3", kBen, "t1", at(0));
  table.disconnect(kBen.connection, at(10));
  EXPECT_TRUE(table.tick(at(10000)).empty());
  EXPECT_EQ(table.locks_in(kRoom).at(0).owner.connection, kAna.connection);
}

TEST(lock_table_test, fences_only_grow_across_release_and_retake) {
  LockTable table(small_settings());
  std::int64_t last = 0;
  for (int round = 0; round < 5; ++round) {
    const LockOwner& who = round % 2 == 0 ? kAna : kBen;
    auto out = table.acquire(kRoom, "n3", who, std::nullopt, at(round * 10));
    ASSERT_EQ(out.result, LockResult::Granted);
    EXPECT_GT(out.lease.fence, last);
    last = out.lease.fence;
    table.release(kRoom, "n3", who.connection, at(round * 10 + 1));
  }
  // Expiry and a locks-free table do not reset it either.
  table.acquire(kRoom, "n3", kAna, 1000, at(100));
  table.tick(at(5000));
  ASSERT_EQ(table.size(), 0u);
  EXPECT_GT(table.acquire(kRoom, "n3", kBen, std::nullopt, at(5001)).lease.fence, last);
}

TEST(lock_table_test, a_user_holds_at_most_max_locks_per_user_across_rooms_and_tabs) {
  LockTable table(small_settings());  // max 3
  EXPECT_EQ(table.acquire("workflow:1", "a", kAna, std::nullopt, at(0)).result, LockResult::Granted);
  EXPECT_EQ(table.acquire("workflow:2", "b", kAna, std::nullopt, at(0)).result, LockResult::Granted);
  EXPECT_EQ(table.acquire("workflow:1", "c", kAnaTab2, std::nullopt, at(0)).result, LockResult::Granted);
  EXPECT_EQ(table.acquire("workflow:1", "d", kAna, std::nullopt, at(0)).result, LockResult::LimitExceeded);
  EXPECT_EQ(table.takeover("workflow:1", "e", kAna, "t", at(0)).result, TakeoverResult::LimitExceeded);
  // Someone else is not affected, and a release makes room.
  EXPECT_EQ(table.acquire("workflow:1", "d", kBen, std::nullopt, at(0)).result, LockResult::Granted);
  table.release("workflow:1", "a", kAna.connection, at(1));
  EXPECT_EQ(table.acquire("workflow:1", "e", kAna, std::nullopt, at(2)).result, LockResult::Granted);
}

TEST(lock_table_test, ttl_is_defaulted_and_clamped) {
  LockTable table(small_settings());
  EXPECT_EQ(table.clamp_ttl(std::nullopt), Millis(30000));
  EXPECT_EQ(table.clamp_ttl(100), Millis(1000));
  EXPECT_EQ(table.clamp_ttl(1000), Millis(1000));
  EXPECT_EQ(table.clamp_ttl(45000), Millis(45000));
  EXPECT_EQ(table.clamp_ttl(3600000), Millis(120000));
  EXPECT_EQ(table.acquire(kRoom, "n3", kAna, 3600000, at(0)).lease.expires_at, Millis(120000));
  EXPECT_EQ(table.renew(kRoom, "n3", kAna.connection, 100, at(50)).lease.expires_at, Millis(1050));
}
