// sqlite_store_test.cpp — what only the SQLite store has, against real SQLite (":memory:" and
// files in a mkdtemp folder): WAL and its folder, a writer killed without closing, migrations,
// open errors naming the path. What every store must do is in store_conformance_test.cpp.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include "store/sqlite_store.h"
#include "store_test_support.h"

namespace tandem::server::store {
namespace {

namespace fs = std::filesystem;
using namespace testing;  // store::testing helpers

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

TEST(sqlite_store_test, a_new_store_is_at_the_current_schema_version) {
  auto store = open_or_fail(in_memory());
  ASSERT_TRUE(store);
  // v1 initial schema, v2 held locks, v3 writer claims, v4 yjs documents, v5 yjs document writer
  // claims, v6 webhooks, v7 applied requests per commit
  EXPECT_EQ(sqlite_schema().size(), 7u);
  EXPECT_EQ(store->schema_version(), 7);
  EXPECT_EQ(store->path(), ":memory:");
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
  EXPECT_EQ(applied(*store, "s-1"), std::vector<std::string>{"req-1"});
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

// The log's checkpoints run on the store's own thread: the database file grows while commits
// go on, the log never passes its bound (what one commit adds on top), and a reopen finds
// everything. 64-page checkpoints here so that the test writes ~6 MB, not ~50.
TEST(sqlite_store_test, the_log_is_checkpointed_on_a_thread_and_stays_bounded) {
  TempDir dir;
  SqliteOptions options = at(dir.file("tandem.db"));
  options.checkpoint_pages = 64;
  options.retention.history = 100000;  // nothing trimmed: every event stays
  const std::string wal = options.path + "-wal";
  const std::string event_json = R"({"type":"chat","text":")" + std::string(4000, 'x') + R"("})";
  constexpr int kCommits = 300;
  constexpr int kEventsPerCommit = 5;  // ~5 pages per commit
  constexpr std::uintmax_t kPage = 4096;
  const std::uintmax_t bound = (64 * kSqliteWalBoundFactor + 2 * kEventsPerCommit + 8) * (kPage + 24) + 32;
  std::uintmax_t largest_log = 0;
  {
    auto store = open_or_fail(options);
    ASSERT_TRUE(store);
    WriteBatch first;
    first.add(WriteBatch::NewRoom{"r", "epoch-1"});
    commit_or_fail(*store, std::move(first));
    const std::uintmax_t empty_database = fs::file_size(options.path);
    std::int64_t seq = 0;
    bool grew_meanwhile = false;
    for (int commit = 0; commit < kCommits; ++commit) {
      WriteBatch batch;
      for (int i = 0; i < kEventsPerCommit; ++i) batch.add(WriteBatch::AppendEvent{"r", ++seq, event_json});
      commit_or_fail(*store, std::move(batch));
      largest_log = std::max(largest_log, fs::file_size(wal));
      grew_meanwhile = grew_meanwhile || fs::file_size(options.path) > empty_database + 64 * kPage;
    }
    EXPECT_LE(largest_log, bound) << "the log passed its bound";
    // The thread copies the log into the database file; it may still be at it after the last
    // commit, so wait for it (generous: a loaded machine), unless it already showed.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!grew_meanwhile && std::chrono::steady_clock::now() < deadline) {
      grew_meanwhile = fs::file_size(options.path) > empty_database + 64 * kPage;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(grew_meanwhile) << "no checkpoint reached the database file while the store was open";
  }
  EXPECT_FALSE(fs::exists(wal)) << "closed cleanly: the last connection checkpoints and removes the log";
  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  EXPECT_EQ(load(*store, "r").seq, kCommits * kEventsPerCommit);
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
  EXPECT_EQ(applied(*store, "s-1"), std::vector<std::string>{"req-1"});
}

// One more schema step (version 8), as a future build would append it.
std::vector<SchemaMigration> schema_with_v8(std::string_view step_sql) {
  std::vector<SchemaMigration> schema(sqlite_schema().begin(), sqlite_schema().end());
  schema.push_back({"test step", step_sql});
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
  const auto next = schema_with_v8("CREATE TABLE webhooks (id TEXT PRIMARY KEY, url TEXT NOT NULL)");
  {
    auto upgraded = SqliteStore::open(options, next);
    ASSERT_TRUE(upgraded.ok()) << upgraded.error().message;
    EXPECT_EQ(upgraded.value()->schema_version(), 8);
    EXPECT_EQ(load(*upgraded.value(), "r").nodes.size(), 2u);
  }
  // Opening again does not re-apply the step (CREATE TABLE would fail if it did).
  auto again = SqliteStore::open(options, next);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again.value()->schema_version(), 8);
}

TEST(sqlite_store_test, a_database_newer_than_the_build_is_refused) {
  TempDir dir;
  const SqliteOptions options = at(dir.file("tandem.db"));
  {
    auto newer = SqliteStore::open(options, schema_with_v8("CREATE TABLE future (x INTEGER)"));
    ASSERT_TRUE(newer.ok()) << newer.error().message;
  }
  auto refused = SqliteStore::open(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "internal");
  EXPECT_NE(refused.error().message.find(options.path), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("schema version 8, newer than this build knows (7)"), std::string::npos)
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
  auto failed = SqliteStore::open(options, schema_with_v8("CREATE TABLE half (x INTEGER); INSERT INTO half VALUES (1); "
                                                          "INSERT INTO no_such_table VALUES (1)"));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("migration to schema version 8 (test step)"), std::string::npos)
      << failed.error().message;
  EXPECT_NE(failed.error().message.find("no_such_table"), std::string::npos) << failed.error().message;

  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), 7);  // still the current version
  EXPECT_TRUE(load(*store, "r").exists);
  // "half" was rolled back too: the same step minus the failing statement now applies.
  auto fixed = SqliteStore::open(options, schema_with_v8("CREATE TABLE half (x INTEGER)"));
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_EQ(fixed.value()->schema_version(), 8);
}

