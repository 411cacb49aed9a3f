// tests/server/room_registry_test.cpp — rooms through the hub with a fake edge: subscribe
// answers, token ACL, the automatic user: room, max_rooms, unsubscribe, a room existing only
// while it has members (new epoch after), leaving every room on disconnect, the join/leave
// hooks features build on, and the room log: emit() numbers, stamps, records and publishes
// events, persist() writes only for durable rooms. Fan-out to the members:
// local_broker_test.cpp.
#include "rooms/room_registry.h"

#include <gtest/gtest.h>

#include "fakes.h"
#include "handlers/handlers.h"
#include "hub.h"
#include "rooms/room_access.h"
#include "stored_hub_fixture.h"

namespace tandem::server {
namespace {

constexpr UnixMillis kWallStart = 1700000000000;

class RoomRegistryTest : public ::testing::Test {
 protected:
  RoomRegistryTest() : hub_(settings(), ids_, edge_, [this](HandlerRegistry& r) { register_handlers(r); }) {}

  static Settings settings() {
    Settings s;
    s.jwt_secret = std::string(testing::kSecret);
    s.max_rooms = 3;
    return s;
  }

  // Every family, plus hooks that record what the registry reports.
  void register_handlers(HandlerRegistry& registry) {
    handlers::register_all(registry);
    registry.on_room_join([this](Hub&, Connection& c, const std::string& room, JoinKind kind) {
      events_.push_back("join " + c.wire_id + " " + room + (kind == JoinKind::Automatic ? " auto" : ""));
    });
    registry.on_room_leave([this](Hub& hub, Connection& c, const std::string& room, LeaveReason reason) {
      events_.push_back("leave " + c.wire_id + " " + room + (reason == LeaveReason::Disconnected ? " gone" : "") +
                        (hub.rooms().is_member(c.id, room) ? " STILL-MEMBER" : ""));
    });
  }

  Now now() const { return Now{Millis(1000), kWallStart}; }

  ConnectionId open(const std::string& sub, std::vector<std::string> rooms = {"workflow:*", "chat:lobby"}) {
    jwt::Claims claims;
    claims.sub = sub;
    claims.name = sub;
    claims.rooms = std::move(rooms);
    claims.exp = kWallStart / 1000 + 3600;
    OpenRequest request;
    request.token = jwt::mint(claims, testing::kSecret);
    const ConnectionId id = hub_.open(request, now());
    drain(id);  // connected
    return id;
  }

  std::vector<protocol::ServerFrame> drain(ConnectionId id) { return testing::drain_frames(hub_, id); }

  void subscribe(ConnectionId id, const std::string& room, const std::string& request_id = "s") {
    hub_.receive(id, R"({"type":"subscribe","id":")" + request_id + R"(","room":")" + room + R"("})", now());
  }

  // The first frame queued for `id` (the rest is dropped).
  protocol::ServerFrame first(ConnectionId id) {
    auto frames = drain(id);
    EXPECT_FALSE(frames.empty());
    return frames.empty() ? protocol::ServerFrame{} : frames.front();
  }

  std::string error_code(ConnectionId id) {
    auto frame = first(id);
    auto* error = std::get_if<protocol::ErrorReply>(&frame.message);
    return error ? error->code : "(no error: " + std::string(protocol::type_of(frame.message)) + ")";
  }

