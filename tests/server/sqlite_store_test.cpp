// sqlite_store_test.cpp — the SQLite store against real SQLite (":memory:" and files in a
// mkdtemp folder): every write kind round-trips, order and trimming of history, nodes, chat and
// requests, the fence only grows, a failing batch leaves nothing, commits survive reopening
// and a killed writer, migrations, session expiry at open, and clear errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/sqlite_store.h"

namespace tandem::server::store {
namespace {

namespace fs = std::filesystem;
using protocol::ChatEntry;
using protocol::Edge;
using protocol::Node;
using protocol::NodeStatus;

constexpr std::int64_t kDay = 24LL * 60 * 60 * 1000;

// A fresh folder under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "tandem-store-test-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

SqliteOptions at(const std::string& path) {
  SqliteOptions options;
  options.path = path;
  return options;
}

SqliteOptions in_memory() { return at(":memory:"); }

std::unique_ptr<SqliteStore> open_or_fail(const SqliteOptions& options) {
  auto opened = SqliteStore::open(options);
  if (!opened) {
    ADD_FAILURE() << opened.error().message;
    return nullptr;
  }
  return std::move(opened).value();
}

Node node(const std::string& id, double x = 0) {
  return Node{id, "http_request", "label " + id, x, x + 1, NodeStatus::Idle, "{}"};
}

ChatEntry chat_entry(std::int64_t seq) {
  return ChatEntry{"ana", "Ana", "#ff0000", "message " + std::to_string(seq), seq, 1000 + seq};
}

std::vector<std::int64_t> history_seqs(const RoomRecord& room) {
  std::vector<std::int64_t> seqs;
  for (const StoredEvent& event : room.history) seqs.push_back(event.seq);
  return seqs;
}

std::vector<std::int64_t> chat_seqs(const RoomRecord& room) {
  std::vector<std::int64_t> seqs;
  for (const ChatEntry& entry : room.chat) seqs.push_back(entry.seq);
  return seqs;
}

std::vector<std::string> node_ids(const RoomRecord& room) {
  std::vector<std::string> ids;
  for (const Node& n : room.nodes) ids.push_back(n.id);
  return ids;
}

RoomRecord load(SqliteStore& store, const std::string& room) {
  auto loaded = store.load_room(room);
  EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
  return loaded.ok() ? loaded.value() : RoomRecord{};
}

void commit_or_fail(SqliteStore& store, const WriteBatch& batch) {
  auto committed = store.commit(batch);
  ASSERT_TRUE(committed.ok()) << committed.error().message;
}

// A room "r" with two nodes joined by an edge, two events, a change, a chat message, a fence,
// a session with one remembered request.
WriteBatch sample_batch() {
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"r", "epoch-1"});
  batch.add(WriteBatch::AppendEvent{"r", 1, R"({"type":"node_created","seq":1})"});
  batch.add(WriteBatch::PutNode{"r", node("a")});
  batch.add(WriteBatch::PutNode{"r", node("b", 5)});
  batch.add(WriteBatch::PutEdge{"r", Edge{"e1", "a", "b"}});
  batch.add(WriteBatch::AddChange{"r", StoredChange{1, "ana", 1001, R"({"type":"node_created"})"}});
  batch.add(WriteBatch::AppendEvent{"r", 2, R"({"type":"chat","seq":2})"});
  batch.add(WriteBatch::AddChat{"r", chat_entry(2)});
  batch.add(WriteBatch::RaiseFence{7});
  batch.add(WriteBatch::PutSession{StoredSession{"s-1", "ana"}});
  batch.add(WriteBatch::RememberRequest{"s-1", "req-1", R"({"type":"ack","id":"req-1"})"});
  return batch;
}

TEST(sqlite_store_test, a_new_store_is_empty_at_the_current_schema_version) {
  auto store = open_or_fail(in_memory());
  ASSERT_TRUE(store);
  EXPECT_EQ(sqlite_schema().size(), 2u);  // v1 initial schema, v2 held locks
  EXPECT_EQ(store->schema_version(), 2);
  EXPECT_EQ(store->fence_high_water().value(), 0);
  const RoomRecord room = load(*store, "workflow:unknown");
  EXPECT_FALSE(room.exists);
  EXPECT_EQ(room.epoch, "");
  EXPECT_EQ(room.seq, 0);
  EXPECT_TRUE(room.history.empty() && room.nodes.empty() && room.edges.empty() && room.chat.empty());
  EXPECT_FALSE(store->find_session("s-1").value().has_value());
  EXPECT_FALSE(store->applied_answer("s-1", "req-1").value().has_value());
  EXPECT_TRUE(store->changes("workflow:unknown", 0, 10).value().empty());
}

