// client_rooms_test.cpp — rooms, presence and locks through the Client against a scripted
// server: join and its snapshots, the presence throttle, lock renewal at half the lease, loss
// reports, the rejoin and lock re-request after a reconnect, batched frames.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "fakes.h"
#include "tandem/client.h"
#include "tandem/protocol/errors.h"

using namespace tandem;
using namespace std::chrono_literals;
using tandem::testing::FakeTransport;
using tandem::testing::ScriptedRng;
using tandem::testing::ack_frame;
using tandem::testing::connected_frame;
using tandem::testing::error_frame;

namespace {

const std::string kRoom = "workflow:42";
const protocol::UserInfo kAna{"u-ana", "Ana", "#ff8800"};  // the user of connected_frame()
const protocol::UserInfo kBen{"ben", "Ben", "#3f51b5"};
const protocol::UserInfo kCleo{"cleo", "Cleo", "#009688"};
const protocol::LockHolder kAnaHolder{"u-ana", "Ana", "#ff8800"};
const protocol::LockHolder kBenHolder{"ben", "Ben", "#3f51b5"};

template <class M>
std::string frame(const M& message, std::optional<std::string> id = std::nullopt) {
  return protocol::encode_server(message, std::move(id));
}

std::string batch_of(const std::vector<std::string>& frames) {
  std::vector<std::string_view> views(frames.begin(), frames.end());
  return protocol::batch(views);
}

protocol::Presence cursor_at(double x, double y) {
  protocol::Presence p;
  p.cursor = protocol::Cursor{x, y};
  return p;
}

class client_rooms_fixture : public ::testing::Test, protected tandem::testing::ScriptedClient {
 protected:
  std::vector<std::pair<std::string, RoomChanges>> changes;
  std::vector<LockLost> lost;
  std::vector<protocol::TakeoverRequested> takeovers;
  std::vector<protocol::ServerFrame> app_messages;

