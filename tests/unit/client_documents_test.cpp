// client_documents_test.cpp — documents, chat and streams through the Client against a scripted
// server: edits and chat answered through Result<Acked> (server error codes on failure), the
// replica filled by snapshots and events with duplicates dropped and gaps recovered, the
// offline queue and the resend with original ids after a reconnect (the rooms rejoined first,
// the session presented, ack duplicate:true counted as success), stream_control and signals
// reaching the app, the typing throttle, and the stream replayed after a non-recovered rejoin.
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
using tandem::testing::error_frame;
using tandem::testing::FakeTransport;
using tandem::testing::ScriptedRng;

namespace {

const std::string kDoc = "workflow:42";
const std::string kAgent = "agent:7";

template <class M>
std::string frame(const M& message, std::optional<std::string> id = std::nullopt) {
  return protocol::encode_server(message, std::move(id));
}

protocol::Node node(std::string id) {
  protocol::Node n;
  n.id = std::move(id);
  n.type = "http_request";
  return n;
}

class client_documents_test : public ::testing::Test, protected tandem::testing::ScriptedClient {
 protected:
  std::vector<std::pair<std::string, RoomChanges>> changes;
  std::vector<protocol::ServerFrame> app_messages;

  void SetUp() override {
    make();
    client->rooms().on_change = [this](const std::string& room, RoomChanges what) { changes.emplace_back(room, what); };
    client->on_message = [this](const protocol::ServerFrame& f) { app_messages.push_back(f); };
    start_connected();
  }
  template <class M>
  const M* sent_as(const protocol::ClientFrame& f) const {
    return std::get_if<M>(&f.message);
  }
  // Joins `room`: subscribed (not recovered) at `seq`, then the snapshots a test gives.
  void join(const std::string& room, std::int64_t seq, const std::vector<std::string>& snapshots = {}) {
    bool joined = false;
    client->rooms().join(room, std::nullopt, [&](Result<protocol::Subscribed> r) { joined = r.ok(); });
    transport.deliver(frame(protocol::Subscribed{room, "e1", seq, false}, *last_sent().id));
    for (const std::string& snapshot : snapshots) transport.deliver(snapshot);
    ASSERT_TRUE(joined);
  }
  // The connection dies; the client reconnects after its backoff and the server accepts.
  void reconnect() {
    transport.drop(1006);
    ASSERT_EQ(client->state(), State::Reconnecting);
    advance(1'000ms);  // past the first backoff delay (500 ms with the scripted jitter)
    transport.sent.clear();
    transport.accept();
    transport.deliver(connected_frame("s-1"));
    ASSERT_EQ(client->state(), State::Open);
  }
  const RoomReplica& replica(const std::string& room) const { return *client->rooms().replica(room); }
};

}  // namespace

TEST_F(client_documents_test, snapshot_and_events_fill_the_document_and_duplicates_never_reach_the_app) {
  join(kDoc, 10, {frame(protocol::DocSnapshot{kDoc, 10, {node("n1")}, {}})});
  ASSERT_NE(replica(kDoc).document().node("n1"), nullptr);
  ASSERT_FALSE(changes.empty());
  EXPECT_TRUE(changes.back().second.has(RoomChange::Doc));

  transport.deliver(frame(protocol::NodeCreated{kDoc, node("n2"), "ben", 11, 1}));
  transport.deliver(frame(protocol::EdgeCreated{kDoc, protocol::Edge{"e1", "n1", "n2"}, "ben", 12, 1}));
  const std::size_t seen = app_messages.size();
  transport.deliver(frame(protocol::NodeCreated{kDoc, node("n2"), "ben", 11, 1}));  // a duplicate
  EXPECT_EQ(app_messages.size(), seen);
  EXPECT_EQ(replica(kDoc).document().nodes().size(), 2u);
  EXPECT_EQ(replica(kDoc).document().edges().size(), 1u);
  EXPECT_EQ(replica(kDoc).position()->seq, 12);
}

TEST_F(client_documents_test, a_gap_in_document_events_resubscribes_with_since) {
  join(kDoc, 10, {frame(protocol::DocSnapshot{kDoc, 10, {}, {}})});
  transport.deliver(frame(protocol::NodeCreated{kDoc, node("n1"), "ben", 11, 1}));
  transport.deliver(frame(protocol::NodeCreated{kDoc, node("n3"), "ben", 13, 1}));  // 12 missing
  const protocol::ClientFrame resubscribe = last_sent();
  const protocol::Subscribe* again = sent_as<protocol::Subscribe>(resubscribe);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->since, (protocol::StreamPosition{"e1", 11}));
  EXPECT_EQ(replica(kDoc).document().node("n3"), nullptr);
  // Recovered: the missed events follow in order.
  transport.deliver(frame(protocol::Subscribed{kDoc, "e1", 13, true}, *last_sent().id));
  transport.deliver(frame(protocol::NodeCreated{kDoc, node("n2"), "ben", 12, 1}));
  transport.deliver(frame(protocol::NodeCreated{kDoc, node("n3"), "ben", 13, 1}));
  ASSERT_EQ(replica(kDoc).document().nodes().size(), 3u);
  EXPECT_EQ(replica(kDoc).document().nodes()[1].id, "n2");
  EXPECT_EQ(replica(kDoc).document().nodes()[2].id, "n3");
}