TEST(sqlite_store_test, every_write_kind_round_trips) {
  auto store = open_or_fail(in_memory());
  ASSERT_TRUE(store);
  commit_or_fail(*store, sample_batch());

  const RoomRecord room = load(*store, "r");
  EXPECT_TRUE(room.exists);
  EXPECT_EQ(room.epoch, "epoch-1");
  EXPECT_EQ(room.seq, 2);
  EXPECT_EQ(room.history, (std::vector<StoredEvent>{{1, R"({"type":"node_created","seq":1})"},
                                                    {2, R"({"type":"chat","seq":2})"}}));
  EXPECT_EQ(room.nodes, (std::vector<Node>{node("a"), node("b", 5)}));
  EXPECT_EQ(room.edges, (std::vector<Edge>{{"e1", "a", "b"}}));
  EXPECT_EQ(room.chat, (std::vector<ChatEntry>{chat_entry(2)}));
  EXPECT_EQ(store->changes("r", 0, 10).value(),
            (std::vector<StoredChange>{{1, "ana", 1001, R"({"type":"node_created"})"}}));
  EXPECT_EQ(store->fence_high_water().value(), 7);
  auto session = store->find_session("s-1").value();
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->id, "s-1");
  EXPECT_EQ(session->user, "ana");
  EXPECT_EQ(store->applied_answer("s-1", "req-1").value(), std::optional<std::string>(R"({"type":"ack","id":"req-1"})"));
  EXPECT_FALSE(store->applied_answer("s-1", "req-2").value().has_value());

  // The removing kinds.
  WriteBatch removals;
  removals.add(WriteBatch::DeleteEdge{"r", "e1"});
  removals.add(WriteBatch::ClearChat{"r"});
  removals.add(WriteBatch::DeleteNode{"r", "a"});
  commit_or_fail(*store, removals);
  const RoomRecord after = load(*store, "r");
  EXPECT_EQ(after.edges, std::vector<Edge>{});
  EXPECT_EQ(after.chat, std::vector<ChatEntry>{});
  EXPECT_EQ(node_ids(after), std::vector<std::string>{"b"});
  EXPECT_EQ(after.history.size(), 2u);  // the event log is not the document
}

TEST(sqlite_store_test, values_are_bound_exactly_whatever_they_contain) {
  auto store = open_or_fail(in_memory());
  ASSERT_TRUE(store);
  const std::string room = "workflow:x'); DROP TABLE rooms; --";
  Node tricky{"n'1", "type\"q", "label with ' quote, ünïcödé and \\ backslash", -12.25, 1e9, NodeStatus::Failed,
              R"({"k":[1,2,{"z":null}]})"};
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{room, "ep"});
  batch.add(WriteBatch::PutNode{room, tricky});
  commit_or_fail(*store, batch);
  const RoomRecord loaded = load(*store, room);
  EXPECT_TRUE(loaded.exists);
  EXPECT_EQ(loaded.nodes, std::vector<Node>{tricky});
}

TEST(sqlite_store_test, nodes_keep_insertion_order_and_an_update_keeps_the_position) {
  auto store = open_or_fail(in_memory());
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"r", "ep"});
  for (const char* id : {"z", "a", "m"}) batch.add(WriteBatch::PutNode{"r", node(id)});
  commit_or_fail(*store, batch);

  Node moved = node("z", 40);
  moved.label = "renamed";
  moved.status = NodeStatus::Running;
  moved.data = R"({"url":"https://example.org"})";
  WriteBatch update;
  update.add(WriteBatch::PutNode{"r", moved});
  update.add(WriteBatch::PutNode{"r", node("b")});
  commit_or_fail(*store, update);

  const RoomRecord room = load(*store, "r");
  EXPECT_EQ(node_ids(room), (std::vector<std::string>{"z", "a", "m", "b"}));
  EXPECT_EQ(room.nodes[0], moved);
}

