// publish_test.cpp — POST /api/v1/publish against a real tandem-server with its SQLite store
// (PROTOCOL.md §13, §14): a missing or wrong key is refused and delivers nothing; an
// execution_update reaches the room's subscribers with the seq the answer names; a published
// event is in the room log (a client coming back with `since` recovers it); a batch is applied
// whole or not at all; node_update changes the node a later joiner's doc_snapshot shows, and an
// unknown node is 404; a body over max_frame_bytes is 413.
#include <gtest/gtest.h>

#include <variant>

#include "server_test_support.h"
#include "tandem/json.h"

namespace tandem::integration {
namespace {

constexpr const char* kKey = "publish-key-0123456789";
constexpr const char* kAuth = "Authorization: Bearer publish-key-0123456789\r\n";
constexpr const char* kPath = "/api/v1/publish";
constexpr int kMaxFrameBytes = 8192;

template <class M>
std::vector<M> all_of(const TransportProbe& probe) {
  std::vector<M> out;
  for (const auto& frame : decoded(probe.log))
    if (const M* m = std::get_if<M>(&frame.message)) out.push_back(*m);
  return out;
}

std::string execution(const std::string& room, const std::string& status, double progress) {
  return R"({"type":"execution_update","room":")" + room + R"(","execution":"run-881","status":")" + status +
         R"(","node":"n4","progress":)" + std::to_string(progress) + "}";
}

class publish_test : public ServerTest {
 protected:
  publish_test()
      : ServerTest({"--publish-api-key", kKey, "--max-frame-bytes", std::to_string(kMaxFrameBytes)}) {}

  protocol::Subscribed join(TransportProbe& probe, const std::string& sub, const std::string& room,
                            std::optional<protocol::StreamPosition> since = std::nullopt) {
    TokenSpec spec;
    spec.sub = sub;
    spec.name = sub;
    open_with_token(probe, mint_token(spec));
    EXPECT_TRUE(wait_for_message<protocol::Connected>(probe).has_value()) << server.output();
    probe.send(protocol::encode_client(protocol::Subscribe{room, since}, "sub"));
    auto subscribed = wait_for_message<protocol::Subscribed>(probe, "sub");
    EXPECT_TRUE(subscribed.has_value()) << server.output();
    EXPECT_TRUE(wait_for_message<protocol::PresenceSnapshot>(probe).has_value());
    return subscribed ? subscribed->first : protocol::Subscribed{};
  }
  // Nothing more arrives for `probe` (a ping's pong comes after anything queued before it).
  static void settle(TransportProbe& probe, const std::string& id) {
    probe.send(R"({"type":"ping","id":")" + id + R"("})");
    ASSERT_TRUE(wait_for_message<protocol::Pong>(probe, id).has_value());
  }
};

TEST_F(publish_test, a_missing_or_wrong_key_is_refused_and_delivers_nothing) {
  TransportProbe ana;
  join(ana, "ana", "execution:run-881");
  EXPECT_EQ(server.post(kPath, execution("execution:run-881", "running", 0.5)).status, 401);
  EXPECT_EQ(server.post(kPath, execution("execution:run-881", "running", 0.5), "Authorization: Bearer wrong-key-0123456789\r\n").status, 403);
  EXPECT_EQ(server.post(kPath, execution("execution:run-881", "running", 0.5), "Authorization: Basic cHVibGlzaA==\r\n").status, 403);
  settle(ana, "p1");
  EXPECT_TRUE(all_of<protocol::ExecutionUpdate>(ana).empty());
}

TEST_F(publish_test, an_execution_update_reaches_subscribers_with_the_answered_seq) {
  TransportProbe ana, ben;
  const protocol::Subscribed subscribed = join(ana, "ana", "execution:run-881");
  join(ben, "ben", "execution:run-881");

  const HttpReply reply = server.post(kPath, execution("execution:run-881", "running", 0.5), kAuth);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const Published published = read_published(reply.body);
  EXPECT_EQ(published.room, "execution:run-881");
  EXPECT_EQ(published.epoch, subscribed.epoch);
  EXPECT_EQ(published.seq, subscribed.seq + 1);

  for (TransportProbe* probe : {&ana, &ben}) {
    auto update = wait_for_message<protocol::ExecutionUpdate>(*probe);
    ASSERT_TRUE(update.has_value());
    EXPECT_EQ(update->first.execution, "run-881");
    EXPECT_EQ(update->first.status, protocol::ExecutionStatus::Running);
    EXPECT_EQ(update->first.progress, 0.5);
    EXPECT_EQ(update->first.node, "n4");
    EXPECT_EQ(update->first.seq, published.seq);
    EXPECT_GT(update->first.ts, 0);
  }
}

