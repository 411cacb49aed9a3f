// server/src/store/sqlite_store.cpp — the SQLite Store (see sqlite_store.h): schema and
// migrations, the cached statements, commit() as one IMMEDIATE transaction with trimming, and
// the reads. The only file in the repo that includes <sqlite3.h>.
//
// Every SQL text is a constant below; values are always bound, never spliced into SQL. Each
// statement is prepared once at open and reset after each use (Query).
#include "store/sqlite_store.h"

#include "store/batch_chunker.h"
#include "store/stored_rows.h"
#include "log.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include "tandem/json.h"
#include "tandem/protocol/errors.h"

namespace tandem::server::store {

namespace {

constexpr std::string_view kInMemory = ":memory:";
constexpr std::int64_t kMillisPerDay = 24LL * 60 * 60 * 1000;
// How often a running server forgets sessions unused for retention.session_days (besides at
// start-up): inside a commit that happens anyway, at most once per this interval.
constexpr std::int64_t kSessionExpiryIntervalMs = 60LL * 60 * 1000;

// ---- schema -------------------------------------------------------------------------------
// Never edit a shipped migration: append a new one (databases in the field are at its version).

constexpr std::string_view kInitialSchema = R"sql(
CREATE TABLE rooms (
  room  TEXT PRIMARY KEY,
  epoch TEXT NOT NULL,
  seq   INTEGER NOT NULL DEFAULT 0          -- the last event's seq
);
-- The recent event log of each room, trimmed to Retention::history on append.
CREATE TABLE events (
  room TEXT NOT NULL REFERENCES rooms(room),
  seq  INTEGER NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (room, seq)
) WITHOUT ROWID;
-- Workflow documents. ord (the rowid) keeps insertion order: an upsert keeps the row.
CREATE TABLE nodes (
  ord    INTEGER PRIMARY KEY,
  room   TEXT NOT NULL REFERENCES rooms(room),
  id     TEXT NOT NULL,
  type   TEXT NOT NULL,
  label  TEXT NOT NULL,
  x      REAL NOT NULL,
  y      REAL NOT NULL,
  status TEXT NOT NULL,
  data   TEXT NOT NULL,
  UNIQUE (room, id)
);
CREATE INDEX nodes_in_order ON nodes (room, ord);
-- Deleting a node deletes the edges touching it (ON DELETE CASCADE).
CREATE TABLE edges (
  ord       INTEGER PRIMARY KEY,
  room      TEXT NOT NULL,
  id        TEXT NOT NULL,
  from_node TEXT NOT NULL,
  to_node   TEXT NOT NULL,
  UNIQUE (room, id),
  FOREIGN KEY (room, from_node) REFERENCES nodes (room, id) ON DELETE CASCADE,
  FOREIGN KEY (room, to_node) REFERENCES nodes (room, id) ON DELETE CASCADE
);
CREATE INDEX edges_in_order ON edges (room, ord);
CREATE INDEX edges_by_from ON edges (room, from_node);
CREATE INDEX edges_by_to ON edges (room, to_node);
-- The change history of documents: kept in full (it is the document's history).
CREATE TABLE changes (
  room TEXT NOT NULL REFERENCES rooms(room),
  seq  INTEGER NOT NULL,
  user TEXT NOT NULL,
  ts   INTEGER NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (room, seq)
) WITHOUT ROWID;
-- Chat, trimmed to Retention::chat on append.
CREATE TABLE chat (
  room  TEXT NOT NULL REFERENCES rooms(room),
  seq   INTEGER NOT NULL,
  user  TEXT NOT NULL,
  name  TEXT NOT NULL,
  color TEXT NOT NULL,
  text  TEXT NOT NULL,
  ts    INTEGER NOT NULL,
  PRIMARY KEY (room, seq)
) WITHOUT ROWID;
-- The lock fence high-water mark: one row, only grows.
CREATE TABLE fence (
  only_row   INTEGER PRIMARY KEY CHECK (only_row = 1),
  high_water INTEGER NOT NULL
);
INSERT INTO fence (only_row, high_water) VALUES (1, 0);
CREATE TABLE sessions (
  id        TEXT PRIMARY KEY,
  user      TEXT NOT NULL,
  last_used INTEGER NOT NULL               -- Unix ms
);
CREATE INDEX sessions_by_last_used ON sessions (last_used);
-- Applied request ids per session (exactly-once resends), trimmed to
-- Retention::requests_per_session; ord (the rowid) orders them for trimming.
CREATE TABLE requests (
  ord         INTEGER PRIMARY KEY,
  session     TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  request_id  TEXT NOT NULL,
  answer_json TEXT NOT NULL,
  UNIQUE (session, request_id)
);
CREATE INDEX requests_in_order ON requests (session, ord);
)sql";

// v2: the locks held in each room, so a restarted server can release them in the room log.
constexpr std::string_view kHeldLocks = R"sql(
CREATE TABLE locks (
  room       TEXT NOT NULL REFERENCES rooms(room),
  resource   TEXT NOT NULL,
  user       TEXT NOT NULL,
  name       TEXT NOT NULL,
  color      TEXT NOT NULL,
  fence      INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,             -- Unix ms
  PRIMARY KEY (room, resource)
) WITHOUT ROWID;
)sql";

// v3: writer claims. Loading a room raises its writer generation; every commit checks, for each
// room it writes, that the generation is still the one its store claimed. A write for a room
// another writer has claimed since inserts a row into writer_fence, which its CHECK refuses:
// the whole commit fails with the constraint's name in the message.
constexpr std::string_view kWriterClaims = R"sql(
ALTER TABLE rooms ADD COLUMN writer_gen INTEGER NOT NULL DEFAULT 0;
CREATE TABLE writer_fence (
  room TEXT CONSTRAINT room_claimed_by_another_writer CHECK (room IS NULL)
);
)sql";

// v4: the update logs of Yjs documents (ydocs/): each entry a Yjs update as bytes.
constexpr std::string_view kYDocUpdates = R"sql(
CREATE TABLE ydoc_updates (
  doc  TEXT NOT NULL,
  seq  INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (doc, seq)
) WITHOUT ROWID;
)sql";

// v5: writer claims for Yjs documents, as v3 for rooms: a document moves between server
// processes too, and one that lost it must never append to or drop from its log again. A
// document has no row of its own to carry the generation (its log may be empty), so its
// generation has a table of its own; loading the document creates or raises it, and a commit
// writing the document checks it through writer_fence as for rooms.
constexpr std::string_view kYDocWriters = R"sql(
CREATE TABLE ydoc_writers (
  doc        TEXT PRIMARY KEY,
  writer_gen INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// v6: webhooks (webhooks/outbox.h). The seq each endpoint acknowledged per room (the events
// past it are not trimmed, up to Retention::webhook_max_backlog), and the batches given up.
constexpr std::string_view kWebhooks = R"sql(
CREATE TABLE webhook_cursors (
  room     TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  seq      INTEGER NOT NULL,
  PRIMARY KEY (room, endpoint)
) WITHOUT ROWID;
CREATE TABLE webhook_dead_letters (
  id        INTEGER PRIMARY KEY,
  endpoint  TEXT NOT NULL,
  room      TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq  INTEGER NOT NULL,
  status    INTEGER NOT NULL,
  error     TEXT NOT NULL,
  ts        INTEGER NOT NULL               -- Unix ms
);
)sql";

