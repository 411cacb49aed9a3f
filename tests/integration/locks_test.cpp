// locks_test.cpp — locks against a real tandem-server (PROTOCOL.md §8): grant and deny with
// the holder's name, renew, expiry, release on disconnect after the grace, takeover round trip,
// fence growth, locked/unlocked seen by another member, lock_state on join.
#include <functional>
#include <memory>
#include <vector>

#include "server_test_support.h"
#include "tandem/protocol/errors.h"

using namespace tandem;
using namespace tandem::integration;
using protocol::Connected;
using protocol::ErrorReply;
using protocol::LockDenied;
using protocol::LockGranted;
using protocol::Locked;
using protocol::LockState;
using protocol::Subscribed;
using protocol::TakeoverRequested;
using protocol::UnlockReason;
using protocol::Unlocked;

namespace {

constexpr const char* kRoom = "workflow:42";
constexpr int kGraceMs = 600;   // --lock-grace-ms: short, so disconnect and takeover tests are quick
constexpr int kTtlMinMs = 100;  // --lock-ttl-min-ms: lets a lock ask for a 300 ms lease

std::function<bool(const Unlocked&)> unlocked_with(UnlockReason reason) {
  return [reason](const Unlocked& u) { return u.resource == "n3" && u.reason == reason; };
}

std::int64_t wall_now_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class locks_test : public ServerTest {
 protected:
  locks_test()
      : ServerTest({"--lock-grace-ms", std::to_string(kGraceMs), "--lock-ttl-min-ms", std::to_string(kTtlMinMs)}) {}

  // The first message of type M on `probe` that `match` accepts, or nothing at the deadline.
  // Every joined probe is pumped meanwhile: a probe's sends go out only while it is polled.
  template <class M>
  std::optional<std::pair<M, std::optional<std::string>>> wait_match(
      TransportProbe& probe, const std::function<bool(const M&, const std::optional<std::string>&)>& match) {
    std::optional<std::pair<M, std::optional<std::string>>> found;
    pump_until(
        [&] {
          for (const auto& frame : decoded(probe.log))
            if (const M* m = std::get_if<M>(&frame.message); m != nullptr && match(*m, frame.id)) {
              found.emplace(*m, frame.id);
              return true;
            }
          return probe.log.closed.has_value();
        },
        [&] {
          for (TransportProbe* p : probes_) p->transport.poll(milliseconds{5});
        });
    return found;
  }
  template <class M>
  std::optional<std::pair<M, std::optional<std::string>>> wait_match(TransportProbe& probe,
                                                                     const std::function<bool(const M&)>& match) {
    return wait_match<M>(probe, [&](const M& m, const std::optional<std::string>&) { return match(m); });
  }
  // The answer of type M to request `id`.
  template <class M>
  std::optional<std::pair<M, std::optional<std::string>>> answer(TransportProbe& probe, const std::string& id) {
    return wait_match<M>(probe, [&](const M&, const std::optional<std::string>& got) { return got == id; });
  }
  template <class M>
  std::optional<std::pair<M, std::optional<std::string>>> first(TransportProbe& probe) {
    return wait_match<M>(probe, [](const M&, const std::optional<std::string>&) { return true; });
  }
  void forget(TransportProbe& probe) { std::erase(probes_, &probe); }

  // An authenticated connection of `sub`/`name`, subscribed to kRoom (lock_state received).
  void join(TransportProbe& probe, const std::string& sub, const std::string& name) {
    probes_.push_back(&probe);
    TokenSpec spec;
    spec.sub = sub;
    spec.name = name;
    open_with_token(probe, mint_token(spec));
    ASSERT_TRUE(wait_for_message<Connected>(probe).has_value()) << server.output();
    send(probe, protocol::Subscribe{kRoom, std::nullopt}, "sub");
    ASSERT_TRUE(answer<Subscribed>(probe, "sub").has_value());
    ASSERT_TRUE(first<LockState>(probe).has_value());
  }

  template <class M>
  void send(TransportProbe& probe, const M& message, const std::string& id) {
    ASSERT_EQ(probe.send(protocol::encode_client(message, id)), SendStatus::Sent);
  }

  // Locks n3 and returns the grant.
  LockGranted lock(TransportProbe& probe, const std::string& id, std::optional<std::int64_t> ttl = std::nullopt) {
    send(probe, protocol::Lock{kRoom, "n3", ttl}, id);
    auto granted = answer<LockGranted>(probe, id);
    EXPECT_TRUE(granted.has_value()) << "no lock_granted for " << id;
    return granted ? granted->first : LockGranted{};
  }

  std::vector<TransportProbe*> probes_;
};

}  // namespace