  testing::FakeEdge edge_;
  testing::CountingIds ids_;
  std::vector<std::string> events_;
  Hub hub_;
};

TEST(room_access_test, patterns_match_exactly_by_prefix_or_everything) {
  EXPECT_TRUE(room_matches("chat:lobby", "chat:lobby"));
  EXPECT_FALSE(room_matches("chat:lobby", "chat:lobby2"));
  EXPECT_TRUE(room_matches("workflow:*", "workflow:42"));
  EXPECT_FALSE(room_matches("workflow:*", "workflows:42"));
  EXPECT_TRUE(room_matches("*", "anything:at-all"));
  EXPECT_EQ(room_access({"*"}, "ana", "user:ben"), RoomAccess::Forbidden);  // user rooms are private
  EXPECT_EQ(room_access({}, "ana", "user:ana"), RoomAccess::Allowed);
}

TEST_F(RoomRegistryTest, subscribe_answers_subscribed_with_the_request_id_epoch_and_seq) {
  const ConnectionId a = open("ana");
  subscribe(a, "workflow:42", "7");
  auto frame = first(a);
  EXPECT_EQ(frame.id, "7");
  auto* subscribed = std::get_if<protocol::Subscribed>(&frame.message);
  ASSERT_NE(subscribed, nullptr);
  EXPECT_EQ(subscribed->room, "workflow:42");
  EXPECT_EQ(subscribed->seq, 0);
  EXPECT_FALSE(subscribed->recovered);
  EXPECT_EQ(subscribed->epoch, hub_.rooms().find("workflow:42")->epoch);
  EXPECT_TRUE(hub_.rooms().is_member(a, "workflow:42"));
}

TEST_F(RoomRegistryTest, rooms_outside_the_token_are_forbidden) {
  const ConnectionId a = open("ana", {"chat:lobby"});
  subscribe(a, "workflow:42");
  EXPECT_EQ(error_code(a), "forbidden");
  subscribe(a, "user:ben");
  EXPECT_EQ(error_code(a), "forbidden");
  EXPECT_FALSE(hub_.rooms().is_member(a, "workflow:42"));
}

TEST_F(RoomRegistryTest, every_connection_is_in_its_user_room_without_counting_against_max_rooms) {
  const ConnectionId a = open("ana");
  EXPECT_TRUE(hub_.rooms().is_member(a, "user:ana"));
  EXPECT_EQ(events_, (std::vector<std::string>{"join c1 user:ana auto"}));
  subscribe(a, "workflow:1");
  subscribe(a, "workflow:2");
  subscribe(a, "workflow:3");
  drain(a);
  EXPECT_EQ(hub_.rooms().subscribed_count(a), 3u);
  subscribe(a, "workflow:4");
  EXPECT_EQ(error_code(a), "limit_exceeded");
  subscribe(a, "workflow:3");  // a resubscribe is not a new room
  EXPECT_TRUE(std::holds_alternative<protocol::Subscribed>(first(a).message));
}

TEST_F(RoomRegistryTest, a_room_exists_while_it_has_members_and_gets_a_new_epoch_after) {
  const ConnectionId a = open("ana");
  const ConnectionId b = open("ben");
  subscribe(a, "workflow:42");
  subscribe(b, "workflow:42");
  const std::string epoch = hub_.rooms().find("workflow:42")->epoch;
  EXPECT_EQ(hub_.rooms().members("workflow:42"), (std::vector<ConnectionId>{a, b}));
  EXPECT_EQ(hub_.rooms().stats().rooms, 3u);  // + user:ana, user:ben

  hub_.receive(a, R"({"type":"unsubscribe","id":"u","room":"workflow:42"})", now());
  drain(a);
  hub_.closed(b);
  EXPECT_EQ(hub_.rooms().find("workflow:42"), nullptr);
  EXPECT_EQ(hub_.rooms().stats().rooms, 1u);  // user:ana

  subscribe(a, "workflow:42");
  EXPECT_NE(hub_.rooms().find("workflow:42")->epoch, epoch);
}

TEST_F(RoomRegistryTest, unsubscribe_acks_and_an_unknown_room_is_not_subscribed) {
  const ConnectionId a = open("ana");
  subscribe(a, "chat:lobby");
  drain(a);
  hub_.receive(a, R"({"type":"unsubscribe","id":"u1","room":"chat:lobby"})", now());
  auto frame = first(a);
  EXPECT_EQ(frame.id, "u1");
  EXPECT_TRUE(std::holds_alternative<protocol::Ack>(frame.message));
  hub_.receive(a, R"({"type":"unsubscribe","id":"u2","room":"chat:lobby"})", now());
  EXPECT_EQ(error_code(a), "not_subscribed");
}

TEST_F(RoomRegistryTest, disconnect_leaves_every_room_and_hooks_see_the_membership_gone) {
  const ConnectionId a = open("ana");
  subscribe(a, "chat:lobby");
  subscribe(a, "workflow:1");
  events_.clear();
  hub_.closed(a);
  EXPECT_EQ(events_, (std::vector<std::string>{"leave c1 user:ana gone", "leave c1 chat:lobby gone",
                                               "leave c1 workflow:1 gone"}));
  EXPECT_EQ(hub_.rooms().stats().rooms, 0u);
  EXPECT_TRUE(hub_.rooms().rooms_of(a).empty());
}

TEST_F(RoomRegistryTest, emit_numbers_room_events_stamps_their_time_and_records_them) {
  const ConnectionId a = open("ana");
  subscribe(a, "chat:lobby");
  drain(a);
  Room& room = *hub_.rooms().find_mutable("chat:lobby");
  protocol::Cleared cleared{"chat:lobby", "ana"};
  const RoomEvent emitted = hub_.rooms().emit(hub_, room, cleared, kWallStart + 5);
  EXPECT_EQ(emitted.seq, 1);
  EXPECT_EQ(cleared.seq, 1);  // stamped in place
  EXPECT_EQ(cleared.ts, kWallStart + 5);
  EXPECT_EQ(hub_.rooms().emit(hub_, room, protocol::Cleared{"chat:lobby", "ana"}, kWallStart + 6).seq, 2);
  EXPECT_EQ(hub_.rooms().find("chat:lobby")->seq, 2);

  auto logged = hub_.rooms().events_after("chat:lobby", 0);  // in the room log, for recovery
  ASSERT_TRUE(logged.has_value());
  ASSERT_EQ(logged->size(), 2u);
  EXPECT_EQ((*logged)[0].get(), emitted.frame.get());  // the bytes the members got
  auto frames = drain(a);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(std::get<protocol::Cleared>(frames[0].message), cleared);
  EXPECT_EQ(std::get<protocol::Cleared>(frames[1].message).ts, kWallStart + 6);

  subscribe(a, "chat:lobby", "again");
  auto frame = first(a);
  ASSERT_TRUE(std::holds_alternative<protocol::Subscribed>(frame.message));
  EXPECT_EQ(std::get<protocol::Subscribed>(frame.message).seq, 2);
}

TEST_F(RoomRegistryTest, without_a_store_rooms_keep_their_log_in_memory_and_write_nothing) {
  const ConnectionId a = open("ana");
  subscribe(a, "chat:lobby");
  drain(a);
  Room& room = *hub_.rooms().find_mutable("chat:lobby");
  EXPECT_FALSE(room.durable);
  hub_.rooms().persist(room, store::WriteBatch::ClearChat{"chat:lobby"});
  hub_.rooms().emit(hub_, room, protocol::Cleared{"chat:lobby", "ana"}, kWallStart);
  EXPECT_TRUE(hub_.writes().empty());
  EXPECT_EQ(room.history.size(), 1u);
}

class DurableRoomLogTest : public testing::StoredHubFixture {};

TEST_F(DurableRoomLogTest, a_durable_room_writes_what_is_persisted_and_every_emitted_event) {
  const ConnectionId a = connect("ana");
  hub_->receive(a, R"({"type":"subscribe","room":"chat:lobby"})", at(0));
  hub_->commit();  // the new room
  Room& room = *hub_->rooms().find_mutable("chat:lobby");
  ASSERT_TRUE(room.durable);
  ASSERT_TRUE(hub_->writes().empty());

  hub_->rooms().persist(room, store::WriteBatch::ClearChat{"chat:lobby"});
  const RoomEvent emitted = hub_->rooms().emit(*hub_, room, protocol::Cleared{"chat:lobby", "ana"}, kWall);
  const auto& writes = hub_->writes().writes();
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<store::WriteBatch::ClearChat>(writes[0]));
  const auto* appended = std::get_if<store::WriteBatch::AppendEvent>(&writes[1]);
  ASSERT_NE(appended, nullptr);
  EXPECT_EQ(appended->seq, 1);
  EXPECT_EQ(appended->json, *emitted.frame);

  hub_->commit();
  auto stored = store_->load_room("chat:lobby");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->seq, 1);
  ASSERT_EQ(stored->history.size(), 1u);
  EXPECT_EQ(stored->history[0].json, *emitted.frame);
}

}  // namespace
}  // namespace tandem::server