  void SetUp() override {
    make();
    client->rooms().on_change = [this](const std::string& room, RoomChanges what) { changes.emplace_back(room, what); };
    client->rooms().on_lock_lost = [this](const LockLost& l) { lost.push_back(l); };
    client->rooms().on_takeover_requested = [this](const protocol::TakeoverRequested& t) { takeovers.push_back(t); };
    client->on_message = [this](const protocol::ServerFrame& f) { app_messages.push_back(f); };
    client->start(now);
    server_accepts();
  }
  void server_accepts() {
    transport.accept();
    transport.deliver(connected_frame());
  }
  template <class M>
  M last_sent_as() const {
    const protocol::ClientFrame f = last_sent();
    const M* m = std::get_if<M>(&f.message);
    EXPECT_NE(m, nullptr) << "last sent was " << protocol::type_of(f.message);
    return m ? *m : M{};
  }
  // Joins kRoom: the server answers with subscribed + a presence and lock snapshot (batched).
  void join_room(std::vector<protocol::PresenceMember> members = {},
                 std::vector<protocol::LockInfo> locks = {}, std::int64_t seq = 10) {
    bool joined = false;
    client->rooms().join(kRoom, std::nullopt, [&](Result<protocol::Subscribed> r) { joined = r.ok(); });
    const std::string id = *last_sent().id;
    if (members.empty()) members = {protocol::PresenceMember{kAna, {{"c-1", {}}}}};
    transport.deliver(batch_of({frame(protocol::Subscribed{kRoom, "e1", seq, false}, id),
                                frame(protocol::PresenceSnapshot{kRoom, members}),
                                frame(protocol::LockState{kRoom, seq, locks})}));
    ASSERT_TRUE(joined);
  }
  // Takes `resource` with the given lease; the server grants it with `fence`.
  void hold_lock(const std::string& resource, std::int64_t ttl_ms, std::int64_t fence) {
    std::optional<Result<LockAnswer>> answer;
    client->rooms().lock(kRoom, resource, ttl_ms, [&](Result<LockAnswer> r) { answer = std::move(r); });
    const std::string id = *last_sent().id;
    transport.deliver(frame(protocol::LockGranted{kRoom, resource, fence, 9'999}, id));
    ASSERT_TRUE(answer && answer->ok());
    ASSERT_EQ(client->rooms().lock_status(kRoom, resource), HeldLockStatus::Held);
  }
  // The connection dies; the client reconnects after its backoff and the server accepts.
  void reconnect() {
    transport.drop(1006);
    ASSERT_EQ(client->state(), State::Reconnecting);
    transport.sent.clear();
    advance(1'000ms);  // past the first backoff delay (500 ms with the scripted jitter)
    server_accepts();
    ASSERT_EQ(client->state(), State::Open);
  }
};

}  // namespace

using client_rooms_test = client_rooms_fixture;

TEST_F(client_rooms_test, join_resolves_on_subscribed_and_the_snapshots_fill_the_replica) {
  std::optional<Result<protocol::Subscribed>> answer;
  client->rooms().join(kRoom, std::nullopt, [&](Result<protocol::Subscribed> r) { answer = std::move(r); });
  const auto subscribe = last_sent_as<protocol::Subscribe>();
  EXPECT_EQ(subscribe.room, kRoom);
  EXPECT_FALSE(subscribe.since.has_value());
  EXPECT_EQ(client->rooms().status(kRoom), RoomStatus::Joining);

  transport.deliver(frame(protocol::Subscribed{kRoom, "e1", 10, false}, *last_sent().id));
  ASSERT_TRUE(answer && answer->ok());
  EXPECT_EQ(client->rooms().status(kRoom), RoomStatus::Joined);
  transport.deliver(frame(protocol::PresenceSnapshot{
      kRoom, {protocol::PresenceMember{kAna, {{"c-1", {}}}}, protocol::PresenceMember{kBen, {{"c8", cursor_at(3, 4)}}}}}));
  transport.deliver(frame(protocol::LockState{kRoom, 10, {protocol::LockInfo{"n3", kBenHolder, 57, 9'999}}}));

  const RoomReplica* replica = client->rooms().replica(kRoom);
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(replica->members().size(), 2u);
  ASSERT_NE(replica->member("ben"), nullptr);
  EXPECT_EQ(replica->member("ben")->metas[0].state.cursor, (protocol::Cursor{3, 4}));
  ASSERT_NE(replica->lock("n3"), nullptr);
  EXPECT_EQ(replica->lock("n3")->holder.name, "Ben");
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_TRUE(changes[0].second.has(RoomChange::Members));
  EXPECT_TRUE(changes[1].second.has(RoomChange::Locks));
}

TEST_F(client_rooms_test, in_a_crowd_the_replica_counts_and_list_members_adds_pages_of_the_member_list) {
  bool joined = false;
  client->rooms().join(kRoom, std::nullopt, [&](Result<protocol::Subscribed> r) { joined = r.ok(); });
  transport.deliver(batch_of({frame(protocol::Subscribed{kRoom, "e1", 10, false}, *last_sent().id),
                              frame(protocol::PresenceSnapshot{kRoom, {}, 500, true})}));
  ASSERT_TRUE(joined);
  const RoomReplica* replica = client->rooms().replica(kRoom);
  EXPECT_TRUE(replica->members_partial());
  EXPECT_EQ(replica->member_count(), 500);
  EXPECT_TRUE(replica->members().empty());

  transport.deliver(frame(protocol::PresenceCount{kRoom, 501}));
  EXPECT_EQ(replica->member_count(), 501);

  std::optional<Result<protocol::PresenceListPage>> page;
  client->rooms().list_members(kRoom, std::string("ana"), 2, [&](Result<protocol::PresenceListPage> r) { page = std::move(r); });
  const auto request = last_sent_as<protocol::PresenceListRequest>();
  EXPECT_EQ(request.after, "ana");
  EXPECT_EQ(request.limit, 2);
  transport.deliver(frame(protocol::PresenceListPage{kRoom,
                                                     {protocol::PresenceMember{kBen, {{"c8", cursor_at(1, 1)}}},
                                                      protocol::PresenceMember{kCleo, {{"c9", {}}}}},
                                                     501,
                                                     "cleo"},
                          *last_sent().id));
  ASSERT_TRUE(page && page->ok());
  EXPECT_EQ(page->value().next, "cleo");
  EXPECT_EQ(replica->members().size(), 2u);  // the page's members, kept
  ASSERT_NE(replica->member("ben"), nullptr);
  EXPECT_EQ(replica->member_count(), 501);

  // Back to an ordinary room: a full snapshot replaces the list and ends the partial view.
  transport.deliver(frame(protocol::PresenceSnapshot{kRoom, {protocol::PresenceMember{kAna, {{"c-1", {}}}}}}));
  EXPECT_FALSE(replica->members_partial());
  EXPECT_EQ(replica->member_count(), 1);

  std::optional<Result<protocol::PresenceListPage>> not_joined;
  client->rooms().list_members("workflow:other", std::nullopt, std::nullopt,
                               [&](Result<protocol::PresenceListPage> r) { not_joined = std::move(r); });
  ASSERT_TRUE(not_joined && !not_joined->ok());
  EXPECT_EQ(not_joined->error().code, protocol::errc::not_subscribed);
}

TEST_F(client_rooms_test, a_forbidden_join_fails_and_the_room_is_forgotten) {
  std::optional<Result<protocol::Subscribed>> answer;
  client->rooms().join("secret:1", std::nullopt, [&](Result<protocol::Subscribed> r) { answer = std::move(r); });
  transport.deliver(error_frame(*last_sent().id, std::string(protocol::errc::forbidden), "room outside the token"));
  ASSERT_TRUE(answer.has_value());
  ASSERT_FALSE(answer->ok());
  EXPECT_EQ(answer->error().code, protocol::errc::forbidden);
  EXPECT_FALSE(client->rooms().status("secret:1").has_value());
  EXPECT_EQ(client->rooms().set_presence("secret:1", cursor_at(1, 1)), PresenceStatus::NotJoined);
}

TEST_F(client_rooms_test, batched_frames_are_applied_in_array_order) {
  join_room();
  transport.deliver(batch_of({
      frame(protocol::Locked{kRoom, "n1", kBenHolder, 1, 9'999, 11, 1}),
      frame(protocol::Unlocked{kRoom, "n1", protocol::UnlockReason::Released, 12, 2}),
      frame(protocol::Locked{kRoom, "n1", kAnaHolder, 2, 9'999, 13, 3}),
      frame(protocol::PresenceDiff{kRoom, {protocol::PresenceMember{kBen, {{"c8", {}}}}}, {}}),
      frame(protocol::PresenceUpdate{kRoom, "ben", {{"c8", cursor_at(7, 8)}}}),
  }));
  const RoomReplica* replica = client->rooms().replica(kRoom);
  ASSERT_NE(replica->lock("n1"), nullptr);
  EXPECT_EQ(replica->lock("n1")->holder.user, "u-ana");  // the last of the three, in order
  EXPECT_EQ(replica->lock("n1")->fence, 2);
  ASSERT_NE(replica->member("ben"), nullptr);  // the update found the member the diff added
  EXPECT_EQ(replica->member("ben")->metas[0].state.cursor, (protocol::Cursor{7, 8}));
  EXPECT_EQ(replica->position()->seq, 13);
}

TEST_F(client_rooms_test, duplicate_room_events_are_dropped_before_the_app_sees_them) {
  join_room();
  const std::string event = frame(protocol::Locked{kRoom, "n1", kBenHolder, 1, 9'999, 11, 1});
  transport.deliver(event);
  const std::size_t seen = app_messages.size();
  transport.deliver(event);
  EXPECT_EQ(app_messages.size(), seen);
}

TEST_F(client_rooms_test, a_seq_gap_resubscribes_with_since_the_last_applied_event) {
  join_room({}, {}, 10);
  transport.deliver(frame(protocol::Locked{kRoom, "n1", kBenHolder, 1, 9'999, 11, 1}));
  transport.deliver(frame(protocol::Unlocked{kRoom, "n1", protocol::UnlockReason::Released, 13, 2}));  // 12 missed
  const auto subscribe = last_sent_as<protocol::Subscribe>();
  ASSERT_TRUE(subscribe.since.has_value());
  EXPECT_EQ(*subscribe.since, (protocol::StreamPosition{"e1", 11}));
  EXPECT_EQ(client->rooms().status(kRoom), RoomStatus::Rejoining);
  EXPECT_NE(client->rooms().replica(kRoom)->lock("n1"), nullptr);  // the gapped event was not applied
}

TEST_F(client_rooms_test, set_presence_sends_at_most_one_state_per_interval_and_the_latest_wins) {
  join_room();
  advance(1'000ms);
  const std::size_t before = transport.count_sent("presence");
  // After a quiet interval the first change goes at once...
  EXPECT_EQ(client->rooms().set_presence(kRoom, cursor_at(0, 0)), PresenceStatus::Sent);
  EXPECT_EQ(transport.count_sent("presence"), before + 1);
  // ...then N changes within the 50 ms interval make exactly one more send: the latest.
  for (int i = 1; i <= 10; ++i) {
    now += 4ms;
    client->tick(now);
    EXPECT_EQ(client->rooms().set_presence(kRoom, cursor_at(i, i)), PresenceStatus::Throttled);
  }
  EXPECT_EQ(transport.count_sent("presence"), before + 1);
  advance(9ms);  // 49 ms after the first send
  EXPECT_EQ(transport.count_sent("presence"), before + 1);
  advance(1ms);  // the interval has ended
  EXPECT_EQ(transport.count_sent("presence"), before + 2);
  const auto sent = last_sent_as<protocol::PresenceSet>();
  EXPECT_EQ(sent.room, kRoom);
  EXPECT_EQ(sent.state.cursor, (protocol::Cursor{10, 10}));
  advance(500ms);  // nothing new: nothing sent
  EXPECT_EQ(transport.count_sent("presence"), before + 2);
}

TEST_F(client_rooms_test, a_held_lock_is_renewed_at_half_the_lease_until_unlocked) {
  join_room();
  hold_lock("n3", 10'000, 57);
  EXPECT_EQ(client->rooms().fence(kRoom, "n3"), 57);
  advance(4'999ms);
  EXPECT_EQ(transport.count_sent("renew"), 0u);
  advance(1ms);
  ASSERT_EQ(transport.count_sent("renew"), 1u);
  const auto renew = last_sent_as<protocol::Renew>();
  EXPECT_EQ(renew.resource, "n3");
  EXPECT_EQ(renew.ttl_ms, 10'000);
  advance(1'000ms);
  EXPECT_EQ(transport.count_sent("renew"), 1u);  // one renew in flight at a time
  transport.deliver(frame(protocol::LockGranted{kRoom, "n3", 57, 20'000}, *last_sent().id));
  advance(4'999ms);  // 5 s after the renew's answer, not after its sending
  EXPECT_EQ(transport.count_sent("renew"), 1u);
  advance(1ms);
  EXPECT_EQ(transport.count_sent("renew"), 2u);
  transport.deliver(frame(protocol::LockGranted{kRoom, "n3", 57, 30'000}, *last_sent().id));

  client->rooms().unlock(kRoom, "n3");
  EXPECT_EQ(last_sent_as<protocol::Unlock>().resource, "n3");
  transport.deliver(frame(protocol::Unlocked{kRoom, "n3", protocol::UnlockReason::Released, 11, 1}));
  transport.deliver(ack_frame(*last_sent().id));
  advance(60'000ms);
  EXPECT_EQ(transport.count_sent("renew"), 2u);
  EXPECT_TRUE(lost.empty());  // our own unlock is not a loss
}

TEST_F(client_rooms_test, a_renew_answered_not_found_reports_the_lock_lost) {
  join_room();
  hold_lock("n3", 2'000, 5);
  advance(1'000ms);
  ASSERT_EQ(transport.count_sent("renew"), 1u);
  transport.deliver(error_frame(*last_sent().id, std::string(protocol::errc::not_found), "not held"));
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].reason, LockLossReason::Expired);
  EXPECT_EQ(lost[0].fence, 5);
  EXPECT_FALSE(client->rooms().lock_status(kRoom, "n3").has_value());
}

TEST_F(client_rooms_test, a_lock_taken_over_is_reported_lost_and_takeover_requests_reach_the_app) {
  join_room();
  hold_lock("n3", 30'000, 5);
  transport.deliver(frame(protocol::TakeoverRequested{kRoom, "n3", kBenHolder, 5'000}));
  ASSERT_EQ(takeovers.size(), 1u);
  EXPECT_EQ(takeovers[0].by.name, "Ben");
  transport.deliver(frame(protocol::Unlocked{kRoom, "n3", protocol::UnlockReason::TakenOver, 11, 1}));
  transport.deliver(frame(protocol::Locked{kRoom, "n3", kBenHolder, 6, 9'999, 12, 2}));
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].reason, LockLossReason::TakenOver);
  EXPECT_EQ(client->rooms().replica(kRoom)->lock("n3")->holder.user, "ben");
}

TEST_F(client_rooms_test, a_denied_lock_answers_with_the_holder) {
  join_room();
  std::optional<Result<LockAnswer>> answer;
  client->rooms().lock(kRoom, "n3", std::nullopt, [&](Result<LockAnswer> r) { answer = std::move(r); });
  EXPECT_EQ(last_sent_as<protocol::Lock>().ttl_ms, 30'000);  // the default lease
  transport.deliver(frame(protocol::LockDenied{kRoom, "n3", kBenHolder, 5'000}, *last_sent().id));
  ASSERT_TRUE(answer && answer->ok());
  EXPECT_EQ(answer->value().outcome, LockOutcome::Denied);
  ASSERT_TRUE(answer->value().holder.has_value());
  EXPECT_EQ(answer->value().holder->name, "Ben");
  EXPECT_FALSE(client->rooms().lock_status(kRoom, "n3").has_value());
}

TEST_F(client_rooms_test, rooms_are_rejoined_after_a_reconnect_with_since_and_the_presence_again) {
  join_room({}, {}, 10);
  transport.deliver(frame(protocol::Locked{kRoom, "n1", kBenHolder, 1, 9'999, 11, 1}));
  EXPECT_EQ(client->rooms().set_presence(kRoom, cursor_at(5, 6)), PresenceStatus::Sent);
  reconnect();
  const auto subscribe = last_sent_as<protocol::Subscribe>();
  EXPECT_EQ(subscribe.room, kRoom);
  ASSERT_TRUE(subscribe.since.has_value());
  EXPECT_EQ(*subscribe.since, (protocol::StreamPosition{"e1", 11}));
  EXPECT_EQ(client->rooms().status(kRoom), RoomStatus::Rejoining);
  EXPECT_EQ(transport.count_sent("presence"), 0u);  // not before the room is joined again

  transport.deliver(frame(protocol::Subscribed{kRoom, "e1", 11, true}, *last_sent().id));
  EXPECT_EQ(client->rooms().status(kRoom), RoomStatus::Joined);
  ASSERT_EQ(transport.count_sent("presence"), 1u);
  EXPECT_EQ(last_sent_as<protocol::PresenceSet>().state.cursor, (protocol::Cursor{5, 6}));
  EXPECT_NE(client->rooms().replica(kRoom)->lock("n1"), nullptr);  // recovered: replica kept
}

// The server answers `internal` when it cannot load a room from its store just now (PROTOCOL.md
// §6): the room is not gone. The replica stays and the rejoin is asked again, backing off.
TEST_F(client_rooms_test, a_rejoin_refused_with_internal_is_asked_again_later_and_the_replica_kept) {
  join_room();
  hold_lock("n3", 10'000, 57);
  reconnect();
  transport.deliver(error_frame(*last_sent().id, "internal", "room could not be loaded; try again"));
  EXPECT_EQ(client->rooms().status(kRoom), RoomStatus::Rejoining);
  ASSERT_NE(client->rooms().replica(kRoom), nullptr);
  EXPECT_TRUE(lost.empty());
  EXPECT_EQ(transport.count_sent("subscribe"), 1u);
  advance(999ms);
  EXPECT_EQ(transport.count_sent("subscribe"), 1u) << "not before rejoin_retry_min";
  advance(1ms);
  ASSERT_EQ(transport.count_sent("subscribe"), 2u);
  transport.deliver(error_frame(*last_sent().id, "internal", "still failing"));
  advance(1'999ms);
  EXPECT_EQ(transport.count_sent("subscribe"), 2u) << "the delay doubles";
  advance(1ms);
  ASSERT_EQ(transport.count_sent("subscribe"), 3u);
  transport.deliver(frame(protocol::Subscribed{kRoom, "e1", 10, true}, *last_sent().id));
  EXPECT_EQ(client->rooms().status(kRoom), RoomStatus::Joined);
  ASSERT_EQ(transport.count_sent("lock"), 1u) << "the held lock is asked for again";
  EXPECT_TRUE(lost.empty());
}

// A chat sent while the rejoin was refused for now reaches the server before the room is
// joined again: answered not_subscribed, it was not applied — held, and sent again once the
// rejoin succeeds (the app sees one ack).
TEST_F(client_rooms_test, a_request_that_raced_a_refused_rejoin_is_sent_again_once_joined) {
  join_room();
  reconnect();
  transport.deliver(error_frame(*last_sent().id, "internal", "the room directory cannot be reached; try again"));
  std::optional<Result<Acked>> acked;
  client->rooms().send_chat(kRoom, "hello", [&](Result<Acked> r) { acked = std::move(r); });
  const auto chat = last_sent();
  ASSERT_EQ(protocol::type_of(chat.message), std::string("chat"));
  transport.deliver(error_frame(*chat.id, "not_subscribed", "not subscribed to \"workflow:42\""));
  EXPECT_FALSE(acked.has_value()) << "held for the rejoin, not failed";
  advance(1'000ms);  // rejoin_retry_min
  ASSERT_EQ(transport.count_sent("subscribe"), 2u);
  transport.deliver(frame(protocol::Subscribed{kRoom, "e1", 10, true}, *last_sent().id));
  ASSERT_EQ(transport.count_sent("chat"), 2u) << "sent again after the subscribe";
  EXPECT_EQ(last_sent_as<protocol::ChatSend>().text, "hello");
  transport.deliver(ack_frame(*last_sent().id));
  ASSERT_TRUE(acked.has_value());
  EXPECT_TRUE(acked->ok());
}

// The connection drops again while a rejoin is unanswered: the new connection subscribes
// again before the Outbox resends the requests for the room that were older than that rejoin.
TEST_F(client_rooms_test, a_rejoin_unanswered_when_the_connection_drops_again_goes_before_older_resends) {
  join_room();
  client->rooms().send_chat(kRoom, "in flight", [](Result<Acked>) {});
  reconnect();  // the chat is resent after the rejoin's subscribe; neither is answered
  reconnect();
  auto frames = transport.sent_frames();
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(protocol::type_of(frames[0].message), std::string("subscribe")) << "the room first";
  std::size_t chat_at = 0;
  for (std::size_t i = 0; i < frames.size(); ++i)
    if (protocol::type_of(frames[i].message) == std::string("chat")) chat_at = i;
  EXPECT_GT(chat_at, 0u);
  EXPECT_EQ(client->rooms().status(kRoom), RoomStatus::Rejoining);
}

TEST_F(client_rooms_test, a_held_lock_granted_again_after_a_reconnect_is_still_held_and_renewed) {
  join_room();
  hold_lock("n3", 10'000, 57);
  reconnect();
  EXPECT_EQ(client->rooms().lock_status(kRoom, "n3"), HeldLockStatus::Reacquiring);
  EXPECT_EQ(transport.count_sent("lock"), 0u);  // not before the room is joined again
  transport.deliver(frame(protocol::Subscribed{kRoom, "e1", 10, true}, *last_sent().id));
  ASSERT_EQ(transport.count_sent("lock"), 1u);
  EXPECT_EQ(last_sent_as<protocol::Lock>().ttl_ms, 10'000);
  transport.deliver(frame(protocol::LockGranted{kRoom, "n3", 58, 99'999}, *last_sent().id));
  EXPECT_EQ(client->rooms().lock_status(kRoom, "n3"), HeldLockStatus::Held);
  EXPECT_EQ(client->rooms().fence(kRoom, "n3"), 58);
  EXPECT_TRUE(lost.empty());
  advance(5'000ms);
  EXPECT_EQ(transport.count_sent("renew"), 1u);
}

TEST_F(client_rooms_test, a_held_lock_denied_after_a_reconnect_is_reported_lost) {
  join_room();
  hold_lock("n3", 10'000, 57);
  reconnect();
  transport.deliver(batch_of({frame(protocol::Subscribed{kRoom, "e2", 3, false}, *last_sent().id),
                              frame(protocol::PresenceSnapshot{kRoom, {protocol::PresenceMember{kBen, {{"c8", {}}}}}}),
                              frame(protocol::LockState{kRoom, 3, {protocol::LockInfo{"n3", kBenHolder, 60, 9'999}}})}));
  ASSERT_EQ(transport.count_sent("lock"), 1u);
  transport.deliver(frame(protocol::LockDenied{kRoom, "n3", kBenHolder, 9'999}, *last_sent().id));
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].reason, LockLossReason::Denied);
  EXPECT_EQ(lost[0].fence, 57);
  ASSERT_TRUE(lost[0].holder.has_value());
  EXPECT_EQ(lost[0].holder->name, "Ben");
  EXPECT_FALSE(client->rooms().lock_status(kRoom, "n3").has_value());
  advance(60'000ms);
  EXPECT_EQ(transport.count_sent("renew"), 0u);
}

TEST_F(client_rooms_test, our_old_connections_lease_in_grace_is_taken_over_after_a_reconnect) {
  join_room();
  hold_lock("n3", 10'000, 57);
  reconnect();
  // The server still shows the lock under our old connection (same user, same fence).
  transport.deliver(batch_of({frame(protocol::Subscribed{kRoom, "e1", 10, false}, *last_sent().id),
                              frame(protocol::PresenceSnapshot{kRoom, {protocol::PresenceMember{kAna, {{"c-1", {}}}}}}),
                              frame(protocol::LockState{kRoom, 10, {protocol::LockInfo{"n3", kAnaHolder, 57, 9'999}}})}));
  transport.deliver(frame(protocol::LockDenied{kRoom, "n3", kAnaHolder, 9'999}, *last_sent().id));
  ASSERT_EQ(transport.count_sent("takeover"), 1u);
  EXPECT_TRUE(lost.empty());
  transport.deliver(frame(protocol::LockGranted{kRoom, "n3", 58, 99'999}, *last_sent().id));
  EXPECT_EQ(client->rooms().fence(kRoom, "n3"), 58);
  EXPECT_TRUE(lost.empty());
}

TEST_F(client_rooms_test, a_lock_asked_for_while_offline_is_answered_after_the_rejoin) {
  join_room();
  transport.drop(1006);
  std::optional<Result<LockAnswer>> answer;
  client->rooms().lock(kRoom, "n4", 10'000, [&](Result<LockAnswer> r) { answer = std::move(r); });
  transport.sent.clear();
  advance(1'000ms);
  server_accepts();
  // The rejoin goes out first, then the queued lock; the rejoin asks for the lock again, so the
  // queued request's answer is stale and the app never sees it.
  const auto frames = transport.sent_frames();
  ASSERT_EQ(frames.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<protocol::Subscribe>(frames[0].message));
  ASSERT_TRUE(std::holds_alternative<protocol::Lock>(frames[1].message));
  transport.deliver(error_frame(*frames[1].id, std::string(protocol::errc::internal), "stale"));
  EXPECT_FALSE(answer.has_value());
  transport.deliver(frame(protocol::Subscribed{kRoom, "e1", 10, true}, *frames[0].id));
  transport.deliver(frame(protocol::LockGranted{kRoom, "n4", 3, 9'999}, *last_sent().id));
  ASSERT_TRUE(answer && answer->ok());
  EXPECT_EQ(answer->value().outcome, LockOutcome::Granted);
  EXPECT_EQ(answer->value().fence, 3);
}

TEST_F(client_rooms_test, leave_unsubscribes_and_stops_renewing) {
  join_room();
  hold_lock("n3", 10'000, 57);
  client->rooms().leave(kRoom);
  EXPECT_EQ(last_sent_as<protocol::Unsubscribe>().room, kRoom);
  EXPECT_EQ(client->rooms().replica(kRoom), nullptr);
  advance(60'000ms);
  EXPECT_EQ(transport.count_sent("renew"), 0u);
  reconnect();
  EXPECT_EQ(transport.count_sent("subscribe"), 0u);
  EXPECT_TRUE(lost.empty());
}

TEST_F(client_rooms_test, stop_fails_a_waiting_join_and_a_later_start_rejoins_the_joined_rooms) {
  join_room();
  std::optional<Result<protocol::Subscribed>> waiting;
  client->rooms().join("chat:lobby", std::nullopt, [&](Result<protocol::Subscribed> r) { waiting = std::move(r); });
  client->stop();
  ASSERT_TRUE(waiting.has_value());
  ASSERT_FALSE(waiting->ok());
  EXPECT_EQ(waiting->error().code, protocol::errc::closed);
  EXPECT_FALSE(client->rooms().status("chat:lobby").has_value());
  transport.drop(1000, "client stopped");  // the close the stop began ends

  transport.sent.clear();
  client->start(now);
  server_accepts();
  ASSERT_EQ(transport.count_sent("subscribe"), 1u);
  EXPECT_EQ(last_sent_as<protocol::Subscribe>().room, kRoom);
}
