// room_load_failure_test.cpp — a room whose stored state cannot be loaded is refused, never run
// from a blank state: a subscribe gets `internal` (not joined), a publish to it 503 with
// nothing applied, the stored rows stay as they were, other rooms work, and once the store can
// load the room again a join gets it back with its epoch and document. Against the hub with a
// real SQLite file; the failure is a stored node whose status no version of Tandem wrote.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "http_answer.h"
#include "stored_hub_fixture.h"

namespace tandem::server {
namespace {

// Runs one statement on the database file (outside the server's connection).
void exec_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

class room_load_failure_test : public testing::StoredHubFixture {
 protected:
  // Sends one message, commits, and returns what the connection got.
  std::vector<protocol::ServerFrame> send(ConnectionId id, const std::string& text) {
    hub_->receive(id, text, at(1));
    hub_->commit();
    return testing::drain_frames(*hub_, id);
  }
  template <class M>
  static const M* find(const std::vector<protocol::ServerFrame>& frames) {
    for (const auto& f : frames)
      if (const M* m = std::get_if<M>(&f.message)) return m;
    return nullptr;
  }

};

TEST_F(room_load_failure_test, a_room_that_cannot_be_loaded_is_refused_and_comes_back_intact_once_it_loads) {
  // Ana builds a small workflow; it is stored.
  ConnectionId ana = connect("ana");
  send(ana, R"({"type":"subscribe","id":"s","room":"workflow:w1"})");
  send(ana, R"({"type":"node_create","id":"1","room":"workflow:w1","node":{"id":"n1","type":"code","label":"Keep"}})");
  const auto before = store_->load_room("workflow:w1");
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->nodes.size(), 1u);

  // Restart with a stored row the server cannot read.
  hub_.reset();
  store_.reset();
  exec_sql(path_, "UPDATE nodes SET status = 'exploded' WHERE room = 'workflow:w1'");
  start();

  ConnectionId ben = connect("ben");
  auto refused = send(ben, R"({"type":"subscribe","id":"s","room":"workflow:w1"})");
  const auto* error = find<protocol::ErrorReply>(refused);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, protocol::errc::internal);
  EXPECT_NE(error->message.find("could not be loaded"), std::string::npos) << error->message;
  EXPECT_EQ(find<protocol::Subscribed>(refused), nullptr);
  EXPECT_EQ(find<protocol::DocSnapshot>(refused), nullptr) << "no blank document shown";

  // Not joined: an edit is refused as such and stores nothing.
  auto edit = send(ben, R"({"type":"node_create","id":"2","room":"workflow:w1","node":{"id":"n2","type":"code"}})");
  ASSERT_NE(find<protocol::ErrorReply>(edit), nullptr);
  EXPECT_EQ(find<protocol::ErrorReply>(edit)->code, protocol::errc::not_subscribed);

  // A publish to it is refused whole, even with a good room in the same batch.
  const HttpResponse published = testing::publish_and_commit(
      *hub_,
      R"([{"type":"execution_update","room":"chat:ok","execution":"r1","status":"running"},)"
      R"({"type":"execution_update","room":"workflow:w1","execution":"r1","status":"running"}])",
      at(2));
  EXPECT_EQ(published.status, 503) << published.body;
  EXPECT_NE(published.body.find("nothing was published"), std::string::npos) << published.body;
  hub_->commit();
  EXPECT_EQ(hub_->rooms().find("chat:ok"), nullptr) << "the good room of the batch was not kept open";
  const auto good_room = store_->load_room("chat:ok");
  ASSERT_TRUE(good_room.ok());
  EXPECT_EQ(good_room->seq, 0) << "nothing was published to the good room either";

  // A node_update for it, too: 503 (retry), not 404 (which a backend takes as final).
  const HttpResponse node_update =
      testing::publish_and_commit(*hub_, R"({"type":"node_update","room":"workflow:w1","node":"n1","status":"running"})", at(3));
  EXPECT_EQ(node_update.status, 503) << node_update.body;

  // Other rooms work.
  auto other = send(ben, R"({"type":"subscribe","id":"s2","room":"chat:ok"})");
  EXPECT_NE(find<protocol::Subscribed>(other), nullptr);

  // The store can read the room again: a join gets it back, same epoch, same document.
  exec_sql(path_, "UPDATE nodes SET status = 'idle' WHERE room = 'workflow:w1'");
  auto joined = send(ben, R"({"type":"subscribe","id":"s3","room":"workflow:w1"})");
  const auto* subscribed = find<protocol::Subscribed>(joined);
  ASSERT_NE(subscribed, nullptr);
  EXPECT_EQ(subscribed->epoch, before->epoch);
  EXPECT_EQ(subscribed->seq, before->seq);
  const auto* doc = find<protocol::DocSnapshot>(joined);
  ASSERT_NE(doc, nullptr);
  ASSERT_EQ(doc->nodes.size(), 1u);
  EXPECT_EQ(doc->nodes[0].label, "Keep");
  const auto after = store_->load_room("workflow:w1");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->seq, before->seq) << "nothing was written while it was refused";
}

}  // namespace
}  // namespace tandem::server