TEST(sqlite_store_test, deleting_a_node_deletes_the_edges_touching_it_and_only_those) {
  auto store = open_or_fail(in_memory());
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"r", "ep"});
  for (const char* id : {"a", "b", "c"}) batch.add(WriteBatch::PutNode{"r", node(id)});
  batch.add(WriteBatch::PutEdge{"r", Edge{"ab", "a", "b"}});
  batch.add(WriteBatch::PutEdge{"r", Edge{"bc", "b", "c"}});
  batch.add(WriteBatch::PutEdge{"r", Edge{"ca", "c", "a"}});
  commit_or_fail(*store, batch);
  // An update of b (an endpoint) keeps its edges.
  WriteBatch update;
  update.add(WriteBatch::PutNode{"r", node("b", 9)});
  commit_or_fail(*store, update);
  EXPECT_EQ(load(*store, "r").edges.size(), 3u);

  WriteBatch removal;
  removal.add(WriteBatch::DeleteNode{"r", "a"});
  commit_or_fail(*store, removal);
  const RoomRecord room = load(*store, "r");
  EXPECT_EQ(node_ids(room), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(room.edges, (std::vector<Edge>{{"bc", "b", "c"}}));
}

TEST(sqlite_store_test, history_is_oldest_first_and_trimmed_to_retention_per_room) {
  SqliteOptions options = in_memory();
  options.retention.history = 3;
  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  WriteBatch rooms;
  rooms.add(WriteBatch::NewRoom{"r", "ep"});
  rooms.add(WriteBatch::NewRoom{"other", "ep"});
  rooms.add(WriteBatch::AppendEvent{"other", 1, "{}"});
  commit_or_fail(*store, rooms);

  for (std::int64_t seq = 1; seq <= 3; ++seq) {
    WriteBatch one;
    one.add(WriteBatch::AppendEvent{"r", seq, "{\"seq\":" + std::to_string(seq) + "}"});
    commit_or_fail(*store, one);
  }
  EXPECT_EQ(history_seqs(load(*store, "r")), (std::vector<std::int64_t>{1, 2, 3}));  // at the bound: all kept

  WriteBatch several;  // trimming also applies within one batch
  for (std::int64_t seq = 4; seq <= 8; ++seq) several.add(WriteBatch::AppendEvent{"r", seq, "{}"});
  commit_or_fail(*store, several);
  const RoomRecord room = load(*store, "r");
  EXPECT_EQ(history_seqs(room), (std::vector<std::int64_t>{6, 7, 8}));
  EXPECT_EQ(room.history.front().json, "{}");
  EXPECT_EQ(room.seq, 8);
  EXPECT_EQ(history_seqs(load(*store, "other")), std::vector<std::int64_t>{1});  // another room untouched
}

TEST(sqlite_store_test, chat_is_oldest_first_trimmed_to_retention_and_clearable) {
  SqliteOptions options = in_memory();
  options.retention.chat = 2;
  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"chat:lobby", "ep"});
  batch.add(WriteBatch::AddChat{"chat:lobby", chat_entry(1)});
  batch.add(WriteBatch::AddChat{"chat:lobby", chat_entry(2)});
  commit_or_fail(*store, batch);
  EXPECT_EQ(chat_seqs(load(*store, "chat:lobby")), (std::vector<std::int64_t>{1, 2}));

  WriteBatch more;
  more.add(WriteBatch::AddChat{"chat:lobby", chat_entry(3)});
  commit_or_fail(*store, more);
  const RoomRecord room = load(*store, "chat:lobby");
  EXPECT_EQ(room.chat, (std::vector<ChatEntry>{chat_entry(2), chat_entry(3)}));

  WriteBatch clear_then_add;
  clear_then_add.add(WriteBatch::ClearChat{"chat:lobby"});
  clear_then_add.add(WriteBatch::AddChat{"chat:lobby", chat_entry(4)});
  commit_or_fail(*store, clear_then_add);
  EXPECT_EQ(chat_seqs(load(*store, "chat:lobby")), std::vector<std::int64_t>{4});
}

