// room_replica_content_test.cpp — what a room holds besides presence and locks: the workflow
// document (snapshot, per-field updates, deletes that take their edges, published run state),
// chat (history, messages, cleared), typing, executions and the stream, each seq-checked like
// locks (duplicates and gaps), and the stream replayed after a non-recovered subscribe.
#include <gtest/gtest.h>

#include "tandem/room_replica.h"

using namespace tandem;
using protocol::Edge;
using protocol::Node;
using protocol::NodeStatus;

namespace {

const std::string kDoc = "workflow:42";
const std::string kAgent = "agent:7";

RoomReplica joined(const std::string& room, std::int64_t seq = 10, ReplicaLimits limits = {}) {
  RoomReplica replica(room, limits);
  (void)replica.apply(protocol::Subscribed{room, "e1", seq, false});
  return replica;
}

Node node(std::string id, std::string type = "http_request", double x = 0) {
  Node n;
  n.id = std::move(id);
  n.type = std::move(type);
  n.x = x;
  return n;
}

protocol::NodeCreated created(Node n, std::int64_t seq) { return {kDoc, std::move(n), "ana", seq, 1}; }
protocol::EdgeCreated edge_created(std::string id, std::string from, std::string to, std::int64_t seq) {
  return {kDoc, Edge{std::move(id), std::move(from), std::move(to)}, "ana", seq, 1};
}
protocol::ChatMessage chat(std::string text, std::int64_t seq, std::string room = "chat:lobby") {
  return {std::move(room), "ana", "Ana", "#e91e63", std::move(text), seq, 1};
}
protocol::StreamEvent stream(std::string event, std::int64_t seq) {
  return {kAgent, std::move(event), std::nullopt, "agent-1", seq, 1};
}

std::vector<std::string> node_ids(const RoomReplica& replica) {
  std::vector<std::string> ids;
  for (const Node& n : replica.document().nodes()) ids.push_back(n.id);
  return ids;
}

}  // namespace

TEST(room_replica_content_test, doc_snapshot_replaces_the_document) {
  RoomReplica replica = joined(kDoc);
  ASSERT_TRUE(replica.apply(created(node("old"), 11)).has(RoomChange::Doc));
  const RoomChanges changes =
      replica.apply(protocol::DocSnapshot{kDoc, 20, {node("n1"), node("n2")}, {Edge{"e1", "n1", "n2"}}});
  EXPECT_TRUE(changes.has(RoomChange::Doc));
  EXPECT_EQ(node_ids(replica), (std::vector<std::string>{"n1", "n2"}));
  ASSERT_EQ(replica.document().edges().size(), 1u);
  // The same snapshot again changes nothing.
  EXPECT_TRUE(replica.apply(protocol::DocSnapshot{kDoc, 20, {node("n1"), node("n2")}, {Edge{"e1", "n1", "n2"}}}).empty());
}

TEST(room_replica_content_test, node_events_apply_in_creation_order_and_per_field) {
  RoomReplica replica = joined(kDoc);
  (void)replica.apply(created(node("n2"), 11));
  (void)replica.apply(created(node("n1"), 12));
  EXPECT_EQ(node_ids(replica), (std::vector<std::string>{"n2", "n1"}));

  protocol::NodeFields fields;
  fields.label = "Fetch paid orders";
  fields.x = 320;
  EXPECT_TRUE(replica.apply(protocol::NodeUpdated{kDoc, "n1", fields, "ben", 13, 1}).has(RoomChange::Doc));
  const Node* n1 = replica.document().node("n1");
  ASSERT_NE(n1, nullptr);
  EXPECT_EQ(n1->label, "Fetch paid orders");
  EXPECT_EQ(n1->x, 320);
  EXPECT_EQ(n1->type, "http_request");  // untouched fields stay
  EXPECT_EQ(n1->y, 0);

  // Published run state: status and data only.
  EXPECT_TRUE(replica.apply(protocol::PublishedNodeUpdate{kDoc, "n1", NodeStatus::Running, R"({"rows":3})", 14, 1})
                  .has(RoomChange::Doc));
  EXPECT_EQ(replica.document().node("n1")->status, NodeStatus::Running);
  EXPECT_EQ(replica.document().node("n1")->data, R"({"rows":3})");
  EXPECT_EQ(replica.document().node("n1")->label, "Fetch paid orders");
  EXPECT_EQ(replica.position()->seq, 14);
}

