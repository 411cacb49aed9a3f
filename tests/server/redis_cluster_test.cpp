// redis_cluster_test.cpp — the Redis engine's RoomDirectory and ClusterLink (engine/
// redis_cluster.h) against a real Redis (ctest fixture `redis`, keys under a prefix of each
// test's own): one owner per room, leases renewed, lost, given up and run out; messages between
// instances; and two hubs sharing a room through them, as two instances do.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/redis_cluster.h"
#include "fakes.h"
#include "hub.h"
#include "test_redis.h"

namespace tandem::server {
namespace {

using namespace std::chrono_literals;
constexpr UnixMillis kWall = 1700000000000;

// Polls `done` until it holds or a generous deadline passes (the machine may be busy).
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds deadline = 10s) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return done();
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::unique_ptr<RedisConnection> connect_or_fail() {
  auto opened = RedisConnection::open({tandem::test::test_redis_url(), 2000ms});
  EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().message);
  return opened.ok() ? std::move(opened).value() : nullptr;
}

class redis_cluster_test : public ::testing::Test {
 protected:
  std::string prefix_ = tandem::test::redis_test_prefix();
  std::unique_ptr<RedisConnection> redis_ = connect_or_fail();
};

TEST_F(redis_cluster_test, one_owner_per_room_renewed_given_up_and_taken_over) {
  ASSERT_TRUE(redis_);
  RedisRoomDirectory a(*redis_, "a", 10s, 10s, prefix_);
  RedisRoomDirectory b(*redis_, "b", 10s, 10s, prefix_);
  ASSERT_TRUE(a.heartbeat({}, "{}").ok());
  ASSERT_TRUE(b.heartbeat({}, "{}").ok());
  EXPECT_EQ(a.acquire({"workflow:1", "chat:2"}).value(), (std::vector<std::string>{"a", "a"}));
  EXPECT_EQ(b.acquire({"workflow:1", "chat:3"}).value(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(a.acquire({"workflow:1"}).value(), std::vector<std::string>{"a"}) << "asking again keeps it";

  EXPECT_TRUE(a.renew({"workflow:1", "chat:2"}).value().empty());
  EXPECT_EQ(b.renew({"workflow:1", "chat:3"}).value(), std::vector<std::string>{"workflow:1"}) << "not b's to renew";
  b.release({"workflow:1"});  // not b's to give up either
  EXPECT_EQ(b.acquire({"workflow:1"}).value(), std::vector<std::string>{"a"});

  a.release({"workflow:1"});
  EXPECT_EQ(b.acquire({"workflow:1"}).value(), std::vector<std::string>{"b"}) << "given up: the next instance takes it";
  EXPECT_EQ(a.renew({"workflow:1"}).value(), std::vector<std::string>{"workflow:1"}) << "a learns it lost it";

  // A lease that vanished (Redis restarted empty) is taken again by the owner's renewal.
  ASSERT_TRUE(redis_->command({"DEL", prefix_ + "room:chat:2:owner"}).ok());
  EXPECT_TRUE(a.renew({"chat:2"}).value().empty());
  EXPECT_EQ(b.acquire({"chat:2"}).value(), std::vector<std::string>{"a"});
}

TEST_F(redis_cluster_test, a_lease_not_renewed_runs_out_and_another_instance_takes_the_room) {
  ASSERT_TRUE(redis_);
  RedisRoomDirectory a(*redis_, "a", 300ms, 10s, prefix_);
  RedisRoomDirectory b(*redis_, "b", 300ms, 10s, prefix_);
  ASSERT_TRUE(a.heartbeat({}, "{}").ok());
  ASSERT_EQ(a.acquire({"workflow:1"}).value(), std::vector<std::string>{"a"});
  EXPECT_TRUE(eventually([&] { return b.acquire({"workflow:1"}).value() == std::vector<std::string>{"b"}; }));
}

TEST_F(redis_cluster_test, a_dead_instance_is_reported_and_its_rooms_are_taken_at_once) {
  ASSERT_TRUE(redis_);
  RedisRoomDirectory a(*redis_, "a", 60s, 400ms, prefix_);  // rooms leased for a minute, heartbeat 400 ms
  RedisRoomDirectory b(*redis_, "b", 60s, 400ms, prefix_);
  auto first = a.heartbeat({"b"}, "{}");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->was_dead) << "the first heartbeat of an instance is no resurrection";
  EXPECT_EQ(first->dead, std::vector<std::string>{"b"}) << "b has not started";
  ASSERT_TRUE(b.heartbeat({}, "{}").ok());
  EXPECT_TRUE(a.heartbeat({"b"}, "{}")->dead.empty());
  ASSERT_EQ(a.acquire({"workflow:1"}).value(), std::vector<std::string>{"a"});
  EXPECT_EQ(b.acquire({"workflow:1"}).value(), std::vector<std::string>{"a"}) << "a is alive: its room";

  // a stops beating (killed, or paused): within its ttl b sees it dead and takes its room,
  // long before the room's lease would have run out.
  ASSERT_TRUE(eventually([&] {
    auto beat = b.heartbeat({"a"}, "{}");
    return beat.ok() && beat->dead == std::vector<std::string>{"a"};
  }));
  EXPECT_EQ(b.acquire({"workflow:1"}).value(), std::vector<std::string>{"b"});
  // a wakes up: it learns it was taken for dead, and that the room is no longer its own.
  auto woke = a.heartbeat({}, "{}");
  ASSERT_TRUE(woke.ok());
  EXPECT_TRUE(woke->was_dead);
  EXPECT_EQ(a.renew({"workflow:1"}).value(), std::vector<std::string>{"workflow:1"});
  EXPECT_FALSE(a.heartbeat({}, "{}")->was_dead) << "alive again";
}

TEST_F(redis_cluster_test, redis_losing_its_data_is_no_death_of_anyone) {
  ASSERT_TRUE(redis_);
  RedisRoomDirectory a(*redis_, "a", 60s, 1s, prefix_);
  RedisRoomDirectory b(*redis_, "b", 60s, 1s, prefix_);
  ASSERT_TRUE(a.heartbeat({"b"}, "{}").ok());
  ASSERT_TRUE(b.heartbeat({"a"}, "{}").ok());
  EXPECT_TRUE(a.heartbeat({"b"}, "{}")->dead.empty());
  // Redis restarts empty: every key of the cluster is gone.
  auto keys = redis_->command({"KEYS", prefix_ + "*"});
  ASSERT_TRUE(keys.ok() && keys->is_array());
  for (const RedisReply& key : keys->array()) ASSERT_TRUE(redis_->command({"DEL", key.string()}).ok());
  // a beats first: its own key is gone, and so is b's — but neither was paused or died.
  auto after = a.heartbeat({"b"}, "{}");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->reset);
  EXPECT_FALSE(after->was_dead) << "a was not paused: Redis lost its key";
  EXPECT_TRUE(after->dead.empty()) << "b has not had its chance to beat again";
  auto b_after = b.heartbeat({"a"}, "{}");
  ASSERT_TRUE(b_after.ok());
  EXPECT_TRUE(b_after->reset) << "every instance learns it at its next beat";
  EXPECT_FALSE(b_after->was_dead);
  EXPECT_TRUE(b_after->dead.empty());
  EXPECT_FALSE(a.heartbeat({"b"}, "{}")->reset) << "once";
  // Only a peer that stays silent past the grace is taken for dead.
  ASSERT_TRUE(eventually([&] {
    auto beat = b.heartbeat({"a", "c"}, "{}");
    EXPECT_TRUE(a.heartbeat({}, "{}").ok());
    return beat.ok() && beat->dead == std::vector<std::string>{"c"};
  }));
}

