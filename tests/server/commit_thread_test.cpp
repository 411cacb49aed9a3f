// commit_thread_test.cpp — store/commit_thread.h and the hub on it (store_commit_thread, the
// server's default): the loop goes on while a group commit is written on the commit thread;
// what waits for a commit goes out only after it, in send order, also behind later input; a
// failed commit is taken back in front of what came since and retried; reads wait for the
// commit under way. The store is real SQLite behind a gate the test opens and closes, so every
// step is decided by the test, never by timing.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/commit_thread.h"
#include "stored_hub_fixture.h"

namespace tandem::server {
namespace {

using namespace std::chrono_literals;
constexpr auto kDeadline = 60s;  // generous: a busy machine is slow, never wrong

// Passes every call to the real store. close() makes commits wait until open(); fail_next()
// makes the next commit fail without writing anything. Keeps a log of what happened, in order.
class GatedStore final : public store::Store {
 public:
  explicit GatedStore(store::Store& inner) : inner_(inner) {}

  Result<store::RoomRecord> load_room(const std::string& room) override { return inner_.load_room(room); }
  Result<std::vector<store::StoredChange>> changes(const std::string& room, std::int64_t before_seq,
                                                   std::size_t limit) override {
    return inner_.changes(room, before_seq, limit);
  }
  Result<std::optional<store::SessionRecord>> find_session(const std::string& id) override {
    return inner_.find_session(id);
  }
  Result<std::int64_t> fence_high_water() override { return inner_.fence_high_water(); }
  Result<store::YDocRecord> load_ydoc(const std::string& doc) override { return inner_.load_ydoc(doc); }
  store::ReadAnswers read(const store::ReadRequest& request) override {
    note("read");
    return inner_.read(request);
  }
  Result<store::Done> commit(const store::WriteBatch& batch) override {
    bool fail = false;
    {
      std::unique_lock lock(mutex_);
      log_.push_back("commit begins");
      ++entered_;
      changed_.notify_all();
      changed_.wait(lock, [this] { return open_; });
      fail = std::exchange(fail_next_, false);
    }
    Result<store::Done> result =
        fail ? Result<store::Done>(Error{"internal", "the test failed this commit"}) : inner_.commit(batch);
    note("commit ends");
    return result;
  }
  Result<store::Done> export_batches(std::size_t writes_per_batch, const BatchSink& sink) override {
    return inner_.export_batches(writes_per_batch, sink);
  }
  Result<std::vector<store::WebhookDeadLetter>> webhook_dead_letters(std::size_t limit) override {
    return inner_.webhook_dead_letters(limit);
  }
  Result<std::vector<std::string>> webhook_rooms_behind() override { return inner_.webhook_rooms_behind(); }

  void close() { set_open(false); }
  void open() { set_open(true); }
  void fail_next() {
    std::lock_guard lock(mutex_);
    fail_next_ = true;
  }
  int entered() const {
    std::lock_guard lock(mutex_);
    return entered_;
  }
  // Waits until `count` commits have begun in all.
  bool wait_entered(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [&] { return entered_ >= count; });
  }
  std::vector<std::string> log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }

 private:
  void note(std::string what) {
    std::lock_guard lock(mutex_);
    log_.push_back(std::move(what));
  }
  void set_open(bool open) {
    {
      std::lock_guard lock(mutex_);
      open_ = open;
    }
    changed_.notify_all();
  }

  store::Store& inner_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  bool fail_next_ = false;
  int entered_ = 0;
  std::vector<std::string> log_;
};

std::unique_ptr<store::SqliteStore> open_memory_store_or_null() {
  store::SqliteOptions options;
  options.path = ":memory:";
  auto opened = store::SqliteStore::open(options);
  return opened.ok() ? std::move(opened).value() : nullptr;
}