// v7: the request ids a commit applied, one row per session and commit rather than one per
// request. tandem-bench edits commits ~300 edits of 10 sessions at a time: one row per request
// was 300 rows and 600 index entries at scattered places of a (session, request_id) index —
// about half of every commit's time. Now it is 10 rows, each appended at the end of its
// session's range; `ids` and `answers` are JSON arrays in applied order (count = their length).
// Reads and trims count ids across a session's newest rows; nothing relied on the old unique
// (session, request_id) index (the hub never remembers an id it has not just applied).
constexpr std::string_view kAppliedRequestsPerCommit = R"sql(
CREATE TABLE applied_requests (
  session TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  ord     INTEGER NOT NULL,                -- the session's rows in order, from 1
  count   INTEGER NOT NULL,
  ids     TEXT NOT NULL,                   -- JSON array of request ids
  answers TEXT NOT NULL,                   -- JSON array of their answers, in the same order
  PRIMARY KEY (session, ord)
) WITHOUT ROWID;
INSERT INTO applied_requests (session, ord, count, ids, answers)
  SELECT session, row_number() OVER (PARTITION BY session ORDER BY ord), 1, json_array(request_id),
         json_array(answer_json)
  FROM requests;
DROP TABLE requests;
)sql";

constexpr std::array<SchemaMigration, 7> kSchema{{
    {"initial schema", kInitialSchema},
    {"held locks", kHeldLocks},
    {"writer claims", kWriterClaims},
    {"yjs documents", kYDocUpdates},
    {"yjs document writer claims", kYDocWriters},
    {"webhooks", kWebhooks},
    {"applied requests per commit", kAppliedRequestsPerCommit},
}};

// ---- statements ---------------------------------------------------------------------------

enum class Sql : std::size_t {
  BeginRead, BeginWrite, Commit,
  InsertRoom, ClaimRoom, CheckClaim, InsertEvent, AdvanceRoomSeq, TrimEvents,
  UpsertNode, DeleteNode, UpsertEdge, DeleteEdge, InsertChange,
  InsertChat, ClearChat, TrimChat,
  RaiseFence, UpsertSession, RememberRequests, TouchSession, TrimRequests, ExpireSessions,
  SelectRoom, SelectEvents, SelectNodes, SelectEdges, SelectChat, SelectChanges,
  SelectSession, SelectAppliedRequests, SelectFence,
  UpsertLock, DeleteLock, SelectLocks,
  InsertYUpdate, DropYUpdates, SelectYUpdates, ClaimYDoc, CheckYDocClaim,
  ExportRooms, ExportEvents, ExportNodes, ExportEdges, ExportChanges, ExportChat, ExportLocks, ExportSessions,
  ExportRequests, ExportYUpdates,
  StartWebhookCursor, AdvanceWebhookCursor, InsertWebhookDeadLetter, TrimHookedEvents, SelectWebhookCursors,
  SelectWebhookBacklog, SelectWebhookDeadLetters, SelectWebhookRoomsBehind,
  Count,
};
constexpr std::size_t kStatementCount = static_cast<std::size_t>(Sql::Count);