TEST(room_replica_content_test, deleting_a_node_takes_its_edges_and_edges_come_and_go) {
  RoomReplica replica = joined(kDoc);
  (void)replica.apply(created(node("a"), 11));
  (void)replica.apply(created(node("b"), 12));
  (void)replica.apply(created(node("c"), 13));
  (void)replica.apply(edge_created("ab", "a", "b", 14));
  (void)replica.apply(edge_created("bc", "b", "c", 15));
  (void)replica.apply(edge_created("ac", "a", "c", 16));
  EXPECT_TRUE(replica.apply(protocol::EdgeDeleted{kDoc, "ac", "ana", 17, 1}).has(RoomChange::Doc));
  EXPECT_TRUE(replica.apply(protocol::NodeDeleted{kDoc, "b", "ana", 18, 1}).has(RoomChange::Doc));
  EXPECT_EQ(node_ids(replica), (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(replica.document().edges().empty());
  // An unknown node or edge changes nothing but still moves the position.
  EXPECT_TRUE(replica.apply(protocol::NodeDeleted{kDoc, "zz", "ana", 19, 1}).empty());
  EXPECT_EQ(replica.position()->seq, 19);
}

TEST(room_replica_content_test, document_events_are_dropped_when_duplicate_or_beyond_a_gap) {
  RoomReplica replica = joined(kDoc, 10);
  (void)replica.apply(created(node("n1"), 11));
  EXPECT_TRUE(replica.apply(created(node("dup"), 11)).empty());  // seq seen: a duplicate
  EXPECT_EQ(replica.check(13), SeqCheck::Gap);
  EXPECT_TRUE(replica.apply(created(node("far"), 13)).empty());  // a gap: not applied
  EXPECT_EQ(node_ids(replica), (std::vector<std::string>{"n1"}));
  EXPECT_EQ(replica.position()->seq, 11);
  EXPECT_TRUE(replica.apply(created(node("n2"), 12)).has(RoomChange::Doc));
}

TEST(room_replica_content_test, chat_history_replaces_messages_append_and_cleared_empties) {
  RoomReplica replica = joined("chat:lobby", 5);
  protocol::ChatHistory history{"chat:lobby", 5, {chat("one", 4).entry(), chat("two", 5).entry()}};
  EXPECT_TRUE(replica.apply(history).has(RoomChange::Chat));
  EXPECT_TRUE(replica.apply(chat("three", 6)).has(RoomChange::Chat));
  EXPECT_TRUE(replica.apply(chat("three again", 6)).empty());  // duplicate
  ASSERT_EQ(replica.chat().size(), 3u);
  EXPECT_EQ(replica.chat().front().text, "one");
  EXPECT_EQ(replica.chat().back().text, "three");
  EXPECT_TRUE(replica.apply(protocol::Cleared{"chat:lobby", "ana", 7, 1}).has(RoomChange::Chat));
  EXPECT_TRUE(replica.chat().empty());
  EXPECT_EQ(replica.position()->seq, 7);
}

TEST(room_replica_content_test, chat_keeps_at_most_its_limit_oldest_dropped_first) {
  RoomReplica replica = joined("chat:lobby", 0, ReplicaLimits{.chat_messages = 2, .stream_events = 2});
  for (int i = 1; i <= 4; ++i) (void)replica.apply(chat("m" + std::to_string(i), i));
  ASSERT_EQ(replica.chat().size(), 2u);
  EXPECT_EQ(replica.chat().front().text, "m3");
  EXPECT_EQ(replica.chat().back().text, "m4");
}

TEST(room_replica_content_test, typing_is_a_set_of_users_forgotten_on_resubscribe) {
  RoomReplica replica = joined("chat:lobby");
  EXPECT_TRUE(replica.apply(protocol::TypingEvent{"chat:lobby", "ben", "Ben", true}).has(RoomChange::Typing));
  EXPECT_TRUE(replica.apply(protocol::TypingEvent{"chat:lobby", "ben", "Ben", true}).empty());
  EXPECT_TRUE(replica.apply(protocol::TypingEvent{"chat:lobby", "cleo", "Cleo", true}).has(RoomChange::Typing));
  EXPECT_TRUE(replica.apply(protocol::TypingEvent{"chat:lobby", "ben", "Ben", false}).has(RoomChange::Typing));
  ASSERT_EQ(replica.typing().size(), 1u);
  EXPECT_EQ(replica.typing().at("cleo"), "Cleo");
  EXPECT_TRUE(replica.apply(protocol::Subscribed{"chat:lobby", "e1", 10, true}).has(RoomChange::Typing));
  EXPECT_TRUE(replica.typing().empty());
}

TEST(room_replica_content_test, executions_keep_the_latest_update_of_each_run) {
  RoomReplica replica = joined("execution:9");
  protocol::ExecutionUpdate update;
  update.room = "execution:9";
  update.execution = "run-1";
  update.status = protocol::ExecutionStatus::Running;
  update.progress = 0.25;
  update.seq = 11;
  EXPECT_TRUE(replica.apply(update).has(RoomChange::Execution));
  update.progress = 0.5;
  update.seq = 12;
  (void)replica.apply(update);
  update.execution = "run-2";
  update.progress = 0.1;
  update.seq = 13;
  (void)replica.apply(update);
  update.execution = "run-1";
  update.progress = 0.0;  // an old one again: a duplicate
  update.seq = 12;
  EXPECT_TRUE(replica.apply(update).empty());
  ASSERT_EQ(replica.executions().size(), 2u);
  EXPECT_EQ(replica.executions().at("run-1").progress, 0.5);
  EXPECT_EQ(replica.executions().at("run-2").progress, 0.1);
}

TEST(room_replica_content_test, stream_events_are_seq_checked_and_bounded) {
  RoomReplica replica = joined(kAgent, 10, ReplicaLimits{.chat_messages = 10, .stream_events = 3});
  for (int seq = 11; seq <= 14; ++seq) EXPECT_TRUE(replica.apply(stream("thinking", seq)).has(RoomChange::Stream));
  EXPECT_TRUE(replica.apply(stream("thinking", 14)).empty());  // duplicate
  EXPECT_TRUE(replica.apply(stream("thinking", 16)).empty());  // gap
  ASSERT_EQ(replica.stream().size(), 3u);
  EXPECT_EQ(replica.stream().front().seq, 12);
  EXPECT_EQ(replica.stream().back().seq, 14);
}

TEST(room_replica_content_test, a_non_recovered_subscribe_takes_the_replayed_stream_as_the_new_stream) {
  RoomReplica replica = joined(kAgent, 10);
  (void)replica.apply(stream("thinking", 11));
  (void)replica.apply(stream("thinking", 12));
  // Resubscribed without recovery at seq 20: the server replays the stream events it still has
  // (seq <= 20), then live ones follow.
  EXPECT_TRUE(replica.apply(protocol::Subscribed{kAgent, "e2", 20, false}).has(RoomChange::Stream));
  EXPECT_TRUE(replica.stream().empty());
  EXPECT_TRUE(replica.is_stream_replay(stream("thinking", 15)));
  EXPECT_TRUE(replica.apply(stream("thinking", 15)).has(RoomChange::Stream));
  EXPECT_TRUE(replica.apply(stream("node_created", 18)).has(RoomChange::Stream));
  EXPECT_FALSE(replica.is_stream_replay(stream("node_created", 18)));  // held now
  EXPECT_TRUE(replica.apply(stream("node_created", 18)).empty());
  EXPECT_EQ(replica.position()->seq, 20);  // replays do not move it
  EXPECT_TRUE(replica.apply(stream("done", 21)).has(RoomChange::Stream));
  ASSERT_EQ(replica.stream().size(), 3u);
  EXPECT_EQ(replica.stream().back().event, "done");
  EXPECT_EQ(replica.position()->seq, 21);
}

TEST(room_replica_content_test, a_recovered_subscribe_keeps_the_content_and_replays_on_top) {
  RoomReplica replica = joined(kDoc, 10);
  (void)replica.apply(created(node("n1"), 11));
  (void)replica.apply(protocol::Subscribed{kDoc, "e1", 13, true});
  EXPECT_EQ(replica.position()->seq, 11);  // the replayed events move it
  EXPECT_TRUE(replica.apply(created(node("n1"), 11)).empty());
  (void)replica.apply(created(node("n2"), 12));
  (void)replica.apply(edge_created("e", "n1", "n2", 13));
  EXPECT_EQ(node_ids(replica), (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(replica.document().edges().size(), 1u);
  EXPECT_EQ(replica.position()->seq, 13);
}
