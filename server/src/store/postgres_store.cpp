// server/src/store/postgres_store.cpp — the PostgreSQL Store (see postgres_store.h): schema and
// migrations, the prepared statements, the one-round-trip pipeline every call goes through,
// commit() as one transaction with trimming, the reads (all of them through read(): the single
// calls are reads of one). The only file in the repo that includes <libpq-fe.h>.
//
// Every SQL text is a constant below; values are always bound as parameters, never spliced
// into SQL. Each statement is prepared once per connection.
#include "store/postgres_store.h"

#include "store/batch_chunker.h"
#include "store/stored_rows.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <span>
#include <utility>

#include "tandem/protocol/errors.h"

namespace tandem::server::store {

namespace {

constexpr std::int64_t kMillisPerDay = 24LL * 60 * 60 * 1000;
// As the SQLite store: sessions unused for retention.session_days are forgotten at open and,
// inside a commit that happens anyway, at most once per this interval.
constexpr std::int64_t kSessionExpiryIntervalMs = 60LL * 60 * 1000;
// Serialises migrations of several instances starting at once (pg_advisory_xact_lock's key:
// any constant of ours; "tandem" in ASCII).
constexpr std::string_view kMigrationLockKey = "116971110100101109";

// ---- schema -------------------------------------------------------------------------------
// Never edit a shipped migration: append a new one (databases in the field are at its version).
// The same tables as the SQLite store (sqlite_store.cpp), in PostgreSQL's dialect; "user" is
// reserved here, so those columns are user_id.

constexpr std::string_view kInitialSchema = R"sql(
CREATE TABLE rooms (
  room  TEXT PRIMARY KEY,
  epoch TEXT NOT NULL,
  seq   BIGINT NOT NULL DEFAULT 0            -- the last event's seq
);
-- The recent event log of each room, trimmed to Retention::history on append.
CREATE TABLE events (
  room TEXT NOT NULL REFERENCES rooms(room),
  seq  BIGINT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (room, seq)
);
-- Workflow documents. ord keeps insertion order: an upsert keeps the row.
CREATE TABLE nodes (
  ord    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  room   TEXT NOT NULL REFERENCES rooms(room),
  id     TEXT NOT NULL,
  type   TEXT NOT NULL,
  label  TEXT NOT NULL,
  x      DOUBLE PRECISION NOT NULL,
  y      DOUBLE PRECISION NOT NULL,
  status TEXT NOT NULL,
  data   TEXT NOT NULL,
  UNIQUE (room, id)
);
CREATE INDEX nodes_in_order ON nodes (room, ord);
-- Deleting a node deletes the edges touching it (ON DELETE CASCADE).
CREATE TABLE edges (
  ord       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
  room    TEXT NOT NULL REFERENCES rooms(room),
  seq     BIGINT NOT NULL,
  user_id TEXT NOT NULL,
  ts      BIGINT NOT NULL,
  json    TEXT NOT NULL,
  PRIMARY KEY (room, seq)
);
-- Chat, trimmed to Retention::chat on append.
CREATE TABLE chat (
  room    TEXT NOT NULL REFERENCES rooms(room),
  seq     BIGINT NOT NULL,
  user_id TEXT NOT NULL,
  name    TEXT NOT NULL,
  color   TEXT NOT NULL,
  text    TEXT NOT NULL,
  ts      BIGINT NOT NULL,
  PRIMARY KEY (room, seq)
);
-- The lock fence high-water mark: one row, only grows.
CREATE TABLE fence (
  only_row   INTEGER PRIMARY KEY CHECK (only_row = 1),
  high_water BIGINT NOT NULL
);
INSERT INTO fence (only_row, high_water) VALUES (1, 0);
CREATE TABLE sessions (
  id        TEXT PRIMARY KEY,
  user_id   TEXT NOT NULL,
  last_used BIGINT NOT NULL                  -- Unix ms
);
CREATE INDEX sessions_by_last_used ON sessions (last_used);
-- Applied request ids per session (exactly-once resends), trimmed to
-- Retention::requests_per_session; ord orders them for trimming.
CREATE TABLE requests (
  ord         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session     TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  request_id  TEXT NOT NULL,
  answer_json TEXT NOT NULL,
  UNIQUE (session, request_id)
);
CREATE INDEX requests_in_order ON requests (session, ord);
-- The locks held in each room, so a restarted server can release them in the room log.
CREATE TABLE locks (
  room       TEXT NOT NULL REFERENCES rooms(room),
  resource   TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  name       TEXT NOT NULL,
  color      TEXT NOT NULL,
  fence      BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,                -- Unix ms
  PRIMARY KEY (room, resource)
);
-- The last batch each writer (one store object, i.e. one server process) committed, written in
-- the batch's own transaction: after a connection lost during COMMIT, the writer asks whether
-- its batch made it. Rows of writers unseen for retention.session_days are deleted.
CREATE TABLE writer_batches (
  writer       TEXT PRIMARY KEY,
  batch        BIGINT NOT NULL,
  committed_at BIGINT NOT NULL               -- Unix ms
);
)sql";

// v2: writer claims (store.h, WRITERS). Loading a room raises its writer generation; every
// commit checks, for each room it writes, that the generation is still the one its store
// claimed. A write for a room another writer has claimed since inserts a row into
// writer_fence, which its CHECK refuses: the whole commit fails, naming the constraint.
constexpr std::string_view kWriterClaims = R"sql(
ALTER TABLE rooms ADD COLUMN writer_gen BIGINT NOT NULL DEFAULT 0;
CREATE TABLE writer_fence (
  room TEXT CONSTRAINT room_claimed_by_another_writer CHECK (room IS NULL)
);
)sql";

// v3: the update logs of Yjs documents (ydocs/): each entry a Yjs update as bytes.
constexpr std::string_view kYDocUpdates = R"sql(
CREATE TABLE ydoc_updates (
  doc  TEXT NOT NULL,
  seq  BIGINT NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (doc, seq)
);
)sql";

// v4: writer claims for Yjs documents, as v2 for rooms: a document moves between server
// processes too, and one that lost it must never append to or drop from its log again. A
// document has no row of its own to carry the generation (its log may be empty), so its
// generation has a table of its own; loading the document creates or raises it, and a commit
// writing the document checks it through writer_fence as for rooms.
constexpr std::string_view kYDocWriters = R"sql(
CREATE TABLE ydoc_writers (
  doc        TEXT PRIMARY KEY,
  writer_gen BIGINT NOT NULL
);
)sql";

// v5: webhooks (webhooks/outbox.h). The seq each endpoint acknowledged per room (the events
// past it are not trimmed, up to Retention::webhook_max_backlog), and the batches given up.
constexpr std::string_view kWebhooks = R"sql(
CREATE TABLE webhook_cursors (
  room     TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  seq      BIGINT NOT NULL,
  PRIMARY KEY (room, endpoint)
);
CREATE TABLE webhook_dead_letters (
  id        BIGSERIAL PRIMARY KEY,
  endpoint  TEXT NOT NULL,
  room      TEXT NOT NULL,
  first_seq BIGINT NOT NULL,
  last_seq  BIGINT NOT NULL,
  status    BIGINT NOT NULL,
  error     TEXT NOT NULL,
  ts        BIGINT NOT NULL               -- Unix ms
);
)sql";

constexpr std::array<SchemaMigration, 5> kSchema{{
    {"initial schema", kInitialSchema},
    {"writer claims", kWriterClaims},
    {"yjs documents", kYDocUpdates},
    {"yjs document writer claims", kYDocWriters},
    {"webhooks", kWebhooks},
}};

// ---- statements ---------------------------------------------------------------------------