constexpr std::string_view sql_text(Sql which) {
  switch (which) {
    case Sql::BeginRead: return "BEGIN";
    // IMMEDIATE takes the write lock up front, so a busy database fails (after busy_timeout)
    // at BEGIN, never half-way through a batch.
    case Sql::BeginWrite: return "BEGIN IMMEDIATE";
    case Sql::Commit: return "COMMIT";
    case Sql::InsertRoom: return "INSERT INTO rooms (room, epoch, seq, writer_gen) VALUES (?1, ?2, 0, 1)";
    case Sql::ClaimRoom: return "UPDATE rooms SET writer_gen = writer_gen + 1 WHERE room = ?1";
    case Sql::CheckClaim:
      return "INSERT INTO writer_fence (room) SELECT ?1 WHERE NOT EXISTS "
             "(SELECT 1 FROM rooms WHERE room = ?1 AND writer_gen = ?2)";
    case Sql::InsertEvent: return "INSERT INTO events (room, seq, json) VALUES (?1, ?2, ?3)";
    case Sql::AdvanceRoomSeq: return "UPDATE rooms SET seq = max(seq, ?2) WHERE room = ?1";
    // Keeps the newest ?2 rows: deletes the (?2+1)-th newest and everything older.
    case Sql::TrimEvents:
      return "DELETE FROM events WHERE room = ?1 AND seq <= "
             "(SELECT seq FROM events WHERE room = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)";
    // An upsert, not INSERT OR REPLACE: REPLACE deletes the row, which would lose its
    // insertion order and cascade to its edges.
    case Sql::UpsertNode:
      return "INSERT INTO nodes (room, id, type, label, x, y, status, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
             "ON CONFLICT (room, id) DO UPDATE SET type = excluded.type, label = excluded.label, x = excluded.x, "
             "y = excluded.y, status = excluded.status, data = excluded.data";
    case Sql::DeleteNode: return "DELETE FROM nodes WHERE room = ?1 AND id = ?2";
    case Sql::UpsertEdge:
      return "INSERT INTO edges (room, id, from_node, to_node) VALUES (?1, ?2, ?3, ?4) "
             "ON CONFLICT (room, id) DO UPDATE SET from_node = excluded.from_node, to_node = excluded.to_node";
    case Sql::DeleteEdge: return "DELETE FROM edges WHERE room = ?1 AND id = ?2";
    case Sql::InsertChange:
      return "INSERT INTO changes (room, seq, user, ts, json) VALUES (?1, ?2, ?3, ?4, ?5)";
    case Sql::InsertChat:
      return "INSERT INTO chat (room, seq, user, name, color, text, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    case Sql::ClearChat: return "DELETE FROM chat WHERE room = ?1";
    case Sql::TrimChat:
      return "DELETE FROM chat WHERE room = ?1 AND seq <= "
             "(SELECT seq FROM chat WHERE room = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)";
    case Sql::RaiseFence: return "UPDATE fence SET high_water = max(high_water, ?1) WHERE only_row = 1";
    case Sql::UpsertSession:
      return "INSERT INTO sessions (id, user, last_used) VALUES (?1, ?2, ?3) "
             "ON CONFLICT (id) DO UPDATE SET user = excluded.user, last_used = excluded.last_used";
    // The ids one commit applied for one session: a row after the session's last.
    case Sql::RememberRequests:
      return "INSERT INTO applied_requests (session, ord, count, ids, answers) VALUES (?1, "
             "(SELECT coalesce(max(ord), 0) + 1 FROM applied_requests WHERE session = ?1), ?2, ?3, ?4)";
    case Sql::TouchSession: return "UPDATE sessions SET last_used = max(last_used, ?2) WHERE id = ?1";
    // Keeps the newest rows that hold ?2 ids between them: deletes every row older than the
    // one where the count from the newest reaches ?2.
    case Sql::TrimRequests:
      return "DELETE FROM applied_requests WHERE session = ?1 AND ord < "
             "(SELECT ord FROM (SELECT ord, sum(count) OVER (ORDER BY ord DESC) AS newer FROM applied_requests "
             "WHERE session = ?1) WHERE newer >= ?2 ORDER BY ord DESC LIMIT 1)";
    case Sql::ExpireSessions: return "DELETE FROM sessions WHERE last_used < ?1";
    case Sql::SelectRoom: return "SELECT epoch, seq, writer_gen FROM rooms WHERE room = ?1";
    // The limit applies on read too: a smaller retention than when the rows were written.
    case Sql::SelectEvents:
      return "SELECT seq, json FROM (SELECT seq, json FROM events WHERE room = ?1 ORDER BY seq DESC LIMIT ?2) "
             "ORDER BY seq";
    case Sql::SelectNodes:
      return "SELECT id, type, label, x, y, status, data FROM nodes WHERE room = ?1 ORDER BY ord";
    case Sql::SelectEdges: return "SELECT id, from_node, to_node FROM edges WHERE room = ?1 ORDER BY ord";
    case Sql::SelectChat:
      return "SELECT user, name, color, text, seq, ts FROM (SELECT * FROM chat WHERE room = ?1 "
             "ORDER BY seq DESC LIMIT ?2) ORDER BY seq";
    case Sql::SelectChanges:
      return "SELECT seq, user, ts, json FROM changes WHERE room = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3";
    case Sql::SelectSession: return "SELECT user FROM sessions WHERE id = ?1";
    // Oldest first, from the newest ?2 rows (each holds at least one id): the reader keeps the
    // last ?2 ids, so the bound applies on read too, as for events.
    case Sql::SelectAppliedRequests:
      return "SELECT id.value FROM (SELECT ord, ids FROM applied_requests WHERE session = ?1 ORDER BY ord DESC "
             "LIMIT ?2) AS batch, json_each(batch.ids) AS id ORDER BY batch.ord, id.key";
    case Sql::SelectFence: return "SELECT high_water FROM fence WHERE only_row = 1";
    case Sql::UpsertLock:
      return "INSERT INTO locks (room, resource, user, name, color, fence, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
             "ON CONFLICT (room, resource) DO UPDATE SET user = excluded.user, name = excluded.name, "
             "color = excluded.color, fence = excluded.fence, expires_at = excluded.expires_at";
    case Sql::DeleteLock: return "DELETE FROM locks WHERE room = ?1 AND resource = ?2";
    case Sql::SelectLocks:
      return "SELECT resource, user, name, color, fence, expires_at FROM locks WHERE room = ?1 ORDER BY resource";
    case Sql::InsertYUpdate: return "INSERT INTO ydoc_updates (doc, seq, data) VALUES (?1, ?2, ?3)";
    case Sql::DropYUpdates: return "DELETE FROM ydoc_updates WHERE doc = ?1 AND seq <= ?2";
    case Sql::SelectYUpdates: return "SELECT seq, data FROM ydoc_updates WHERE doc = ?1 ORDER BY seq";
    // The generation this load claims the document at: 1 for a document never claimed.
    case Sql::ClaimYDoc:
      return "INSERT INTO ydoc_writers (doc, writer_gen) VALUES (?1, 1) "
             "ON CONFLICT (doc) DO UPDATE SET writer_gen = ydoc_writers.writer_gen + 1 RETURNING writer_gen";
    // As CheckClaim; the refused row names the document as claimed_name (store.h) does.
    case Sql::CheckYDocClaim:
      return "INSERT INTO writer_fence (room) SELECT 'doc:' || ?1 WHERE NOT EXISTS "
             "(SELECT 1 FROM ydoc_writers WHERE doc = ?1 AND writer_gen = ?2)";
    // Whole tables, columns as stored_rows.h's ExportTable lists them.
    case Sql::ExportRooms: return "SELECT room, epoch FROM rooms ORDER BY room";
    case Sql::ExportEvents: return "SELECT room, seq, json FROM events ORDER BY room, seq";
    case Sql::ExportNodes: return "SELECT room, id, type, label, x, y, status, data FROM nodes ORDER BY ord";
    case Sql::ExportEdges: return "SELECT room, id, from_node, to_node FROM edges ORDER BY ord";
    case Sql::ExportChanges: return "SELECT room, seq, user, ts, json FROM changes ORDER BY room, seq";
    case Sql::ExportChat: return "SELECT room, user, name, color, text, seq, ts FROM chat ORDER BY room, seq";
    case Sql::ExportLocks:
      return "SELECT room, resource, user, name, color, fence, expires_at FROM locks ORDER BY room, resource";
    case Sql::ExportSessions: return "SELECT id, user FROM sessions ORDER BY id";
    case Sql::ExportRequests:
      return "SELECT a.session, id.value, json_extract(a.answers, '$[' || id.key || ']') "
             "FROM applied_requests AS a, json_each(a.ids) AS id ORDER BY a.session, a.ord, id.key";
    case Sql::ExportYUpdates: return "SELECT doc, seq, data FROM ydoc_updates ORDER BY doc, seq";
    // An endpoint's cursor starts just before the first event stored after it follows the room.
    case Sql::StartWebhookCursor:
      return "INSERT INTO webhook_cursors (room, endpoint, seq) VALUES (?1, ?2, ?3) ON CONFLICT (room, endpoint) DO NOTHING";
    case Sql::AdvanceWebhookCursor:
      return "INSERT INTO webhook_cursors (room, endpoint, seq) VALUES (?1, ?2, ?3) "
             "ON CONFLICT (room, endpoint) DO UPDATE SET seq = max(seq, excluded.seq)";
    case Sql::InsertWebhookDeadLetter:
      return "INSERT INTO webhook_dead_letters (endpoint, room, first_seq, last_seq, status, error, ts) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    // TrimEvents for a room webhook endpoints follow (?4: their names, a JSON array): keeps the
    // newest ?2 events (h: the newest one past them) and those past the lowest cursor (c), but
    // never more than the newest ?3 (b: the newest one past them).
    case Sql::TrimHookedEvents:
      return "DELETE FROM events WHERE room = ?1 AND seq <= (SELECT CASE WHEN h IS NULL THEN NULL "
             "WHEN c IS NULL OR c >= h THEN h WHEN b IS NOT NULL AND b > c THEN b ELSE c END FROM (SELECT "
             "(SELECT seq FROM events WHERE room = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2) AS h, "
             "(SELECT min(seq) FROM webhook_cursors WHERE room = ?1 AND endpoint IN (SELECT value FROM json_each(?4))) AS c, "
             "(SELECT seq FROM events WHERE room = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?3) AS b))";
    case Sql::SelectWebhookCursors:
      return "SELECT endpoint, seq FROM webhook_cursors WHERE room = ?1 AND endpoint IN (SELECT value FROM json_each(?2)) "
             "ORDER BY endpoint";
    // The newest ?3 past the cursor (trimming runs every few appends, so a few more may be stored).
    case Sql::SelectWebhookBacklog:
      return "SELECT seq, json FROM (SELECT seq, json FROM events WHERE room = ?1 AND seq > ?2 ORDER BY seq DESC "
             "LIMIT ?3) ORDER BY seq";
    case Sql::SelectWebhookRoomsBehind:
      return "SELECT DISTINCT c.room, c.endpoint FROM webhook_cursors c JOIN rooms r ON r.room = c.room "
             "WHERE c.seq < r.seq ORDER BY c.room";
    case Sql::SelectWebhookDeadLetters:
      return "SELECT endpoint, room, first_seq, last_seq, status, error, ts FROM webhook_dead_letters ORDER BY id DESC "
             "LIMIT ?1";
    case Sql::Count: break;
  }
  return "";
}

// The names of WriteBatch::Write's alternatives, in order, for error messages.
constexpr std::array<std::string_view, std::variant_size_v<WriteBatch::Write>> kWriteNames{
    "NewRoom", "AppendEvent", "PutNode", "DeleteNode", "PutEdge", "DeleteEdge",
    "AddChange", "AddChat", "ClearChat", "RaiseFence", "PutSession", "RememberRequest", "PutLock", "DropLock",
    "AppendYUpdate", "DropYUpdates", "AdvanceWebhookCursor", "AddWebhookDeadLetter"};

// SQLite integers are signed 64-bit; a count above that means "no bound".
std::int64_t to_sql_count(std::size_t count) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(count, kMax));
}

// Webhook endpoint names as a JSON array for json_each (names are [A-Za-z0-9_-]: nothing to escape).
std::string json_names(const std::vector<std::string>& names) {
  std::string json = "[";
  for (const std::string& name : names) {
    if (json.size() > 1) json += ',';
    json += '"';
    json += name;
    json += '"';
  }
  return json + "]";
}

std::vector<std::string> webhook_endpoints_of(const Retention& retention, std::string_view room) {
  if (!retention.webhook_endpoints) return {};
  return retention.webhook_endpoints(room);
}

template <class... Ts>
struct Overloaded : Ts... { using Ts::operator()...; };
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

UnixMillis system_unix_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::span<const SchemaMigration> sqlite_schema() { return kSchema; }

