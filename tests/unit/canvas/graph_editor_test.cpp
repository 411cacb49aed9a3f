// graph_editor_test.cpp — the canvas's edits through a real tandem::Client against a scripted
// server (tests/unit/fakes.h): a drag sends throttled node_update frames and a final one on
// release, shows its local position until every update is answered and then the replica's
// (the server's order: a later move by someone else wins); a refused move snaps back and is
// reported; connect / disconnect / create / delete send their messages; the cursor goes out
// as presence only when it changes.
#include "graph_editor.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "../fakes.h"
#include "tandem/client.h"

namespace canvas {
namespace {

using namespace std::chrono_literals;
using tandem::Millis;
using tandem::testing::ack_frame;
using tandem::testing::connected_frame;
using tandem::testing::error_frame;
using tandem::testing::FakeTransport;
using tandem::testing::ScriptedRng;
namespace protocol = tandem::protocol;

const std::string kDoc = "workflow:42";

template <class M>
std::string frame(const M& message, std::optional<std::string> id = std::nullopt) {
  return protocol::encode_server(message, std::move(id));
}

class graph_editor_test : public ::testing::Test {
 protected:
  FakeTransport transport;
  ScriptedRng rng;
  std::optional<tandem::Client> client;
  std::optional<GraphEditor> editor;
  std::vector<std::string> events;
  Millis now{0};
  std::int64_t seq = 10;

  void SetUp() override {
    tandem::ClientConfig config;
    config.session.url = "ws://127.0.0.1:9000/ws";
    config.session.token = "t";
    client.emplace(config, transport, rng);
    client->start(now);
    transport.accept();
    transport.deliver(connected_frame("s-1"));
    editor.emplace(client->rooms(), kDoc);
    editor->set_self_user("u-ana");
    editor->on_event = [this](const std::string& line) { events.push_back(line); };
    client->rooms().join(kDoc, std::nullopt, [](const tandem::Result<protocol::Subscribed>&) {});
    transport.deliver(frame(protocol::Subscribed{kDoc, "e1", seq, false}, *transport.sent_frames().back().id));
    protocol::Node n1;
    n1.id = "n1";
    n1.type = "http_request";
    protocol::Node n2 = n1;
    n2.id = "n2";
    n2.x = 300;
    transport.deliver(frame(protocol::DocSnapshot{kDoc, seq, {n1, n2}, {}}));
    ASSERT_TRUE(editor->joined());
    transport.sent.clear();
  }