TEST(sqlite_store_test, a_smaller_retention_applies_when_loading_rows_written_under_a_larger_one) {
  TempDir dir;
  SqliteOptions options = at(dir.file("tandem.db"));
  {
    auto store = open_or_fail(options);
    ASSERT_TRUE(store);
    WriteBatch batch;
    batch.add(WriteBatch::NewRoom{"r", "ep"});
    for (std::int64_t seq = 1; seq <= 5; ++seq) {
      batch.add(WriteBatch::AppendEvent{"r", seq, "{}"});
      batch.add(WriteBatch::AddChat{"r", chat_entry(seq)});
    }
    commit_or_fail(*store, batch);
  }
  options.retention.history = 2;
  options.retention.chat = 1;
  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  const RoomRecord room = load(*store, "r");
  EXPECT_EQ(history_seqs(room), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(chat_seqs(room), std::vector<std::int64_t>{5});
}

TEST(sqlite_store_test, the_change_history_is_kept_in_full_and_paged_newest_first) {
  SqliteOptions options = in_memory();
  options.retention.history = 1;  // the event log's bound does not apply to changes
  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"r", "ep"});
  for (std::int64_t seq = 1; seq <= 5; ++seq) {
    batch.add(WriteBatch::AppendEvent{"r", seq, "{}"});
    batch.add(WriteBatch::AddChange{"r", StoredChange{seq, "ana", 100 * seq, "{}"}});
  }
  commit_or_fail(*store, batch);

  auto seqs = [&](std::int64_t before, std::size_t limit) {
    std::vector<std::int64_t> out;
    const auto page = store->changes("r", before, limit);  // kept: the loop must not outlive it
    for (const StoredChange& change : page.value()) out.push_back(change.seq);
    return out;
  };
  EXPECT_EQ(seqs(0, 2), (std::vector<std::int64_t>{5, 4}));
  EXPECT_EQ(seqs(4, 2), (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(seqs(2, 10), std::vector<std::int64_t>{1});
  EXPECT_EQ(seqs(1, 10), std::vector<std::int64_t>{});
  EXPECT_EQ(seqs(0, 100).size(), 5u);
  EXPECT_EQ(store->changes("r", 0, 1).value().front(), (StoredChange{5, "ana", 500, "{}"}));
}

TEST(sqlite_store_test, the_fence_high_water_mark_only_grows) {
  auto store = open_or_fail(in_memory());
  ASSERT_TRUE(store);
  auto raise = [&](std::int64_t fence) {
    WriteBatch batch;
    batch.add(WriteBatch::RaiseFence{fence});
    commit_or_fail(*store, batch);
    return store->fence_high_water().value();
  };
  EXPECT_EQ(raise(10), 10);
  EXPECT_EQ(raise(3), 10);
  EXPECT_EQ(raise(10), 10);
  EXPECT_EQ(raise(11), 11);
  WriteBatch down_then_up;  // within one batch too
  down_then_up.add(WriteBatch::RaiseFence{20});
  down_then_up.add(WriteBatch::RaiseFence{15});
  commit_or_fail(*store, down_then_up);
  EXPECT_EQ(store->fence_high_water().value(), 20);
}

TEST(sqlite_store_test, remembered_requests_are_trimmed_per_session) {
  SqliteOptions options = in_memory();
  options.retention.requests_per_session = 2;
  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::PutSession{StoredSession{"s-1", "ana"}});
  batch.add(WriteBatch::PutSession{StoredSession{"s-2", "ben"}});
  batch.add(WriteBatch::RememberRequest{"s-2", "1", "ben-1"});
  batch.add(WriteBatch::RememberRequest{"s-1", "1", "ana-1"});
  batch.add(WriteBatch::RememberRequest{"s-1", "2", "ana-2"});
  commit_or_fail(*store, batch);
  EXPECT_EQ(store->applied_answer("s-1", "1").value(), std::optional<std::string>("ana-1"));  // at the bound

  WriteBatch third;
  third.add(WriteBatch::RememberRequest{"s-1", "3", "ana-3"});
  commit_or_fail(*store, third);
  EXPECT_FALSE(store->applied_answer("s-1", "1").value().has_value());  // the oldest fell out
  EXPECT_EQ(store->applied_answer("s-1", "2").value(), std::optional<std::string>("ana-2"));
  EXPECT_EQ(store->applied_answer("s-1", "3").value(), std::optional<std::string>("ana-3"));
  EXPECT_EQ(store->applied_answer("s-2", "1").value(), std::optional<std::string>("ben-1"));  // per session
  EXPECT_FALSE(store->applied_answer("s-2", "2").value().has_value());
}

