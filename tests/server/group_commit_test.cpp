// group_commit_test.cpp — the hub's group commit against a real SQLite store: frames held for
// a commit go out in send order once it succeeds, with later frames for the same connection
// queued behind them; a failing commit is retried with everything kept (paced by
// kStoreRetryDelay), and once the failures are at least kStoreRetries in a row over at least
// store_give_up_ms held answers become error internal and every connection is closed 1011.
#include <gtest/gtest.h>

#include "fakes.h"
#include "hub.h"
#include "store/sqlite_store.h"

namespace tandem::server {
namespace {

constexpr UnixMillis kWallStart = 1700000000000;

class group_commit_test : public ::testing::Test {
 protected:
  group_commit_test() : store_(open_store()), hub_(settings(), ids_, edge_, nullptr, store_.get()) {
    OpenRequest request;
    request.token = testing::token_for("alice", kWallStart / 1000 + 3600);
    id_ = hub_.open(request, Now{Millis(0), kWallStart});
    hub_.commit();  // its user: room read, then `connected`
    drain();
  }

  static Settings settings() {
    Settings s;
    s.jwt_secret = std::string(testing::kSecret);
    s.store_give_up_ms = 2000;
    s.store_commit_thread = false;  // each commit(now) is one whole pass (commit_thread_test has the thread)
    return s;
  }
  static std::unique_ptr<store::SqliteStore> open_store() {
    store::SqliteOptions options;
    options.path = ":memory:";
    auto opened = store::SqliteStore::open(options);
    EXPECT_TRUE(opened.ok());
    return opened.ok() ? std::move(opened).value() : nullptr;
  }
  Connection& connection() { return *hub_.find(id_); }
  static Bytes text(const std::string& s) { return std::make_shared<const std::string>(s); }

  // Everything queued, batches flattened, as type names.
  std::vector<std::string> drain() {
    std::vector<std::string> types;
    while (Bytes frame = hub_.next_frame(id_))
      for (auto& decoded : protocol::decode_server(*frame))
        if (decoded.ok()) types.push_back(protocol::type_of(decoded.value().message));
    return types;
  }
  protocol::ServerFrame pong(const std::string& id) { return protocol::ServerFrame{id, protocol::Pong{1}}; }