enum class Sql : std::size_t {
  Begin, BeginRead, BeginClaim, Commit,
  InsertRoom, ClaimRoom, CheckClaim, InsertEvent, AdvanceRoomSeq, TrimEvents,
  UpsertNode, DeleteNode, UpsertEdge, DeleteEdge, InsertChange,
  InsertChat, ClearChat, TrimChat,
  RaiseFence, UpsertSession, RememberRequest, TouchSession, TrimRequests, ExpireSessions,
  RecordBatch, SelectBatch, ForgetWriters, EndAbandoned, LockWriter,
  SelectRoom, SelectEvents, SelectNodes, SelectEdges, SelectChat, SelectChanges,
  SelectSession, SelectFence,
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
    case Sql::Begin: return "BEGIN";
    // One snapshot for every SELECT of a read.
    case Sql::BeginRead: return "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    // A room's or Yjs document's load claims it (one UPDATE or upsert, which waits for a commit
    // holding it, see CheckClaim) and then reads it: READ COMMITTED, so the reads come after
    // that wait.
    case Sql::BeginClaim: return "BEGIN";
    case Sql::Commit: return "COMMIT";
    case Sql::InsertRoom: return "INSERT INTO rooms (room, epoch, seq, writer_gen) VALUES ($1, $2, 0, 1)";
    case Sql::ClaimRoom: return "UPDATE rooms SET writer_gen = writer_gen + 1 WHERE room = $1";
    // FOR SHARE: the room's row stays as checked until this commit ends (a claim waits for it).
    case Sql::CheckClaim:
      return "INSERT INTO writer_fence (room) SELECT $1::text WHERE NOT EXISTS "
             "(SELECT 1 FROM rooms WHERE room = $1 AND writer_gen = $2 FOR SHARE)";
    case Sql::InsertEvent: return "INSERT INTO events (room, seq, json) VALUES ($1, $2, $3)";
    case Sql::AdvanceRoomSeq: return "UPDATE rooms SET seq = GREATEST(seq, $2) WHERE room = $1";
    // Keeps the newest $2 rows: deletes the ($2+1)-th newest and everything older.
    case Sql::TrimEvents:
      return "DELETE FROM events WHERE room = $1 AND seq <= "
             "(SELECT seq FROM events WHERE room = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)";
    case Sql::UpsertNode:
      return "INSERT INTO nodes (room, id, type, label, x, y, status, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
             "ON CONFLICT (room, id) DO UPDATE SET type = EXCLUDED.type, label = EXCLUDED.label, x = EXCLUDED.x, "
             "y = EXCLUDED.y, status = EXCLUDED.status, data = EXCLUDED.data";
    case Sql::DeleteNode: return "DELETE FROM nodes WHERE room = $1 AND id = $2";
    case Sql::UpsertEdge:
      return "INSERT INTO edges (room, id, from_node, to_node) VALUES ($1, $2, $3, $4) "
             "ON CONFLICT (room, id) DO UPDATE SET from_node = EXCLUDED.from_node, to_node = EXCLUDED.to_node";
    case Sql::DeleteEdge: return "DELETE FROM edges WHERE room = $1 AND id = $2";
    case Sql::InsertChange:
      return "INSERT INTO changes (room, seq, user_id, ts, json) VALUES ($1, $2, $3, $4, $5)";
    case Sql::InsertChat:
      return "INSERT INTO chat (room, seq, user_id, name, color, text, ts) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    case Sql::ClearChat: return "DELETE FROM chat WHERE room = $1";
    case Sql::TrimChat:
      return "DELETE FROM chat WHERE room = $1 AND seq <= "
             "(SELECT seq FROM chat WHERE room = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)";
    case Sql::RaiseFence: return "UPDATE fence SET high_water = GREATEST(high_water, $1) WHERE only_row = 1";
    case Sql::UpsertSession:
      return "INSERT INTO sessions (id, user_id, last_used) VALUES ($1, $2, $3) "
             "ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id, last_used = EXCLUDED.last_used";
    case Sql::RememberRequest:
      return "INSERT INTO requests (session, request_id, answer_json) VALUES ($1, $2, $3) "
             "ON CONFLICT (session, request_id) DO UPDATE SET answer_json = EXCLUDED.answer_json";
    case Sql::TouchSession: return "UPDATE sessions SET last_used = GREATEST(last_used, $2) WHERE id = $1";
    case Sql::TrimRequests:
      return "DELETE FROM requests WHERE session = $1 AND ord <= "
             "(SELECT ord FROM requests WHERE session = $1 ORDER BY ord DESC LIMIT 1 OFFSET $2)";
    case Sql::ExpireSessions: return "DELETE FROM sessions WHERE last_used < $1";
    case Sql::RecordBatch:
      return "INSERT INTO writer_batches (writer, batch, committed_at) VALUES ($1, $2, $3) "
             "ON CONFLICT (writer) DO UPDATE SET batch = EXCLUDED.batch, committed_at = EXCLUDED.committed_at";
    case Sql::SelectBatch: return "SELECT batch FROM writer_batches WHERE writer = $1";
    case Sql::ForgetWriters: return "DELETE FROM writer_batches WHERE committed_at < $1";
    // A connection this store dropped while its transaction may still run (a commit that timed
    // out): ended, if it is still there and still ours.
    case Sql::EndAbandoned:
      return "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND application_name = $2";
    // Held by this store's connection for its life: a second connection of the same store gets
    // it only once the first one's session (and any transaction it ran) is over.
    case Sql::LockWriter: return "SELECT pg_try_advisory_lock(hashtext($1))";
    case Sql::SelectRoom: return "SELECT epoch, seq, writer_gen FROM rooms WHERE room = $1";
    // The limit applies on read too: a smaller retention than when the rows were written.
    case Sql::SelectEvents:
      return "SELECT seq, json FROM (SELECT seq, json FROM events WHERE room = $1 ORDER BY seq DESC LIMIT $2) newest "
             "ORDER BY seq";
    case Sql::SelectNodes:
      return "SELECT id, type, label, x, y, status, data FROM nodes WHERE room = $1 ORDER BY ord";
    case Sql::SelectEdges: return "SELECT id, from_node, to_node FROM edges WHERE room = $1 ORDER BY ord";
    case Sql::SelectChat:
      return "SELECT user_id, name, color, text, seq, ts FROM (SELECT * FROM chat WHERE room = $1 "
             "ORDER BY seq DESC LIMIT $2) newest ORDER BY seq";
    case Sql::SelectChanges:
      return "SELECT seq, user_id, ts, json FROM changes WHERE room = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3";
    // The session and its request ids, oldest first (the bound applies on read too): a row per
    // id, or one row with a NULL id when it has none; no row when the session is unknown. One
    // statement, so one snapshot even in read()'s READ COMMITTED transaction (BeginClaim).
    case Sql::SelectSession:
      return "SELECT s.user_id, applied.request_id FROM sessions s LEFT JOIN LATERAL (SELECT ord, request_id "
             "FROM requests WHERE session = s.id ORDER BY ord DESC LIMIT $2) applied ON TRUE WHERE s.id = $1 "
             "ORDER BY applied.ord";
    case Sql::SelectFence: return "SELECT high_water FROM fence WHERE only_row = 1";
    case Sql::UpsertLock:
      return "INSERT INTO locks (room, resource, user_id, name, color, fence, expires_at) "
             "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (room, resource) DO UPDATE SET user_id = EXCLUDED.user_id, "
             "name = EXCLUDED.name, color = EXCLUDED.color, fence = EXCLUDED.fence, expires_at = EXCLUDED.expires_at";
    case Sql::DeleteLock: return "DELETE FROM locks WHERE room = $1 AND resource = $2";
    case Sql::SelectLocks:
      return "SELECT resource, user_id, name, color, fence, expires_at FROM locks WHERE room = $1 "
             "ORDER BY resource COLLATE \"C\"";
    // Bytes travel as bytea's hex text both ways (Params::add(Bytea), Row::bytes).
    case Sql::InsertYUpdate: return "INSERT INTO ydoc_updates (doc, seq, data) VALUES ($1, $2, $3)";
    case Sql::DropYUpdates: return "DELETE FROM ydoc_updates WHERE doc = $1 AND seq <= $2";
    case Sql::SelectYUpdates: return "SELECT seq, data FROM ydoc_updates WHERE doc = $1 ORDER BY seq";
    // The generation this load claims the document at: 1 for a document never claimed.
    case Sql::ClaimYDoc:
      return "INSERT INTO ydoc_writers (doc, writer_gen) VALUES ($1, 1) "
             "ON CONFLICT (doc) DO UPDATE SET writer_gen = ydoc_writers.writer_gen + 1 RETURNING writer_gen";
    // As CheckClaim; the refused row names the document as claimed_name (store.h) does.
    case Sql::CheckYDocClaim:
      return "INSERT INTO writer_fence (room) SELECT 'doc:' || $1::text WHERE NOT EXISTS "
             "(SELECT 1 FROM ydoc_writers WHERE doc = $1 AND writer_gen = $2 FOR SHARE)";
    // Whole tables, columns as stored_rows.h's ExportTable lists them.
    case Sql::ExportRooms: return "SELECT room, epoch FROM rooms ORDER BY room";
    case Sql::ExportEvents: return "SELECT room, seq, json FROM events ORDER BY room, seq";
    case Sql::ExportNodes: return "SELECT room, id, type, label, x, y, status, data FROM nodes ORDER BY ord";
    case Sql::ExportEdges: return "SELECT room, id, from_node, to_node FROM edges ORDER BY ord";
    case Sql::ExportChanges: return "SELECT room, seq, user_id, ts, json FROM changes ORDER BY room, seq";
    case Sql::ExportChat: return "SELECT room, user_id, name, color, text, seq, ts FROM chat ORDER BY room, seq";
    case Sql::ExportLocks:
      return "SELECT room, resource, user_id, name, color, fence, expires_at FROM locks "
             "ORDER BY room COLLATE \"C\", resource COLLATE \"C\"";
    case Sql::ExportSessions: return "SELECT id, user_id FROM sessions ORDER BY id";
    case Sql::ExportRequests: return "SELECT session, request_id, answer_json FROM requests ORDER BY ord";
    case Sql::ExportYUpdates: return "SELECT doc, seq, data FROM ydoc_updates ORDER BY doc COLLATE \"C\", seq";
    // An endpoint's cursor starts just before the first event stored after it follows the room.
    case Sql::StartWebhookCursor:
      return "INSERT INTO webhook_cursors (room, endpoint, seq) VALUES ($1, $2, $3) ON CONFLICT (room, endpoint) DO NOTHING";
    case Sql::AdvanceWebhookCursor:
      return "INSERT INTO webhook_cursors (room, endpoint, seq) VALUES ($1, $2, $3) "
             "ON CONFLICT (room, endpoint) DO UPDATE SET seq = GREATEST(webhook_cursors.seq, EXCLUDED.seq)";
    case Sql::InsertWebhookDeadLetter:
      return "INSERT INTO webhook_dead_letters (endpoint, room, first_seq, last_seq, status, error, ts) "
             "VALUES ($1, $2, $3, $4, $5, $6, $7)";
    // TrimEvents for a room webhook endpoints follow ($4: their names, a text[]): keeps the
    // newest $2 events (h: the newest one past them) and those past the lowest cursor (c), but
    // never more than the newest $3 (b: the newest one past them).
    case Sql::TrimHookedEvents:
      return "DELETE FROM events WHERE room = $1 AND seq <= (SELECT CASE WHEN h IS NULL THEN NULL "
             "WHEN c IS NULL OR c >= h THEN h WHEN b IS NOT NULL AND b > c THEN b ELSE c END FROM (SELECT "
             "(SELECT seq FROM events WHERE room = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2) AS h, "
             "(SELECT min(seq) FROM webhook_cursors WHERE room = $1 AND endpoint = ANY($4::text[])) AS c, "
             "(SELECT seq FROM events WHERE room = $1 ORDER BY seq DESC LIMIT 1 OFFSET $3) AS b) AS bounds)";
    case Sql::SelectWebhookCursors:
      return "SELECT endpoint, seq FROM webhook_cursors WHERE room = $1 AND endpoint = ANY($2::text[]) "
             "ORDER BY endpoint COLLATE \"C\"";
    // The newest $3 past the lowest cursor, oldest first.
    case Sql::SelectWebhookBacklog:
      return "SELECT seq, json FROM (SELECT seq, json FROM events WHERE room = $1 AND seq > (SELECT "
             "COALESCE(min(seq), 9223372036854775807) FROM webhook_cursors WHERE room = $1 AND endpoint = "
             "ANY($2::text[])) ORDER BY seq DESC LIMIT $3) AS newest ORDER BY seq";
    case Sql::SelectWebhookDeadLetters:
      return "SELECT endpoint, room, first_seq, last_seq, status, error, ts FROM webhook_dead_letters ORDER BY id DESC "
             "LIMIT $1";
    case Sql::SelectWebhookRoomsBehind:
      return "SELECT room, endpoint FROM (SELECT DISTINCT c.room, c.endpoint FROM webhook_cursors c JOIN rooms r ON "
             "r.room = c.room WHERE c.seq < r.seq) AS behind ORDER BY room COLLATE \"C\"";
    case Sql::Count: break;
  }
  return "";
}