TEST_F(client_documents_test, edits_are_answered_with_acked_or_the_servers_error_code) {
  join(kDoc, 10);
  std::optional<Result<Acked>> created;
  client->rooms().create_node(kDoc, node("n1"), [&](Result<Acked> r) { created = std::move(r); });
  const protocol::ClientFrame create = last_sent();
  ASSERT_NE(sent_as<protocol::NodeCreate>(create), nullptr);
  EXPECT_EQ(sent_as<protocol::NodeCreate>(create)->node, node("n1"));
  transport.deliver(ack_frame(*create.id));
  ASSERT_TRUE(created && created->ok());
  EXPECT_FALSE(created->value().duplicate);

  std::optional<Result<Acked>> updated;
  protocol::NodeFields fields;
  fields.label = "Fetch";
  client->rooms().update_node(kDoc, "n1", fields, 57, [&](Result<Acked> r) { updated = std::move(r); });
  const protocol::ClientFrame update = last_sent();
  ASSERT_NE(sent_as<protocol::NodeUpdate>(update), nullptr);
  EXPECT_EQ(sent_as<protocol::NodeUpdate>(update)->fence, 57);
  EXPECT_EQ(sent_as<protocol::NodeUpdate>(update)->fields, fields);
  transport.deliver(error_frame(*update.id, std::string(protocol::errc::stale_fence), "fence 57 < 58"));
  ASSERT_TRUE(updated && !updated->ok());
  EXPECT_EQ(updated->error().code, protocol::errc::stale_fence);

  std::optional<Result<Acked>> edge;
  client->rooms().create_edge(kDoc, protocol::Edge{"e1", "n1", "nope"}, [&](Result<Acked> r) { edge = std::move(r); });
  transport.deliver(error_frame(*last_sent().id, std::string(protocol::errc::not_found), "no node nope"));
  ASSERT_TRUE(edge && !edge->ok());
  EXPECT_EQ(edge->error().code, protocol::errc::not_found);
}

TEST_F(client_documents_test, a_request_for_a_room_not_joined_fails_at_once) {
  std::optional<Result<Acked>> answer;
  const std::size_t sent_before = transport.sent.size();
  client->rooms().send_chat("chat:lobby", "hi", [&](Result<Acked> r) { answer = std::move(r); });
  ASSERT_TRUE(answer && !answer->ok());
  EXPECT_EQ(answer->error().code, protocol::errc::not_subscribed);
  EXPECT_EQ(transport.sent.size(), sent_before);
}

