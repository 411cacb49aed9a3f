// tests/server/publish_api_test.cpp — POST /api/v1/publish without sockets: the key checks of
// HttpApi (401 / 403 / 403 when off, constant-time compare behind bearer_matches), and
// publish() against a hub with a real SQLite store in memory: answers, seqs, delivery after the
// commit, batches validated whole, node_update applied to the document and stored, unknown
// nodes 404 with nothing changed.
#include "publish_api.h"

#include <gtest/gtest.h>

#include "fakes.h"
#include "http_answer.h"
#include "store/sqlite_store.h"

namespace tandem::server {
namespace {

constexpr UnixMillis kWall = 1700000000000;
constexpr Now kNow{Millis(1000), kWall};
constexpr const char* kKey = "publish-key-0123456789";

// ---- the key ---------------------------------------------------------------------------------

struct Api {
  Settings settings;
  HttpApi api{settings, [] { return HttpApi::ServerState{}; }, Millis(0)};
  std::vector<std::string> published;  // bodies the publisher got
  Api() {
    settings.publish_api_key = kKey;
    api.set_publisher([this](std::string_view body, Now, HttpApi::Respond respond) {
      published.emplace_back(body);
      respond(HttpResponse{200, "application/json", "{}"});
    });
  }
  int post(const std::string& authorization, const std::string& method = "POST") {
    return testing::answer_now(api, HttpRequest{method, "/api/v1/publish", {}, authorization, "{\"x\":1}"}, kNow).status;
  }
};

TEST(publish_api_test, the_key_is_required_and_checked) {
  Api api;
  EXPECT_EQ(api.post(""), 401);
  EXPECT_EQ(api.post("Bearer not-the-key-0123456789"), 403);
  EXPECT_EQ(api.post(std::string("Basic ") + kKey), 403);
  EXPECT_EQ(api.post(std::string("Bearer ") + kKey, "GET"), 405);
  EXPECT_TRUE(api.published.empty());
  EXPECT_EQ(api.post(std::string("Bearer ") + kKey), 200);
  ASSERT_EQ(api.published.size(), 1u);
  EXPECT_EQ(api.published[0], "{\"x\":1}");
}

TEST(publish_api_test, without_a_configured_key_publishing_is_off) {
  Api api;
  api.settings.publish_api_key.clear();
  auto reply = testing::answer_now(api.api, HttpRequest{"POST", "/api/v1/publish", {}, "Bearer ", "{}"}, kNow);
  EXPECT_EQ(reply.status, 403);
  EXPECT_NE(reply.body.find("publish_api_key"), std::string::npos);
  EXPECT_TRUE(api.published.empty());
}

// ---- publish() -------------------------------------------------------------------------------

class publish_test : public ::testing::Test {
 protected:
  publish_test() {
    store::SqliteOptions options;
    options.path = ":memory:";
    auto opened = store::SqliteStore::open(options);
    EXPECT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    settings_.jwt_secret = std::string(testing::kSecret);
    hub_ = std::make_unique<Hub>(settings_, ids_, edge_, nullptr, store_.get());
  }
  // A connection of ana subscribed to `room`, its queue drained.
  ConnectionId member(const std::string& room) {
    OpenRequest request;
    jwt::Claims claims;
    claims.sub = "ana";
    claims.rooms = {"*"};
    claims.exp = kWall / 1000 + 3600;
    request.token = jwt::mint(claims, testing::kSecret);
    const ConnectionId id = hub_->open(request, kNow);
    hub_->receive(id, R"({"type":"subscribe","id":"s","room":")" + room + R"("})", kNow);
    hub_->commit();
    testing::drain_frames(*hub_, id);
    return id;
  }
  template <class M>
  std::vector<M> received(ConnectionId id) {
    std::vector<M> out;
    for (auto& frame : testing::drain_frames(*hub_, id))
      if (M* m = std::get_if<M>(&frame.message)) out.push_back(*m);
    return out;
  }