// ---- the connection -----------------------------------------------------------------------

namespace sqlite_detail {

// Checkpoints the write-ahead log on a thread and a connection of its own. SQLite's automatic
// checkpoint runs inside the commit that finds the log past 1000 pages, and with it the
// checkpoint's fsyncs: in tandem-bench edits one commit in ~30 took 15 – 20 ms instead of ~4,
// and the writes behind it waited (~25 % of the throughput). Here the committing connection's
// WAL hook only wakes this thread, whose PASSIVE checkpoint copies the log into the database
// while commits go on (WAL lets a checkpoint run beside a writer); the next commit after a
// complete one starts the log over. If the log still reaches kWalBoundFactor × the checkpoint
// interval (this thread lagging behind, or never finding a moment between two commits), the
// commit checkpoints it itself as SQLite would, so the log stays bounded.
class Checkpointer {
 public:
  // Takes `db`, a second connection to the database (closed by the destructor); a checkpoint
  // every `pages` pages the log grows (SqliteOptions::checkpoint_pages).
  Checkpointer(sqlite3* db, int pages)
      : db_(db), pages_(pages), bound_(pages * kSqliteWalBoundFactor), next_wake_at_(pages), thread_([this] { run(); }) {}
  ~Checkpointer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    sqlite3_close_v2(db_);
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // sqlite3_wal_hook: after every commit of the writing connection, on its thread.
  // A checkpoint is asked for every kCheckpointPages the log grows (not after every commit:
  // a page written again and again is copied once per checkpoint).
  static int wal_grew(void* self, sqlite3* writer, const char* /*schema*/, int pages) {
    auto* checkpointer = static_cast<Checkpointer*>(self);
    if (pages >= checkpointer->bound_) {
      // After the thread's checkpoint under way, if any (SQLite refuses a second one at once).
      // With every frame copied, the next commit starts the log over.
      std::lock_guard checkpointing(checkpointer->checkpointing_);
      sqlite3_wal_checkpoint_v2(writer, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      return SQLITE_OK;
    }
    int& next = checkpointer->next_wake_at_;
    if (pages < next - checkpointer->pages_) next = checkpointer->pages_;  // the log started over
    if (pages < next) return SQLITE_OK;
    next = pages + checkpointer->pages_;
    {
      std::lock_guard lock(checkpointer->mutex_);
      checkpointer->wanted_ = true;
    }
    checkpointer->wake_.notify_one();
    return SQLITE_OK;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return wanted_ || stopping_; });
      if (stopping_) return;
      wanted_ = false;
      lock.unlock();
      {
        // An error leaves the log to the next checkpoint; nothing is lost either way.
        std::lock_guard checkpointing(checkpointing_);
        sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
      lock.lock();
    }
  }

  sqlite3* db_;
  const int pages_;
  const int bound_;
  int next_wake_at_;  // log pages; the writer's thread only (wal_grew)
  std::mutex checkpointing_;  // held by whoever checkpoints: this thread, or a commit at the bound
  std::mutex mutex_;
  std::condition_variable wake_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest exists
};
struct Connection {
  sqlite3* db = nullptr;
  std::string path;
  Retention retention;
  WallClock wall_clock;
  int schema_version = 0;
  std::array<sqlite3_stmt*, kStatementCount> statements{};
  UnixMillis sessions_expired_at = 0;  // wall time of the last session expiry
  std::map<std::string, std::int64_t, std::less<>> claims;  // room -> writer generation this store holds
  // Yjs document -> writer generation this store holds: apart from `claims`, as a room may be
  // named like a document.
  std::map<std::string, std::int64_t, std::less<>> ydoc_claims;
  // Rows appended since their key was last trimmed ("e" events / "c" chat of a room, "r"
  // requests of a session): trimming scans `retention` index entries, so it runs once per
  // retention/8 appends rather than once per commit. Reads apply the bound themselves, so the
  // few rows over it are never seen. Lost on restart or when it grows past kMaxTrimKeys
  // (then trimming merely comes later).
  std::unordered_map<std::string, std::size_t> untrimmed;
  std::unique_ptr<Checkpointer> checkpointer;  // file databases; null: SQLite's own checkpoints

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    checkpointer.reset();  // first: the last connection to close checkpoints and removes the log
    for (sqlite3_stmt* statement : statements) sqlite3_finalize(statement);
    sqlite3_close_v2(db);
  }

  // Error "internal" naming the path, what failed and SQLite's latest message.
  Error failure(std::string_view what) const {
    return failure(what, db != nullptr ? sqlite3_errmsg(db) : "out of memory");
  }
  Error failure(std::string_view what, std::string_view detail) const {
    std::string message = "sqlite store ";
    message += path;
    message += ": ";
    message += what;
    if (!detail.empty()) {
      message += ": ";
      message += detail;
    }
    return Error{std::string(protocol::errc::internal), std::move(message)};
  }

  sqlite3_stmt* statement(Sql which) const { return statements[static_cast<std::size_t>(which)]; }
};
}  // namespace sqlite_detail

namespace {

using sqlite_detail::Connection;

// Bytes bound as a BLOB (bind(std::string_view) binds TEXT).
struct Blob {
  std::string_view bytes;
};

// One use of a cached statement: bind in order, step, read columns; reset on scope exit so
// the statement is ready (and holds no read lock) for the next use.
class Query {
 public:
  // Copied: SQLite copies bound text and blobs. KeptValues: it does not, as the caller keeps
  // them alive until this Query is gone (execute(): its arguments).
  enum class Binding { Copied, KeptValues };
  Query(const Connection& connection, Sql which, Binding binding = Binding::Copied)
      : statement_(connection.statement(which)),
        lifetime_(binding == Binding::Copied ? SQLITE_TRANSIENT : SQLITE_STATIC) {}
  ~Query() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(std::string_view text) {
    return check_bind(sqlite3_bind_text64(statement_, next_index(), text.data(), text.size(), lifetime_, SQLITE_UTF8));
  }
  Query& bind(Blob blob) {
    return check_bind(sqlite3_bind_blob64(statement_, next_index(), blob.bytes.data(), blob.bytes.size(), lifetime_));
  }
  Query& bind(std::int64_t number) { return check_bind(sqlite3_bind_int64(statement_, next_index(), number)); }
  Query& bind(double number) { return check_bind(sqlite3_bind_double(statement_, next_index(), number)); }

  template <class... Values>
  Query& bind_all(const Values&... values) {
    (bind(values), ...);
    return *this;
  }

  enum class Step { Row, Done, Failed };
  Step step() {
    if (bind_failed_) return Step::Failed;
    const int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return Step::Row;
    if (rc == SQLITE_DONE) return Step::Done;
    return Step::Failed;
  }
  // Steps to the end (a statement without rows).
  // Steps to the end; false when a step failed (sqlite3_errmsg says why until the reset).
  bool finish() {
    Step outcome = step();
    while (outcome == Step::Row) outcome = step();
    return outcome != Step::Failed;
  }

  std::string text(int column) const {
    const auto* bytes = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    if (bytes == nullptr) return {};
    return std::string(bytes, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
  }
  std::string bytes(int column) const {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(statement_, column));
    if (data == nullptr) return {};
    return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
  }
  std::int64_t int64(int column) const { return sqlite3_column_int64(statement_, column); }
  double real(int column) const { return sqlite3_column_double(statement_, column); }

 private:
  int next_index() { return ++bound_; }
  Query& check_bind(int rc) {
    if (rc != SQLITE_OK) bind_failed_ = true;
    return *this;
  }

