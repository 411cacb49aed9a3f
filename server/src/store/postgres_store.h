// server/src/store/postgres_store.h — the PostgreSQL Store: what one process keeps in a database
// that every instance reaches (--store postgres --store-url postgres://...). The only code in
// the repo that talks to PostgreSQL: postgres_store.cpp is the one file that includes
// libpq-fe.h; this header does not, so its users never see libpq.
//
// Behaves as the SQLite store does (store.h, sqlite_store.h; the same conformance tests run on
// both): the same integrity rules, the same retention, the same answers.
//
// Round trips. Every call is one network round trip: a read's statements and a commit's whole
// transaction (BEGIN, every write, the trims, COMMIT) go out together in libpq's pipeline mode
// and their results are read back together. read() answers every read of a ReadRequest (rooms,
// sessions, change pages) in that one round trip too; an empty request makes none. The hub
// makes one of the two per loop pass (hub.h "Store reads"): commit() with the pass's writes
// (group commit), or read() with the reads its input waits for — so a pass waits on the
// network for one round trip at most. (A second one only after a commit whose answer was
// lost, to learn whether it made it: see Failure.) A read on a connection the server cut
// while it was idle is made once more on a new connection.
// Nothing waits longer than `timeout`: a call whose answer has not come by then fails (and the
// connection is dropped, to be made again by the next call).
//
// Failure. A failed call returns an error and changes nothing (a transaction is all or
// nothing). The connection is re-made by the next call when it was lost. One failure is
// ambiguous: the connection lost after COMMIT was sent, before its answer. The store records,
// in the same transaction, "this process's batch N is in" (table writer_batches); after such a
// failure the next commit first asks whether batch N made it. The hub retries a failed commit
// as the same WriteBatch (the same id, its writes first, perhaps more appended: store.h), so
// when batch N did make it, those writes are skipped rather than applied twice — in that batch
// only: a batch with another id (the hub dropped the failed one) is written whole.
//
// Schema: versioned in table tandem_schema; open() applies the missing migrations, each in its
// own transaction under an advisory lock (several instances starting at once migrate once), and
// refuses a database whose version is newer than the code knows.
//
// Single-threaded like the hub: one connection, used from one thread.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>

#include "store/sqlite_store.h"  // SchemaMigration, WallClock, system_unix_millis
#include "store/store.h"

namespace tandem::server::store {

namespace postgres_detail {
struct Connection;  // the PGconn and what the store knows about it (postgres_store.cpp)
}

struct PostgresOptions {
  // A libpq connection URI or key=value string: postgres://user:password@host:5432/db.
  std::string url;
  Retention retention;
  // The longest any call waits for the database (connecting, a read, a commit).
  std::chrono::milliseconds timeout{5000};
  WallClock wall_clock = system_unix_millis;  // tests inject a fixed time for session expiry
};

// The migrations this build knows, oldest first (size() == the current schema version).
std::span<const SchemaMigration> postgres_schema();

// The URL with its password replaced by "***", for logs and error messages.
std::string redact_postgres_url(const std::string& url);

class PostgresStore final : public Store {
 public:
  // Connects, brings the schema up to date and forgets sessions unused for
  // retention.session_days. Fails with a message that says what is wrong (unreachable,
  // authentication, a newer schema) and never leaves a half-opened store.
  static Result<std::unique_ptr<PostgresStore>> open(const PostgresOptions& options);
  // The same with another migration list: for tests of the migration machinery.
  static Result<std::unique_ptr<PostgresStore>> open(const PostgresOptions& options,
                                                     std::span<const SchemaMigration> schema);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // One transaction, one round trip, for the whole request: each room's claim and rows, each
  // session with its request ids, each change page, each Yjs document's claim and log (rooms,
  // then documents, claimed in byte order, so instances loading the same ones cannot deadlock;
  // one named twice is read once and answered twice). One transaction: when it fails, every
  // answer carries its error.
  ReadAnswers read(const ReadRequest& request) override;
  // Each is read() of one (one round trip).
  Result<RoomRecord> load_room(const std::string& room) override;
  Result<std::vector<StoredChange>> changes(const std::string& room, std::int64_t before_seq,
                                            std::size_t limit) override;
  Result<std::optional<SessionRecord>> find_session(const std::string& id) override;
  Result<std::int64_t> fence_high_water() override;
  Result<YDocRecord> load_ydoc(const std::string& doc) override;
  Result<Done> commit(const WriteBatch& batch) override;
  // Reads each table whole (one snapshot, one round trip), so it holds the store in memory
  // once while exporting: fine for stores of the size retention keeps them at.
  Result<Done> export_batches(std::size_t writes_per_batch, const BatchSink& sink) override;
  Result<std::vector<WebhookDeadLetter>> webhook_dead_letters(std::size_t limit) override;
  Result<std::vector<std::string>> webhook_rooms_behind() override;

  int schema_version() const;

  // For tests and tools (tandem-server migrate, tandem-store-bench): runs `sql` (no parameters,
  // no rows wanted) on a short-lived connection to `url`, e.g. CREATE DATABASE on the server's
  // maintenance database. Fails with the server's message.
  static Result<Done> run_admin_sql(const std::string& url, const std::string& sql,
                                    std::chrono::milliseconds timeout = std::chrono::milliseconds{10000});

 private:
  explicit PostgresStore(std::unique_ptr<postgres_detail::Connection> connection);

  std::unique_ptr<postgres_detail::Connection> connection_;
};

}  // namespace tandem::server::store