  Settings settings_;
  testing::FakeEdge edge_;
  testing::CountingIds ids_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<Hub> hub_;
};

std::string execution(const std::string& room, const std::string& status = "running") {
  return R"({"type":"execution_update","room":")" + room + R"(","execution":"run-1","status":")" + status + R"("})";
}

TEST_F(publish_test, one_message_is_stored_then_delivered_and_answered_with_its_seq) {
  const ConnectionId ana = member("workflow:1");
  const std::int64_t before = hub_->rooms().find("workflow:1")->seq;
  auto reply = testing::publish_and_commit(*hub_, execution("workflow:1"), kNow);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const std::string epoch = hub_->rooms().find("workflow:1")->epoch;
  EXPECT_EQ(reply.body, R"({"room":"workflow:1","epoch":")" + epoch + R"(","seq":)" + std::to_string(before + 1) + "}");
  // publish() committed: the event is in the store and in ana's queue.
  auto stored = store_->load_room("workflow:1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->seq, before + 1);
  auto updates = received<protocol::ExecutionUpdate>(ana);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].seq, before + 1);
  EXPECT_EQ(updates[0].ts, kWall);
}

TEST_F(publish_test, a_room_without_members_is_opened_logged_and_released) {
  auto reply = testing::publish_and_commit(*hub_, execution("execution:9"), kNow);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(hub_->rooms().find("execution:9"), nullptr);  // forgotten after the commit
  auto stored = store_->load_room("execution:9");
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->exists);
  ASSERT_EQ(stored->history.size(), 1u);
  EXPECT_NE(stored->history[0].json.find(R"("type":"execution_update")"), std::string::npos);
}

TEST_F(publish_test, a_batch_is_validated_whole_before_anything_is_applied) {
  const ConnectionId ana = member("execution:1");
  auto refused = testing::publish_and_commit(*hub_, "[" + execution("execution:1") + "," + execution("execution:1", "exploded") + "]", kNow);
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("batch[1]"), std::string::npos) << refused.body;
  EXPECT_TRUE(received<protocol::ExecutionUpdate>(ana).empty());
  EXPECT_EQ(hub_->rooms().find("execution:1")->seq, 0);

  auto reply = testing::publish_and_commit(*hub_, "[" + execution("execution:1") + "," + execution("execution:2", "succeeded") + "]", kNow);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find(R"({"results":[{"room":"execution:1")"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find(R"({"room":"execution:2")"), std::string::npos) << reply.body;
  EXPECT_EQ(received<protocol::ExecutionUpdate>(ana).size(), 1u);

  EXPECT_EQ(testing::publish_and_commit(*hub_, "[]", kNow).status, 400);
  EXPECT_EQ(testing::publish_and_commit(*hub_, "[1]", kNow).status, 400);
  EXPECT_EQ(testing::publish_and_commit(*hub_, R"([{"type":"chat","room":"chat:x","text":"hi"}])", kNow).status, 400);
  EXPECT_EQ(testing::publish_and_commit(*hub_, "{", kNow).status, 400);
  // Not JSON, though `{"batch":` + it + `}` would be (found by fuzz.publish_body).
  EXPECT_EQ(testing::publish_and_commit(*hub_, "[" + execution("execution:1") + R"(], "x": 1)", kNow).status, 400);
  EXPECT_EQ(received<protocol::ExecutionUpdate>(ana).size(), 0u);
  EXPECT_EQ(testing::publish_and_commit(*hub_, R"({"type":"node_update","room":"chat:x","node":"n1","status":"running"})", kNow).status, 400);
}

TEST_F(publish_test, a_node_update_changes_and_stores_the_node_and_an_unknown_node_is_404) {
  const ConnectionId ana = member("workflow:1");
  hub_->receive(ana, R"({"type":"node_create","id":"n","room":"workflow:1","node":{"id":"n1","type":"http"}})", kNow);
  hub_->commit();
  testing::drain_frames(*hub_, ana);
  ASSERT_NE(hub_->rooms().find("workflow:1")->doc.find_node("n1"), nullptr) << "node_create is not handled yet";

  const std::int64_t before = hub_->rooms().find("workflow:1")->seq;
  auto unknown = testing::publish_and_commit(*hub_, R"({"type":"node_update","room":"workflow:1","node":"n2","status":"running"})", kNow);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(hub_->rooms().find("workflow:1")->seq, before);
  // A workflow room that was never stored is 404 too, and is not created by asking.
  EXPECT_EQ(testing::publish_and_commit(*hub_, R"({"type":"node_update","room":"workflow:7","node":"n1","status":"running"})", kNow).status, 404);
  EXPECT_FALSE(store_->load_room("workflow:7")->exists);

  auto reply = testing::publish_and_commit(*hub_, R"({"type":"node_update","room":"workflow:1","node":"n1","status":"failed","data":{"code":502}})", kNow);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const protocol::Node* node = hub_->rooms().find("workflow:1")->doc.find_node("n1");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->status, protocol::NodeStatus::Failed);
  EXPECT_EQ(node->data, R"({"code":502})");
  auto stored = store_->load_room("workflow:1");
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->nodes.size(), 1u);
  EXPECT_EQ(stored->nodes[0].status, protocol::NodeStatus::Failed);
  auto updates = received<protocol::PublishedNodeUpdate>(ana);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].seq, before + 1);
}

}  // namespace
}  // namespace tandem::server