// Waits (polling, with a generous deadline) until `done` holds.
template <class Condition>
bool eventually(Condition done) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(commit_thread, commits_on_its_thread_tells_when_done_and_gives_a_failed_batch_back) {
  auto sqlite = open_memory_store_or_null();
  ASSERT_NE(sqlite, nullptr);
  std::atomic<int> told{0};
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> told_from_another_thread{false};
  store::CommitThread committer(*sqlite, true, [&] {
    told_from_another_thread = std::this_thread::get_id() != caller;
    ++told;
  });
  EXPECT_FALSE(committer.busy());

  store::WriteBatch batch;
  batch.add(store::WriteBatch::NewRoom{"workflow:1", "e1"});
  committer.start(std::move(batch));
  EXPECT_TRUE(committer.busy());
  store::CommitThread::Outcome first = committer.collect();
  EXPECT_TRUE(first.result.ok());
  EXPECT_EQ(first.writes, 1u);
  EXPECT_TRUE(first.batch.empty()) << "a stored batch is freed on the commit thread";
  EXPECT_FALSE(committer.busy());
  EXPECT_TRUE(eventually([&] { return told.load() == 1; }));
  EXPECT_TRUE(told_from_another_thread);
  EXPECT_TRUE(sqlite->load_room("workflow:1").value().exists);

  store::WriteBatch duplicate;
  duplicate.add(store::WriteBatch::NewRoom{"workflow:2", "e2"});
  duplicate.add(store::WriteBatch::NewRoom{"workflow:1", "e1"});  // UNIQUE: the whole batch fails
  committer.start(std::move(duplicate));
  EXPECT_TRUE(eventually([&] { return committer.finished(); }));
  store::CommitThread::Outcome second = committer.collect();
  EXPECT_FALSE(second.result.ok());
  EXPECT_EQ(second.batch.writes().size(), 2u) << "the batch comes back for a retry";
  EXPECT_FALSE(sqlite->load_room("workflow:2").value().exists);
}

TEST(commit_thread, a_commit_under_way_is_finished_before_the_thread_stops) {
  auto sqlite = open_memory_store_or_null();
  ASSERT_NE(sqlite, nullptr);
  {
    store::CommitThread committer(*sqlite, true, nullptr);
    store::WriteBatch batch;
    batch.add(store::WriteBatch::NewRoom{"workflow:1", "e1"});
    committer.start(std::move(batch));
  }  // destroyed without collect()
  EXPECT_TRUE(sqlite->load_room("workflow:1").value().exists);
}

TEST(commit_thread, inline_commits_at_once_on_the_callers_thread) {
  auto sqlite = open_memory_store_or_null();
  ASSERT_NE(sqlite, nullptr);
  bool told = false;
  store::CommitThread committer(*sqlite, false, [&] { told = true; });
  store::WriteBatch batch;
  batch.add(store::WriteBatch::NewRoom{"workflow:1", "e1"});
  committer.start(std::move(batch));
  EXPECT_TRUE(committer.finished());
  EXPECT_TRUE(committer.collect().result.ok());
  EXPECT_FALSE(told);
}

// ---- the hub on the commit thread -------------------------------------------------------------

class threaded_hub_test : public testing::StoredHubFixture {
 protected:
  threaded_hub_test() {
    settings_.store_commit_thread = true;
    gated_ = std::make_unique<GatedStore>(*store_);
    hub_ = std::make_unique<Hub>(settings_, ids_, edge_, nullptr, gated_.get());
  }
  ~threaded_hub_test() override { hub_.reset(); }  // before gated_: its commit thread uses it

  // A connection of `sub` subscribed to chat:lobby, everything it was sent so far drained.
  ConnectionId in_lobby(const std::string& sub) {
    const ConnectionId id = connect(sub);
    hub_->commit();
    hub_->receive(id, R"({"type":"subscribe","id":"s","room":"chat:lobby"})", at(1));
    hub_->commit();
    testing::drain_frames(*hub_, id);
    return id;
  }
  static std::string chat(const std::string& id) {
    return R"({"type":"chat","id":")" + id + R"(","room":"chat:lobby","text":")" + id + R"("})";
  }
  // The acks, pongs and errors among `frames`, as "type:id", in order.
  static std::vector<std::string> answers(const std::vector<protocol::ServerFrame>& frames) {
    std::vector<std::string> out;
    for (const auto& frame : frames) {
      const std::string type = protocol::type_of(frame.message);
      if (type == "ack" || type == "pong" || type == "error") out.push_back(type + ":" + frame.id.value_or(""));
    }
    return out;
  }