  sqlite3_stmt* statement_;
  sqlite3_destructor_type lifetime_;
  int bound_ = 0;
  bool bind_failed_ = false;
};

// What a statement was for, put into words only when it fails: "PutNode room node".
struct Named {
  std::string_view what, name = {}, detail = {};
  std::string text() const {
    std::string text(what);
    for (std::string_view part : {name, detail})
      if (!part.empty()) (text += ' ') += part;
    return text;
  }
};

// Runs a statement without rows.
template <class... Values>
Result<Done> execute(const Connection& connection, Sql which, const Named& named, const Values&... values) {
  Query query(connection, which, Query::Binding::KeptValues);
  query.bind_all(values...);
  if (!query.finish()) return connection.failure(named.text());
  return Done{};
}
template <class... Values>
Result<Done> execute(const Connection& connection, Sql which, std::string_view what, const Values&... values) {
  return execute(connection, which, Named{what}, values...);
}

// Ends the current transaction without applying it, unless SQLite already did (some errors,
// e.g. SQLITE_FULL, roll back by themselves). Not a cached statement: it also serves open(),
// before the statements are prepared, and failures are rare. Its own failure is not reported:
// the error that led here is the one worth reporting.
void roll_back(const Connection& connection) {
  if (sqlite3_get_autocommit(connection.db) == 0) sqlite3_exec(connection.db, "ROLLBACK", nullptr, nullptr, nullptr);
}

// Runs `body` (returning Result<T>) in one transaction begun with `begin`: BeginRead, so its
// SELECTs see one snapshot, or BeginWrite (the write lock taken at once) for reads that also
// write. Rolled back when `body` or the COMMIT fails.
template <class Body>
auto in_transaction(const Connection& connection, Sql begin, Body&& body) -> decltype(body()) {
  if (auto begun = execute(connection, begin, "begin"); !begun) return begun.error();
  auto result = body();
  if (!result) {
    roll_back(connection);
    return result;
  }
  if (auto ended = execute(connection, Sql::Commit, "commit"); !ended) {
    roll_back(connection);
    return ended.error();
  }
  return result;
}

// A statement run directly (PRAGMAs, migration scripts): not cached, used at open only.
Result<Done> execute_script(const Connection& connection, std::string_view what, const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(connection.db, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Done{};
  Error error = connection.failure(what, message != nullptr ? message : sqlite3_errstr(rc));
  sqlite3_free(message);
  return error;
}

// Reads a single-value PRAGMA (journal_mode, user_version, foreign_keys).
Result<std::string> read_pragma(const Connection& connection, const std::string& pragma) {
  sqlite3_stmt* statement = nullptr;
  const std::string sql = "PRAGMA " + pragma;
  if (sqlite3_prepare_v2(connection.db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK)
    return connection.failure("PRAGMA " + pragma);
  std::string value;
  const int rc = sqlite3_step(statement);
  if (rc == SQLITE_ROW) {
    const auto* bytes = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    if (bytes != nullptr) value = bytes;
  }
  Result<std::string> result = value;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) result = connection.failure("PRAGMA " + pragma);
  sqlite3_finalize(statement);
  return result;
}

Result<int> read_user_version(const Connection& connection) {
  auto version = read_pragma(connection, "user_version");
  if (!version) return version.error();
  return std::stoi(version.value());  // SQLite always answers an integer here
}

// Sets the connection up: pragmas for durability, integrity and waiting on locks.
Result<Done> configure(const Connection& connection, const SqliteOptions& options) {
  sqlite3_extended_result_codes(connection.db, 1);
  sqlite3_busy_timeout(connection.db, static_cast<int>(std::clamp<std::int64_t>(
                                          options.busy_timeout.count(), 0, std::numeric_limits<int>::max())));

  // Foreign keys are off by default in SQLite; the integrity rules of sqlite_store.h need them.
  if (auto set = execute_script(connection, "enable foreign keys", "PRAGMA foreign_keys = ON"); !set) return set;
  auto foreign_keys = read_pragma(connection, "foreign_keys");
  if (!foreign_keys) return foreign_keys.error();
  if (foreign_keys.value() != "1")
    return connection.failure("enable foreign keys", "this SQLite build does not support them");

  if (options.path != kInMemory) {
    auto mode = read_pragma(connection, "journal_mode = WAL");
    if (!mode) return mode.error();
    if (mode.value() != "wal")
      return connection.failure("enable WAL", "journal mode stayed '" + mode.value() + "'");
  }
  const std::string synchronous = options.synchronous == Synchronous::Full ? "FULL" : "NORMAL";
  return execute_script(connection, "set synchronous", "PRAGMA synchronous = " + synchronous);
}

// Applies the migrations the database lacks, one transaction each.
Result<int> migrate(const Connection& connection, std::span<const SchemaMigration> schema) {
  const int known = static_cast<int>(schema.size());
  int opened_at = -1;  // the version the database had: steps are logged only for an existing one
  for (;;) {
    if (auto begun = execute_script(connection, "begin migration", "BEGIN IMMEDIATE"); !begun) return begun.error();
    // Read inside the transaction: another process may have migrated meanwhile.
    auto version = read_user_version(connection);
    if (!version) {
      roll_back(connection);
      return version.error();
    }
    const int current = version.value();
    if (opened_at < 0) opened_at = current;
    if (current > known) {
      roll_back(connection);
      return connection.failure("open", "the database has schema version " + std::to_string(current) +
                                            ", newer than this build knows (" + std::to_string(known) +
                                            "); use a newer tandem-server or another database file");
    }
    if (current == known) {
      if (auto ended = execute_script(connection, "end migration check", "COMMIT"); !ended) {
        roll_back(connection);
        return ended.error();
      }
      return current;
    }
    const SchemaMigration& step = schema[static_cast<std::size_t>(current)];
    const std::string what =
        "migration to schema version " + std::to_string(current + 1) + " (" + std::string(step.description) + ")";
    // user_version cannot be bound; the number is ours, not input.
    const std::string sql = std::string(step.sql) + ";\nPRAGMA user_version = " + std::to_string(current + 1) + ";";
    // A new database takes every step in no time; an existing one may have rows to rewrite
    // (v7 moved a million applied request ids in 5 – 8 s on a 2-core VM): say so, and how long.
    const auto started = std::chrono::steady_clock::now();
    if (opened_at > 0) LOG_INFO("store: %s: %s...", connection.path.c_str(), what.c_str());
    auto applied = execute_script(connection, what, sql);
    if (applied) applied = execute_script(connection, what, "COMMIT");
    if (!applied) {
      roll_back(connection);
      return applied.error();
    }
    if (opened_at > 0)
      LOG_INFO("store: %s at schema version %d after %lld ms", connection.path.c_str(), current + 1,
               static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - started)
                                          .count()));
  }
}

Result<Done> prepare_statements(Connection& connection) {
  for (std::size_t i = 0; i < kStatementCount; ++i) {
    const std::string_view sql = sql_text(static_cast<Sql>(i));
    // PERSISTENT: these statements live as long as the connection.
    if (sqlite3_prepare_v3(connection.db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &connection.statements[i], nullptr) != SQLITE_OK)
      return connection.failure("prepare '" + std::string(sql) + "'");
  }
  return Done{};
}

// Deletes the sessions unused for retention.session_days before `now` (their requests go too:
// ON DELETE CASCADE). Inside the caller's transaction.
Result<Done> delete_unused_sessions(const Connection& connection, UnixMillis now) {
  return execute(connection, Sql::ExpireSessions, "expire sessions",
                 std::int64_t{now - connection.retention.session_days * kMillisPerDay});
}

Result<Done> expire_sessions(Connection& connection) {
  const UnixMillis now = connection.wall_clock();
  if (auto begun = execute(connection, Sql::BeginWrite, "begin session expiry"); !begun) return begun;
  auto expired = delete_unused_sessions(connection, now);
  if (expired) expired = execute(connection, Sql::Commit, "commit session expiry");
  if (!expired) roll_back(connection);
  if (expired) connection.sessions_expired_at = now;
  return expired;
}

constexpr std::size_t kMaxTrimKeys = 100000;