// An instance whose loop waits on its database (a store call blocks up to store_timeout_ms) is
// not dead: the keepalive thread extends its heartbeat — until the loop has been stuck for the
// stall limit. It never brings back a heartbeat that ran out.
TEST_F(redis_cluster_test, the_keepalive_keeps_a_blocked_loop_alive_until_its_stall_limit) {
  ASSERT_TRUE(redis_);
  // A TTL of 1.5 s: the keepalive (every 0.5 s) would have to be starved for a whole TTL for
  // this to fail on a busy machine.
  RedisRoomDirectory a(*redis_, "a", 60s, 1500ms, prefix_);
  RedisRoomDirectory b(*redis_, "b", 60s, 1500ms, prefix_);
  ASSERT_TRUE(a.heartbeat({}, "{}").ok());  // a's loop beats once, then blocks
  const auto blocked_at = std::chrono::steady_clock::now();
  RedisKeepalive keepalive({tandem::test::test_redis_url(), 2000ms}, a, 4000ms);
  // For two TTLs a stays alive although its loop never beats.
  while (std::chrono::steady_clock::now() - blocked_at < 3000ms) {
    auto beat = b.heartbeat({"a"}, "{}");
    ASSERT_TRUE(beat.ok());
    ASSERT_TRUE(beat->dead.empty()) << "a was taken for dead while its loop was only blocked";
    std::this_thread::sleep_for(20ms);
  }
  // Past the stall limit its heartbeat runs out.
  EXPECT_TRUE(eventually(
      [&] {
        auto beat = b.heartbeat({"a"}, "{}");
        return beat.ok() && beat->dead == std::vector<std::string>{"a"};
      },
      30s));
  EXPECT_GE(std::chrono::steady_clock::now() - blocked_at, 4000ms);
  // The loop comes back: it learns it was taken for dead (the keepalive did not hide that).
  auto woke = a.heartbeat({}, "{}");
  ASSERT_TRUE(woke.ok());
  EXPECT_TRUE(woke->was_dead);

  // A heartbeat that ran out (deleted here) is not brought back by the keepalive.
  ASSERT_TRUE(redis_->command({"DEL", prefix_ + "alive:a"}).ok());
  std::this_thread::sleep_for(1200ms);  // over two keepalive periods: a negative can only be waited out
  EXPECT_EQ(redis_->command({"EXISTS", prefix_ + "alive:a"})->integer(), 0);
}