TEST_F(client_documents_test, offline_requests_are_queued_and_resent_with_their_ids_after_the_rejoin) {
  join(kDoc, 10);
  // One edit on the wire when the connection dies (the server applied it; its ack was lost),
  // one submitted while offline.
  std::vector<Result<Acked>> answers;
  client->rooms().create_node(kDoc, node("n1"), [&](Result<Acked> r) { answers.push_back(std::move(r)); });
  const std::string in_flight_id = *last_sent().id;
  transport.drop(1006);
  client->rooms().create_node(kDoc, node("n2"), [&](Result<Acked> r) { answers.push_back(std::move(r)); });
  EXPECT_EQ(client->queued_count(), 2u);
  EXPECT_TRUE(answers.empty());

  advance(1'000ms);
  transport.sent.clear();
  transport.accept();
  // The session is presented so the server can recognise the ids it applied.
  ASSERT_FALSE(transport.opened_urls.empty());
  EXPECT_NE(transport.opened_urls.back().find("session=s-1"), std::string::npos) << transport.opened_urls.back();
  transport.deliver(connected_frame("s-1"));

  // The room first (the new connection is in no room), then the resends in original order.
  const auto frames = transport.sent_frames();
  ASSERT_EQ(frames.size(), 3u);
  const protocol::Subscribe* rejoin = sent_as<protocol::Subscribe>(frames[0]);
  ASSERT_NE(rejoin, nullptr);
  EXPECT_EQ(rejoin->since, (protocol::StreamPosition{"e1", 10}));
  ASSERT_NE(sent_as<protocol::NodeCreate>(frames[1]), nullptr);
  EXPECT_EQ(frames[1].id, in_flight_id);
  EXPECT_EQ(sent_as<protocol::NodeCreate>(frames[1])->node.id, "n1");
  ASSERT_NE(sent_as<protocol::NodeCreate>(frames[2]), nullptr);
  EXPECT_EQ(sent_as<protocol::NodeCreate>(frames[2])->node.id, "n2");
  EXPECT_EQ(std::stoi(*frames[2].id), std::stoi(in_flight_id) + 1);

  // Recovered: the event of the edit applied before the cut, then the duplicate ack for it, the
  // second edit's event and its ack.
  transport.deliver(frame(protocol::Subscribed{kDoc, "e1", 11, true}, *frames[0].id));
  transport.deliver(frame(protocol::NodeCreated{kDoc, node("n1"), "u-ana", 11, 1}));
  transport.deliver(ack_frame(in_flight_id, /*duplicate=*/true));
  transport.deliver(frame(protocol::NodeCreated{kDoc, node("n2"), "u-ana", 12, 1}));
  transport.deliver(ack_frame(*frames[2].id));
  ASSERT_EQ(answers.size(), 2u);
  ASSERT_TRUE(answers[0].ok());
  EXPECT_TRUE(answers[0].value().duplicate);  // success: the server had it already
  ASSERT_TRUE(answers[1].ok());
  EXPECT_FALSE(answers[1].value().duplicate);
  EXPECT_EQ(replica(kDoc).document().nodes().size(), 2u);
  EXPECT_EQ(client->pending_count(), 0u);
}

TEST_F(client_documents_test, chat_history_and_messages_fill_the_replica_and_typing_is_throttled) {
  join("chat:lobby", 5,
       {frame(protocol::ChatHistory{"chat:lobby", 5, {protocol::ChatEntry{"ben", "Ben", "#333333", "morning", 5, 1}}})});
  std::optional<Result<Acked>> sent;
  client->rooms().send_chat("chat:lobby", "hello", [&](Result<Acked> r) { sent = std::move(r); });
  const protocol::ClientFrame chat = last_sent();
  ASSERT_NE(sent_as<protocol::ChatSend>(chat), nullptr);
  transport.deliver(frame(protocol::ChatMessage{"chat:lobby", "u-ana", "Ana", "#ff8800", "hello", 6, 1}));
  transport.deliver(ack_frame(*chat.id));
  ASSERT_TRUE(sent && sent->ok());
  ASSERT_EQ(replica("chat:lobby").chat().size(), 2u);
  EXPECT_EQ(replica("chat:lobby").chat().back().text, "hello");

  EXPECT_EQ(client->rooms().set_typing("chat:lobby", true), SendStatus::Sent);
  EXPECT_EQ(client->rooms().set_typing("chat:lobby", true), SendStatus::Sent);  // within the refresh: nothing
  EXPECT_EQ(transport.count_sent("typing"), 1u);
  advance(1'000ms);
  EXPECT_EQ(client->rooms().set_typing("chat:lobby", true), SendStatus::Sent);
  EXPECT_EQ(transport.count_sent("typing"), 2u);
  EXPECT_EQ(client->rooms().set_typing("chat:lobby", false), SendStatus::Sent);
  EXPECT_EQ(transport.count_sent("typing"), 3u);
  const protocol::ClientFrame stop_typing = last_sent();
  ASSERT_NE(sent_as<protocol::TypingSend>(stop_typing), nullptr);
  EXPECT_FALSE(sent_as<protocol::TypingSend>(stop_typing)->active);
  EXPECT_FALSE(stop_typing.id.has_value());  // fire-and-forget
  EXPECT_EQ(client->rooms().set_typing("chat:lobby", false), SendStatus::Sent);
  EXPECT_EQ(transport.count_sent("typing"), 3u);

  transport.deliver(frame(protocol::TypingEvent{"chat:lobby", "ben", "Ben", true}));
  EXPECT_EQ(replica("chat:lobby").typing().count("ben"), 1u);
  transport.deliver(frame(protocol::Cleared{"chat:lobby", "ben", 7, 1}));
  EXPECT_TRUE(replica("chat:lobby").chat().empty());
}

TEST_F(client_documents_test, stream_control_and_signals_reach_the_app_through_callbacks) {
  join(kAgent, 0);
  std::vector<protocol::StreamControl> controls;
  std::vector<protocol::SignalMessage> signals;
  client->rooms().on_stream_control = [&](const protocol::StreamControl& c) { controls.push_back(c); };
  client->rooms().on_signal = [&](const protocol::SignalMessage& s) { signals.push_back(s); };
  std::optional<Result<Acked>> streamed;
  client->rooms().send_stream(kAgent, "thinking", R"({"text":"planning"})", [&](Result<Acked> r) { streamed = std::move(r); });
  const protocol::ClientFrame sent = last_sent();
  ASSERT_NE(sent_as<protocol::StreamSend>(sent), nullptr);
  EXPECT_EQ(sent_as<protocol::StreamSend>(sent)->data, R"({"text":"planning"})");
  transport.deliver(frame(protocol::StreamEvent{kAgent, "thinking", R"({"text":"planning"})", "u-ana", 1, 1}));
  transport.deliver(ack_frame(*sent.id));
  ASSERT_TRUE(streamed && streamed->ok());
  ASSERT_EQ(replica(kAgent).stream().size(), 1u);

  transport.deliver(frame(protocol::StreamControl{kAgent, protocol::StreamAction::Pause, "ben"}));
  transport.deliver(frame(protocol::SignalMessage{kAgent, "c8", "ben", R"({"kind":"offer"})"}));
  ASSERT_EQ(controls.size(), 1u);
  EXPECT_EQ(controls[0].action, protocol::StreamAction::Pause);
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].from, "c8");

  std::optional<Result<Acked>> control;
  client->rooms().control_stream(kAgent, protocol::StreamAction::Resume, [&](Result<Acked> r) { control = std::move(r); });
  const protocol::ClientFrame control_sent = last_sent();
  ASSERT_NE(sent_as<protocol::StreamControlSend>(control_sent), nullptr);
  EXPECT_EQ(sent_as<protocol::StreamControlSend>(control_sent)->action, protocol::StreamAction::Resume);
  transport.deliver(error_frame(*last_sent().id, std::string(protocol::errc::not_found), "no producer"));
  ASSERT_TRUE(control && !control->ok());
  EXPECT_EQ(control->error().code, protocol::errc::not_found);
}