// Counts a row appended under `key`; true when the key is due for a trim (and resets it).
bool due_for_trim(std::unordered_map<std::string, std::size_t>& untrimmed, const std::string& key, std::size_t appended,
                  std::size_t retention) {
  if (untrimmed.size() >= kMaxTrimKeys) untrimmed.clear();
  std::size_t& count = untrimmed[key];
  count += appended;
  if (count < std::max<std::size_t>(1, retention / 8)) return false;
  untrimmed.erase(key);
  return true;
}

}  // namespace

// ---- open ---------------------------------------------------------------------------------

namespace {

// Moves the write-ahead log's checkpoints to a Checkpointer (see there). Without a second
// connection (it could not open) SQLite's automatic checkpoints stay: slower, never wrong.
void start_checkpointer(sqlite_detail::Connection& connection, const SqliteOptions& options) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(options.path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(db);
    return;
  }
  // The checkpoint's fsyncs follow this connection's setting, as they followed the writer's.
  const char* synchronous = options.synchronous == Synchronous::Full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
  if (sqlite3_exec(db, synchronous, nullptr, nullptr, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(db);
    return;
  }
  connection.checkpointer = std::make_unique<sqlite_detail::Checkpointer>(db, std::max(options.checkpoint_pages, 1));
  sqlite3_wal_hook(connection.db, &sqlite_detail::Checkpointer::wal_grew, connection.checkpointer.get());
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const SqliteOptions& options) {
  return open(options, sqlite_schema());
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const SqliteOptions& options,
                                                       std::span<const SchemaMigration> schema) {
  auto connection = std::make_unique<sqlite_detail::Connection>();
  connection->path = options.path;
  connection->retention = options.retention;
  connection->wall_clock = options.wall_clock ? options.wall_clock : WallClock(system_unix_millis);
  if (options.path.empty()) return connection->failure("open", "no database path given");

  if (options.path != kInMemory) {
    const std::filesystem::path folder = std::filesystem::path(options.path).parent_path();
    std::error_code error;
    if (!folder.empty()) std::filesystem::create_directories(folder, error);
    if (error) return connection->failure("create folder " + folder.string(), error.message());
  }

  // SQLite counts its memory under a global mutex on every allocation unless told not to,
  // before it is first initialised (a later call is refused, harmlessly: another store of this
  // process got there first). Tandem never reads those counts.
  static const bool memory_counted_off [[maybe_unused]] = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;

  // NOMUTEX: the connection is used by one thread at a time (the loop, or the commit thread
  // while it writes a batch, handed over under its mutex: store.h THREADS), so SQLite's
  // per-connection mutex is pure cost.
  const int rc = sqlite3_open_v2(options.path.c_str(), &connection->db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return connection->failure("open");

  if (auto configured = configure(*connection, options); !configured) return configured.error();
  auto version = migrate(*connection, schema);
  if (!version) return version.error();
  connection->schema_version = version.value();
  if (auto prepared = prepare_statements(*connection); !prepared) return prepared.error();
  if (auto expired = expire_sessions(*connection); !expired) return expired.error();
  if (options.path != kInMemory) start_checkpointer(*connection, options);
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(connection)));
}

SqliteStore::SqliteStore(std::unique_ptr<sqlite_detail::Connection> connection) : connection_(std::move(connection)) {}
SqliteStore::~SqliteStore() = default;

int SqliteStore::schema_version() const { return connection_->schema_version; }
const std::string& SqliteStore::path() const { return connection_->path; }

// ---- reads --------------------------------------------------------------------------------

Result<RoomRecord> SqliteStore::load_room(const std::string& room) {
  sqlite_detail::Connection& db = *connection_;
  std::int64_t claimed = 0;
  auto loaded = in_transaction(db, Sql::BeginWrite, [&]() -> Result<RoomRecord> {
    RoomRecord record;
    if (auto claim = execute(db, Sql::ClaimRoom, "claim room " + room, room); !claim) return claim.error();
    {
      Query query(db, Sql::SelectFence);
      if (query.step() != Query::Step::Row) return db.failure("read fence");
      record.fence_high_water = query.int64(0);
    }
    {
      Query query(db, Sql::SelectRoom);
      query.bind(room);
      const Query::Step step = query.step();
      if (step == Query::Step::Failed) return db.failure("load room " + room);
      if (step == Query::Step::Done) return record;  // never stored
      record.exists = true;
      record.epoch = query.text(0);
      record.seq = query.int64(1);
      claimed = query.int64(2);
    }
    {
      Query query(db, Sql::SelectEvents);
      query.bind_all(room, to_sql_count(db.retention.history));
      Query::Step step;
      while ((step = query.step()) == Query::Step::Row) record.history.push_back({query.int64(0), query.text(1)});
      if (step == Query::Step::Failed) return db.failure("load events of " + room);
    }
    {
      Query query(db, Sql::SelectNodes);
      query.bind(room);
      Query::Step step;
      while ((step = query.step()) == Query::Step::Row) {
        auto node = stored_rows::node(query);
        if (!node) return db.failure("load nodes of " + room, node.error().message);
        record.nodes.push_back(std::move(node).value());
      }
      if (step == Query::Step::Failed) return db.failure("load nodes of " + room);
    }
    {
      Query query(db, Sql::SelectEdges);
      query.bind(room);
      Query::Step step;
      while ((step = query.step()) == Query::Step::Row) record.edges.push_back(stored_rows::edge(query));
      if (step == Query::Step::Failed) return db.failure("load edges of " + room);
    }
    {
      Query query(db, Sql::SelectChat);
      query.bind_all(room, to_sql_count(db.retention.chat));
      Query::Step step;
      while ((step = query.step()) == Query::Step::Row) record.chat.push_back(stored_rows::chat(query));
      if (step == Query::Step::Failed) return db.failure("load chat of " + room);
    }
    {
      Query query(db, Sql::SelectLocks);
      query.bind(room);
      Query::Step step;
      while ((step = query.step()) == Query::Step::Row) record.locks.push_back(stored_rows::lock(query));
      if (step == Query::Step::Failed) return db.failure("load locks of " + room);
    }
    if (const auto endpoints = webhook_endpoints_of(db.retention, room); !endpoints.empty()) {
      {
        Query query(db, Sql::SelectWebhookCursors);
        query.bind_all(room, json_names(endpoints));
        Query::Step step;
        while ((step = query.step()) == Query::Step::Row)
          record.webhook_cursors.push_back({query.text(0), query.int64(1)});
        if (step == Query::Step::Failed) return db.failure("load webhook cursors of " + room);
      }
      if (!record.webhook_cursors.empty()) {
        std::int64_t lowest = record.webhook_cursors.front().seq;
        for (const WebhookCursor& cursor : record.webhook_cursors) lowest = std::min(lowest, cursor.seq);
        Query query(db, Sql::SelectWebhookBacklog);
        query.bind_all(room, lowest, to_sql_count(db.retention.webhook_max_backlog));
        Query::Step step;
        while ((step = query.step()) == Query::Step::Row)
          record.webhook_backlog.push_back({query.int64(0), query.text(1)});
        if (step == Query::Step::Failed) return db.failure("load webhook backlog of " + room);
      }
    }
    return record;
  });
  if (loaded && loaded.value().exists) db.claims.insert_or_assign(room, claimed);
  return loaded;
}

Result<std::vector<StoredChange>> SqliteStore::changes(const std::string& room, std::int64_t before_seq,
                                                       std::size_t limit) {
  const sqlite_detail::Connection& db = *connection_;
  Query query(db, Sql::SelectChanges);
  query.bind_all(room, before_seq == 0 ? std::numeric_limits<std::int64_t>::max() : before_seq, to_sql_count(limit));
  std::vector<StoredChange> page;
  Query::Step step;
  while ((step = query.step()) == Query::Step::Row) page.push_back(stored_rows::change(query));
  if (step == Query::Step::Failed) return db.failure("load changes of " + room);
  return page;
}