// The prepared statement's name on the server: "tandem_<index>".
// Made once: a commit names one per statement it sends.
const std::string& statement_name(Sql which) {
  static const std::array<std::string, kStatementCount> names = [] {
    std::array<std::string, kStatementCount> all;
    for (std::size_t i = 0; i < kStatementCount; ++i) all[i] = "tandem_" + std::to_string(i);
    return all;
  }();
  return names[static_cast<std::size_t>(which)];
}

// The names of WriteBatch::Write's alternatives, in order, for error messages.
constexpr std::array<std::string_view, std::variant_size_v<WriteBatch::Write>> kWriteNames{
    "NewRoom", "AppendEvent", "PutNode", "DeleteNode", "PutEdge", "DeleteEdge",
    "AddChange", "AddChat", "ClearChat", "RaiseFence", "PutSession", "RememberRequest", "PutLock", "DropLock",
    "AppendYUpdate", "DropYUpdates", "AdvanceWebhookCursor", "AddWebhookDeadLetter"};

// Counts as bigint parameters; a count above int64 means "no bound".
std::int64_t to_sql_count(std::size_t count) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(count, kMax));
}

template <class... Ts>
struct Overloaded : Ts... { using Ts::operator()...; };
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

using SteadyClock = std::chrono::steady_clock;

// A random id for this writer (store object) in writer_batches.
std::string new_writer_id() {
  std::random_device device;
  std::uniform_int_distribution<unsigned> hex(0, 15);
  std::string id = "w";
  for (int i = 0; i < 24; ++i) id += "0123456789abcdef"[hex(device)];
  return id;
}

// ---- parameters and rows ----------------------------------------------------------------

// Bytes for a bytea parameter (add(std::string_view) passes text).
struct Bytea {
  std::string_view bytes;
};

// One statement's parameters in libpq's text format (every value is a string PostgreSQL parses).
class Params {
 public:
  // bytea's hex input format: "\x" and two hex digits per byte.
  Params& add(Bytea value) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string text = "\\x";
    text.reserve(2 + 2 * value.bytes.size());
    for (unsigned char byte : value.bytes) {
      text += kHex[byte >> 4];
      text += kHex[byte & 15];
    }
    values_.push_back(std::move(text));
    return *this;
  }
  Params& add(std::string_view text) {
    values_.emplace_back(text);
    return *this;
  }
  Params& add(const std::string& text) { return add(std::string_view(text)); }
  Params& add(const char* text) { return add(std::string_view(text)); }
  Params& add(std::int64_t number) {
    values_.push_back(std::to_string(number));
    return *this;
  }
  // The shortest text that reads back as exactly this double (PostgreSQL's float8 input rounds
  // correctly, and its output is shortest-exact too).
  Params& add(double number) {
    std::array<char, 32> text{};
    auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), number);
    values_.emplace_back(text.data(), ec == std::errc{} ? end : text.data());
    return *this;
  }
  template <class... Values>
  static Params of(const Values&... values) {
    Params params;
    (params.add(values), ...);
    return params;
  }
  const std::vector<std::string>& values() const { return values_; }

 private:
  std::vector<std::string> values_;
};

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// Reads the columns of one result row.
class Row {
 public:
  Row(const PGresult* result, int row) : result_(result), row_(row) {}
  bool null(int column) const { return PQgetisnull(result_, row_, column) != 0; }
  std::string text(int column) const {
    return std::string(PQgetvalue(result_, row_, column), static_cast<std::size_t>(PQgetlength(result_, row_, column)));
  }
  // A bytea column in its hex output format ("\x..."; bytea_output's default), as bytes.
  std::string bytes(int column) const {
    const std::string_view hex(PQgetvalue(result_, row_, column), static_cast<std::size_t>(PQgetlength(result_, row_, column)));
    if (hex.size() < 2 || hex[0] != '\\' || hex[1] != 'x') return {};
    auto digit = [](char ch) { return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10; };
    std::string out;
    out.reserve((hex.size() - 2) / 2);
    for (std::size_t i = 2; i + 1 < hex.size(); i += 2)
      out += static_cast<char>((digit(hex[i]) << 4) | digit(hex[i + 1]));
    return out;
  }
  std::int64_t int64(int column) const {
    std::int64_t value = 0;
    const char* begin = PQgetvalue(result_, row_, column);
    std::from_chars(begin, begin + PQgetlength(result_, row_, column), value);
    return value;
  }
  double real(int column) const {
    double value = 0;
    const char* begin = PQgetvalue(result_, row_, column);
    std::from_chars(begin, begin + PQgetlength(result_, row_, column), value);
    return value;
  }

 private:
  const PGresult* result_;
  int row_;
};

template <class Each>
void for_each_row(const PGresult* result, Each&& each) {
  const int rows = PQntuples(result);
  for (int i = 0; i < rows; ++i) each(Row(result, i));
}

}  // namespace

std::span<const SchemaMigration> postgres_schema() { return kSchema; }

