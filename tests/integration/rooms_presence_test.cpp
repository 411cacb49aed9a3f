// tests/integration/rooms_presence_test.cpp — rooms and presence against a real tandem-server
// with native clients: token ACL allow/deny, snapshot to the joiner and join diffs to the
// others, two tabs as one member, leave at once on close, conflation of presence updates
// within one tick, and batched (JSON array) frames decoded by the client core's codec.
#include <gtest/gtest.h>

#include "server_test_support.h"

namespace tandem::integration {
namespace {

class RoomsPresenceTest : public ServerTest {
 protected:
  // A long presence tick makes "many updates within one tick" certain on a loaded machine.
  RoomsPresenceTest() : ServerTest({"--presence-tick-ms", "1000"}) {}

  static std::string token(const std::string& sub, std::vector<std::string> rooms = {"workflow:*"}) {
    TokenSpec spec;
    spec.sub = sub;
    spec.name = sub;
    auto claims = claims_for(spec);
    claims.rooms = std::move(rooms);
    return server::jwt::mint(claims, kTestSecret);
  }

  // Connected and authenticated (the `connected` frame received).
  void connect(TransportProbe& probe, const std::string& sub, std::vector<std::string> rooms = {"workflow:*"}) {
    open_with_token(probe, token(sub, std::move(rooms)));
    ASSERT_TRUE(wait_for_message<protocol::Connected>(probe).has_value());
  }

  // Subscribes and waits for the presence snapshot that follows `subscribed`.
  protocol::PresenceSnapshot join(TransportProbe& probe, const std::string& room, const std::string& id) {
    probe.send(R"({"type":"subscribe","id":")" + id + R"(","room":")" + room + R"("})");
    auto subscribed = wait_for_message<protocol::Subscribed>(probe, id);
    EXPECT_TRUE(subscribed.has_value());
    auto snapshot = wait_for_message<protocol::PresenceSnapshot>(probe);
    EXPECT_TRUE(snapshot.has_value());
    return snapshot ? snapshot->first : protocol::PresenceSnapshot{};
  }

  template <class M>
  static std::vector<M> all_of(const TransportProbe& probe) {
    std::vector<M> out;
    for (const auto& frame : decoded(probe.log))
      if (const M* m = std::get_if<M>(&frame.message)) out.push_back(*m);
    return out;
  }