TEST_F(locks_test, grant_then_deny_with_the_holders_name_and_the_event_reaches_the_other_member) {
  TransportProbe ana, ben;
  join(ana, "user-ana", "Ana");
  join(ben, "user-ben", "Ben");

  const auto before = wall_now_ms();
  LockGranted granted = lock(ana, "l1", 10000);
  EXPECT_EQ(granted.room, kRoom);
  EXPECT_EQ(granted.resource, "n3");
  EXPECT_GE(granted.fence, 1);
  EXPECT_GE(granted.expires_at, before + 9000);
  EXPECT_LE(granted.expires_at, before + 11000 + 1000);

  auto seen = wait_match<Locked>(ben, [](const Locked& l) { return l.resource == "n3"; });
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->first.holder.user, "user-ana");
  EXPECT_EQ(seen->first.holder.name, "Ana");
  EXPECT_EQ(seen->first.fence, granted.fence);
  EXPECT_GE(seen->first.seq, 1);

  send(ben, protocol::Lock{kRoom, "n3", std::nullopt}, "l2");
  auto denied = answer<LockDenied>(ben, "l2");
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->first.holder.user, "user-ana");
  EXPECT_EQ(denied->first.holder.name, "Ana");
  EXPECT_EQ(denied->first.expires_at, granted.expires_at);
}

TEST_F(locks_test, renew_extends_with_the_same_fence_and_only_for_the_holder) {
  TransportProbe ana, ben;
  join(ana, "user-ana", "Ana");
  join(ben, "user-ben", "Ben");
  LockGranted granted = lock(ana, "l1", 2000);

  send(ana, protocol::Renew{kRoom, "n3", 20000}, "r1");
  auto renewed = answer<LockGranted>(ana, "r1");
  ASSERT_TRUE(renewed.has_value());
  EXPECT_EQ(renewed->first.fence, granted.fence);
  EXPECT_GT(renewed->first.expires_at, granted.expires_at + 15000);

  send(ben, protocol::Renew{kRoom, "n3", 20000}, "r2");
  auto refused = answer<ErrorReply>(ben, "r2");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->first.code, "not_found");
}

TEST_F(locks_test, an_unrenewed_lock_expires_and_everyone_is_told) {
  TransportProbe ana, ben;
  join(ana, "user-ana", "Ana");
  join(ben, "user-ben", "Ben");
  const auto start = Clock::now();
  lock(ana, "l1", 300);

  auto expired = wait_match<Unlocked>(ben, unlocked_with(UnlockReason::Expired));
  ASSERT_TRUE(expired.has_value()) << server.output();
  EXPECT_GE(Clock::now() - start, milliseconds{300});
  EXPECT_TRUE(wait_match<Unlocked>(ana, unlocked_with(UnlockReason::Expired)).has_value());

  // Free again: Ben gets it; Ana's renew is refused.
  lock(ben, "l2");
  send(ana, protocol::Renew{kRoom, "n3", std::nullopt}, "r1");
  auto refused = answer<ErrorReply>(ana, "r1");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->first.code, "not_found");
}

TEST_F(locks_test, a_dropped_holders_lock_is_kept_for_the_grace_then_released) {
  TransportProbe ben;
  auto ana = std::make_unique<TransportProbe>();
  join(*ana, "user-ana", "Ana");
  join(ben, "user-ben", "Ben");
  lock(*ana, "l1", 60000);

  const auto dropped = Clock::now();
  forget(*ana);
  ana.reset();  // the connection goes away without unlocking

  // Within the grace the lock is still held.
  send(ben, protocol::Lock{kRoom, "n3", std::nullopt}, "l2");
  auto denied = answer<LockDenied>(ben, "l2");
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->first.holder.user, "user-ana");

  auto released = wait_match<Unlocked>(ben, unlocked_with(UnlockReason::Disconnected));
  ASSERT_TRUE(released.has_value()) << server.output();
  EXPECT_GE(Clock::now() - dropped, milliseconds{kGraceMs - 100});  // not at once
  lock(ben, "l3");
}