TEST(sqlite_store_test, a_failing_batch_leaves_nothing_of_itself_and_the_store_keeps_working) {
  auto store = open_or_fail(in_memory());
  ASSERT_TRUE(store);
  commit_or_fail(*store, sample_batch());

  WriteBatch failing;
  failing.add(WriteBatch::NewRoom{"r2", "ep"});
  failing.add(WriteBatch::AppendEvent{"r2", 1, "{}"});
  failing.add(WriteBatch::AppendEvent{"r", 3, "{}"});
  failing.add(WriteBatch::PutNode{"r", node("c")});
  failing.add(WriteBatch::DeleteNode{"r", "a"});
  failing.add(WriteBatch::AddChat{"r", chat_entry(3)});
  failing.add(WriteBatch::ClearChat{"r"});
  failing.add(WriteBatch::RaiseFence{99});
  failing.add(WriteBatch::PutSession{StoredSession{"s-2", "ben"}});
  failing.add(WriteBatch::RememberRequest{"s-1", "req-2", "{}"});
  failing.add(WriteBatch::PutEdge{"r", Edge{"e2", "b", "missing"}});  // endpoint not stored
  auto result = store->commit(failing);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "internal");
  EXPECT_NE(result.error().message.find(":memory:"), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find("FOREIGN KEY"), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find("write 11 of 11, PutEdge"), std::string::npos) << result.error().message;

  // Exactly what the first batch stored, nothing more.
  auto fresh = open_or_fail(in_memory());
  ASSERT_TRUE(fresh);
  commit_or_fail(*fresh, sample_batch());
  const RoomRecord expected = load(*fresh, "r");
  const RoomRecord actual = load(*store, "r");
  EXPECT_EQ(actual.seq, expected.seq);
  EXPECT_EQ(actual.history, expected.history);
  EXPECT_EQ(actual.nodes, expected.nodes);
  EXPECT_EQ(actual.edges, expected.edges);
  EXPECT_EQ(actual.chat, expected.chat);
  EXPECT_FALSE(load(*store, "r2").exists);
  EXPECT_EQ(store->fence_high_water().value(), 7);
  EXPECT_FALSE(store->find_session("s-2").value().has_value());
  EXPECT_FALSE(store->applied_answer("s-1", "req-2").value().has_value());

  // The next batch commits normally.
  WriteBatch next;
  next.add(WriteBatch::AppendEvent{"r", 3, "{}"});
  commit_or_fail(*store, next);
  EXPECT_EQ(load(*store, "r").seq, 3);
}

TEST(sqlite_store_test, writes_breaking_an_integrity_rule_fail_with_a_clear_error) {
  struct Case {
    std::string name;
    WriteBatch::Write write;
    std::string expected_in_message;
  };
  const std::vector<Case> cases = {
      {"event for a room never created", WriteBatch::AppendEvent{"nowhere", 1, "{}"}, "FOREIGN KEY"},
      {"node for a room never created", WriteBatch::PutNode{"nowhere", node("a")}, "FOREIGN KEY"},
      {"chat for a room never created", WriteBatch::AddChat{"nowhere", chat_entry(1)}, "FOREIGN KEY"},
      {"change for a room never created", WriteBatch::AddChange{"nowhere", StoredChange{1, "u", 1, "{}"}},
       "FOREIGN KEY"},
      {"room created twice", WriteBatch::NewRoom{"r", "again"}, "UNIQUE"},
      {"event seq reused", WriteBatch::AppendEvent{"r", 1, "{}"}, "UNIQUE"},
      {"chat seq reused", WriteBatch::AddChat{"r", chat_entry(2)}, "UNIQUE"},
      {"change seq reused", WriteBatch::AddChange{"r", StoredChange{1, "u", 1, "{}"}}, "UNIQUE"},
      {"edge from a missing node", WriteBatch::PutEdge{"r", Edge{"e9", "missing", "a"}}, "FOREIGN KEY"},
      {"request of an unknown session", WriteBatch::RememberRequest{"s-unknown", "1", "{}"}, "FOREIGN KEY"},
  };
  auto store = open_or_fail(in_memory());
  ASSERT_TRUE(store);
  commit_or_fail(*store, sample_batch());
  for (const Case& c : cases) {
    WriteBatch batch;
    batch.add(WriteBatch::RaiseFence{1000});  // must vanish with the failing write
    std::visit([&](const auto& write) { batch.add(write); }, c.write);
    auto result = store->commit(batch);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_EQ(result.error().code, "internal") << c.name;
    EXPECT_NE(result.error().message.find(c.expected_in_message), std::string::npos)
        << c.name << ": " << result.error().message;
    EXPECT_EQ(store->fence_high_water().value(), 7) << c.name;
  }
}

