// tests/server/store_test_support.h — what the store tests share: a temp folder, sample nodes,
// chat entries and a batch touching every write kind, and reading helpers that fail the test
// with the store's message instead of crashing on an error, and a comparison of two loads.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/store.h"

namespace tandem::server::store::testing {

// A fresh folder under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "tandem-store-test-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline constexpr std::int64_t kDay = 24LL * 60 * 60 * 1000;

inline protocol::Node node(const std::string& id, double x = 0) {
  return protocol::Node{id, "http_request", "label " + id, x, x + 1, protocol::NodeStatus::Idle, "{}"};
}

inline protocol::ChatEntry chat_entry(std::int64_t seq) {
  return protocol::ChatEntry{"ana", "Ana", "#ff0000", "message " + std::to_string(seq), seq, 1000 + seq};
}

inline std::vector<std::int64_t> history_seqs(const RoomRecord& room) {
  std::vector<std::int64_t> seqs;
  for (const StoredEvent& event : room.history) seqs.push_back(event.seq);
  return seqs;
}

inline std::vector<std::int64_t> chat_seqs(const RoomRecord& room) {
  std::vector<std::int64_t> seqs;
  for (const protocol::ChatEntry& entry : room.chat) seqs.push_back(entry.seq);
  return seqs;
}

inline std::vector<std::string> node_ids(const RoomRecord& room) {
  std::vector<std::string> ids;
  for (const protocol::Node& n : room.nodes) ids.push_back(n.id);
  return ids;
}

inline RoomRecord load(Store& store, const std::string& room) {
  auto loaded = store.load_room(room);
  EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
  return loaded.ok() ? loaded.value() : RoomRecord{};
}

// The request ids `session` applied, oldest first; none when the session is unknown.
inline std::vector<std::string> applied(Store& store, const std::string& session) {
  auto found = store.find_session(session);
  EXPECT_TRUE(found.ok()) << (found.ok() ? "" : found.error().message);
  if (!found.ok() || !found.value().has_value()) return {};
  return found.value()->applied;
}

// Two loads of one room (`what` names them in a failure) read back the same.
inline void expect_same_room(const RoomRecord& got, const RoomRecord& want, const std::string& what) {
  EXPECT_EQ(got.exists, want.exists) << what;
  EXPECT_EQ(got.epoch, want.epoch) << what;
  EXPECT_EQ(got.seq, want.seq) << what;
  EXPECT_EQ(got.history, want.history) << what;
  EXPECT_EQ(got.nodes, want.nodes) << what;
  EXPECT_EQ(got.edges, want.edges) << what;
  EXPECT_EQ(got.chat, want.chat) << what;
  EXPECT_EQ(got.locks, want.locks) << what;
}

inline void commit_or_fail(Store& store, const WriteBatch& batch) {
  auto committed = store.commit(batch);
  ASSERT_TRUE(committed.ok()) << committed.error().message;
}

// Commits `batch`, which must be refused whole because another store has claimed a room or
// document it writes since (store.h WRITERS); returns the error's message.
inline std::string commit_refused_as_claimed(Store& store, const WriteBatch& batch) {
  auto committed = store.commit(batch);
  EXPECT_FALSE(committed.ok()) << "a commit for a room or document another store claimed went through";
  if (committed.ok()) return {};
  const std::string& message = committed.error().message;
  EXPECT_NE(message.find("room_claimed_by_another_writer"), std::string::npos) << message;
  return message;
}

// A room "r" with two nodes joined by an edge, two events, a change, a chat message, a fence,
// a session with one remembered request.
inline WriteBatch sample_batch() {
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"r", "epoch-1"});
  batch.add(WriteBatch::AppendEvent{"r", 1, R"({"type":"node_created","seq":1})"});
  batch.add(WriteBatch::PutNode{"r", node("a")});
  batch.add(WriteBatch::PutNode{"r", node("b", 5)});
  batch.add(WriteBatch::PutEdge{"r", protocol::Edge{"e1", "a", "b"}});
  batch.add(WriteBatch::AddChange{"r", StoredChange{1, "ana", 1001, R"({"type":"node_created"})"}});
  batch.add(WriteBatch::AppendEvent{"r", 2, R"({"type":"chat","seq":2})"});
  batch.add(WriteBatch::AddChat{"r", chat_entry(2)});
  batch.add(WriteBatch::RaiseFence{7});
  batch.add(WriteBatch::PutSession{StoredSession{"s-1", "ana"}});
  batch.add(WriteBatch::RememberRequest{"s-1", "req-1", R"({"type":"ack","id":"req-1"})"});
  return batch;
}

}  // namespace tandem::server::store::testing