TEST_F(locks_test, takeover_reaches_the_holder_and_the_lock_moves_when_it_unlocks) {
  TransportProbe ana, ben;
  join(ana, "user-ana", "Ana");
  join(ben, "user-ben", "Ben");
  LockGranted held = lock(ana, "l1", 60000);

  send(ben, protocol::Takeover{kRoom, "n3"}, "t1");
  auto asked = first<TakeoverRequested>(ana);
  ASSERT_TRUE(asked.has_value());
  EXPECT_EQ(asked->first.resource, "n3");
  EXPECT_EQ(asked->first.by.user, "user-ben");
  EXPECT_EQ(asked->first.by.name, "Ben");
  EXPECT_EQ(asked->first.grace_ms, kGraceMs);

  send(ana, protocol::Unlock{kRoom, "n3"}, "u1");
  ASSERT_TRUE(answer<protocol::Ack>(ana, "u1").has_value());

  auto moved = answer<LockGranted>(ben, "t1");
  ASSERT_TRUE(moved.has_value());
  EXPECT_GT(moved->first.fence, held.fence);
  auto taken = wait_match<Unlocked>(ben, unlocked_with(UnlockReason::TakenOver));
  ASSERT_TRUE(taken.has_value());
  auto relocked = wait_match<Locked>(ben, [](const Locked& l) { return l.holder.user == "user-ben"; });
  ASSERT_TRUE(relocked.has_value());
  EXPECT_GT(relocked->first.seq, taken->first.seq);
}

TEST_F(locks_test, takeover_moves_after_the_grace_when_the_holder_keeps_quiet) {
  TransportProbe ana, ben;
  join(ana, "user-ana", "Ana");
  join(ben, "user-ben", "Ben");
  lock(ana, "l1", 60000);
  const auto asked_at = Clock::now();
  send(ben, protocol::Takeover{kRoom, "n3"}, "t1");
  auto moved = answer<LockGranted>(ben, "t1");
  ASSERT_TRUE(moved.has_value());
  EXPECT_GE(Clock::now() - asked_at, milliseconds{kGraceMs - 100});
  send(ana, protocol::Renew{kRoom, "n3", std::nullopt}, "r1");
  auto refused = answer<ErrorReply>(ana, "r1");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->first.code, "not_found");
}

TEST_F(locks_test, fences_grow_across_release_and_retake) {
  TransportProbe ana, ben;
  join(ana, "user-ana", "Ana");
  join(ben, "user-ben", "Ben");
  std::int64_t last = 0;
  for (int round = 0; round < 4; ++round) {
    TransportProbe& who = round % 2 == 0 ? ana : ben;
    const std::string n = std::to_string(round);
    LockGranted granted = lock(who, "l" + n);
    EXPECT_GT(granted.fence, last);
    last = granted.fence;
    send(who, protocol::Unlock{kRoom, "n3"}, "u" + n);
    ASSERT_TRUE(answer<protocol::Ack>(who, "u" + n).has_value());
  }
}

TEST_F(locks_test, a_late_joiner_gets_the_current_locks_and_sees_the_release) {
  TransportProbe ana, cleo;
  join(ana, "user-ana", "Ana");
  LockGranted granted = lock(ana, "l1", 60000);

  join(cleo, "user-cleo", "Cleo");
  auto snapshot = first<LockState>(cleo);
  ASSERT_TRUE(snapshot.has_value());
  ASSERT_EQ(snapshot->first.locks.size(), 1u);
  EXPECT_EQ(snapshot->first.locks[0].resource, "n3");
  EXPECT_EQ(snapshot->first.locks[0].holder.name, "Ana");
  EXPECT_EQ(snapshot->first.locks[0].fence, granted.fence);

  send(ana, protocol::Unlock{kRoom, "n3"}, "u1");
  EXPECT_TRUE(wait_match<Unlocked>(cleo, unlocked_with(UnlockReason::Released)).has_value());
}

TEST_F(locks_test, unsubscribing_releases_the_lock_at_once) {
  TransportProbe ana, ben;
  join(ana, "user-ana", "Ana");
  join(ben, "user-ben", "Ben");
  lock(ana, "l1", 60000);
  send(ana, protocol::Unsubscribe{kRoom}, "x1");
  EXPECT_TRUE(wait_match<Unlocked>(ben, unlocked_with(UnlockReason::Released)).has_value());
  lock(ben, "l2");
}

TEST_F(locks_test, locking_in_a_room_not_joined_is_not_subscribed) {
  TransportProbe ana;
  join(ana, "user-ana", "Ana");
  send(ana, protocol::Lock{"workflow:other", "n3", std::nullopt}, "l1");
  auto error = answer<ErrorReply>(ana, "l1");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->first.code, "not_subscribed");
}

TEST_F(locks_test, fences_keep_growing_across_a_killed_and_restarted_server) {
  TransportProbe ana, ana_later;
  join(ana, "user-ana", "Ana");
  const LockGranted before = lock(ana, "l1");
  ASSERT_GT(before.fence, 0);
  forget(ana);
  server.kill_now();  // a crash: the fence was acked, so it must have been stored
  ASSERT_NO_THROW(server.start());
  join(ana_later, "user-ana", "Ana");
  EXPECT_GT(lock(ana_later, "l2").fence, before.fence) << server.output();
}