  // Waits until `probe` has received `count` messages of type M.
  template <class M>
  bool wait_count(TransportProbe& probe, std::size_t count, milliseconds timeout = kStepDeadline) {
    return probe.wait_for([&] { return all_of<M>(probe).size() >= count; }, timeout);
  }
};

TEST_F(RoomsPresenceTest, token_patterns_allow_and_forbid_rooms) {
  TransportProbe ana;
  connect(ana, "ana", {"workflow:*", "chat:lobby"});
  ana.send(R"({"type":"subscribe","id":"1","room":"workflow:42"})");
  EXPECT_TRUE(wait_for_message<protocol::Subscribed>(ana, "1").has_value());
  ana.send(R"({"type":"subscribe","id":"2","room":"chat:lobby"})");
  EXPECT_TRUE(wait_for_message<protocol::Subscribed>(ana, "2").has_value());
  ana.send(R"({"type":"subscribe","id":"3","room":"chat:other"})");
  auto denied = wait_for_message<protocol::ErrorReply>(ana, "3");
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->first.code, "forbidden");
  ana.send(R"({"type":"subscribe","id":"4","room":"user:ben"})");
  auto private_room = wait_for_message<protocol::ErrorReply>(ana, "4");
  ASSERT_TRUE(private_room.has_value());
  EXPECT_EQ(private_room->first.code, "forbidden");
  EXPECT_FALSE(ana.log.closed.has_value());
}

TEST_F(RoomsPresenceTest, snapshot_to_the_joiner_diffs_to_the_others_two_tabs_and_leave_on_close) {
  TransportProbe ana, ben, ben_tab2;
  connect(ana, "ana");
  connect(ben, "ben");
  connect(ben_tab2, "ben");
  EXPECT_EQ(join(ana, "workflow:7", "a").members.size(), 1u);

  auto snapshot = join(ben, "workflow:7", "b");
  ASSERT_EQ(snapshot.members.size(), 2u);
  EXPECT_EQ(snapshot.members[0].user.id, "ana");
  ASSERT_TRUE(wait_count<protocol::PresenceDiff>(ana, 1));

  snapshot = join(ben_tab2, "workflow:7", "c");
  ASSERT_EQ(snapshot.members.size(), 2u);  // ben once, with two metas
  EXPECT_EQ(snapshot.members[1].user.id, "ben");
  EXPECT_EQ(snapshot.members[1].metas.size(), 2u);
  ASSERT_TRUE(wait_count<protocol::PresenceDiff>(ana, 2));
  EXPECT_EQ(all_of<protocol::PresenceDiff>(ana)[1].joins.at(0).metas.size(), 1u);  // the new tab only

  // Closing one tab: a leave of that meta, at once (well before any heartbeat could notice).
  const auto closed_at = Clock::now();
  ben_tab2.transport.close(1000, "bye");
  ASSERT_TRUE(ana.wait_for(
      [&] {
        ben_tab2.transport.poll(milliseconds{0});  // the close frame goes out when the tab is serviced
        return all_of<protocol::PresenceDiff>(ana).size() >= 3;
      },
      milliseconds{2000}));
  EXPECT_LT(Clock::now() - closed_at, milliseconds{2000});
  auto leave = all_of<protocol::PresenceDiff>(ana)[2];
  ASSERT_EQ(leave.leaves.size(), 1u);
  EXPECT_EQ(leave.leaves[0].user.id, "ben");

  // A new joiner sees ben with the one tab left.
  TransportProbe cleo;
  connect(cleo, "cleo");
  snapshot = join(cleo, "workflow:7", "d");
  ASSERT_EQ(snapshot.members.size(), 3u);
  EXPECT_EQ(snapshot.members[1].metas.size(), 1u);
}

TEST_F(RoomsPresenceTest, many_updates_within_one_tick_arrive_as_one_with_the_latest_state) {
  TransportProbe ana, ben;
  connect(ana, "ana");
  connect(ben, "ben");
  join(ana, "workflow:1", "a");
  join(ben, "workflow:1", "b");
  for (int x = 1; x <= 20; ++x)
    ben.send(R"({"type":"presence","room":"workflow:1","state":{"cursor":{"x":)" + std::to_string(x) + R"(,"y":1}}})");
  // One more message after the updates: when its answer arrives, the server has stored all 20.
  ben.send(R"({"type":"ping","id":"after"})");
  ASSERT_TRUE(wait_for_message<protocol::Pong>(ben, "after").has_value());
  ASSERT_TRUE(wait_count<protocol::PresenceUpdate>(ana, 1, milliseconds{3000}));
  auto updates = all_of<protocol::PresenceUpdate>(ana);
  // The tick is 1 s: all 20 fall into at most two ticks (the flush may split them once).
  ASSERT_LE(updates.size(), 2u);
  EXPECT_EQ(updates.back().user, "ben");
  EXPECT_EQ(updates.back().metas.at(0).state.cursor->x, 20);
}

TEST_F(RoomsPresenceTest, queued_messages_arrive_batched_as_json_arrays_and_decode) {
  TransportProbe ana;
  connect(ana, "ana");
  // Several requests sent at once are answered within one service pass: the answers share
  // frames, and every one of them decodes.
  for (int i = 0; i < 10; ++i) ana.send(R"({"type":"subscribe","id":"s)" + std::to_string(i) + R"(","room":"workflow:)" + std::to_string(i) + R"("})");
  ASSERT_TRUE(wait_count<protocol::Subscribed>(ana, 10));
  bool saw_batch = false;
  for (const std::string& frame : ana.log.messages)
    if (!frame.empty() && frame.front() == '[') saw_batch = true;
  EXPECT_TRUE(saw_batch) << "no frame was a JSON array";
  EXPECT_EQ(all_of<protocol::PresenceSnapshot>(ana).size(), 10u);
}

}  // namespace
}  // namespace tandem::integration