TEST_F(client_documents_test, the_stream_replayed_after_a_non_recovered_rejoin_reaches_the_replica_and_the_app) {
  join(kAgent, 0);
  transport.deliver(frame(protocol::StreamEvent{kAgent, "thinking", std::nullopt, "agent", 1, 1}));
  reconnect();
  const protocol::ClientFrame rejoin = last_sent();
  ASSERT_NE(sent_as<protocol::Subscribe>(rejoin), nullptr);
  // The history was lost (new epoch): not recovered; the stream the server has is replayed.
  transport.deliver(frame(protocol::Subscribed{kAgent, "e2", 2, false}, *rejoin.id));
  const std::size_t seen = app_messages.size();
  transport.deliver(frame(protocol::StreamEvent{kAgent, "thinking", std::nullopt, "agent", 1, 1}));
  transport.deliver(frame(protocol::StreamEvent{kAgent, "node_created", std::nullopt, "agent", 2, 1}));
  EXPECT_EQ(app_messages.size(), seen + 2);
  ASSERT_EQ(replica(kAgent).stream().size(), 2u);
  EXPECT_EQ(replica(kAgent).stream().back().event, "node_created");
  transport.deliver(frame(protocol::StreamEvent{kAgent, "done", std::nullopt, "agent", 3, 1}));
  EXPECT_EQ(replica(kAgent).stream().size(), 3u);
  EXPECT_EQ(replica(kAgent).position()->seq, 3);
}
