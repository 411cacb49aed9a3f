// store_reads_test.cpp — hub.h "Store reads": handlers never read the store. Input that needs a
// room's stored state or a forgotten session waits (parked) while the rest of the server goes
// on; the loop pass reads everything it needs in one Store::read after its commit, then replays
// the parked input in arrival order. Against the hub on a real SQLite file, the store watched by
// a pass-through that counts the calls the hub makes.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "http_answer.h"
#include "stored_hub_fixture.h"

namespace tandem::server {
namespace {

// Passes every call to the real store, counting them: reads one by one (what a handler that
// read the store itself would make) apart from the batched read().
class WatchedStore final : public store::Store {
 public:
  explicit WatchedStore(store::Store& inner) : inner_(inner) {}
  Result<store::RoomRecord> load_room(const std::string& room) override {
    ++single_reads;
    return inner_.load_room(room);
  }
  Result<std::vector<store::StoredChange>> changes(const std::string& room, std::int64_t before_seq,
                                                   std::size_t limit) override {
    ++single_reads;
    return inner_.changes(room, before_seq, limit);
  }
  Result<std::optional<store::SessionRecord>> find_session(const std::string& id) override {
    ++single_reads;
    return inner_.find_session(id);
  }
  Result<std::int64_t> fence_high_water() override { return inner_.fence_high_water(); }
  Result<store::YDocRecord> load_ydoc(const std::string& doc) override { return inner_.load_ydoc(doc); }
  store::ReadAnswers read(const store::ReadRequest& request) override {
    requests.push_back(request);
    return inner_.read(request);
  }
  Result<store::Done> commit(const store::WriteBatch& batch) override {
    ++commits;
    return inner_.commit(batch);
  }
  Result<store::Done> export_batches(std::size_t writes_per_batch, const BatchSink& sink) override {
    return inner_.export_batches(writes_per_batch, sink);
  }
  Result<std::vector<store::WebhookDeadLetter>> webhook_dead_letters(std::size_t limit) override {
    return inner_.webhook_dead_letters(limit);
  }
  Result<std::vector<std::string>> webhook_rooms_behind() override { return inner_.webhook_rooms_behind(); }

  int single_reads = 0;
  int commits = 0;
  std::vector<store::ReadRequest> requests;  // every read(), in order

 private:
  store::Store& inner_;
};

class store_reads_test : public testing::StoredHubFixture {
 protected:
  // The hub on the watched store (the fixture's own hub is replaced).
  void watch() {
    watched_ = std::make_unique<WatchedStore>(*store_);
    hub_ = std::make_unique<Hub>(settings_, ids_, edge_, nullptr, watched_.get());
  }
  // A restart on the same file, watched.
  void restart() {
    start();
    watch();
  }
  // A connection of `sub`, through its first pass, its `connected` drained.
  ConnectionId connected(const std::string& sub) {
    const ConnectionId id = connect(sub);
    hub_->commit();
    testing::drain_frames(*hub_, id);
    return id;
  }
  template <class M>
  static std::vector<M> all(const std::vector<protocol::ServerFrame>& frames) {
    return testing::messages_of<M>(frames);
  }
  static std::string subscribe(const std::string& room, const std::string& id = "s") {
    return R"({"type":"subscribe","id":")" + id + R"(","room":")" + room + R"("})";
  }