Result<std::optional<SessionRecord>> SqliteStore::find_session(const std::string& id) {
  const sqlite_detail::Connection& db = *connection_;
  // One snapshot: the session and its requests as one commit left them.
  return in_transaction(db, Sql::BeginRead, [&]() -> Result<std::optional<SessionRecord>> {
    SessionRecord session{id, {}, {}};
    {
      Query query(db, Sql::SelectSession);
      query.bind(id);
      const Query::Step step = query.step();
      if (step == Query::Step::Failed) return db.failure("find session");
      if (step == Query::Step::Done) return std::optional<SessionRecord>();
      session.user = query.text(0);
    }
    Query query(db, Sql::SelectAppliedRequests);
    query.bind_all(id, to_sql_count(db.retention.requests_per_session));
    Query::Step step;
    while ((step = query.step()) == Query::Step::Row) session.applied.push_back(query.text(0));
    if (step == Query::Step::Failed) return db.failure("find the requests of a session");
    // The newest rows hold at least the bound: keep its newest ids.
    const std::size_t bound = db.retention.requests_per_session;
    if (session.applied.size() > bound)
      session.applied.erase(session.applied.begin(),
                            session.applied.end() - static_cast<std::ptrdiff_t>(bound));
    return std::optional<SessionRecord>(std::move(session));
  });
}

Result<YDocRecord> SqliteStore::load_ydoc(const std::string& doc) {
  sqlite_detail::Connection& db = *connection_;
  std::int64_t claimed = 0;
  auto loaded = in_transaction(db, Sql::BeginWrite, [&]() -> Result<YDocRecord> {
    {
      Query query(db, Sql::ClaimYDoc);
      query.bind(doc);
      if (query.step() != Query::Step::Row) return db.failure("claim yjs document " + doc);
      claimed = query.int64(0);
      if (query.step() != Query::Step::Done) return db.failure("claim yjs document " + doc);
    }
    Query query(db, Sql::SelectYUpdates);
    query.bind(doc);
    YDocRecord record;
    Query::Step step;
    while ((step = query.step()) == Query::Step::Row) record.updates.push_back({query.int64(0), query.bytes(1)});
    if (step == Query::Step::Failed) return db.failure("load yjs document " + doc);
    return record;
  });
  if (loaded) db.ydoc_claims.insert_or_assign(doc, claimed);
  return loaded;
}

Result<std::int64_t> SqliteStore::fence_high_water() {
  const sqlite_detail::Connection& db = *connection_;
  Query query(db, Sql::SelectFence);
  if (query.step() != Query::Step::Row) return db.failure("read fence");
  return query.int64(0);
}

// ---- commit -------------------------------------------------------------------------------