std::string redact_postgres_url(const std::string& url) {
  // URI form: postgres[ql]://user:password@host... ; key=value form: password=...
  std::string shown = url;
  const auto scheme = shown.find("://");
  if (scheme != std::string::npos) {
    const auto at = shown.find('@', scheme + 3);
    const auto colon = shown.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at)
      shown.replace(colon + 1, at - colon - 1, "***");
  }
  for (std::size_t at = shown.find("password="); at != std::string::npos; at = shown.find("password=", at + 1)) {
    const std::size_t value = at + std::strlen("password=");
    std::size_t end = value;
    while (end < shown.size() && shown[end] != '&' && shown[end] != ' ') ++end;
    shown.replace(value, end - value, "***");
  }
  return shown;
}

// ---- the connection -----------------------------------------------------------------------

namespace postgres_detail {
struct Connection {
  PGconn* pg = nullptr;
  std::string url;        // as given (with its password: needed to connect again)
  std::string shown_url;  // for messages
  Retention retention;
  WallClock wall_clock;
  std::chrono::milliseconds timeout{5000};
  int schema_version = 0;
  bool prepared = false;  // the statements are prepared on this connection

  // Batches: numbered per writer, never reused. After a failure that may have committed (the
  // connection lost with COMMIT sent), `in_doubt` says which batch and how many writes.
  std::string writer = new_writer_id();
  std::int64_t last_batch = 0;
  struct InDoubt {
    std::int64_t batch = 0;
    std::uint64_t batch_id = 0;  // its WriteBatch::id()
    std::size_t writes = 0;
  };
  std::optional<InDoubt> in_doubt;
  // Writes at the front of a WriteBatch known to be stored (an in-doubt commit of it turned out
  // to have made it): skipped when that batch (the same id) is committed again, until a commit
  // of it succeeds. A batch with another id owes nothing to it.
  struct CommittedPrefix {
    std::uint64_t batch_id = 0;
    std::size_t writes = 0;
  };
  CommittedPrefix committed_prefix;
  // The server process of a connection dropped while it may still be running a transaction;
  // ended by the next connect (EndAbandoned) before anything else is done.
  int abandoned_backend = 0;
  UnixMillis sessions_expired_at = 0;
  std::map<std::string, std::int64_t, std::less<>> claims;  // room -> writer generation this store holds
  // Yjs document -> writer generation this store holds: apart from `claims`, as a room may be
  // named like a document.
  std::map<std::string, std::int64_t, std::less<>> ydoc_claims;

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { drop(); }

  void drop() {
    if (pg != nullptr) {
      if (const int pid = PQbackendPID(pg); pid != 0) abandoned_backend = pid;
      PQfinish(pg);
    }
    pg = nullptr;
    prepared = false;
  }
  // The name this store's connections carry in pg_stat_activity.
  std::string application_name() const { return "tandem-server " + writer; }
  bool connected() const { return pg != nullptr && PQstatus(pg) == CONNECTION_OK; }

  Error failure(std::string_view what, std::string_view detail) const {
    std::string message = "postgres store ";
    message += shown_url;
    message += ": ";
    message += what;
    if (!detail.empty()) {
      message += ": ";
      message += detail;
    }
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return Error{std::string(protocol::errc::internal), std::move(message)};
  }
  // libpq's latest message for this connection.
  Error failure(std::string_view what) const {
    return failure(what, pg != nullptr ? PQerrorMessage(pg) : "no connection");
  }
};
}  // namespace postgres_detail