TEST(sqlite_store_test, deleting_what_is_not_stored_is_not_an_error) {
  auto store = open_or_fail(in_memory());
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::DeleteNode{"nowhere", "a"});
  batch.add(WriteBatch::DeleteEdge{"nowhere", "e"});
  batch.add(WriteBatch::ClearChat{"nowhere"});
  commit_or_fail(*store, batch);
}

TEST(sqlite_store_test, a_file_store_uses_wal_creates_its_folder_and_reopens_with_everything_committed) {
  TempDir dir;
  SqliteOptions options = at(dir.file("data/nested/tandem.db"));
  options.synchronous = Synchronous::Full;
  {
    auto store = open_or_fail(options);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->path(), options.path);
    commit_or_fail(*store, sample_batch());
    EXPECT_TRUE(fs::exists(options.path + "-wal"));  // WAL journal mode
  }
  options.synchronous = Synchronous::Normal;
  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  const RoomRecord room = load(*store, "r");
  EXPECT_TRUE(room.exists);
  EXPECT_EQ(room.seq, 2);
  EXPECT_EQ(room.nodes.size(), 2u);
  EXPECT_EQ(room.edges.size(), 1u);
  EXPECT_EQ(room.chat.size(), 1u);
  EXPECT_EQ(store->changes("r", 0, 10).value().size(), 1u);
  EXPECT_EQ(store->fence_high_water().value(), 7);
  EXPECT_TRUE(store->find_session("s-1").value().has_value());
  EXPECT_TRUE(store->applied_answer("s-1", "req-1").value().has_value());
}

TEST(sqlite_store_test, an_empty_batch_is_a_no_op) {
  TempDir dir;
  auto store = open_or_fail(at(dir.file("tandem.db")));
  ASSERT_TRUE(store);
  commit_or_fail(*store, sample_batch());
  const auto wal_size = fs::file_size(dir.file("tandem.db-wal"));
  commit_or_fail(*store, WriteBatch{});
  EXPECT_EQ(fs::file_size(dir.file("tandem.db-wal")), wal_size);  // not even an empty transaction
}

TEST(sqlite_store_test, commits_of_a_writer_killed_without_closing_survive) {
  TempDir dir;
  const std::string path = dir.file("tandem.db");
  { ASSERT_TRUE(open_or_fail(at(path))); }  // created, then closed cleanly

  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    // The child opens its own connection (never use one across fork), commits, and dies
    // without closing or checkpointing: what kill -9 after the ack would leave behind.
    auto store = SqliteStore::open(at(path));
    if (!store) ::_exit(2);
    const bool committed = store.value()->commit(sample_batch()).ok();
    std::move(store).value().release();  // leaked on purpose: no close, no checkpoint
    ::_exit(committed ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(fs::exists(path + "-wal"));
  EXPECT_GT(fs::file_size(path + "-wal"), 0u);  // the commit lives only in the log

  auto store = open_or_fail(at(path));
  ASSERT_TRUE(store);
  const RoomRecord room = load(*store, "r");
  EXPECT_TRUE(room.exists);
  EXPECT_EQ(room.seq, 2);
  EXPECT_EQ(room.nodes.size(), 2u);
  EXPECT_EQ(store->fence_high_water().value(), 7);
  EXPECT_TRUE(store->applied_answer("s-1", "req-1").value().has_value());
}

// One more schema step (version 3), as a future build would append it.
std::vector<SchemaMigration> schema_with_v3(std::string_view v3_sql) {
  std::vector<SchemaMigration> schema(sqlite_schema().begin(), sqlite_schema().end());
  schema.push_back({"test step", v3_sql});
  return schema;
}

TEST(sqlite_store_test, a_later_step_is_applied_once) {
  TempDir dir;
  const SqliteOptions options = at(dir.file("tandem.db"));
  {
    auto store = open_or_fail(options);
    ASSERT_TRUE(store);
    commit_or_fail(*store, sample_batch());
  }
  const auto v3 = schema_with_v3("CREATE TABLE webhooks (id TEXT PRIMARY KEY, url TEXT NOT NULL)");
  {
    auto upgraded = SqliteStore::open(options, v3);
    ASSERT_TRUE(upgraded.ok()) << upgraded.error().message;
    EXPECT_EQ(upgraded.value()->schema_version(), 3);
    EXPECT_EQ(load(*upgraded.value(), "r").nodes.size(), 2u);
  }
  // Opening again does not re-apply the step (CREATE TABLE would fail if it did).
  auto again = SqliteStore::open(options, v3);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again.value()->schema_version(), 3);
}