  std::unique_ptr<GatedStore> gated_;
};

TEST_F(threaded_hub_test, the_loop_goes_on_while_a_commit_is_written_and_answers_keep_their_order) {
  const ConnectionId ana = in_lobby("ana");
  const int finished_before = edge_.commits_finished.load();
  const int entered_before = gated_->entered();
  gated_->close();
  hub_->receive(ana, chat("c1"), at(2));
  hub_->commit(at(2).mono);  // starts the commit and returns: the loop is free
  ASSERT_TRUE(gated_->wait_entered(entered_before + 1));
  EXPECT_TRUE(testing::drain_frames(*hub_, ana).empty()) << "nothing of c1 before it is stored";

  // Input handled while c1 is being written: a ping (not stored, but behind c1's ack) and
  // another chat (the next batch).
  hub_->receive(ana, R"({"type":"ping","id":"p1"})", at(3));
  hub_->receive(ana, chat("c2"), at(3));
  hub_->commit(at(3).mono);  // c1 still under way: c2 waits for the next commit
  EXPECT_TRUE(testing::drain_frames(*hub_, ana).empty());

  gated_->open();
  ASSERT_TRUE(eventually([&] { return edge_.commits_finished.load() > finished_before; }))
      << "the commit thread wakes the loop when it is done";
  hub_->commit(at(4).mono);  // collects c1, starts c2
  hub_->commit();            // and waits for c2 (the last flush at exit does the same)
  EXPECT_EQ(answers(testing::drain_frames(*hub_, ana)), (std::vector<std::string>{"ack:c1", "pong:p1", "ack:c2"}));
  const store::RoomRecord lobby = store_->load_room("chat:lobby").value();
  ASSERT_EQ(lobby.chat.size(), 2u);
  EXPECT_EQ(lobby.chat[0].text, "c1");
  EXPECT_EQ(lobby.chat[1].text, "c2");
  EXPECT_LT(lobby.chat[0].seq, lobby.chat[1].seq);
}

TEST_F(threaded_hub_test, a_close_decided_while_a_commit_is_written_waits_for_the_acks_it_holds) {
  const ConnectionId ana = in_lobby("ana");
  const int entered_before = gated_->entered();
  gated_->close();
  hub_->receive(ana, chat("c1"), at(2));
  hub_->commit(at(2).mono);
  ASSERT_TRUE(gated_->wait_entered(entered_before + 1));
  hub_->shutdown();  // 1012 for everyone, queued frames first
  EXPECT_EQ(hub_->close_request(ana), nullptr) << "the close must not overtake c1's ack";
  gated_->open();
  hub_->commit();
  EXPECT_EQ(answers(testing::drain_frames(*hub_, ana)), (std::vector<std::string>{"ack:c1"}));
  ASSERT_NE(hub_->close_request(ana), nullptr);
  EXPECT_EQ(hub_->close_request(ana)->code, protocol::close::restart.code);
}