Result<Done> SqliteStore::commit(const WriteBatch& batch) {
  if (batch.empty()) return Done{};
  sqlite_detail::Connection& db = *connection_;
  const UnixMillis now = db.wall_clock();
  const bool expire_sessions_now = now - db.sessions_expired_at >= kSessionExpiryIntervalMs;

  // What to trim (and which sessions were used), once per key at the end of the batch rather
  // than after every write: trimming scans up to `retention` index entries. Rows appended per
  // room (events, chat) or session (requests); the names are the batch's own strings.
  std::unordered_map<std::string_view, std::size_t> appended_events, appended_chat;
  // The request ids applied per session, stored as one row per session at the end (v7 above).
  struct AppliedRequests {
    json::JsonWriter ids = json::JsonWriter::array(), answers = json::JsonWriter::array();
    std::size_t count = 0;
  };
  std::unordered_map<std::string_view, AppliedRequests> applied_requests;
  std::unordered_map<std::string_view, std::int64_t> room_seqs;  // the highest seq this batch appends per room
  std::unordered_map<std::string_view, std::int64_t> first_seqs;  // the lowest seq this batch appends per room

  // The rooms and Yjs documents this batch writes that this store has claimed, with the
  // generation it holds.
  std::map<std::string, std::int64_t, std::less<>> claimed_rooms, claimed_ydocs;
  std::vector<std::string> new_rooms;
  for (const auto& write : batch.writes()) {
    const std::string_view room = room_of(write);
    if (std::holds_alternative<WriteBatch::NewRoom>(write)) new_rooms.emplace_back(room);
    if (auto held = db.claims.find(room); held != db.claims.end()) claimed_rooms.insert(*held);
    if (const std::string_view doc = ydoc_of(write); !doc.empty())
      if (auto held = db.ydoc_claims.find(doc); held != db.ydoc_claims.end()) claimed_ydocs.insert(*held);
  }

  using B = WriteBatch;
  auto apply = Overloaded{
      [&](const B::NewRoom& w) { return execute(db, Sql::InsertRoom, Named{"NewRoom", w.room}, w.room, w.epoch); },
      [&](const B::AppendEvent& w) {
        auto [seq, added] = room_seqs.try_emplace(w.room, w.seq);
        if (!added) seq->second = std::max(seq->second, w.seq);
        auto [first, new_room] = first_seqs.try_emplace(w.room, w.seq);
        if (!new_room) first->second = std::min(first->second, w.seq);
        ++appended_events[w.room];
        return execute(db, Sql::InsertEvent, Named{"AppendEvent", w.room}, w.room, w.seq, w.json);
      },
      [&](const B::PutNode& w) {
        const protocol::Node& n = w.node;
        return execute(db, Sql::UpsertNode, Named{"PutNode", w.room, n.id}, w.room, n.id, n.type, n.label, n.x, n.y,
                       protocol::to_string(n.status), n.data);
      },
      [&](const B::DeleteNode& w) {
        return execute(db, Sql::DeleteNode, Named{"DeleteNode", w.room, w.node}, w.room, w.node);
      },
      [&](const B::PutEdge& w) {
        const protocol::Edge& e = w.edge;
        return execute(db, Sql::UpsertEdge, Named{"PutEdge", w.room, e.id}, w.room, e.id, e.from, e.to);
      },
      [&](const B::DeleteEdge& w) {
        return execute(db, Sql::DeleteEdge, Named{"DeleteEdge", w.room, w.edge}, w.room, w.edge);
      },
      [&](const B::AddChange& w) {
        const StoredChange& c = w.change;
        return execute(db, Sql::InsertChange, Named{"AddChange", w.room}, w.room, c.seq, c.user, c.ts, c.json);
      },
      [&](const B::AddChat& w) {
        const protocol::ChatEntry& c = w.entry;
        ++appended_chat[w.room];
        return execute(db, Sql::InsertChat, Named{"AddChat", w.room}, w.room, c.seq, c.user, c.name, c.color, c.text,
                       c.ts);
      },
      [&](const B::ClearChat& w) { return execute(db, Sql::ClearChat, Named{"ClearChat", w.room}, w.room); },
      [&](const B::RaiseFence& w) { return execute(db, Sql::RaiseFence, Named{"RaiseFence"}, w.fence); },
      [&](const B::PutSession& w) {
        return execute(db, Sql::UpsertSession, Named{"PutSession"}, w.session.id, w.session.user, std::int64_t{now});
      },
      [&](const B::RememberRequest& w) {
        AppliedRequests& applied = applied_requests[w.session];
        applied.ids.push_str(w.request_id);
        applied.answers.push_str(w.answer_json);
        ++applied.count;
        return Result<Done>(Done{});
      },
      [&](const B::PutLock& w) {
        const protocol::LockInfo& l = w.lock;
        return execute(db, Sql::UpsertLock, Named{"PutLock", w.room, l.resource}, w.room, l.resource, l.holder.user,
                       l.holder.name, l.holder.color, l.fence, l.expires_at);
      },
      [&](const B::DropLock& w) {
        return execute(db, Sql::DeleteLock, Named{"DropLock", w.room, w.resource}, w.room, w.resource);
      },
      [&](const B::AppendYUpdate& w) {
        return execute(db, Sql::InsertYUpdate, Named{"AppendYUpdate", w.doc}, w.doc, w.seq, Blob{w.data});
      },
      [&](const B::DropYUpdates& w) {
        return execute(db, Sql::DropYUpdates, Named{"DropYUpdates", w.doc}, w.doc, w.through_seq);
      },
      [&](const B::AdvanceWebhookCursor& w) {
        return execute(db, Sql::AdvanceWebhookCursor, Named{"AdvanceWebhookCursor", w.hooked_room, w.endpoint},
                       w.hooked_room, w.endpoint, w.seq);
      },
      [&](const B::AddWebhookDeadLetter& w) {
        const WebhookDeadLetter& l = w.letter;
        return execute(db, Sql::InsertWebhookDeadLetter, Named{"AddWebhookDeadLetter", l.room, l.endpoint}, l.endpoint,
                       l.room, l.first_seq, l.last_seq, std::int64_t{l.status}, l.error, l.ts);
      },
  };

  auto apply_all = [&]() -> Result<Done> {
    const auto& writes = batch.writes();
    for (std::size_t i = 0; i < writes.size(); ++i) {
      auto applied = std::visit(apply, writes[i]);
      if (!applied) {
        Error error = applied.error();
        error.message += " (write " + std::to_string(i + 1) + " of " + std::to_string(writes.size()) + ", " +
                         std::string(kWriteNames[writes[i].index()]) + "; nothing of the batch was stored)";
        return error;
      }
    }
    // Every room and Yjs document written must still be this store's (WRITERS in store.h).
    for (const auto& [room, generation] : claimed_rooms)
      if (auto held = execute(db, Sql::CheckClaim, Named{"write room", room}, room, generation); !held)
        return held;
    for (const auto& [doc, generation] : claimed_ydocs)
      if (auto held = execute(db, Sql::CheckYDocClaim, Named{"write yjs document", doc}, doc, generation); !held)
        return held;
    for (const auto& [room, seq] : room_seqs)
      if (auto advanced = execute(db, Sql::AdvanceRoomSeq, Named{"AppendEvent", room}, room, seq); !advanced)
        return advanced;
    // Webhooks: the endpoints following a room without a cursor there get one just before its
    // first event of this batch (they are sent what was stored once they follow it).
    std::unordered_map<std::string_view, std::string> hooked_rooms;  // room -> its endpoints (json_names)
    for (const auto& [room, first] : first_seqs) {
      const auto endpoints = webhook_endpoints_of(db.retention, room);
      if (endpoints.empty()) continue;
      for (const std::string& endpoint : endpoints)
        if (auto started = execute(db, Sql::StartWebhookCursor, Named{"start webhook cursor", room, endpoint}, room,
                                   endpoint, first - 1);
            !started)
          return started;
      hooked_rooms.emplace(room, json_names(endpoints));
    }
    auto due = [&](char kind, std::string_view name, std::size_t appended, std::size_t retention) {
      std::string key(1, kind);
      key += name;
      return due_for_trim(db.untrimmed, key, appended, retention);
    };
    for (const auto& [room, appended] : appended_events) {
      if (!due('e', room, appended, db.retention.history)) continue;
      const auto hooked = hooked_rooms.find(room);
      auto trimmed = hooked == hooked_rooms.end()
                         ? execute(db, Sql::TrimEvents, Named{"trim events of", room}, room,
                                   to_sql_count(db.retention.history))
                         : execute(db, Sql::TrimHookedEvents, Named{"trim events of", room}, room,
                                   to_sql_count(db.retention.history),
                                   to_sql_count(std::max(db.retention.history, db.retention.webhook_max_backlog)),
                                   hooked->second);
      if (!trimmed) return trimmed;
    }
    for (const auto& [room, appended] : appended_chat)
      if (due('c', room, appended, db.retention.chat))
        if (auto trimmed = execute(db, Sql::TrimChat, Named{"trim chat of", room}, room, to_sql_count(db.retention.chat));
            !trimmed)
          return trimmed;
    for (auto& [session, applied] : applied_requests) {
      auto remembered = execute(db, Sql::RememberRequests, Named{"RememberRequest", session}, session,
                                static_cast<std::int64_t>(applied.count), std::move(applied.ids).finish(),
                                std::move(applied.answers).finish());
      if (!remembered) {  // e.g. a session never stored: said as a failing write of the loop above is
        Error error = remembered.error();
        error.message += " (" + std::to_string(applied.count) + " request id(s); nothing of the batch was stored)";
        return error;
      }
      auto touched = execute(db, Sql::TouchSession, "touch session", session, std::int64_t{now});
      if (touched && due('r', session, applied.count, db.retention.requests_per_session))
        touched = execute(db, Sql::TrimRequests, "trim requests", session,
                          to_sql_count(db.retention.requests_per_session));
      if (!touched) return touched;
    }
    if (expire_sessions_now)
      if (auto expired = delete_unused_sessions(db, now); !expired) return expired;
    return execute(db, Sql::Commit, "commit");
  };

  if (auto begun = execute(db, Sql::BeginWrite, "begin commit"); !begun) return begun;
  auto committed = apply_all();
  if (!committed) {
    roll_back(db);
    return explain_lost_claim(std::move(committed).error());
  }
  if (expire_sessions_now) db.sessions_expired_at = now;
  for (const std::string& room : new_rooms) db.claims.insert_or_assign(room, 1);  // created at generation 1
  return committed;
}

Result<std::vector<WebhookDeadLetter>> SqliteStore::webhook_dead_letters(std::size_t limit) {
  const sqlite_detail::Connection& db = *connection_;
  Query query(db, Sql::SelectWebhookDeadLetters);
  query.bind(to_sql_count(limit));
  std::vector<WebhookDeadLetter> letters;
  Query::Step step;
  while ((step = query.step()) == Query::Step::Row)
    letters.push_back({query.text(0), query.text(1), query.int64(2), query.int64(3), static_cast<int>(query.int64(4)),
                       query.text(5), query.int64(6)});
  if (step == Query::Step::Failed) return db.failure("read webhook dead letters");
  return letters;
}

Result<std::vector<std::string>> SqliteStore::webhook_rooms_behind() {
  const sqlite_detail::Connection& db = *connection_;
  Query query(db, Sql::SelectWebhookRoomsBehind);
  std::vector<std::string> rooms;
  Query::Step step;
  while ((step = query.step()) == Query::Step::Row) {
    std::string room = query.text(0);
    if (!rooms.empty() && rooms.back() == room) continue;
    const std::vector<std::string> following = webhook_endpoints_of(db.retention, room);
    if (std::find(following.begin(), following.end(), query.text(1)) != following.end()) rooms.push_back(std::move(room));
  }
  if (step == Query::Step::Failed) return db.failure("find the rooms webhooks are behind in");
  return rooms;
}

// ---- export -------------------------------------------------------------------------------

Result<Done> SqliteStore::export_batches(std::size_t writes_per_batch, const BatchSink& sink) {
  const sqlite_detail::Connection& db = *connection_;
  return in_transaction(db, Sql::BeginRead, [&]() -> Result<Done> {
    BatchChunker out(writes_per_batch, sink);
    auto rows = [&](stored_rows::ExportTable table, const auto& each) -> Result<Done> {
      Query query(db, stored_rows::export_statement<Sql>(table));
      Query::Step step;
      while ((step = query.step()) == Query::Step::Row)
        if (auto added = each(query); !added) return added;
      if (step == Query::Step::Failed) return db.failure("export");
      return Done{};
    };
    return stored_rows::export_writes(rows, out);
  });
}

}  // namespace tandem::server::store