  std::unique_ptr<WatchedStore> watched_;
};

TEST_F(store_reads_test, joins_of_many_rooms_in_one_pass_are_one_read_and_no_handler_reads) {
  watch();
  std::vector<ConnectionId> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(connect("user" + std::to_string(i)));
  hub_->commit();  // their user: rooms, read together
  ASSERT_EQ(watched_->requests.size(), 1u);
  EXPECT_EQ(watched_->requests[0].rooms.size(), 8u);
  for (ConnectionId c : clients) testing::drain_frames(*hub_, c);

  for (std::size_t i = 0; i < clients.size(); ++i)
    hub_->receive(clients[i], subscribe("workflow:w" + std::to_string(i)), at(1));
  for (ConnectionId c : clients) EXPECT_TRUE(testing::drain_frames(*hub_, c).empty()) << "waiting for the read";
  hub_->commit();
  ASSERT_EQ(watched_->requests.size(), 2u);
  EXPECT_EQ(watched_->requests[1].rooms.size(), clients.size());
  EXPECT_EQ(watched_->single_reads, 0) << "a handler read the store itself";
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto subscribed = all<protocol::Subscribed>(testing::drain_frames(*hub_, clients[i]));
    ASSERT_EQ(subscribed.size(), 1u);
    EXPECT_EQ(subscribed[0].room, "workflow:w" + std::to_string(i));
  }
}

TEST_F(store_reads_test, a_pass_makes_one_round_trip_its_commit_and_the_reads_follow_in_the_next) {
  watch();
  ConnectionId ana = connect("ana");
  hub_->commit();
  hub_->receive(ana, subscribe("chat:lobby"), at(1));
  hub_->commit();
  testing::drain_frames(*hub_, ana);
  const std::size_t reads_before = watched_->requests.size();
  const int commits_before = watched_->commits;

  // One pass: ana writes, ben connects (his user: room must be read).
  hub_->receive(ana, R"({"type":"chat","id":"c1","room":"chat:lobby","text":"hi"})", at(2));
  ConnectionId ben = connect("ben");
  const int passes_asked = edge_.commit_requests;
  hub_->commit(at(2).mono);
  EXPECT_EQ(watched_->commits, commits_before + 1);
  EXPECT_EQ(watched_->requests.size(), reads_before) << "the pass committed: its reads wait for the next";
  EXPECT_GT(edge_.commit_requests, passes_asked) << "the hub asks the edge for that next pass";
  EXPECT_EQ(all<protocol::Ack>(testing::drain_frames(*hub_, ana)).size(), 1u);
  EXPECT_TRUE(testing::drain_frames(*hub_, ben).empty());

  hub_->commit(at(2).mono);  // the next pass: the reads, nothing else
  EXPECT_EQ(watched_->commits, commits_before + 1);
  EXPECT_EQ(watched_->requests.size(), reads_before + 1);
  EXPECT_EQ(all<protocol::Connected>(testing::drain_frames(*hub_, ben)).size(), 1u);
}

TEST_F(store_reads_test, a_connection_waiting_for_a_read_keeps_the_order_of_what_it_sent) {
  watch();
  ConnectionId ana = connected("ana");
  // Subscribe, then chat into the room and ping, all in one pass: the chat must not be refused
  // as not subscribed, and the pong must come after both answers.
  hub_->receive(ana, subscribe("chat:lobby"), at(1));
  hub_->receive(ana, R"({"type":"chat","id":"c1","room":"chat:lobby","text":"first"})", at(1));
  hub_->receive(ana, R"({"type":"ping","id":"p"})", at(1));
  hub_->commit();
  std::vector<std::string> order;
  for (const auto& frame : testing::drain_frames(*hub_, ana)) {
    const std::string type = protocol::type_of(frame.message);
    if (type == "subscribed" || type == "ack" || type == "pong" || type == "error" || type == "chat")
      order.push_back(type + (frame.id ? ":" + *frame.id : ""));
  }
  const std::vector<std::string> expected{"subscribed:s", "chat", "ack:c1", "pong:p"};
  EXPECT_EQ(order, expected);
  EXPECT_EQ(watched_->single_reads, 0);
}

TEST_F(store_reads_test, other_connections_go_on_while_one_waits) {
  watch();
  ConnectionId ana = connect("ana");
  ConnectionId ben = connect("ben");
  hub_->commit();
  testing::drain_frames(*hub_, ana);
  testing::drain_frames(*hub_, ben);
  hub_->receive(ana, subscribe("workflow:never-seen"), at(1));
  hub_->receive(ben, R"({"type":"ping","id":"p"})", at(1));
  EXPECT_EQ(all<protocol::Pong>(testing::drain_frames(*hub_, ben)).size(), 1u) << "ben does not wait for ana's read";
  EXPECT_TRUE(testing::drain_frames(*hub_, ana).empty());
  hub_->commit();
  EXPECT_EQ(all<protocol::Subscribed>(testing::drain_frames(*hub_, ana)).size(), 1u);
}

TEST_F(store_reads_test, a_session_forgotten_by_a_restart_is_read_once_with_what_it_applied) {
  watch();
  ConnectionId ana = connect("ana");
  hub_->commit();
  const std::string session = all<protocol::Connected>(testing::drain_frames(*hub_, ana)).at(0).session;
  hub_->receive(ana, subscribe("chat:lobby"), at(1));
  hub_->receive(ana, R"({"type":"chat","id":"c1","room":"chat:lobby","text":"once"})", at(1));
  hub_->commit();
  testing::drain_frames(*hub_, ana);

  restart();
  ConnectionId again = connect("ana", session);
  EXPECT_TRUE(testing::drain_frames(*hub_, again).empty()) << "connected waits for the session's read";
  hub_->commit();
  ASSERT_EQ(watched_->requests.size(), 1u);
  EXPECT_EQ(watched_->requests[0].sessions, std::vector<std::string>{session});
  auto connected = all<protocol::Connected>(testing::drain_frames(*hub_, again));
  ASSERT_EQ(connected.size(), 1u);
  EXPECT_TRUE(connected[0].resumed);
  EXPECT_EQ(connected[0].session, session);

  // The resend of c1 is recognised from what the read brought: no store read per request.
  hub_->receive(again, subscribe("chat:lobby"), at(2));
  hub_->commit();
  testing::drain_frames(*hub_, again);
  hub_->receive(again, R"({"type":"chat","id":"c1","room":"chat:lobby","text":"once"})", at(3));
  hub_->commit();
  auto acks = all<protocol::Ack>(testing::drain_frames(*hub_, again));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_TRUE(acks[0].duplicate);
  EXPECT_EQ(watched_->single_reads, 0);
  const auto room = store_->load_room("chat:lobby");
  ASSERT_TRUE(room.ok());
  EXPECT_EQ(room->chat.size(), 1u) << "applied once";
}

TEST_F(store_reads_test, a_connection_that_leaves_while_waiting_leaves_nothing_behind) {
  watch();
  ConnectionId ana = connected("ana");
  hub_->receive(ana, subscribe("workflow:gone"), at(1));
  hub_->closed(ana);
  hub_->commit();
  EXPECT_EQ(hub_->rooms().find("workflow:gone"), nullptr) << "read, but nobody opened it";
  ConnectionId ben = connected("ben");
  hub_->receive(ben, subscribe("workflow:gone"), at(2));
  hub_->commit();
  EXPECT_EQ(all<protocol::Subscribed>(testing::drain_frames(*hub_, ben)).size(), 1u);
  EXPECT_EQ(watched_->single_reads, 0);
}

TEST_F(store_reads_test, publish_and_the_change_history_read_with_the_pass) {
  watch();
  const HttpResponse published = testing::publish_and_commit(
      *hub_, R"({"type":"execution_update","room":"execution:e1","execution":"r1","status":"running"})", at(1));
  EXPECT_EQ(published.status, 200) << published.body;
  EXPECT_EQ(watched_->single_reads, 0);
  ASSERT_FALSE(watched_->requests.empty());
  EXPECT_EQ(watched_->requests.back().rooms, std::vector<std::string>{"execution:e1"});

  std::optional<Result<std::vector<store::StoredChange>>> page;
  hub_->read_changes({"workflow:w1", 0, 10}, [&](Result<std::vector<store::StoredChange>> read) { page = std::move(read); });
  EXPECT_FALSE(page.has_value()) << "read with the pass, not in the caller";
  hub_->commit();
  ASSERT_TRUE(page.has_value());
  ASSERT_TRUE(page->ok());
  EXPECT_TRUE(page->value().empty());
  EXPECT_EQ(watched_->single_reads, 0);
}

}  // namespace
}  // namespace tandem::server