// Session resume (PROTOCOL.md §5.1, §8): a holder whose connection dropped and who comes back
// with its session within the grace keeps its lock — nobody sees it released, and its re-lock
// is answered with the same fence.
class locks_resume_test : public locks_test {
 protected:
  // A connection of `sub` presenting `session`, subscribed to kRoom; returns its `connected`.
  Connected rejoin(TransportProbe& probe, const std::string& sub, const std::string& name, const std::string& session) {
    probes_.push_back(&probe);
    TokenSpec spec;
    spec.sub = sub;
    spec.name = name;
    probe.open(server.ws_url() + "?token=" + mint_token(spec) + "&session=" + session);
    auto connected = first<Connected>(probe);
    EXPECT_TRUE(connected.has_value()) << server.output();
    send(probe, protocol::Subscribe{kRoom, std::nullopt}, "resub");
    EXPECT_TRUE(answer<Subscribed>(probe, "resub").has_value());
    return connected ? connected->first : Connected{};
  }
  // Pumps every probe until `until` (an absence can only be checked by letting time pass).
  void pump_through(Clock::time_point until) {
    pump_until([&] { return Clock::now() >= until; },
               [&] { for (TransportProbe* p : probes_) p->transport.poll(milliseconds{5}); },
               std::chrono::duration_cast<milliseconds>(until - Clock::now()) + milliseconds{1000});
  }
  static bool saw_unlocked(const TransportProbe& probe) {
    for (const auto& frame : decoded(probe.log))
      if (std::holds_alternative<Unlocked>(frame.message)) return true;
    return false;
  }
};

TEST_F(locks_resume_test, a_holder_resuming_its_session_within_the_grace_keeps_the_lock_and_its_fence) {
  TransportProbe ben, ana_again;
  auto ana = std::make_unique<TransportProbe>();
  join(*ana, "user-ana", "Ana");
  join(ben, "user-ben", "Ben");
  const std::string session = first<Connected>(*ana)->first.session;
  const LockGranted held = lock(*ana, "l1", 60000);

  const auto dropped = Clock::now();
  forget(*ana);
  ana.reset();

  const Connected resumed = rejoin(ana_again, "user-ana", "Ana", session);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.session, session);
  const LockGranted again = lock(ana_again, "l2", 60000);
  EXPECT_EQ(again.fence, held.fence);  // the same lease, not a new grant

  // Past the grace: still held by Ana, and Ben never saw it released.
  pump_through(dropped + milliseconds{kGraceMs + 300});
  EXPECT_FALSE(saw_unlocked(ben));
  send(ben, protocol::Lock{kRoom, "n3", std::nullopt}, "b1");
  auto denied = answer<LockDenied>(ben, "b1");
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->first.holder.user, "user-ana");
}

TEST_F(locks_resume_test, a_session_presented_while_its_old_connection_is_open_moves_and_the_old_one_is_closed_4409) {
  TransportProbe ana, ben, ana_again;
  join(ana, "user-ana", "Ana");
  join(ben, "user-ben", "Ben");
  const std::string session = first<Connected>(ana)->first.session;
  const LockGranted held = lock(ana, "l1", 60000);

  const Connected resumed = rejoin(ana_again, "user-ana", "Ana", session);
  EXPECT_TRUE(resumed.resumed);
  ASSERT_TRUE(ana.wait_closed());
  EXPECT_EQ(ana.log.closed->code, protocol::close::session_replaced.code);
  EXPECT_EQ(lock(ana_again, "l2", 60000).fence, held.fence);
  pump_through(Clock::now() + milliseconds{kGraceMs + 300});
  EXPECT_FALSE(saw_unlocked(ben));
}

TEST_F(locks_resume_test, another_users_session_or_an_unknown_one_starts_a_new_session) {
  TransportProbe ana, ben, stranger;
  join(ana, "user-ana", "Ana");
  const std::string session = first<Connected>(ana)->first.session;
  lock(ana, "l1", 60000);

  const Connected ben_connected = rejoin(ben, "user-ben", "Ben", session);
  EXPECT_FALSE(ben_connected.resumed);
  EXPECT_NE(ben_connected.session, session);
  EXPECT_FALSE(ana.log.closed.has_value());  // Ana's connection is untouched
  const Connected unknown = rejoin(stranger, "user-ana", "Ana", "s-no-such-session");
  EXPECT_FALSE(unknown.resumed);
  send(ben, protocol::Lock{kRoom, "n3", std::nullopt}, "b1");
  auto denied = answer<LockDenied>(ben, "b1");
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->first.holder.user, "user-ana");
}
