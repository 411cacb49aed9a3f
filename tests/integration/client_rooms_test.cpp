// client_rooms_test.cpp — the client core's rooms and locks (shared/rooms.h) through native
// clients against a real tandem-server, across a transport cut (tcp_cutter.h resets the TCP
// connection; no close frame): a client back within the lock grace resumes its session and
// keeps its lock — nobody else ever sees it released; one back too late is told the lock is
// lost and who holds it now.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "native_client.h"
#include "server_test_support.h"
#include "tcp_cutter.h"

namespace tandem::integration {
namespace {

constexpr const char* kRoom = "workflow:9";
constexpr milliseconds kReconnectDeadline{15000};  // backoff 0.5 s, 1 s, 2 s... with refusals

// One user's native client, joined to kRoom, with what it reported.
struct Participant {
  Participant(const std::string& url, const std::string& sub, const std::string& name) {
    ClientConfig config;
    config.session.url = url;
    config.session.token = mint_token({.sub = sub, .name = name});
    native::LwsTransportSettings quiet;
    quiet.log_level = native::LwsLogLevel::Silent;
    client = std::make_unique<native::NativeClient>(config, quiet, /*seed=*/11);
    client->client().rooms().on_lock_lost = [this](const LockLost& lost) { losses.push_back(lost); };
  }
  Rooms& rooms() { return client->client().rooms(); }
  const protocol::LockInfo* lock_seen(const std::string& resource) {
    const RoomReplica* replica = rooms().replica(kRoom);
    if (!replica) return nullptr;
    auto it = replica->locks().find(resource);
    return it == replica->locks().end() ? nullptr : &it->second;
  }

  std::unique_ptr<native::NativeClient> client;
  std::vector<LockLost> losses;
};

class client_rooms_test : public ServerTest {
 protected:
  explicit client_rooms_test(std::vector<std::string> flags) : ServerTest(std::move(flags)) {}

  // Polls every participant until `done` holds.
  bool poll_until(const std::function<bool()>& done, milliseconds timeout = kStepDeadline) {
    return pump_until(done, [&] {
      for (Participant* p : everyone_) p->client->poll(milliseconds{5});
      if (each_poll_) each_poll_();
    }, timeout);
  }
  void start_joined(Participant& p) {
    everyone_.push_back(&p);
    p.client->start();
    std::optional<Result<protocol::Subscribed>> joined;
    p.rooms().join(kRoom, std::nullopt, [&](Result<protocol::Subscribed> r) { joined = std::move(r); });
    ASSERT_TRUE(poll_until([&] { return joined.has_value(); })) << server.output();
    ASSERT_TRUE(joined->ok());
  }
  LockAnswer lock(Participant& p, const std::string& resource) {
    std::optional<Result<LockAnswer>> answer;
    p.rooms().lock(kRoom, resource, 30000, [&](Result<LockAnswer> r) { answer = std::move(r); });
    EXPECT_TRUE(poll_until([&] { return answer.has_value(); }));
    return answer && answer->ok() ? answer->value() : LockAnswer{};
  }

  std::vector<Participant*> everyone_;
  std::function<void()> each_poll_;  // runs after every poll round (observers)
};

class client_rooms_resume_test : public client_rooms_test {
 protected:
  client_rooms_resume_test() : client_rooms_test({"--lock-grace-ms", "4000"}) {}
};

TEST_F(client_rooms_resume_test, a_lock_survives_a_transport_cut_through_session_resume) {
  TcpCutter cutter(server.port());
  Participant ana("ws://127.0.0.1:" + std::to_string(cutter.port()) + "/ws", "user-ana", "Ana");
  Participant ben(server.ws_url(), "user-ben", "Ben");
  start_joined(ana);
  start_joined(ben);
  const LockAnswer held = lock(ana, "n3");
  ASSERT_EQ(held.outcome, LockOutcome::Granted);
  ASSERT_TRUE(poll_until([&] { return ben.lock_seen("n3") != nullptr; }));
  const std::string session = ana.client->client().connected()->session;

  // From now on Ben must never see n3 free.
  bool ben_saw_it_free = false;
  each_poll_ = [&] { ben_saw_it_free |= ben.lock_seen("n3") == nullptr; };
  bool ana_dropped = false;
  ana.client->client().on_state = [&](const StateChange& change) { ana_dropped |= change.state == State::Reconnecting; };
  cutter.cut();
  ASSERT_TRUE(poll_until([&] { return ana_dropped; })) << "the cut was not noticed";
  ASSERT_TRUE(poll_until([&] {
    return ana.client->client().state() == State::Open && ana.rooms().lock_status(kRoom, "n3") == HeldLockStatus::Held;
  }, kReconnectDeadline)) << server.output();

  EXPECT_TRUE(ana.client->client().connected()->resumed);
  EXPECT_EQ(ana.client->client().connected()->session, session);
  EXPECT_EQ(ana.rooms().fence(kRoom, "n3"), held.fence);  // the same lease
  EXPECT_TRUE(ana.losses.empty());
  EXPECT_FALSE(ben_saw_it_free);
  ASSERT_NE(ben.lock_seen("n3"), nullptr);
  EXPECT_EQ(ben.lock_seen("n3")->holder.user, "user-ana");
  EXPECT_EQ(ben.lock_seen("n3")->fence, held.fence);
}

class client_rooms_late_return_test : public client_rooms_test {
 protected:
  client_rooms_late_return_test() : client_rooms_test({"--lock-grace-ms", "300"}) {}
};

TEST_F(client_rooms_late_return_test, a_lock_lost_while_away_is_reported_with_the_new_holder) {
  TcpCutter cutter(server.port());
  Participant ana("ws://127.0.0.1:" + std::to_string(cutter.port()) + "/ws", "user-ana", "Ana");
  Participant ben(server.ws_url(), "user-ben", "Ben");
  start_joined(ana);
  start_joined(ben);
  ASSERT_EQ(lock(ana, "n3").outcome, LockOutcome::Granted);

  cutter.refuse_for(milliseconds{60000});  // Ana stays away until Ben holds the lock
  cutter.cut();
  // The grace ends: the server releases n3 and Ben takes it.
  ASSERT_TRUE(poll_until([&] { return ben.lock_seen("n3") == nullptr; })) << server.output();
  ASSERT_EQ(lock(ben, "n3").outcome, LockOutcome::Granted);
  cutter.refuse_for(milliseconds{0});

  ASSERT_TRUE(poll_until([&] { return !ana.losses.empty(); }, kReconnectDeadline)) << server.output();
  EXPECT_EQ(ana.losses[0].reason, LockLossReason::Denied) << to_string(ana.losses[0].reason);
  ASSERT_TRUE(ana.losses[0].holder.has_value());
  EXPECT_EQ(ana.losses[0].holder->user, "user-ben");
  EXPECT_FALSE(ana.rooms().lock_status(kRoom, "n3").has_value());
  EXPECT_GE(cutter.accepted(), 2);  // refused at least once, then back
}

}  // namespace
}  // namespace tandem::integration