namespace {

using postgres_detail::Connection;
using Deadline = SteadyClock::time_point;

Deadline deadline_after(std::chrono::milliseconds timeout) { return SteadyClock::now() + timeout; }

// Waits until the connection's socket is ready for `events` or the deadline passes.
// Returns false on timeout or a poll error.
bool wait_for_socket(const Connection& c, short events, Deadline deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) return false;
    pollfd fd{PQsocket(c.pg), events, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

// Connects (non-blocking, within the deadline). The connection is then in non-blocking mode.
Result<Done> connect(Connection& c, Deadline deadline) {
  c.drop();
  const std::string application = c.application_name();
  const char* keywords[] = {"dbname", "application_name", nullptr};
  const char* values[] = {c.url.c_str(), application.c_str(), nullptr};
  c.pg = PQconnectStartParams(keywords, values, /*expand_dbname=*/1);
  if (c.pg == nullptr) return c.failure("connect", "out of memory");
  if (PQstatus(c.pg) == CONNECTION_BAD) {
    Error error = c.failure("connect");
    c.drop();
    return error;
  }
  for (PostgresPollingStatusType state = PGRES_POLLING_WRITING;;) {
    if (state == PGRES_POLLING_OK) break;
    if (state == PGRES_POLLING_FAILED) {
      Error error = c.failure("connect");
      c.drop();
      return error;
    }
    const short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (!wait_for_socket(c, events, deadline)) {
      c.drop();
      return c.failure("connect", "no answer within " + std::to_string(c.timeout.count()) + " ms");
    }
    state = PQconnectPoll(c.pg);
  }
  // Notices ("relation ... already exists, skipping") are not errors: keep them off stderr.
  PQsetNoticeProcessor(c.pg, [](void*, const char*) {}, nullptr);
  if (PQsetnonblocking(c.pg, 1) != 0) {
    Error error = c.failure("connect: non-blocking mode");
    c.drop();
    return error;
  }
  return Done{};
}

// Sends what libpq has buffered and reads what has arrived, until the connection is no longer
// busy (a whole result is there) — within the deadline. False: timeout or a broken connection.
bool wait_until_not_busy(Connection& c, Deadline deadline) {
  for (;;) {
    const int flushed = PQflush(c.pg);  // 0: all sent, 1: more to send, -1: failed
    if (flushed < 0) return false;
    if (flushed == 0 && !PQisBusy(c.pg)) return true;
    const short events = static_cast<short>(POLLIN | (flushed == 1 ? POLLOUT : 0));
    if (!wait_for_socket(c, events, deadline)) return false;
    if (PQconsumeInput(c.pg) == 0) return false;
  }
}

// One statement of a pipeline: a prepared one (by name) or a literal one without parameters.
struct Step {
  Sql which;
  Params params;
};

// The outcome of a pipeline: every statement's result in order, or the first error and
// whether the server answered it (`answered`: the transaction was rolled back cleanly) or the
// connection failed (nothing is known of what the server did).
struct PipelineOutcome {
  std::vector<ResultPtr> results;
  std::optional<Error> error;
  std::size_t failed_step = 0;  // with an answered error: the statement that failed
  bool answered = true;
};

// After a pipeline that failed inside BEGIN ... COMMIT, the session is in a failed transaction
// until it is rolled back; a lost connection is simply dropped.
void end_failed_transaction(Connection& c, Deadline deadline);

// Sends every step in one flight (libpq pipeline mode, one Sync) and reads every result back:
// one network round trip. The caller's transaction statements are steps like any other.
PipelineOutcome run_pipeline(Connection& c, const std::vector<Step>& steps, std::string_view what,
                             Deadline deadline) {
  PipelineOutcome outcome;
  auto lost = [&](std::string_view detail) {
    outcome.error = c.failure(what, detail.empty() ? std::string_view(PQerrorMessage(c.pg)) : detail);
    outcome.answered = false;
    c.drop();
    return std::move(outcome);
  };
  if (PQenterPipelineMode(c.pg) == 0) return lost("");
  for (const Step& step : steps) {
    std::vector<const char*> values;
    values.reserve(step.params.values().size());
    for (const std::string& value : step.params.values()) values.push_back(value.c_str());
    const std::string& name = statement_name(step.which);
    if (PQsendQueryPrepared(c.pg, name.c_str(), static_cast<int>(values.size()), values.data(), nullptr, nullptr,
                            0) == 0)
      return lost("");
  }
  if (PQpipelineSync(c.pg) == 0) return lost("");

  // Each statement yields its result then a null; the Sync yields PGRES_PIPELINE_SYNC.
  ResultPtr current;
  for (;;) {
    if (!wait_until_not_busy(c, deadline)) {
      return lost(PQstatus(c.pg) == CONNECTION_BAD ? std::string_view(PQerrorMessage(c.pg))
                                                   : std::string_view("no answer in time"));
    }
    PGresult* raw = PQgetResult(c.pg);
    if (raw == nullptr) {  // the end of one statement's results
      if (current) outcome.results.push_back(std::move(current));
      if (PQstatus(c.pg) == CONNECTION_BAD) return lost("");
      continue;
    }
    ResultPtr result(raw);
    const ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_PIPELINE_SYNC) break;
    const bool failed = status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_PIPELINE_ABORTED;
    if (failed && !outcome.error) {
      const std::size_t index = outcome.results.size();
      outcome.failed_step = index;
      std::string detail = PQresultErrorMessage(raw);
      if (index < steps.size()) detail += " (statement " + std::to_string(index + 1) + " of " + std::to_string(steps.size()) + ")";
      outcome.error = c.failure(what, detail);
    }
    current = std::move(result);
  }
  if (PQexitPipelineMode(c.pg) == 0) return lost("");
  if (outcome.error) end_failed_transaction(c, deadline);
  if (!outcome.error && outcome.results.size() != steps.size())
    return lost("expected " + std::to_string(steps.size()) + " results, got " + std::to_string(outcome.results.size()));
  return outcome;
}

// Runs `sql` with the simple query protocol (several statements, no parameters: migrations and
// admin statements) and returns its last result. Not in pipeline mode.
Result<ResultPtr> run_simple(Connection& c, const std::string& sql, std::string_view what, Deadline deadline) {
  if (PQsendQuery(c.pg, sql.c_str()) == 0) return c.failure(what);
  ResultPtr last;
  std::optional<Error> error;
  for (;;) {
    if (!wait_until_not_busy(c, deadline)) {
      Error failed = c.failure(what, PQstatus(c.pg) == CONNECTION_BAD ? std::string(PQerrorMessage(c.pg))
                                                                        : std::string("no answer in time"));
      c.drop();
      return failed;
    }
    PGresult* raw = PQgetResult(c.pg);
    if (raw == nullptr) break;
    ResultPtr result(raw);
    if (PQresultStatus(raw) == PGRES_FATAL_ERROR && !error) error = c.failure(what, PQresultErrorMessage(raw));
    last = std::move(result);
  }
  if (error) return *error;
  return last;
}

void end_failed_transaction(Connection& c, Deadline deadline) {
  if (!c.connected()) return;
  const PGTransactionStatusType state = PQtransactionStatus(c.pg);
  if (state != PQTRANS_INERROR && state != PQTRANS_INTRANS) return;
  if (!run_simple(c, "ROLLBACK", "roll back", deadline)) c.drop();
}

// Prepares every statement on the connection, in one round trip.
Result<Done> prepare_statements(Connection& c, Deadline deadline) {
  auto send_failed = [&c] {
    Error error = c.failure("prepare statements");
    c.drop();
    return error;
  };
  if (PQenterPipelineMode(c.pg) == 0) return send_failed();
  for (std::size_t i = 0; i < kStatementCount; ++i) {
    const std::string sql(sql_text(static_cast<Sql>(i)));
    if (PQsendPrepare(c.pg, statement_name(static_cast<Sql>(i)).c_str(), sql.c_str(), 0, nullptr) == 0)
      return send_failed();
  }
  if (PQpipelineSync(c.pg) == 0) return send_failed();
  std::optional<Error> error;
  for (;;) {
    if (!wait_until_not_busy(c, deadline)) {
      Error failed = c.failure("prepare statements", "no answer in time");
      c.drop();
      return failed;
    }
    PGresult* raw = PQgetResult(c.pg);
    if (raw == nullptr) continue;
    ResultPtr result(raw);
    if (PQresultStatus(raw) == PGRES_PIPELINE_SYNC) break;
    if (PQresultStatus(raw) == PGRES_FATAL_ERROR && !error)
      error = c.failure("prepare statements", PQresultErrorMessage(raw));
  }
  if (PQexitPipelineMode(c.pg) == 0 && !error) error = c.failure("prepare statements");
  if (error) {
    c.drop();
    return *error;
  }
  c.prepared = true;
  return Done{};
}

// Takes this store's writer lock on a new connection, first ending the server process of a
// connection dropped mid-transaction. Until that process is gone the lock is refused and so is
// the connection: an in-doubt commit is only looked up once it can no longer change.
Result<Done> take_writer_lock(Connection& c, Deadline deadline) {
  std::vector<Step> steps;
  if (c.abandoned_backend != 0)
    steps.push_back({Sql::EndAbandoned, Params::of(std::int64_t{c.abandoned_backend}, c.application_name())});
  steps.push_back({Sql::LockWriter, Params::of(c.writer)});
  PipelineOutcome outcome = run_pipeline(c, steps, "take the writer lock", deadline);
  if (outcome.error) return *outcome.error;
  const PGresult* locked = outcome.results.back().get();
  if (PQntuples(locked) == 0 || Row(locked, 0).text(0) != "t") {
    Error error = c.failure("take the writer lock", "an earlier connection of this server is still finishing a transaction");
    PQfinish(c.pg);  // not drop(): this new connection ran nothing worth ending later
    c.pg = nullptr;
    c.prepared = false;
    return error;
  }
  c.abandoned_backend = 0;
  return Done{};
}

// A connection with the statements prepared and the writer lock held, made again if it was lost.
Result<Done> ensure_ready(Connection& c, Deadline deadline) {
  if (c.connected() && c.prepared) return Done{};
  if (auto connected = connect(c, deadline); !connected) return connected;
  if (auto prepared = prepare_statements(c, deadline); !prepared) return prepared;
  return take_writer_lock(c, deadline);
}

// Applies the migrations the database lacks, one transaction each, under an advisory lock.
Result<int> migrate(Connection& c, std::span<const SchemaMigration> schema, Deadline deadline) {
  const int known = static_cast<int>(schema.size());
  for (;;) {
    auto begun = run_simple(c,
                            "BEGIN; SELECT pg_advisory_xact_lock(" + std::string(kMigrationLockKey) +
                                "); CREATE TABLE IF NOT EXISTS tandem_schema (version INTEGER NOT NULL); "
                                "SELECT version FROM tandem_schema",
                            "begin migration", deadline);
    if (!begun) return begun.error();
    const PGresult* version_rows = begun.value().get();
    const int current = PQntuples(version_rows) > 0 ? static_cast<int>(Row(version_rows, 0).int64(0)) : 0;
    if (current > known) {
      (void)run_simple(c, "ROLLBACK", "end migration check", deadline);
      return c.failure("open", "the database has schema version " + std::to_string(current) +
                                   ", newer than this build knows (" + std::to_string(known) +
                                   "); use a newer tandem-server or another database");
    }
    if (current == known) {
      if (auto ended = run_simple(c, "COMMIT", "end migration check", deadline); !ended) return ended.error();
      return current;
    }
    const SchemaMigration& step = schema[static_cast<std::size_t>(current)];
    const std::string what =
        "migration to schema version " + std::to_string(current + 1) + " (" + std::string(step.description) + ")";
    // The version number is ours, not input.
    const std::string sql = std::string(step.sql) + ";\nDELETE FROM tandem_schema;\nINSERT INTO tandem_schema VALUES (" +
                            std::to_string(current + 1) + ");\nCOMMIT;";
    if (auto applied = run_simple(c, sql, what, deadline); !applied) {
      if (c.connected()) (void)run_simple(c, "ROLLBACK", "roll back migration", deadline);
      return applied.error();
    }
  }
}

// Webhook endpoint names as a text[] literal (names are [A-Za-z0-9_-]: nothing to quote).
std::string text_array(const std::vector<std::string>& names) {
  std::string array = "{";
  for (const std::string& name : names) {
    if (array.size() > 1) array += ',';
    array += name;
  }
  return array + "}";
}

std::vector<std::string> webhook_endpoints_of(const Retention& retention, std::string_view room) {
  if (!retention.webhook_endpoints) return {};
  return retention.webhook_endpoints(room);
}

void note_once(std::vector<std::string>& keys, const std::string& key) {
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
}

// Runs a read: BEGIN (`begin`: one snapshot), the steps, COMMIT, in one round trip; returns the
// steps' results (without those of BEGIN and COMMIT).
//
// A read on a connection that had been idle is made once more on a new connection when the old
// one turns out to be gone (the database restarted, or a proxy closed it meanwhile): libpq
// only learns that when it uses it. Safe for reads: a claim made twice only raises the room's
// (or document's) generation twice, and this store keeps the last.
Result<std::vector<ResultPtr>> run_read(Connection& c, std::vector<Step> steps, std::string_view what,
                                        Sql begin = Sql::BeginRead) {
  const Deadline deadline = deadline_after(c.timeout);
  steps.insert(steps.begin(), Step{begin, {}});
  steps.push_back(Step{Sql::Commit, {}});
  const bool reused = c.connected() && c.prepared;
  if (auto ready = ensure_ready(c, deadline); !ready) return ready.error();
  PipelineOutcome outcome = run_pipeline(c, steps, what, deadline);
  if (outcome.error && !outcome.answered && reused && SteadyClock::now() < deadline) {
    if (auto ready = ensure_ready(c, deadline); !ready) return ready.error();
    outcome = run_pipeline(c, steps, what, deadline);
  }
  if (outcome.error) return *outcome.error;
  std::vector<ResultPtr> results;
  for (std::size_t i = 1; i + 1 < outcome.results.size(); ++i) results.push_back(std::move(outcome.results[i]));
  return results;
}

// ---- the reads: each one's statements, and what their results mean --------------------------
// Shared by read(), which sends the statements of every read of a loop pass in one pipeline,
// and the single calls (load_room, find_session, changes), which are read() of one.

// A room's load: its claim (WRITERS in store.h), then its rows. In a BeginClaim transaction
// (READ COMMITTED), so the SELECTs see what a commit the claim waited for stored.
constexpr std::size_t kRoomSteps = 10;
void add_room_steps(const Connection& c, const std::string& room, std::vector<Step>& steps) {
  steps.push_back({Sql::ClaimRoom, Params::of(room)});
  steps.push_back({Sql::SelectRoom, Params::of(room)});
  steps.push_back({Sql::SelectEvents, Params::of(room, to_sql_count(c.retention.history))});
  steps.push_back({Sql::SelectNodes, Params::of(room)});
  steps.push_back({Sql::SelectEdges, Params::of(room)});
  steps.push_back({Sql::SelectChat, Params::of(room, to_sql_count(c.retention.chat))});
  steps.push_back({Sql::SelectLocks, Params::of(room)});
  steps.push_back({Sql::SelectFence, {}});
  const std::string endpoints = text_array(webhook_endpoints_of(c.retention, room));
  steps.push_back({Sql::SelectWebhookCursors, Params::of(room, endpoints)});
  steps.push_back(
      {Sql::SelectWebhookBacklog, Params::of(room, endpoints, to_sql_count(c.retention.webhook_max_backlog))});
}

// The room from its kRoomSteps results (the transaction committed); a stored room is now this
// store's to write.
Result<RoomRecord> room_from(Connection& c, const std::string& room, std::span<const ResultPtr> r) {
  RoomRecord record;
  if (PQntuples(r[7].get()) > 0) record.fence_high_water = Row(r[7].get(), 0).int64(0);
  if (PQntuples(r[1].get()) == 0) return record;  // never stored
  record.exists = true;
  const Row head(r[1].get(), 0);
  record.epoch = head.text(0);
  record.seq = head.int64(1);
  c.claims.insert_or_assign(room, head.int64(2));
  for_each_row(r[2].get(), [&](const Row& row) { record.history.push_back({row.int64(0), row.text(1)}); });
  std::optional<Error> bad_node;
  for_each_row(r[3].get(), [&](const Row& row) {
    auto node = stored_rows::node(row);
    if (node) {
      record.nodes.push_back(std::move(node).value());
    } else if (!bad_node) {
      bad_node = c.failure("load nodes of " + room, node.error().message);
    }
  });
  if (bad_node) return *bad_node;
  for_each_row(r[4].get(), [&](const Row& row) { record.edges.push_back(stored_rows::edge(row)); });
  for_each_row(r[5].get(), [&](const Row& row) { record.chat.push_back(stored_rows::chat(row)); });
  for_each_row(r[6].get(), [&](const Row& row) { record.locks.push_back(stored_rows::lock(row)); });
  for_each_row(r[8].get(), [&](const Row& row) { record.webhook_cursors.push_back({row.text(0), row.int64(1)}); });
  for_each_row(r[9].get(), [&](const Row& row) { record.webhook_backlog.push_back({row.int64(0), row.text(1)}); });
  return record;
}

constexpr std::size_t kSessionSteps = 1;
void add_session_steps(const Connection& c, const std::string& id, std::vector<Step>& steps) {
  steps.push_back({Sql::SelectSession, Params::of(id, to_sql_count(c.retention.requests_per_session))});
}

std::optional<SessionRecord> session_from(const std::string& id, std::span<const ResultPtr> r) {
  const PGresult* rows = r[0].get();
  if (PQntuples(rows) == 0) return std::nullopt;
  SessionRecord session{id, Row(rows, 0).text(0), {}};
  for_each_row(rows, [&](const Row& row) {
    if (!row.null(1)) session.applied.push_back(row.text(1));
  });
  return session;
}

constexpr std::size_t kChangesSteps = 1;
void add_changes_steps(const ReadRequest::ChangesPage& page, std::vector<Step>& steps) {
  const std::int64_t before = page.before_seq == 0 ? std::numeric_limits<std::int64_t>::max() : page.before_seq;
  steps.push_back({Sql::SelectChanges, Params::of(page.room, before, to_sql_count(page.limit))});
}

// A Yjs document's load: its claim (WRITERS in store.h), then its log; in a BeginClaim
// transaction, as a room's.
constexpr std::size_t kYDocSteps = 2;
void add_ydoc_steps(const std::string& doc, std::vector<Step>& steps) {
  steps.push_back({Sql::ClaimYDoc, Params::of(doc)});
  steps.push_back({Sql::SelectYUpdates, Params::of(doc)});
}

// The document from its kYDocSteps results (the transaction committed); it is now this
// store's to write.
Result<YDocRecord> ydoc_from(Connection& c, const std::string& doc, std::span<const ResultPtr> r) {
  if (PQntuples(r[0].get()) == 0) return c.failure("claim yjs document " + doc, "the claim returned no generation");
  c.ydoc_claims.insert_or_assign(doc, Row(r[0].get(), 0).int64(0));
  YDocRecord record;
  for_each_row(r[1].get(), [&](const Row& row) { record.updates.push_back({row.int64(0), row.bytes(1)}); });
  return record;
}

std::vector<StoredChange> changes_from(std::span<const ResultPtr> r) {
  std::vector<StoredChange> page;
  for_each_row(r[0].get(), [&](const Row& row) { page.push_back(stored_rows::change(row)); });
  return page;
}

// What a read is called in its error message: as the single call it stands for, or what it
// holds. Never a session id: it is what resumes a session.
std::string read_name(const ReadRequest& request) {
  const std::size_t rooms = request.rooms.size(), sessions = request.sessions.size(),
                    pages = request.change_pages.size(), ydocs = request.ydocs.size();
  if (ydocs == 1 && rooms + sessions + pages == 0) return "load yjs document " + request.ydocs.front();
  if (rooms == 1 && sessions + pages == 0) return "load room " + request.rooms.front();
  if (sessions == 1 && rooms + pages == 0) return "find session";
  if (pages == 1 && rooms + sessions == 0) return "load changes of " + request.change_pages.front().room;
  std::string name = "read";
  for (std::size_t i = 0; i < rooms; ++i) name += (i == 0 ? " rooms " : ", ") + request.rooms[i];
  if (sessions > 0) name += (rooms > 0 ? "; " : " ") + std::to_string(sessions) + " session(s)";
  if (pages > 0) name += (rooms + sessions > 0 ? "; " : " ") + std::to_string(pages) + " change page(s)";
  if (ydocs > 0) name += (rooms + sessions + pages > 0 ? "; " : " ") + std::to_string(ydocs) + " yjs document(s)";
  return name;
}

// The order a read claims rooms (or documents) in: each once, in byte order. Instances loading
// the same ones at once lock their rows in the same order (rooms before documents, as commits
// check them), so none waits for another in a cycle (a deadlock).
std::vector<std::string> claim_order(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

// The answer for each of `requested` (a name named twice is answered twice), from `loaded`: one
// per name of `order` (its claim_order).
template <class Answer>
std::vector<Answer> in_request_order(const std::vector<std::string>& requested, const std::vector<std::string>& order,
                                     const std::vector<Answer>& loaded) {
  std::vector<Answer> answers;
  answers.reserve(requested.size());
  for (const std::string& name : requested) {
    const auto at = std::lower_bound(order.begin(), order.end(), name) - order.begin();
    answers.push_back(loaded[static_cast<std::size_t>(at)]);
  }
  return answers;
}

}  // namespace

// ---- open ---------------------------------------------------------------------------------

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const PostgresOptions& options) {
  return open(options, postgres_schema());
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const PostgresOptions& options,
                                                           std::span<const SchemaMigration> schema) {
  auto connection = std::make_unique<postgres_detail::Connection>();
  Connection& c = *connection;
  c.url = options.url;
  c.shown_url = redact_postgres_url(options.url);
  c.retention = options.retention;
  c.timeout = options.timeout;
  c.wall_clock = options.wall_clock ? options.wall_clock : WallClock(system_unix_millis);
  if (options.url.empty()) return c.failure("open", "no database URL given (--store-url postgres://...)");

  const Deadline deadline = deadline_after(c.timeout);
  if (auto connected = connect(c, deadline); !connected) return connected.error();
  auto version = migrate(c, schema, deadline);
  if (!version) return version.error();
  c.schema_version = version.value();
  if (auto prepared = prepare_statements(c, deadline); !prepared) return prepared.error();
  if (auto locked = take_writer_lock(c, deadline); !locked) return locked.error();

  // Forget unused sessions (and writers) now, like the SQLite store at open.
  const UnixMillis now = c.wall_clock();
  const std::int64_t unused_since = now - c.retention.session_days * kMillisPerDay;
  PipelineOutcome expired = run_pipeline(c,
                                         {{Sql::Begin, {}},
                                          {Sql::ExpireSessions, Params::of(unused_since)},
                                          {Sql::ForgetWriters, Params::of(unused_since)},
                                          {Sql::Commit, {}}},
                                         "expire sessions", deadline);
  if (expired.error) return *expired.error;
  c.sessions_expired_at = now;
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(connection)));
}