  std::unique_ptr<store::SqliteStore> store_;
  testing::FakeEdge edge_;
  testing::CountingIds ids_;
  Hub hub_;
  ConnectionId id_ = 0;
};

TEST_F(group_commit_test, held_frames_go_out_after_the_commit_in_order_with_later_ones_behind_them) {
  hub_.writes().add(store::WriteBatch::NewRoom{"workflow:1", "e1"});
  hub_.send_after_commit(connection(), pong("held"));
  hub_.send(connection(), pong("later"));  // not held itself, but behind a held frame
  EXPECT_GE(edge_.commit_requests, 1);
  EXPECT_TRUE(drain().empty());  // nothing before the commit

  hub_.commit();
  EXPECT_EQ(drain(), (std::vector<std::string>{"pong", "pong"}));
  EXPECT_TRUE(store_->load_room("workflow:1").value().exists);
  hub_.send(connection(), pong("after"));  // nothing held any more: queued at once
  EXPECT_EQ(drain().size(), 1u);
}

// A close decided later in the same pass (4429 after a flood, 4400) flushes what the pass had
// already answered: an ack held for the commit goes out before the close, else a change the
// server applied would never be acknowledged. A close that drops its queue drops it too.
TEST_F(group_commit_test, frames_held_before_a_flushing_close_go_out_before_it) {
  hub_.writes().add(store::WriteBatch::NewRoom{"workflow:1", "e1"});
  hub_.send_after_commit(connection(), pong("held"));
  hub_.close(connection(), protocol::close::rate_limited, "flood");
  hub_.send(connection(), pong("after the close"));  // nothing new after the close
  hub_.commit();
  EXPECT_EQ(drain(), (std::vector<std::string>{"pong"}));
  ASSERT_NE(hub_.close_request(id_), nullptr);
  EXPECT_EQ(hub_.close_request(id_)->code, 4429);
}

TEST_F(group_commit_test, frames_held_before_a_dropping_close_are_dropped) {
  hub_.writes().add(store::WriteBatch::NewRoom{"workflow:1", "e1"});
  hub_.send_after_commit(connection(), pong("held"));
  hub_.close(connection(), protocol::close::slow_consumer, "slow", QueuedFrames::Drop);
  hub_.commit();
  EXPECT_TRUE(drain().empty());
}

TEST_F(group_commit_test, a_failing_commit_is_retried_then_given_up_with_errors_and_1011) {
  hub_.writes().add(store::WriteBatch::NewRoom{"workflow:1", "e1"});
  hub_.writes().add(store::WriteBatch::NewRoom{"workflow:1", "e1"});  // UNIQUE: this batch always fails
  hub_.send_after_commit(connection(), pong("held"));
  Millis now{0};
  for (int attempt = 1; attempt < kStoreRetries; ++attempt) {
    hub_.commit(now);
    EXPECT_TRUE(drain().empty()) << "attempt " << attempt;  // kept for the retry, not answered
    EXPECT_FALSE(hub_.store_failed());
    now += kStoreRetryDelay;
  }
  // kStoreRetries attempts, but within store_give_up_ms: a database restarting takes longer.
  hub_.commit(now);
  EXPECT_FALSE(hub_.store_failed());
  EXPECT_TRUE(drain().empty());
  hub_.commit(Millis(2000));  // failing for store_give_up_ms now
  EXPECT_TRUE(hub_.store_failed());
  EXPECT_EQ(drain(), (std::vector<std::string>{"error"}));  // the held answer failed
  ASSERT_NE(hub_.close_request(id_), nullptr);
  EXPECT_EQ(hub_.close_request(id_)->code, protocol::close::internal_error.code);
  EXPECT_FALSE(store_->load_room("workflow:1").value().exists);
}

TEST_F(group_commit_test, a_close_that_waited_for_held_frames_goes_out_when_they_are_given_up) {
  hub_.writes().add(store::WriteBatch::NewRoom{"workflow:1", "e1"});
  hub_.writes().add(store::WriteBatch::NewRoom{"workflow:1", "e1"});  // UNIQUE: this batch always fails
  hub_.send_after_commit(connection(), text(R"({"type":"pong","ts":1})"));  // an event, not an answer
  hub_.shutdown();  // 1012, queued frames first: it waits for the held one
  EXPECT_EQ(hub_.close_request(id_), nullptr);
  Millis now{0};
  for (int attempt = 0; attempt < kStoreRetries && !hub_.store_failed(); ++attempt, now += Millis(2000))
    hub_.commit(now);
  ASSERT_TRUE(hub_.store_failed());
  edge_.wakes.clear();
  EXPECT_TRUE(drain().empty()) << "the unstored event is dropped";
  ASSERT_NE(hub_.close_request(id_), nullptr) << "and the close no longer waits";
  EXPECT_EQ(hub_.close_request(id_)->code, protocol::close::restart.code);
}

TEST_F(group_commit_test, a_failing_commit_is_retried_at_most_every_retry_delay) {
  hub_.writes().add(store::WriteBatch::NewRoom{"workflow:1", "e1"});
  hub_.writes().add(store::WriteBatch::NewRoom{"workflow:1", "e1"});  // UNIQUE: this batch always fails
  hub_.commit(Millis(1000));
  hub_.commit(Millis(1000) + kStoreRetryDelay / 2);  // too soon: not attempted
  hub_.commit(Millis(1000) + kStoreRetryDelay);
  EXPECT_EQ(hub_.metrics().snapshot(0, 0).store_commit_failures, 2u);
}

}  // namespace
}  // namespace tandem::server