TEST_F(threaded_hub_test, idle_rooms_are_forgotten_after_a_commit_while_the_next_batch_gathers) {
  const ConnectionId ana = in_lobby("ana");
  const ConnectionId ben = connect("ben");
  hub_->commit();
  hub_->receive(ben, R"({"type":"subscribe","id":"s","room":"chat:side"})", at(1));
  hub_->commit();
  ASSERT_NE(hub_->rooms().find("chat:side"), nullptr);
  hub_->receive(ben, R"({"type":"unsubscribe","id":"u","room":"chat:side"})", at(2));
  hub_->commit();  // chat:side is idle, everything of it stored

  // Steady writes elsewhere: a commit under way and the next batch never empty when it ends.
  const int entered_before = gated_->entered();
  const int finished_before = edge_.commits_finished.load();
  gated_->close();
  hub_->receive(ana, chat("c1"), at(3));
  hub_->commit(at(3).mono);
  ASSERT_TRUE(gated_->wait_entered(entered_before + 1));
  hub_->receive(ana, chat("c2"), at(4));
  gated_->open();
  ASSERT_TRUE(eventually([&] { return edge_.commits_finished.load() > finished_before; }));
  hub_->commit(at(5).mono);  // takes c1's commit, starts c2's
  EXPECT_EQ(hub_->rooms().find("chat:side"), nullptr) << "an idle room stays only while unstored writes need it";
  EXPECT_NE(hub_->rooms().find("chat:lobby"), nullptr);
  hub_->commit();
}

TEST_F(threaded_hub_test, a_failed_commit_comes_back_in_front_of_what_came_since_and_is_retried) {
  const ConnectionId ana = in_lobby("ana");
  const int finished_before = edge_.commits_finished.load();
  const int entered_before = gated_->entered();
  gated_->close();
  gated_->fail_next();
  hub_->receive(ana, chat("c1"), at(2));
  hub_->commit(at(2).mono);
  ASSERT_TRUE(gated_->wait_entered(entered_before + 1));
  hub_->receive(ana, chat("c2"), at(3));
  hub_->commit(at(3).mono);
  gated_->open();
  ASSERT_TRUE(eventually([&] { return edge_.commits_finished.load() > finished_before; }));

  hub_->commit(Millis(10));  // collects the failure: c1 and c2 wait, retried kStoreRetryDelay later
  EXPECT_TRUE(testing::drain_frames(*hub_, ana).empty());
  EXPECT_EQ(hub_->metrics().snapshot(0, 0).store_commit_failures, 1u);
  hub_->commit(Millis(10) + kStoreRetryDelay);  // the retry: c1's writes, then c2's, in one commit
  hub_->commit();
  EXPECT_EQ(answers(testing::drain_frames(*hub_, ana)), (std::vector<std::string>{"ack:c1", "ack:c2"}));
  const store::RoomRecord lobby = store_->load_room("chat:lobby").value();
  ASSERT_EQ(lobby.chat.size(), 2u);
  EXPECT_EQ(lobby.chat[0].text, "c1");
  EXPECT_EQ(lobby.chat[1].text, "c2");
  EXPECT_FALSE(hub_->store_failed());
}

TEST_F(threaded_hub_test, reads_wait_for_the_commit_under_way) {
  const ConnectionId ana = in_lobby("ana");
  const int entered_before = gated_->entered();
  const std::size_t logged_before = gated_->log().size();
  gated_->close();
  hub_->receive(ana, chat("c1"), at(2));
  hub_->commit(at(2).mono);
  ASSERT_TRUE(gated_->wait_entered(entered_before + 1));
  // ben's user: room must be read; the read waits for c1's commit, whenever the gate opens.
  const ConnectionId ben = connect("ben");
  std::thread opener([this] {
    std::this_thread::sleep_for(20ms);  // only decides which path runs: the order holds either way
    gated_->open();
  });
  hub_->commit(at(3).mono);
  opener.join();
  hub_->commit();
  EXPECT_FALSE(testing::messages_of<protocol::Connected>(testing::drain_frames(*hub_, ben)).empty());
  std::vector<std::string> log = gated_->log();
  log.erase(log.begin(), log.begin() + static_cast<std::ptrdiff_t>(logged_before));
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.front(), "commit begins");
  const auto ended = std::find(log.begin(), log.end(), "commit ends");
  const auto read = std::find(ended, log.end(), "read");
  EXPECT_NE(read, log.end()) << "ben's read came after c1's commit ended";
  EXPECT_EQ(std::find(log.begin(), ended, "read"), ended) << "no read while c1 was written";
}

}  // namespace
}  // namespace tandem::server