PostgresStore::PostgresStore(std::unique_ptr<postgres_detail::Connection> connection)
    : connection_(std::move(connection)) {}
PostgresStore::~PostgresStore() = default;

int PostgresStore::schema_version() const { return connection_->schema_version; }

Result<Done> PostgresStore::run_admin_sql(const std::string& url, const std::string& sql,
                                          std::chrono::milliseconds timeout) {
  Connection c;
  c.url = url;
  c.shown_url = redact_postgres_url(url);
  c.timeout = timeout;
  const Deadline deadline = deadline_after(timeout);
  if (auto connected = connect(c, deadline); !connected) return connected;
  auto ran = run_simple(c, sql, sql, deadline);
  if (!ran) return ran.error();
  return Done{};
}

// ---- reads --------------------------------------------------------------------------------

ReadAnswers PostgresStore::read(const ReadRequest& request) {
  ReadAnswers answers;
  if (request.empty()) return answers;
  Connection& c = *connection_;
  // Rooms, then documents; each once, claimed in byte order.
  const std::vector<std::string> room_order = claim_order(request.rooms);
  const std::vector<std::string> ydoc_order = claim_order(request.ydocs);

  std::vector<Step> steps;
  for (const std::string& room : room_order) add_room_steps(c, room, steps);
  for (const std::string& id : request.sessions) add_session_steps(c, id, steps);
  for (const ReadRequest::ChangesPage& page : request.change_pages) add_changes_steps(page, steps);
  for (const std::string& doc : ydoc_order) add_ydoc_steps(doc, steps);
  // Claims need READ COMMITTED (see BeginClaim); without them, one snapshot for everything.
  const bool claims = !room_order.empty() || !ydoc_order.empty();
  auto results = run_read(c, std::move(steps), read_name(request), claims ? Sql::BeginClaim : Sql::BeginRead);
  if (!results) {
    answers.rooms.assign(request.rooms.size(), results.error());
    answers.sessions.assign(request.sessions.size(), results.error());
    answers.change_pages.assign(request.change_pages.size(), results.error());
    answers.ydocs.assign(request.ydocs.size(), results.error());
    return answers;
  }

  // The results come back in the order of the steps.
  std::span<const ResultPtr> unread(results.value());
  auto take = [&](std::size_t count) {
    const std::span<const ResultPtr> taken = unread.first(count);
    unread = unread.subspan(count);
    return taken;
  };
  std::vector<Result<RoomRecord>> rooms;
  for (const std::string& room : room_order) rooms.push_back(room_from(c, room, take(kRoomSteps)));
  answers.rooms = in_request_order(request.rooms, room_order, rooms);
  for (const std::string& id : request.sessions) answers.sessions.push_back(session_from(id, take(kSessionSteps)));
  for (std::size_t i = 0; i < request.change_pages.size(); ++i)
    answers.change_pages.push_back(changes_from(take(kChangesSteps)));
  std::vector<Result<YDocRecord>> ydocs;
  for (const std::string& doc : ydoc_order) ydocs.push_back(ydoc_from(c, doc, take(kYDocSteps)));
  answers.ydocs = in_request_order(request.ydocs, ydoc_order, ydocs);
  return answers;
}