  void tick(Millis at) {
    now = at;
    editor->tick(now);
    client->tick(now);
  }
  std::vector<protocol::ClientFrame> sent_of(const char* type) const {
    std::vector<protocol::ClientFrame> out;
    for (const auto& f : transport.sent_frames()) {
      if (std::string(protocol::type_of(f.message)) == type) out.push_back(f);
    }
    return out;
  }
  // The server applies a node update (ours, or someone else's) and publishes it.
  void server_updated(const std::string& user, std::optional<double> x, std::optional<double> y) {
    protocol::NodeFields fields;
    fields.x = x;
    fields.y = y;
    transport.deliver(frame(protocol::NodeUpdated{kDoc, "n1", fields, user, ++seq, 1}));
  }
};

TEST_F(graph_editor_test, a_drag_is_throttled_shown_at_once_and_settles_on_the_servers_order) {
  editor->begin_drag("n1", {0, 0});
  editor->drag_to({10, 0});
  tick(1'000ms);  // the first move goes at once
  editor->drag_to({20, 0});
  tick(1'020ms);  // inside the 66 ms interval: nothing
  editor->drag_to({30, 0});
  tick(1'070ms);  // the latest position
  editor->drag_to({40, 5});
  editor->end_drag();  // the final one, on release
  const auto updates = sent_of("node_update");
  ASSERT_EQ(updates.size(), 3u);
  const auto& last = std::get<protocol::NodeUpdate>(updates.back().message);
  EXPECT_EQ(last.fields.x, 40);
  EXPECT_EQ(last.fields.y, 5);
  EXPECT_EQ(std::get<protocol::NodeUpdate>(updates[1].message).fields.x, 30);
  EXPECT_EQ(editor->position("n1"), (Vec2{40, 5}));  // optimistic
  EXPECT_EQ(editor->pending_moves(), 3);

  // The server applies our three, then Ben moves n1 too; the acks come after the events.
  server_updated("u-ana", 10, 0);
  server_updated("u-ana", 30, 0);
  server_updated("u-ana", 40, 5);
  server_updated("u-ben", 99, std::nullopt);
  transport.deliver(ack_frame(*updates[0].id));
  transport.deliver(ack_frame(*updates[1].id));
  EXPECT_EQ(editor->position("n1"), (Vec2{40, 5}));  // the final update is still unanswered
  transport.deliver(ack_frame(*updates[2].id));
  EXPECT_EQ(editor->pending_moves(), 0);
  EXPECT_EQ(editor->position("n1"), (Vec2{99, 5}));  // the replica: Ben's x came after ours
}

// A scripted drag begun while the mouse drags (or the other way round): the first drag's final
// position is sent when the second begins, so every update is answered and n1 settles.
TEST_F(graph_editor_test, a_drag_begun_during_another_sends_the_first_ones_final_position) {
  editor->begin_drag("n1", {0, 0});
  editor->drag_to({10, 0});
  tick(1'000ms);
  editor->drag_to({50, 0});      // not yet sent
  editor->begin_drag("n2", {300, 0});
  const auto updates = sent_of("node_update");
  ASSERT_EQ(updates.size(), 2u);
  const auto& final_n1 = std::get<protocol::NodeUpdate>(updates.back().message);
  EXPECT_EQ(final_n1.node, "n1");
  EXPECT_EQ(final_n1.fields.x, 50);
  editor->end_drag();  // n2 did not move: nothing more
  ASSERT_EQ(sent_of("node_update").size(), 2u);
  server_updated("u-ana", 10, 0);
  server_updated("u-ana", 50, 0);
  transport.deliver(ack_frame(*updates[0].id));
  transport.deliver(ack_frame(*updates[1].id));
  EXPECT_EQ(editor->pending_moves(), 0);
  server_updated("u-ben", 77, std::nullopt);  // later moves by others show again
  EXPECT_EQ(editor->position("n1"), (Vec2{77, 0}));
}

TEST_F(graph_editor_test, a_refused_move_snaps_back_and_is_reported) {
  editor->begin_drag("n1", {0, 0});
  editor->drag_to({50, 50});
  editor->end_drag();
  const auto updates = sent_of("node_update");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(editor->position("n1"), (Vec2{50, 50}));
  transport.deliver(error_frame(*updates[0].id, "locked", "n1 is locked by Ben"));
  EXPECT_EQ(editor->position("n1"), (Vec2{0, 0}));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "edit: move n1 failed: locked n1 is locked by Ben");
}

TEST_F(graph_editor_test, connect_disconnect_create_and_delete_send_their_messages) {
  editor->connect("n1", "n2");
  editor->disconnect("e-n1-n2");
  editor->create_node("n3", "filter", "Keep paid", {5, 6});
  editor->delete_node("n2");
  const auto frames = transport.sent_frames();
  ASSERT_EQ(frames.size(), 4u);
  const auto& edge = std::get<protocol::EdgeCreate>(frames[0].message).edge;
  EXPECT_EQ(edge, (protocol::Edge{"e-n1-n2", "n1", "n2"}));
  EXPECT_EQ(std::get<protocol::EdgeDelete>(frames[1].message).edge, "e-n1-n2");
  const auto& created = std::get<protocol::NodeCreate>(frames[2].message).node;
  EXPECT_EQ(created.label, "Keep paid");
  EXPECT_EQ(created.x, 5);
  EXPECT_EQ(std::get<protocol::NodeDelete>(frames[3].message).node, "n2");
  transport.deliver(ack_frame(*frames[0].id));
  transport.deliver(error_frame(*frames[2].id, "conflict", "n3 exists"));
  EXPECT_EQ(events, (std::vector<std::string>{"edit: connect e-n1-n2 ok", "edit: create n3 failed: conflict n3 exists"}));
}

TEST_F(graph_editor_test, the_cursor_goes_out_as_presence_only_when_it_changes) {
  editor->set_cursor(Vec2{12, 34});
  editor->set_selected(std::string("n1"));
  tick(2'000ms);
  auto presence = sent_of("presence");
  ASSERT_EQ(presence.size(), 1u);
  const auto& state = std::get<protocol::PresenceSet>(presence[0].message).state;
  EXPECT_EQ(state.cursor, (protocol::Cursor{12, 34}));
  EXPECT_EQ(state.node, "n1");
  editor->set_cursor(Vec2{12, 34});
  tick(3'000ms);
  EXPECT_EQ(sent_of("presence").size(), 1u);  // unchanged: nothing new
}

TEST_F(graph_editor_test, lock_state_follows_the_answers) {
  editor->lock_node("n1");
  EXPECT_EQ(editor->label_lock("n1"), LabelLock::Asking);
  const auto locks = sent_of("lock");
  ASSERT_EQ(locks.size(), 1u);
  transport.deliver(frame(protocol::LockGranted{kDoc, "n1", 7, 1'700'000'030'000}, *locks[0].id));
  EXPECT_EQ(editor->label_lock("n1"), LabelLock::Held);
  editor->set_label("n1", "Fetch");
  const auto update = std::get<protocol::NodeUpdate>(sent_of("node_update").back().message);
  EXPECT_EQ(update.fields.label, "Fetch");
  EXPECT_EQ(update.fence, 7);  // written under our lock
}

// The label field is filled when the lock becomes ours, not when the editor opened: Ben saved
// "Ben's" while we waited (a slow grant, or a takeover after his edit), so Save must not write
// our stale copy back under a valid fence.
TEST_F(graph_editor_test, the_label_to_edit_is_the_replicas_when_the_lock_is_granted) {
  editor->lock_node("n1");
  EXPECT_EQ(editor->take_label_to_edit("n1"), std::nullopt);  // not held yet
  protocol::NodeFields fields;
  fields.label = "Ben's";
  transport.deliver(frame(protocol::NodeUpdated{kDoc, "n1", fields, "u-ben", ++seq, 1}));
  transport.deliver(frame(protocol::LockGranted{kDoc, "n1", 7, 1'700'000'030'000}, *sent_of("lock")[0].id));
  EXPECT_EQ(editor->take_label_to_edit("n1"), "Ben's");
  EXPECT_EQ(editor->take_label_to_edit("n1"), std::nullopt);  // once: what is typed then stays
}

TEST_F(graph_editor_test, the_label_to_edit_after_a_takeover_is_the_one_saved_before_the_hand_over) {
  editor->request_takeover("n2");
  const auto asks = sent_of("takeover");
  ASSERT_EQ(asks.size(), 1u);
  protocol::NodeFields fields;
  fields.label = "Saved by Ben";
  transport.deliver(frame(protocol::NodeUpdated{kDoc, "n2", fields, "u-ben", ++seq, 1}));
  transport.deliver(frame(protocol::LockGranted{kDoc, "n2", 9, 1'700'000'030'000}, *asks[0].id));
  ASSERT_EQ(editor->label_lock("n2"), LabelLock::Held);
  EXPECT_EQ(editor->take_label_to_edit("n2"), "Saved by Ben");
}

// A lock lost while the label editor is on it (taken over after "Keep" and the grace, or
// expired) shows as Lost with why and who has it now, not as None ("taking the lock..." for
// good, with what was typed silently dropped).
TEST_F(graph_editor_test, a_lock_taken_over_while_held_shows_as_lost_by_whom) {
  client->rooms().on_lock_lost = [this](const tandem::LockLost& lost) { editor->lock_lost(lost); };
  editor->lock_node("n2");
  transport.deliver(frame(protocol::LockGranted{kDoc, "n2", 7, 1'700'000'030'000}, *sent_of("lock")[0].id));
  ASSERT_EQ(editor->label_lock("n2"), LabelLock::Held);
  const protocol::LockHolder ben{"u-ben", "Ben", "#3366ff"};
  transport.deliver(frame(protocol::Locked{kDoc, "n2", ben, 8, 1'700'000'040'000, ++seq, 1}));
  EXPECT_EQ(editor->label_lock("n2"), LabelLock::Lost);
  EXPECT_EQ(editor->lock_loss("n2"), tandem::LockLossReason::TakenOver);
  EXPECT_EQ(editor->lock_holder("n2"), ben);
  EXPECT_EQ(events.back(), "lock lost: n2 (taken_over)");
  editor->unlock_node("n2");  // Close
  EXPECT_EQ(editor->label_lock("n2"), LabelLock::None);
}

TEST_F(graph_editor_test, an_expired_lock_shows_as_lost) {
  client->rooms().on_lock_lost = [this](const tandem::LockLost& lost) { editor->lock_lost(lost); };
  editor->lock_node("n1");
  transport.deliver(frame(protocol::LockGranted{kDoc, "n1", 7, 1'700'000'030'000}, *sent_of("lock")[0].id));
  transport.deliver(frame(protocol::Unlocked{kDoc, "n1", protocol::UnlockReason::Expired, ++seq, 1}));
  EXPECT_EQ(editor->label_lock("n1"), LabelLock::Lost);
  EXPECT_EQ(editor->lock_loss("n1"), tandem::LockLossReason::Expired);
}

}  // namespace
}  // namespace canvas
