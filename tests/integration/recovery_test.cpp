// recovery_test.cpp — the room log against a real tandem-server with its SQLite store
// (PROTOCOL.md §6 recovery): a client that comes back with `since` gets recovered:true and
// exactly the events it missed, in order, within the history; recovered:false and fresh
// snapshots beyond it or with another epoch; and across a kill -9 and restart the room keeps its
// epoch and seq, the log survives, and locks whose holders died with the server are released
// in the log.
#include <gtest/gtest.h>

#include <variant>

#include "server_test_support.h"

namespace tandem::integration {
namespace {

constexpr const char* kRoom = "workflow:log";

class recovery_test : public ServerTest {
 protected:
  explicit recovery_test(std::vector<std::string> flags = {}) : ServerTest(std::move(flags)) {}

  static std::string token(const std::string& sub) {
    TokenSpec spec;
    spec.sub = sub;
    spec.name = sub;
    return mint_token(spec);
  }
  // Connected and subscribed (with `since` when given); returns the `subscribed` answer.
  protocol::Subscribed join(TransportProbe& probe, const std::string& sub,
                            std::optional<protocol::StreamPosition> since = std::nullopt) {
    open_with_token(probe, token(sub));
    EXPECT_TRUE(wait_for_message<protocol::Connected>(probe).has_value()) << server.output();
    probe.send(protocol::encode_client(protocol::Subscribe{kRoom, since}, "sub"));
    auto subscribed = wait_for_message<protocol::Subscribed>(probe, "sub");
    EXPECT_TRUE(subscribed.has_value()) << server.output();
    // presence_state always follows (after any replayed events): wait for it, so everything
    // the subscribe produced is in the log.
    EXPECT_TRUE(wait_for_message<protocol::PresenceSnapshot>(probe).has_value());
    return subscribed ? subscribed->first : protocol::Subscribed{};
  }
  void lock(TransportProbe& probe, const std::string& resource, const std::string& id) {
    probe.send(protocol::encode_client(protocol::Lock{kRoom, resource, std::nullopt}, id));
    ASSERT_TRUE(wait_for_message<protocol::LockGranted>(probe, id).has_value());
  }
  void unlock(TransportProbe& probe, const std::string& resource, const std::string& id) {
    probe.send(protocol::encode_client(protocol::Unlock{kRoom, resource}, id));
    ASSERT_TRUE(wait_for_message<protocol::Ack>(probe, id).has_value());
  }
  // The frames after `subscribed` (id "sub"), in arrival order, by type name and seq.
  static std::vector<std::pair<std::string, std::int64_t>> after_subscribed(const TransportProbe& probe) {
    std::vector<std::pair<std::string, std::int64_t>> out;
    bool seen = false;
    for (const auto& frame : decoded(probe.log)) {
      if (!seen) {
        seen = std::holds_alternative<protocol::Subscribed>(frame.message);
        continue;
      }
      std::int64_t seq = 0;
      if (auto* m = std::get_if<protocol::Locked>(&frame.message)) seq = m->seq;
      if (auto* m = std::get_if<protocol::Unlocked>(&frame.message)) seq = m->seq;
      out.emplace_back(protocol::type_of(frame.message), seq);
    }
    return out;
  }
  // Ben locks n1, unlocks it and locks n2: three room events.
  void three_events(TransportProbe& ben) {
    lock(ben, "n1", "b1");
    unlock(ben, "n1", "b2");
    lock(ben, "n2", "b3");
  }
};

using Seen = std::vector<std::pair<std::string, std::int64_t>>;

TEST_F(recovery_test, a_client_back_within_the_history_gets_exactly_the_missed_events_in_order) {
  TransportProbe ben, ana_again;
  protocol::Subscribed seen_by_ana;
  {
    TransportProbe ana;
    seen_by_ana = join(ana, "ana");
    join(ben, "ben");
  }  // Ana's connection is gone
  three_events(ben);

  const protocol::Subscribed back = join(ana_again, "ana", protocol::StreamPosition{seen_by_ana.epoch, seen_by_ana.seq});
  EXPECT_TRUE(back.recovered);
  EXPECT_EQ(back.epoch, seen_by_ana.epoch);
  EXPECT_EQ(back.seq, seen_by_ana.seq + 3);
  const std::int64_t s = seen_by_ana.seq;
  EXPECT_EQ(after_subscribed(ana_again),
            (Seen{{"locked", s + 1}, {"unlocked", s + 2}, {"locked", s + 3}, {"presence_state", 0}}));  // no lock_state
}

class recovery_short_history_test : public recovery_test {
 protected:
  recovery_short_history_test() : recovery_test({"--recovery-history", "2"}) {}
};

TEST_F(recovery_short_history_test, a_client_back_beyond_the_history_gets_fresh_snapshots) {
  TransportProbe ben, ana_again;
  protocol::Subscribed seen_by_ana;
  {
    TransportProbe ana;
    seen_by_ana = join(ana, "ana");
    join(ben, "ben");
  }
  three_events(ben);  // the history keeps the last 2: the first missed one is gone

  const protocol::Subscribed back = join(ana_again, "ana", protocol::StreamPosition{seen_by_ana.epoch, seen_by_ana.seq});
  EXPECT_FALSE(back.recovered);
  // Fresh snapshots in PROTOCOL.md §4 order; doc_snapshot and history (other families) may follow.
  const Seen fresh = after_subscribed(ana_again);
  ASSERT_GE(fresh.size(), 2u);
  EXPECT_EQ(Seen(fresh.begin(), fresh.begin() + 2), (Seen{{"presence_state", 0}, {"lock_state", 0}}));
  auto state = wait_for_message<protocol::LockState>(ana_again);
  ASSERT_TRUE(state.has_value());
  ASSERT_EQ(state->first.locks.size(), 1u);
  EXPECT_EQ(state->first.locks[0].resource, "n2");
}

TEST_F(recovery_test, another_epoch_or_a_seq_from_the_future_gets_fresh_snapshots) {
  TransportProbe ben, stale, future;
  const protocol::Subscribed now = join(ben, "ben");
  lock(ben, "n1", "b1");
  EXPECT_FALSE(join(stale, "ana", protocol::StreamPosition{"e-some-other-epoch", now.seq}).recovered);
  EXPECT_FALSE(join(future, "cleo", protocol::StreamPosition{now.epoch, now.seq + 50}).recovered);
}

TEST_F(recovery_test, after_a_kill_and_restart_the_log_continues_and_dead_holders_locks_are_released_in_it) {
  protocol::Subscribed seen_by_ana;
  std::int64_t locked_seq = 0;
  {
    TransportProbe ana, ben;
    seen_by_ana = join(ana, "ana");
    join(ben, "ben");
    lock(ben, "n1", "b1");
    auto locked = wait_for_message<protocol::Locked>(ana);
    ASSERT_TRUE(locked.has_value());
    locked_seq = locked->first.seq;
    server.kill_now();  // Ben still holds n1
  }
  ASSERT_NO_THROW(server.start());

  TransportProbe ana_again;
  const protocol::Subscribed back = join(ana_again, "ana", protocol::StreamPosition{seen_by_ana.epoch, seen_by_ana.seq});
  EXPECT_TRUE(back.recovered) << server.output();
  EXPECT_EQ(back.epoch, seen_by_ana.epoch);  // the history survived: same epoch
  EXPECT_EQ(after_subscribed(ana_again),
            (Seen{{"locked", locked_seq}, {"unlocked", locked_seq + 1}, {"presence_state", 0}}));
  auto released = wait_for_message<protocol::Unlocked>(ana_again);
  ASSERT_TRUE(released.has_value());
  EXPECT_EQ(released->first.reason, protocol::UnlockReason::Disconnected);
  // The log goes on from there (the `locked` broadcast comes before the grant).
  lock(ana_again, "n1", "a1");
  const Seen all = after_subscribed(ana_again);
  EXPECT_EQ(all.back(), (std::pair<std::string, std::int64_t>{"lock_granted", 0}));
  EXPECT_EQ(all[all.size() - 2], (std::pair<std::string, std::int64_t>{"locked", locked_seq + 2}));
}

}  // namespace
}  // namespace tandem::integration