TEST_F(publish_test, a_published_event_is_in_the_room_log) {
  // Published into a room nobody is in; a client that saw the room before recovers it.
  protocol::Subscribed before;
  {
    TransportProbe ana;
    before = join(ana, "ana", "user:ana");
  }
  const HttpReply reply = server.post(kPath, execution("user:ana", "succeeded", 1.0), kAuth);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(read_published(reply.body).seq, before.seq + 1);

  TransportProbe ana_again;
  const protocol::Subscribed back =
      join(ana_again, "ana", "user:ana", protocol::StreamPosition{before.epoch, before.seq});
  EXPECT_TRUE(back.recovered);
  auto missed = wait_for_message<protocol::ExecutionUpdate>(ana_again);
  ASSERT_TRUE(missed.has_value());
  EXPECT_EQ(missed->first.status, protocol::ExecutionStatus::Succeeded);
}

TEST_F(publish_test, a_batch_is_applied_whole_or_not_at_all) {
  TransportProbe ana;
  const protocol::Subscribed subscribed = join(ana, "ana", "execution:run-881");
  const std::string bad_batch =
      "[" + execution("execution:run-881", "running", 0.25) + R"(,{"type":"execution_update","room":"execution:run-881","execution":"run-881","status":"exploded"}])";
  const HttpReply refused = server.post(kPath, bad_batch, kAuth);
  EXPECT_EQ(refused.status, 400) << refused.body;

  const std::string batch =
      "[" + execution("execution:run-881", "running", 0.25) + "," + execution("execution:run-881", "running", 0.75) + "]";
  const HttpReply reply = server.post(kPath, batch, kAuth);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find(R"("results":[)"), std::string::npos) << reply.body;

  ASSERT_TRUE(ana.wait_for([&] { return all_of<protocol::ExecutionUpdate>(ana).size() >= 2; }));
  settle(ana, "p1");
  const auto updates = all_of<protocol::ExecutionUpdate>(ana);
  ASSERT_EQ(updates.size(), 2u);  // nothing of the refused batch
  EXPECT_EQ(updates[0].progress, 0.25);
  EXPECT_EQ(updates[0].seq, subscribed.seq + 1);
  EXPECT_EQ(updates[1].progress, 0.75);
  EXPECT_EQ(updates[1].seq, subscribed.seq + 2);
}

TEST_F(publish_test, a_node_update_changes_the_document_and_an_unknown_node_is_404) {
  TransportProbe ana, late;
  join(ana, "ana", "workflow:42");
  ana.send(R"({"type":"node_create","id":"n","room":"workflow:42","node":{"id":"n4","type":"http_request"}})");
  ASSERT_TRUE(wait_for_message<protocol::Ack>(ana, "n").has_value()) << server.output();

  const HttpReply unknown = server.post(
      kPath, R"({"type":"node_update","room":"workflow:42","node":"n9","status":"running"})", kAuth);
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  const HttpReply reply = server.post(
      kPath, R"({"type":"node_update","room":"workflow:42","node":"n4","status":"succeeded","data":{"rows":2400}})", kAuth);
  ASSERT_EQ(reply.status, 200) << reply.body;

  auto update = wait_for_message<protocol::PublishedNodeUpdate>(ana);
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->first.node, "n4");
  EXPECT_EQ(update->first.status, protocol::NodeStatus::Succeeded);

  join(late, "late", "workflow:42");
  auto snapshot = wait_for_message<protocol::DocSnapshot>(late);
  ASSERT_TRUE(snapshot.has_value());
  ASSERT_EQ(snapshot->first.nodes.size(), 1u);
  EXPECT_EQ(snapshot->first.nodes[0].status, protocol::NodeStatus::Succeeded);
  EXPECT_EQ(snapshot->first.nodes[0].data, R"({"rows":2400})");

  // Stored too: after a kill -9 the document still has it.
  server.kill_now();
  ASSERT_NO_THROW(server.start());
  TransportProbe after_restart;
  join(after_restart, "cleo", "workflow:42");
  auto restored = wait_for_message<protocol::DocSnapshot>(after_restart);
  ASSERT_TRUE(restored.has_value());
  ASSERT_EQ(restored->first.nodes.size(), 1u);
  EXPECT_EQ(restored->first.nodes[0].status, protocol::NodeStatus::Succeeded);
}

TEST_F(publish_test, a_body_over_max_frame_bytes_is_413_and_a_bad_one_400) {
  const std::string big = execution("execution:run-881", "running", 0.5).substr(0, 60) +
                          std::string(kMaxFrameBytes, ' ') + "}";
  EXPECT_EQ(server.post(kPath, big, kAuth).status, 413);
  EXPECT_EQ(server.post(kPath, "{not json", kAuth).status, 400);
  EXPECT_EQ(server.post(kPath, R"({"type":"chat","room":"chat:x","text":"hi"})", kAuth).status, 400);
  EXPECT_EQ(server.post(kPath, "[]", kAuth).status, 400);
  // The server is still fine.
  EXPECT_EQ(server.post(kPath, execution("execution:run-881", "running", 0.5), kAuth).status, 200);
}

}  // namespace
}  // namespace tandem::integration
