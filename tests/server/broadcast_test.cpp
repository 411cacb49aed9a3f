// tests/server/broadcast_test.cpp — the broadcast family against the hub with a fake edge and a
// real SQLite store in memory: every member gets the same encoded bytes, the sender only with
// self (its copy before its ack), nothing is stored or stamped with a seq and nothing is
// replayed on a resubscribe; not_subscribed, too_big (frame and data), invalid event names; a
// resent id is acked duplicate without being relayed twice.
#include <gtest/gtest.h>

#include "fakes.h"
#include "hub.h"
#include "store/sqlite_store.h"

namespace tandem::server {
namespace {

constexpr UnixMillis kWall = 1700000000000;
constexpr const char* kRoom = "workflow:7";

class broadcast_test : public ::testing::Test {
 protected:
  broadcast_test() {
    store::SqliteOptions options;
    options.path = ":memory:";
    auto opened = store::SqliteStore::open(options);
    EXPECT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    settings_.jwt_secret = std::string(testing::kSecret);
    settings_.max_frame_bytes = 40000;
    hub_ = std::make_unique<Hub>(settings_, ids_, edge_, nullptr, store_.get());
  }
  static Now at(std::int64_t ms) { return Now{Millis(ms), kWall + ms}; }
  // A connection of `sub` (named after it, color #123456), subscribed to kRoom unless told not.
  // Every connection's queue is emptied afterwards (presence diffs of the join).
  ConnectionId member(const std::string& sub, bool subscribe = true) {
    jwt::Claims claims;
    claims.sub = sub;
    claims.name = sub + " N.";
    claims.color = "#123456";
    claims.rooms = {"*"};
    claims.exp = kWall / 1000 + 3600;
    OpenRequest request;
    request.token = jwt::mint(claims, testing::kSecret);
    const ConnectionId id = hub_->open(request, at(0));
    hub_->commit();  // the store reads authentication and the automatic user: room wait for
    if (subscribe) send(id, std::string(R"({"type":"subscribe","id":"s","room":")") + kRoom + R"("})");
    connections_.push_back(id);
    for (ConnectionId c : connections_) testing::drain_frames(*hub_, c);
    return id;
  }
  void send(ConnectionId id, const std::string& text) {
    hub_->receive(id, text, at(++step_));
    hub_->commit();
  }
  std::vector<protocol::ServerFrame> frames(ConnectionId id) { return testing::drain_frames(*hub_, id); }
  template <class M>
  std::vector<M> received(ConnectionId id) {
    return testing::messages_of<M>(frames(id));
  }
  // The error when `got` is one error (a copy: `got` may be a temporary).
  static std::optional<protocol::ErrorReply> only_error(const std::vector<protocol::ServerFrame>& got) {
    if (got.size() != 1) return std::nullopt;
    const auto* error = std::get_if<protocol::ErrorReply>(&got[0].message);
    return error ? std::optional<protocol::ErrorReply>(*error) : std::nullopt;
  }

  Settings settings_;
  testing::FakeEdge edge_;
  testing::CountingIds ids_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<Hub> hub_;
  std::int64_t step_ = 0;
  std::vector<ConnectionId> connections_;
};

TEST_F(broadcast_test, every_other_member_gets_the_same_encoded_bytes_and_the_sender_none) {
  const ConnectionId ana = member("ana");
  const ConnectionId ben = member("ben");
  const ConnectionId cleo = member("cleo");
  const ConnectionId outsider = member("dan", false);
  send(ana, std::string(R"({"type":"broadcast","room":")") + kRoom + R"(","event":"dragging","data":{"node":"n3","x":12.5}})");

  const Bytes to_ben = hub_->next_frame(ben);
  const Bytes to_cleo = hub_->next_frame(cleo);
  ASSERT_NE(to_ben, nullptr);
  EXPECT_EQ(to_ben.get(), to_cleo.get()) << "encoded once, the same bytes in every queue";
  EXPECT_EQ(*to_ben, std::string(R"({"type":"broadcast","room":")") + kRoom +
                         R"(","event":"dragging","data":{"node":"n3","x":12.5},"user":"ana","name":"ana N.",)"
                         R"("color":"#123456","connection":"c1"})");
  auto decoded = protocol::decode_server(*to_ben);
  ASSERT_EQ(decoded.size(), 1u);
  ASSERT_TRUE(decoded[0].ok());
  EXPECT_EQ(std::get<protocol::BroadcastMessage>(decoded[0]->message),
            (protocol::BroadcastMessage{kRoom, "dragging", R"({"node":"n3","x":12.5})", "ana", "ana N.", "#123456", "c1"}));
  EXPECT_EQ(hub_->next_frame(ben), nullptr);
  EXPECT_TRUE(frames(ana).empty()) << "no self, no id: nothing back to the sender";
  EXPECT_TRUE(frames(outsider).empty());
}

TEST_F(broadcast_test, with_self_the_sender_gets_its_copy_before_its_ack) {
  const ConnectionId ana = member("ana");
  const ConnectionId ben = member("ben");
  send(ana, std::string(R"({"type":"broadcast","id":"b1","room":")") + kRoom + R"(","event":"reaction","data":"🎉","self":true})");
  auto to_ana = frames(ana);
  ASSERT_EQ(to_ana.size(), 2u);
  const auto* copy = std::get_if<protocol::BroadcastMessage>(&to_ana[0].message);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->data, R"("🎉")");
  EXPECT_EQ(copy->connection, "c1");
  EXPECT_FALSE(to_ana[0].id.has_value()) << "the broadcast itself carries no request id";
  ASSERT_TRUE(std::holds_alternative<protocol::Ack>(to_ana[1].message));
  EXPECT_EQ(to_ana[1].id, "b1");
  EXPECT_EQ(received<protocol::BroadcastMessage>(ben).size(), 1u);
}

TEST_F(broadcast_test, an_id_is_acked_once_fanned_out_and_a_resend_is_not_relayed_twice) {
  const ConnectionId ana = member("ana");
  const ConnectionId ben = member("ben");
  const std::string text = std::string(R"({"type":"broadcast","id":"b7","room":")") + kRoom + R"(","event":"ping"})";
  send(ana, text);
  auto answer = frames(ana);
  ASSERT_EQ(answer.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<protocol::Ack>(answer[0].message));
  EXPECT_FALSE(std::get<protocol::Ack>(answer[0].message).duplicate);
  auto got = received<protocol::BroadcastMessage>(ben);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].data.has_value());

  send(ana, text);  // the client core resends an unanswered id after a reconnect
  auto again = frames(ana);
  ASSERT_EQ(again.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<protocol::Ack>(again[0].message));
  EXPECT_TRUE(std::get<protocol::Ack>(again[0].message).duplicate);
  EXPECT_TRUE(frames(ben).empty());
}

TEST_F(broadcast_test, nothing_is_stored_or_stamped_and_a_resubscribe_replays_nothing) {
  const ConnectionId ana = member("ana");
  const ConnectionId ben = member("ben");
  send(ana, std::string(R"({"type":"chat","room":")") + kRoom + R"(","text":"a room event"})");
  const Room* room = hub_->rooms().find(kRoom);
  ASSERT_NE(room, nullptr);
  const std::int64_t seq = room->seq;
  const std::string epoch = room->epoch;
  ASSERT_EQ(seq, 1);
  frames(ben);
  for (int i = 0; i < 3; ++i)
    send(ana, std::string(R"({"type":"broadcast","room":")") + kRoom + R"(","event":"tick","data":)" + std::to_string(i) + "}");
  EXPECT_EQ(received<protocol::BroadcastMessage>(ben).size(), 3u);
  EXPECT_EQ(hub_->rooms().find(kRoom)->seq, seq) << "no seq taken";
  EXPECT_EQ(hub_->rooms().find(kRoom)->history.size(), 1u);
  auto stored = store_->load_room(kRoom);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->seq, seq);
  EXPECT_EQ(stored->history.size(), 1u) << "only the chat message is in the stored room log";

  // Recovered from before the chat, and not recovered: neither brings a broadcast back.
  send(ben, std::string(R"({"type":"subscribe","id":"r1","room":")") + kRoom + R"(","since":{"epoch":")" + epoch +
                R"(","seq":0}})");
  auto recovered = frames(ben);
  EXPECT_EQ(testing::messages_of<protocol::ChatMessage>(recovered).size(), 1u);
  EXPECT_TRUE(testing::messages_of<protocol::BroadcastMessage>(recovered).empty());
  send(ben, std::string(R"({"type":"unsubscribe","room":")") + kRoom + R"("})");
  send(ben, std::string(R"({"type":"subscribe","id":"r2","room":")") + kRoom + R"("})");
  EXPECT_TRUE(received<protocol::BroadcastMessage>(ben).empty());
}

TEST_F(broadcast_test, a_connection_outside_the_room_is_answered_not_subscribed) {
  const ConnectionId ana = member("ana");
  const ConnectionId dan = member("dan", false);
  send(dan, std::string(R"({"type":"broadcast","id":"x","room":")") + kRoom + R"(","event":"e","self":true})");
  auto got = frames(dan);
  std::optional<protocol::ErrorReply> error = only_error(got);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, protocol::errc::not_subscribed);
  EXPECT_EQ(got[0].id, "x");
  EXPECT_TRUE(frames(ana).empty());

  // After leaving, the same.
  send(ana, std::string(R"({"type":"unsubscribe","room":")") + kRoom + R"("})");
  frames(ana);
  send(ana, std::string(R"({"type":"broadcast","room":")") + kRoom + R"(","event":"e"})");
  error = only_error(frames(ana));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, protocol::errc::not_subscribed);
}

TEST_F(broadcast_test, oversized_frames_and_data_are_too_big_and_bad_event_names_invalid) {
  const ConnectionId ana = member("ana");
  const ConnectionId ben = member("ben");
  const std::string head = std::string(R"({"type":"broadcast","id":"big","room":")") + kRoom + R"(","event":"e","data":")";

  // Over max_frame_bytes (40000 here): refused by size before decoding (no id readable).
  send(ana, head + std::string(41000, 'x') + "\"}");
  std::optional<protocol::ErrorReply> error = only_error(frames(ana));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, protocol::errc::too_big);

  // Within the frame but over max_broadcast_data_bytes (32 KiB): the codec's too_big, with the id.
  send(ana, head + std::string(33000, 'x') + "\"}");
  auto got = frames(ana);
  error = only_error(got);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, protocol::errc::too_big);
  EXPECT_EQ(got[0].id, "big");

  send(ana, std::string(R"({"type":"broadcast","id":"n","room":")") + kRoom + R"(","event":"is dragging"})");
  got = frames(ana);
  error = only_error(got);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, protocol::errc::invalid_message);
  EXPECT_EQ(got[0].id, "n");
  EXPECT_TRUE(frames(ben).empty());
}

TEST_F(broadcast_test, in_a_user_room_it_reaches_the_users_other_connections) {
  const ConnectionId tab1 = member("ana", false);
  const ConnectionId tab2 = member("ana", false);
  const ConnectionId ben = member("ben", false);
  send(tab1, R"({"type":"broadcast","room":"user:ana","event":"theme","data":"dark"})");
  auto got = received<protocol::BroadcastMessage>(tab2);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, R"("dark")");
  EXPECT_TRUE(frames(tab1).empty());
  EXPECT_TRUE(frames(ben).empty());
}

}  // namespace
}  // namespace tandem::server