TEST(sqlite_store_test, held_locks_are_stored_replaced_and_dropped) {
  auto store = open_or_fail(in_memory());
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"r", "e1"});
  batch.add(WriteBatch::PutLock{"r", {"n1", {"ana", "Ana", "#112233"}, 7, 1700000030000}});
  batch.add(WriteBatch::PutLock{"r", {"n2", {"ben", "Ben", "#445566"}, 8, 1700000031000}});
  batch.add(WriteBatch::PutLock{"r", {"n1", {"cleo", "Cleo", "#778899"}, 9, 1700000032000}});  // moved
  batch.add(WriteBatch::DropLock{"r", "n2"});
  batch.add(WriteBatch::DropLock{"r", "n9"});  // not held: not an error
  commit_or_fail(*store, batch);
  const RoomRecord room = load(*store, "r");
  ASSERT_EQ(room.locks.size(), 1u);
  EXPECT_EQ(room.locks[0], (protocol::LockInfo{"n1", {"cleo", "Cleo", "#778899"}, 9, 1700000032000}));
}

TEST(sqlite_store_test, a_database_newer_than_the_build_is_refused) {
  TempDir dir;
  const SqliteOptions options = at(dir.file("tandem.db"));
  {
    auto newer = SqliteStore::open(options, schema_with_v3("CREATE TABLE future (x INTEGER)"));
    ASSERT_TRUE(newer.ok()) << newer.error().message;
  }
  auto refused = SqliteStore::open(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "internal");
  EXPECT_NE(refused.error().message.find(options.path), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("schema version 3, newer than this build knows (2)"), std::string::npos)
      << refused.error().message;
}

TEST(sqlite_store_test, a_failing_migration_leaves_the_database_at_its_previous_version) {
  TempDir dir;
  const SqliteOptions options = at(dir.file("tandem.db"));
  {
    auto store = open_or_fail(options);
    ASSERT_TRUE(store);
    commit_or_fail(*store, sample_batch());
  }
  // The step's first statement succeeds, its second fails: neither may remain.
  auto failed = SqliteStore::open(options, schema_with_v3("CREATE TABLE half (x INTEGER); INSERT INTO half VALUES (1); "
                                                          "INSERT INTO no_such_table VALUES (1)"));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("migration to schema version 3 (test step)"), std::string::npos)
      << failed.error().message;
  EXPECT_NE(failed.error().message.find("no_such_table"), std::string::npos) << failed.error().message;

  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), 2);  // still the current version
  EXPECT_TRUE(load(*store, "r").exists);
  // "half" was rolled back too: the same step minus the failing statement now applies.
  auto fixed = SqliteStore::open(options, schema_with_v3("CREATE TABLE half (x INTEGER)"));
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_EQ(fixed.value()->schema_version(), 3);
}

// Options for a store at `path` whose wall clock is `now` (moved by the test), forgetting
// sessions unused for 7 days.
SqliteOptions with_clock(const std::string& path, UnixMillis& now) {
  SqliteOptions options = at(path);
  options.wall_clock = [&now] { return now; };
  options.retention.session_days = 7;
  return options;
}