Result<RoomRecord> PostgresStore::load_room(const std::string& room) {
  ReadRequest request;
  request.rooms.push_back(room);
  return std::move(read(request).rooms.front());
}

Result<std::vector<StoredChange>> PostgresStore::changes(const std::string& room, std::int64_t before_seq,
                                                         std::size_t limit) {
  ReadRequest request;
  request.change_pages.push_back({room, before_seq, limit});
  return std::move(read(request).change_pages.front());
}

Result<std::optional<SessionRecord>> PostgresStore::find_session(const std::string& id) {
  ReadRequest request;
  request.sessions.push_back(id);
  return std::move(read(request).sessions.front());
}

Result<YDocRecord> PostgresStore::load_ydoc(const std::string& doc) {
  ReadRequest request;
  request.ydocs.push_back(doc);
  return std::move(read(request).ydocs.front());
}

Result<std::int64_t> PostgresStore::fence_high_water() {
  Connection& c = *connection_;
  auto results = run_read(c, {{Sql::SelectFence, {}}}, "read fence");
  if (!results) return results.error();
  const PGresult* rows = results.value()[0].get();
  if (PQntuples(rows) == 0) return c.failure("read fence", "the fence row is missing");
  return Row(rows, 0).int64(0);
}

// ---- commit -------------------------------------------------------------------------------