// A database written by a build before v7 (one row per applied request) keeps every session's
// applied request ids, in order, and new ones follow them.
TEST(sqlite_store_test, a_v6_database_keeps_the_applied_request_ids_of_its_sessions) {
  TempDir dir;
  const SqliteOptions options = at(dir.file("tandem.db"));
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(options.path.c_str(), &db), SQLITE_OK);
    std::string sql;
    for (const SchemaMigration& step : sqlite_schema().first(6)) (sql += step.sql) += ";\n";
    sql += "PRAGMA user_version = 6;"
           "INSERT INTO sessions (id, user, last_used) SELECT column1, column2, unixepoch() * 1000 "
           "  FROM (VALUES ('s-1', 'ana'), ('s-2', 'ben'));"  // used now: not expired at open
           "INSERT INTO requests (session, request_id, answer_json) VALUES ('s-1', 'b', 'ack'), ('s-2', 'x', 'ack'),"
           " ('s-1', 'a', 'ack'), ('s-1', 'say \"hi\"', 'ack');";
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }
  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), 7);
  EXPECT_EQ(applied(*store, "s-1"), (std::vector<std::string>{"b", "a", "say \"hi\""}));
  EXPECT_EQ(applied(*store, "s-2"), std::vector<std::string>{"x"});
  WriteBatch next;
  next.add(WriteBatch::RememberRequest{"s-1", "c", "ack"});
  next.add(WriteBatch::RememberRequest{"s-1", "d", "ack"});
  commit_or_fail(*store, next);
  EXPECT_EQ(applied(*store, "s-1"), (std::vector<std::string>{"b", "a", "say \"hi\"", "c", "d"}));
}

// One row per session and commit: trimming deletes whole rows once the newer ones hold the
// bound, and a read keeps the newest ids up to it.
TEST(sqlite_store_test, applied_request_ids_are_kept_as_one_row_per_commit_and_trimmed_by_rows) {
  TempDir dir;
  SqliteOptions options = at(dir.file("tandem.db"));
  options.retention.requests_per_session = 4;
  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  WriteBatch first;
  first.add(WriteBatch::PutSession{StoredSession{"s-1", "ana"}});
  commit_or_fail(*store, first);
  int next_id = 0;
  for (int commit = 0; commit < 10; ++commit) {
    WriteBatch batch;
    for (int i = 0; i < 3; ++i) batch.add(WriteBatch::RememberRequest{"s-1", std::to_string(++next_id), "ack"});
    commit_or_fail(*store, batch);
  }
  EXPECT_EQ(applied(*store, "s-1"), (std::vector<std::string>{"27", "28", "29", "30"}));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options.path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* rows = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*), sum(count) FROM applied_requests", -1, &rows, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(rows), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(rows, 0), 2);  // the newest two rows hold 6 ids >= 4
  EXPECT_EQ(sqlite3_column_int(rows, 1), 6);
  sqlite3_finalize(rows);
  sqlite3_close(db);
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
