// server/src/store/sqlite_store.h — the embedded Store: one SQLite database file (WAL), the
// only code in the repo that talks SQLite (sqlite_store.cpp includes <sqlite3.h>; this header
// does not, so its users never see SQLite).
//
// Durability (../shared/DESIGN.md, principle 6): commit() returns once its transaction is in
// the write-ahead log. With Synchronous::Normal (the default) a committed transaction survives
// a crash of the process (kill -9) but the last few may be lost on power loss; Full also
// fsyncs the log on every commit, for power-loss safety at a lower commit rate. Measured with
// tandem-store-bench on the 2-core dev VM (ext4, loaded): Normal ~5.7k commits/s for one edit
// per commit and ~75-110k writes/s in batches of 100 edits; Full ~200-300 commits/s (an fsync
// costs ~4 ms), so group commit is what keeps Full usable.
//
// Schema: versioned by `PRAGMA user_version`. sqlite_schema() lists the migrations in order;
// open() applies the missing ones, each in its own transaction, and refuses a database whose
// version is newer than the code knows.
//
// Integrity rules the schema enforces (a write breaking one fails the whole commit):
//   - every per-room write (AppendEvent, PutNode, PutEdge, AddChange, AddChat) needs its room
//     stored first (NewRoom earlier in the same batch or in an earlier one); NewRoom for a room
//     already stored fails;
//   - an event seq, a change seq and a chat seq are unique per room;
//   - PutEdge needs both endpoints stored in the room; DeleteNode drops the edges touching it;
//   - RememberRequest needs its session stored (PutSession); forgetting a session forgets its
//     requests.
// Deleting something that is not stored (DeleteNode, DeleteEdge, ClearChat) is not an error.
//
// Single-threaded like the hub: one connection, used from one thread at a time. A file
// database also has a checkpoint thread with a connection of its own (SqliteOptions::
// checkpoint_pages), which only copies the committed log into the database file.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "store/store.h"
#include "tandem/clock.h"

namespace tandem::server::store {

namespace sqlite_detail {
struct Connection;  // the sqlite3 handle and its prepared statements (sqlite_store.cpp)
}

// When a commit reaches the disk (SQLite's `PRAGMA synchronous` in WAL mode).
enum class Synchronous {
  Normal,  // commits survive a process crash; the last ones may be lost on power loss
  Full,    // every commit is fsynced: survives power loss too, slower
};

// The wall clock of the store: Unix milliseconds. Sessions record when they were last used.
using WallClock = std::function<UnixMillis()>;
UnixMillis system_unix_millis();

// The write-ahead log's bound, in checkpoint intervals (SqliteOptions::checkpoint_pages):
// 8 × 1000 pages of 4 KiB, ~32 MB, by default.
inline constexpr int kSqliteWalBoundFactor = 8;

struct SqliteOptions {
  std::string path;  // the database file (its folder is created if missing); ":memory:" for tests
  Synchronous synchronous = Synchronous::Normal;
  Retention retention;
  // How long a write waits for another connection (another process) holding the write lock
  // before failing; the server is the only writer in normal operation.
  std::chrono::milliseconds busy_timeout{5000};
  // A file database's write-ahead log is checkpointed (copied into the database file) on a
  // thread and connection of the store's own every this many pages (4 KiB) it grows, so no
  // commit waits for a checkpoint's fsyncs; a commit finding the log kSqliteWalBoundFactor
  // times as long (the thread lagging behind) checkpoints it itself. 1000: SQLite's own
  // automatic checkpoint interval, which this replaces.
  int checkpoint_pages = 1000;
  WallClock wall_clock = system_unix_millis;  // tests inject a fixed time for session expiry
};

// One step of the schema: migration i brings a database from version i to version i + 1.
struct SchemaMigration {
  std::string_view description;  // named in the error when the step fails
  std::string_view sql;          // one or more statements, run in the step's transaction
};

// The migrations this build knows, oldest first (size() == the current schema version).
std::span<const SchemaMigration> sqlite_schema();

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database at options.path and brings its schema up to date;
  // deletes sessions unused for retention.session_days (and their remembered requests) — and
  // again about hourly, inside a commit, while the server runs.
  static Result<std::unique_ptr<SqliteStore>> open(const SqliteOptions& options);
  // The same with another migration list: for tests of the migration machinery.
  static Result<std::unique_ptr<SqliteStore>> open(const SqliteOptions& options,
                                                   std::span<const SchemaMigration> schema);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // read() is Store's: one call after another, each a local transaction (no network to save).
  Result<RoomRecord> load_room(const std::string& room) override;
  Result<std::vector<StoredChange>> changes(const std::string& room, std::int64_t before_seq,
                                            std::size_t limit) override;
  // The session row and its request ids, read in one transaction.
  Result<std::optional<SessionRecord>> find_session(const std::string& id) override;
  Result<std::int64_t> fence_high_water() override;
  // The claim (WRITERS in store.h) and the log, in one write transaction, as load_room.
  Result<YDocRecord> load_ydoc(const std::string& doc) override;
  Result<Done> commit(const WriteBatch& batch) override;
  Result<Done> export_batches(std::size_t writes_per_batch, const BatchSink& sink) override;
  Result<std::vector<WebhookDeadLetter>> webhook_dead_letters(std::size_t limit) override;
  Result<std::vector<std::string>> webhook_rooms_behind() override;

  int schema_version() const;  // the database's user_version after open's migrations
  const std::string& path() const;

 private:
  explicit SqliteStore(std::unique_ptr<sqlite_detail::Connection> connection);

  std::unique_ptr<sqlite_detail::Connection> connection_;
};

}  // namespace tandem::server::store