TEST(sqlite_store_test, sessions_unused_for_session_days_are_forgotten_at_open_with_their_requests) {
  TempDir dir;
  UnixMillis now = 1'700'000'000'000;
  const SqliteOptions options = with_clock(dir.file("tandem.db"), now);
  {
    auto store = open_or_fail(options);
    ASSERT_TRUE(store);
    WriteBatch day0;
    day0.add(WriteBatch::PutSession{StoredSession{"old", "ana"}});
    day0.add(WriteBatch::PutSession{StoredSession{"busy", "ben"}});
    day0.add(WriteBatch::RememberRequest{"old", "1", "ack-old"});
    commit_or_fail(*store, day0);
    now += 5 * kDay;
    WriteBatch day5;  // remembering a request counts as using the session
    day5.add(WriteBatch::RememberRequest{"busy", "1", "ack-busy"});
    commit_or_fail(*store, day5);
    now += 1 * kDay;
    WriteBatch day6;
    day6.add(WriteBatch::PutSession{StoredSession{"recent", "cid"}});
    commit_or_fail(*store, day6);
  }
  now += 1 * kDay + 1;  // day 7 + 1 ms: "old" was last used 7 days and 1 ms ago
  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->find_session("old").value().has_value());
  EXPECT_FALSE(store->applied_answer("old", "1").value().has_value());
  EXPECT_TRUE(store->find_session("busy").value().has_value());
  EXPECT_EQ(store->applied_answer("busy", "1").value(), std::optional<std::string>("ack-busy"));
  EXPECT_TRUE(store->find_session("recent").value().has_value());
}

TEST(sqlite_store_test, a_running_store_forgets_unused_sessions_in_a_commit_about_hourly) {
  TempDir dir;
  UnixMillis now = 1'700'000'000'000;
  auto store = open_or_fail(with_clock(dir.file("tandem.db"), now));
  ASSERT_TRUE(store);
  WriteBatch day0;
  day0.add(WriteBatch::PutSession{StoredSession{"old", "ana"}});
  day0.add(WriteBatch::RememberRequest{"old", "1", "ack-old"});
  commit_or_fail(*store, day0);
  now += 7 * kDay + 1;  // never reopened: the server kept running
  WriteBatch later;
  later.add(WriteBatch::PutSession{StoredSession{"new", "ben"}});
  commit_or_fail(*store, later);
  EXPECT_FALSE(store->find_session("old").value().has_value());
  EXPECT_FALSE(store->applied_answer("old", "1").value().has_value());
  EXPECT_TRUE(store->find_session("new").value().has_value());
}

TEST(sqlite_store_test, open_failures_are_errors_naming_the_path) {
  TempDir dir;
  const std::string regular_file = dir.file("not-a-folder");
  std::ofstream(regular_file) << std::string(4096, 'x');  // a full page that is no SQLite header

  struct Case {
    std::string name, path, expected_in_message;
  };
  const std::vector<Case> cases = {
      {"no path", "", "no database path given"},
      {"parent is a file", regular_file + "/tandem.db", regular_file},
      {"path is a folder", dir.file(""), "open"},
      {"not a database", regular_file, "not a database"},
  };
  for (const Case& c : cases) {
    auto opened = SqliteStore::open(at(c.path));
    ASSERT_FALSE(opened.ok()) << c.name;
    EXPECT_EQ(opened.error().code, "internal") << c.name;
    EXPECT_NE(opened.error().message.find("sqlite store " + c.path), std::string::npos)
        << c.name << ": " << opened.error().message;
    EXPECT_NE(opened.error().message.find(c.expected_in_message), std::string::npos)
        << c.name << ": " << opened.error().message;
  }
}

TEST(sqlite_store_test, a_log_that_cannot_be_created_fails_open_without_aborting) {
  TempDir dir;
  const std::string path = dir.file("tandem.db");
  fs::create_directory(path + "-wal");  // where SQLite must put its write-ahead log
  auto opened = SqliteStore::open(at(path));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "internal");
  EXPECT_NE(opened.error().message.find("sqlite store " + path), std::string::npos) << opened.error().message;
}

}  // namespace
}  // namespace tandem::server::store
