// client_broadcast_test.cpp — Rooms::broadcast through the Client against a scripted server:
// fire and forget only while open and joined (nothing kept offline), the acked form through
// the Outbox (queued offline, sent after the rejoin, answered Acked), bad event names and data
// refused before anything is sent, and received broadcasts reaching on_broadcast and
// on_message every time (they carry no seq: never dropped as duplicates, never in the replica).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "fakes.h"
#include "tandem/client.h"
#include "tandem/protocol/errors.h"

using namespace tandem;
using namespace std::chrono_literals;
using tandem::testing::ack_frame;
using tandem::testing::connected_frame;
using tandem::testing::FakeTransport;
using tandem::testing::ScriptedRng;

namespace {

const std::string kRoom = "workflow:42";

template <class M>
std::string frame(const M& message, std::optional<std::string> id = std::nullopt) {
  return protocol::encode_server(message, std::move(id));
}

class client_broadcast_test : public ::testing::Test, protected tandem::testing::ScriptedClient {
 protected:
  std::vector<protocol::ServerFrame> app_messages;
  std::vector<protocol::BroadcastMessage> broadcasts;
  std::size_t room_changes = 0;

  void SetUp() override {
    make();
    client->on_message = [this](const protocol::ServerFrame& f) { app_messages.push_back(f); };
    client->rooms().on_broadcast = [this](const protocol::BroadcastMessage& b) { broadcasts.push_back(b); };
    client->rooms().on_change = [this](const std::string&, RoomChanges) { ++room_changes; };
    start_connected();
  }
  static const protocol::BroadcastSend* as_broadcast(const protocol::ClientFrame& f) {
    return std::get_if<protocol::BroadcastSend>(&f.message);
  }
  void join(const std::string& room) {
    bool joined = false;
    client->rooms().join(room, std::nullopt, [&](Result<protocol::Subscribed> r) { joined = r.ok(); });
    transport.deliver(frame(protocol::Subscribed{room, "e1", 0, false}, *last_sent().id));
    ASSERT_TRUE(joined);
  }
};

}  // namespace

TEST_F(client_broadcast_test, fire_and_forget_goes_only_while_open_and_joined_and_is_never_kept) {
  auto unjoined = client->rooms().broadcast(kRoom, "dragging", std::nullopt, false);
  ASSERT_FALSE(unjoined.ok());
  EXPECT_EQ(unjoined.error().code, protocol::errc::not_subscribed);

  client->rooms().join(kRoom, std::nullopt, nullptr);
  const std::string subscribe_id = *last_sent().id;
  auto joining = client->rooms().broadcast(kRoom, "dragging", std::nullopt, false);
  ASSERT_TRUE(joining.ok());
  EXPECT_EQ(joining.value(), SendStatus::NotOpen) << "not joined yet: the server would refuse it";
  transport.deliver(frame(protocol::Subscribed{kRoom, "e1", 0, false}, subscribe_id));

  auto sent = client->rooms().broadcast(kRoom, "dragging", R"({"node":"n3","x":1})", true);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent.value(), SendStatus::Sent);
  const protocol::ClientFrame wire = last_sent();
  EXPECT_FALSE(wire.id.has_value()) << "fire and forget: no id, no ack";
  ASSERT_NE(as_broadcast(wire), nullptr);
  EXPECT_EQ(*as_broadcast(wire), (protocol::BroadcastSend{kRoom, "dragging", R"({"node":"n3","x":1})", true}));
  EXPECT_EQ(client->pending_count(), 0u);

  transport.drop(1006);
  auto offline = client->rooms().broadcast(kRoom, "dragging", std::nullopt, false);
  ASSERT_TRUE(offline.ok());
  EXPECT_EQ(offline.value(), SendStatus::NotOpen);
  EXPECT_EQ(client->queued_count(), 0u);
  advance(1'000ms);
  transport.sent.clear();
  transport.accept();
  transport.deliver(connected_frame("s-1"));
  EXPECT_EQ(transport.count_sent("broadcast"), 0u) << "a stale ephemeral event is not sent after a reconnect";
}

TEST_F(client_broadcast_test, bad_event_names_and_data_are_refused_before_sending) {
  join(kRoom);
  transport.sent.clear();
  auto spaced = client->rooms().broadcast(kRoom, "is dragging", std::nullopt, false);
  ASSERT_FALSE(spaced.ok());
  EXPECT_EQ(spaced.error().code, protocol::errc::invalid_message);
  auto not_json = client->rooms().broadcast(kRoom, "e", "{node:n3}", false);
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.error().code, protocol::errc::invalid_message);
  auto huge = client->rooms().broadcast(kRoom, "e", "\"" + std::string(40000, 'x') + "\"", false);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, protocol::errc::too_big);
  std::optional<Result<Acked>> acked;
  client->rooms().broadcast(kRoom, "e", "[1,", false, [&](Result<Acked> r) { acked = std::move(r); });
  ASSERT_TRUE(acked && !acked->ok());
  EXPECT_EQ(acked->error().code, protocol::errc::invalid_message);
  EXPECT_TRUE(transport.sent.empty());
}

TEST_F(client_broadcast_test, the_acked_form_waits_offline_and_goes_after_the_rejoin) {
  join(kRoom);
  std::optional<Result<Acked>> first;
  client->rooms().broadcast(kRoom, "reaction", R"("👍")", false, [&](Result<Acked> r) { first = std::move(r); });
  const protocol::ClientFrame wire = last_sent();
  ASSERT_TRUE(wire.id.has_value());
  ASSERT_NE(as_broadcast(wire), nullptr);
  EXPECT_EQ(as_broadcast(wire)->data, R"("👍")");
  transport.deliver(ack_frame(*wire.id));
  ASSERT_TRUE(first && first->ok());

  transport.drop(1006);
  std::optional<Result<Acked>> queued;
  client->rooms().broadcast(kRoom, "reaction", R"("🎉")", true, [&](Result<Acked> r) { queued = std::move(r); });
  EXPECT_EQ(client->queued_count(), 1u);
  advance(1'000ms);
  transport.sent.clear();
  transport.accept();
  transport.deliver(connected_frame("s-1"));
  // The rejoin goes first, then the queued broadcast.
  auto frames = transport.sent_frames();
  ASSERT_EQ(frames.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<protocol::Subscribe>(frames[0].message));
  ASSERT_NE(as_broadcast(frames[1]), nullptr);
  EXPECT_TRUE(as_broadcast(frames[1])->self);
  transport.deliver(frame(protocol::Subscribed{kRoom, "e1", 0, true}, *frames[0].id));
  transport.deliver(ack_frame(*frames[1].id));
  ASSERT_TRUE(queued && queued->ok());
}

TEST_F(client_broadcast_test, received_broadcasts_reach_the_app_every_time_and_leave_the_replica_alone) {
  join(kRoom);
  const std::size_t changes_before = room_changes;
  const protocol::BroadcastMessage dragging{kRoom, "dragging", R"({"node":"n3"})", "ben", "Ben", "#3f51b5", "c8"};
  transport.deliver(frame(dragging));
  transport.deliver(frame(dragging));  // no seq: the same event twice is two events
  ASSERT_EQ(broadcasts.size(), 2u);
  EXPECT_EQ(broadcasts[0], dragging);
  std::size_t to_app = 0;
  for (const auto& f : app_messages) to_app += std::holds_alternative<protocol::BroadcastMessage>(f.message);
  EXPECT_EQ(to_app, 2u);
  EXPECT_EQ(room_changes, changes_before);
  EXPECT_EQ(client->rooms().replica(kRoom)->position()->seq, 0);
}