Result<Done> PostgresStore::commit(const WriteBatch& batch) {
  Connection& c = *connection_;
  const Deadline deadline = deadline_after(c.timeout);
  if (auto ready = ensure_ready(c, deadline); !ready) return ready.error();

  const auto& writes = batch.writes();
  // Once this batch (whatever part of it) is stored: new rooms are this store's, and nothing
  // of it is skipped any more.
  auto stored = [&]() -> Result<Done> {
    for (const auto& write : writes)
      if (const auto* created = std::get_if<WriteBatch::NewRoom>(&write)) c.claims.insert_or_assign(created->room, 1);
    c.committed_prefix = {};
    return Done{};
  };
  // After a commit whose outcome is unknown, the writes that made it are not applied again
  // (the connection holds the writer lock: that commit can no longer change).
  if (c.in_doubt) {
    auto read = run_pipeline(c, {{Sql::SelectBatch, Params::of(c.writer)}}, "check the last batch", deadline);
    if (read.error) return *read.error;
    const PGresult* rows = read.results[0].get();
    if (PQntuples(rows) > 0 && Row(rows, 0).int64(0) == c.in_doubt->batch)
      c.committed_prefix = {c.in_doubt->batch_id, c.in_doubt->writes};
    c.in_doubt.reset();
  }
  if (c.committed_prefix.batch_id != batch.id()) c.committed_prefix = {};  // dropped: this one is new
  const std::size_t first = std::min(c.committed_prefix.writes, writes.size());
  if (first == writes.size()) return stored();

  const UnixMillis now = c.wall_clock();
  const bool expire_sessions_now = now - c.sessions_expired_at >= kSessionExpiryIntervalMs;
  const std::int64_t batch_number = ++c.last_batch;

  // What to trim (and which sessions were used), once per key at the end of the batch, and
  // each room's last seq (one UPDATE of its row per batch, not one per event).
  std::vector<std::string> event_rooms, chat_rooms, used_sessions;
  std::vector<std::int64_t> last_seq_of_event_room, first_seq_of_event_room;
  std::vector<Step> steps;
  steps.reserve(writes.size() - first + 8);
  // The rooms and Yjs documents this batch writes that this store has claimed, with the
  // generation it holds: checked (and their rows locked, FOR SHARE) first, so a claim by
  // another writer waits for this commit or makes it fail (WRITERS in store.h). Rooms before
  // documents, each in byte order, as reads claim them.
  std::map<std::string, std::int64_t, std::less<>> claimed_rooms, claimed_ydocs;
  for (std::size_t i = first; i < writes.size(); ++i) {
    if (auto held = c.claims.find(room_of(writes[i])); held != c.claims.end()) claimed_rooms.insert(*held);
    if (const std::string_view doc = ydoc_of(writes[i]); !doc.empty())
      if (auto held = c.ydoc_claims.find(doc); held != c.ydoc_claims.end()) claimed_ydocs.insert(*held);
  }
  steps.push_back({Sql::Begin, {}});
  for (const auto& [room, generation] : claimed_rooms) steps.push_back({Sql::CheckClaim, Params::of(room, generation)});
  for (const auto& [doc, generation] : claimed_ydocs)
    steps.push_back({Sql::CheckYDocClaim, Params::of(doc, generation)});
  using B = WriteBatch;
  auto add = Overloaded{
      [&](const B::NewRoom& w) { steps.push_back({Sql::InsertRoom, Params::of(w.room, w.epoch)}); },
      [&](const B::AppendEvent& w) {
        steps.push_back({Sql::InsertEvent, Params::of(w.room, w.seq, w.json)});
        const auto at = std::find(event_rooms.begin(), event_rooms.end(), w.room);
        if (at == event_rooms.end()) {
          event_rooms.push_back(w.room);
          last_seq_of_event_room.push_back(w.seq);
          first_seq_of_event_room.push_back(w.seq);
        } else {
          const auto index = static_cast<std::size_t>(at - event_rooms.begin());
          last_seq_of_event_room[index] = std::max(last_seq_of_event_room[index], w.seq);
          first_seq_of_event_room[index] = std::min(first_seq_of_event_room[index], w.seq);
        }
      },
      [&](const B::PutNode& w) {
        const protocol::Node& n = w.node;
        steps.push_back({Sql::UpsertNode, Params::of(w.room, n.id, n.type, n.label, n.x, n.y,
                                                      std::string(protocol::to_string(n.status)), n.data)});
      },
      [&](const B::DeleteNode& w) { steps.push_back({Sql::DeleteNode, Params::of(w.room, w.node)}); },
      [&](const B::PutEdge& w) {
        steps.push_back({Sql::UpsertEdge, Params::of(w.room, w.edge.id, w.edge.from, w.edge.to)});
      },
      [&](const B::DeleteEdge& w) { steps.push_back({Sql::DeleteEdge, Params::of(w.room, w.edge)}); },
      [&](const B::AddChange& w) {
        const StoredChange& ch = w.change;
        steps.push_back({Sql::InsertChange, Params::of(w.room, ch.seq, ch.user, ch.ts, ch.json)});
      },
      [&](const B::AddChat& w) {
        const protocol::ChatEntry& e = w.entry;
        steps.push_back({Sql::InsertChat, Params::of(w.room, e.seq, e.user, e.name, e.color, e.text, e.ts)});
        note_once(chat_rooms, w.room);
      },
      [&](const B::ClearChat& w) { steps.push_back({Sql::ClearChat, Params::of(w.room)}); },
      [&](const B::RaiseFence& w) { steps.push_back({Sql::RaiseFence, Params::of(w.fence)}); },
      [&](const B::PutSession& w) {
        steps.push_back({Sql::UpsertSession, Params::of(w.session.id, w.session.user, std::int64_t{now})});
      },
      [&](const B::RememberRequest& w) {
        steps.push_back({Sql::RememberRequest, Params::of(w.session, w.request_id, w.answer_json)});
        note_once(used_sessions, w.session);
      },
      [&](const B::PutLock& w) {
        const protocol::LockInfo& l = w.lock;
        steps.push_back({Sql::UpsertLock, Params::of(w.room, l.resource, l.holder.user, l.holder.name, l.holder.color,
                                                      l.fence, l.expires_at)});
      },
      [&](const B::DropLock& w) { steps.push_back({Sql::DeleteLock, Params::of(w.room, w.resource)}); },
      [&](const B::AppendYUpdate& w) {
        steps.push_back({Sql::InsertYUpdate, Params::of(w.doc, w.seq, Bytea{w.data})});
      },
      [&](const B::DropYUpdates& w) { steps.push_back({Sql::DropYUpdates, Params::of(w.doc, w.through_seq)}); },
      [&](const B::AdvanceWebhookCursor& w) {
        steps.push_back({Sql::AdvanceWebhookCursor, Params::of(w.hooked_room, w.endpoint, w.seq)});
      },
      [&](const B::AddWebhookDeadLetter& w) {
        const WebhookDeadLetter& l = w.letter;
        steps.push_back({Sql::InsertWebhookDeadLetter, Params::of(l.endpoint, l.room, l.first_seq, l.last_seq,
                                                                   std::int64_t{l.status}, l.error, l.ts)});
      },
  };
  // Which write each step came from (none: BEGIN, the checks), for error messages.
  std::vector<std::optional<std::size_t>> write_of_step(steps.size());
  for (std::size_t i = first; i < writes.size(); ++i) {
    std::visit(add, writes[i]);
    write_of_step.resize(steps.size(), i);
  }
  for (std::size_t i = 0; i < event_rooms.size(); ++i) {
    steps.push_back({Sql::AdvanceRoomSeq, Params::of(event_rooms[i], last_seq_of_event_room[i])});
    const auto endpoints = webhook_endpoints_of(c.retention, event_rooms[i]);
    if (endpoints.empty()) {
      steps.push_back({Sql::TrimEvents, Params::of(event_rooms[i], to_sql_count(c.retention.history))});
      continue;
    }
    // Webhooks: the endpoints following the room without a cursor there get one just before
    // its first event of this batch (they are sent what was stored once they follow it).
    for (const std::string& endpoint : endpoints)
      steps.push_back(
          {Sql::StartWebhookCursor, Params::of(event_rooms[i], endpoint, first_seq_of_event_room[i] - 1)});
    steps.push_back({Sql::TrimHookedEvents,
                     Params::of(event_rooms[i], to_sql_count(c.retention.history),
                                to_sql_count(std::max(c.retention.history, c.retention.webhook_max_backlog)),
                                text_array(endpoints))});
  }
  for (const std::string& room : chat_rooms)
    steps.push_back({Sql::TrimChat, Params::of(room, to_sql_count(c.retention.chat))});
  for (const std::string& session : used_sessions) {
    steps.push_back({Sql::TouchSession, Params::of(session, std::int64_t{now})});
    steps.push_back({Sql::TrimRequests, Params::of(session, to_sql_count(c.retention.requests_per_session))});
  }
  if (expire_sessions_now) {
    const std::int64_t unused_since = now - c.retention.session_days * kMillisPerDay;
    steps.push_back({Sql::ExpireSessions, Params::of(unused_since)});
    steps.push_back({Sql::ForgetWriters, Params::of(unused_since)});
  }
  steps.push_back({Sql::RecordBatch, Params::of(c.writer, batch_number, std::int64_t{now})});
  steps.push_back({Sql::Commit, {}});

  PipelineOutcome outcome = run_pipeline(c, steps, "commit", deadline);
  if (outcome.error) {
    // Lost before COMMIT's answer: it may have committed; the next commit asks.
    if (!outcome.answered) c.in_doubt = Connection::InDoubt{batch_number, batch.id(), writes.size()};
    Error error = *outcome.error;
    const std::size_t failed_step = outcome.failed_step;
    if (outcome.answered && failed_step < write_of_step.size() && write_of_step[failed_step]) {
      const std::size_t w = *write_of_step[failed_step];
      error.message += " (write " + std::to_string(w + 1) + " of " + std::to_string(writes.size()) + ", " +
                       std::string(kWriteNames[writes[w].index()]) + "; nothing of the batch was stored)";
    }
    return explain_lost_claim(std::move(error));
  }
  if (expire_sessions_now) c.sessions_expired_at = now;
  return stored();
}

Result<std::vector<WebhookDeadLetter>> PostgresStore::webhook_dead_letters(std::size_t limit) {
  Connection& c = *connection_;
  auto results = run_read(c, {{Sql::SelectWebhookDeadLetters, Params::of(to_sql_count(limit))}},
                          "read webhook dead letters");
  if (!results) return results.error();
  std::vector<WebhookDeadLetter> letters;
  for_each_row(results.value()[0].get(), [&](const Row& row) {
    letters.push_back({row.text(0), row.text(1), row.int64(2), row.int64(3), static_cast<int>(row.int64(4)),
                       row.text(5), row.int64(6)});
  });
  return letters;
}

Result<std::vector<std::string>> PostgresStore::webhook_rooms_behind() {
  Connection& c = *connection_;
  auto results = run_read(c, {{Sql::SelectWebhookRoomsBehind, {}}}, "find the rooms webhooks are behind in");
  if (!results) return results.error();
  std::vector<std::string> rooms;
  for_each_row(results.value()[0].get(), [&](const Row& row) {
    std::string room = row.text(0);
    if (!rooms.empty() && rooms.back() == room) return;
    const std::vector<std::string> following = webhook_endpoints_of(c.retention, room);
    if (std::find(following.begin(), following.end(), row.text(1)) != following.end()) rooms.push_back(std::move(room));
  });
  return rooms;
}

// ---- export -------------------------------------------------------------------------------

Result<Done> PostgresStore::export_batches(std::size_t writes_per_batch, const BatchSink& sink) {
  Connection& c = *connection_;
  std::vector<Step> steps;
  for (stored_rows::ExportTable table : stored_rows::kExportTables) steps.push_back({stored_rows::export_statement<Sql>(table), {}});
  auto results = run_read(c, std::move(steps), "export");
  if (!results) return results.error();
  BatchChunker out(writes_per_batch, sink);
  std::size_t index = 0;  // the tables come back in kExportTables' order
  auto rows = [&](stored_rows::ExportTable, const auto& each) -> Result<Done> {
    const PGresult* table = results.value()[index++].get();
    for (int i = 0; i < PQntuples(table); ++i)
      if (auto added = each(Row(table, i)); !added) return added;
    return Done{};
  };
  return stored_rows::export_writes(rows, out);
}

}  // namespace tandem::server::store