TEST_F(redis_cluster_test, messages_reach_the_instance_they_are_sent_to_in_order) {
  ASSERT_TRUE(redis_);
  RedisSubscriber subscriber_a({tandem::test::test_redis_url(), 2000ms}, [] {});
  RedisSubscriber subscriber_b({tandem::test::test_redis_url(), 2000ms}, [] {});
  RedisClusterLink a(*redis_, subscriber_a, "a", prefix_);
  RedisClusterLink b(*redis_, subscriber_b, "b", prefix_);
  ASSERT_TRUE(eventually([&] { return a.listening() && b.listening(); }));

  for (int i = 0; i < 100; ++i) a.send("b", "message " + std::to_string(i) + std::string(1, '\0') + "binary");
  a.flush();
  std::vector<std::string> got;
  ASSERT_TRUE(eventually([&] {
    for (std::string& m : b.receive()) got.push_back(std::move(m));
    return got.size() >= 100;
  }));
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], "message " + std::to_string(i) + std::string(1, '\0') + "binary");
  EXPECT_TRUE(a.receive().empty()) << "nothing was sent to a";
  EXPECT_EQ(b.gaps(), 0u);
}

// Two hubs as two instances, joined through Redis.
struct RedisInstance {
  RedisInstance(const std::string& name, const std::string& prefix, const Settings& settings)
      : redis(connect_or_fail()),
        subscriber({tandem::test::test_redis_url(), 2000ms}, [] {}),
        directory(*redis, name, 10s, 10s, prefix),
        link(*redis, subscriber, name, prefix),
        hub(settings, ids, edge) {
    hub.attach_cluster(directory, link);
  }
  testing::FakeEdge edge;
  testing::CountingIds ids;
  std::unique_ptr<RedisConnection> redis;
  RedisSubscriber subscriber;
  RedisRoomDirectory directory;
  RedisClusterLink link;
  Hub hub;
};

TEST_F(redis_cluster_test, users_on_two_instances_chat_in_a_room_through_redis) {
  Settings settings;
  settings.jwt_secret = std::string(testing::kSecret);
  RedisInstance a("a", prefix_, settings);
  RedisInstance b("b", prefix_, settings);
  ASSERT_TRUE(eventually([&] { return a.link.listening() && b.link.listening(); }));
  const Now now{Millis(1000), kWall};
  auto token = [](const std::string& sub) {
    OpenRequest request;
    request.token = testing::token_for(sub, kWall / 1000 + 3600);
    return request;
  };
  std::vector<protocol::ServerFrame> to_ana, to_ben;
  const ConnectionId ana = a.hub.open(token("ana"), now);
  const ConnectionId ben = b.hub.open(token("ben"), now);
  // Loop passes on both until `done` holds, collecting what each client gets.
  auto pump_until = [&](auto done) {
    return eventually([&] {
      for (RedisInstance* i : {&a, &b}) i->hub.commit();
      for (auto& f : testing::drain_frames(a.hub, ana)) to_ana.push_back(std::move(f));
      for (auto& f : testing::drain_frames(b.hub, ben)) to_ben.push_back(std::move(f));
      return done();
    });
  };
  a.hub.receive(ana, R"({"type":"subscribe","id":"s","room":"chat:lobby"})", now);
  ASSERT_TRUE(pump_until([&] { return !testing::messages_of<protocol::Subscribed>(to_ana).empty(); }));
  b.hub.receive(ben, R"({"type":"subscribe","id":"s","room":"chat:lobby"})", now);
  ASSERT_TRUE(pump_until([&] { return !testing::messages_of<protocol::Subscribed>(to_ben).empty(); }));
  EXPECT_EQ(b.hub.rooms().find("chat:lobby"), nullptr) << "a runs it";

  b.hub.receive(ben, R"({"type":"chat","id":"m","room":"chat:lobby","text":"through redis"})", now);
  ASSERT_TRUE(pump_until([&] { return !testing::messages_of<protocol::ChatMessage>(to_ana).empty(); }));
  EXPECT_EQ(testing::messages_of<protocol::ChatMessage>(to_ana)[0].text, "through redis");
  ASSERT_TRUE(pump_until([&] { return !testing::messages_of<protocol::Ack>(to_ben).empty(); }));
  EXPECT_EQ(testing::messages_of<protocol::ChatMessage>(to_ben).size(), 1u);
}

}  // namespace
}  // namespace tandem::server
