// server/src/store/store.h — what tandem-server keeps across restarts, behind one interface:
// rooms (epoch, seq and the recent event log), workflow documents, chat, the lock fence
// high-water mark, sessions and the request ids each session had applied (exactly-once
// resends), the update log of each Yjs document (ydocs/). Two implementations: SqliteStore (sqlite_store.h, the embedded default: one file,
// one process) and PostgresStore (postgres_store.h: a database every instance reaches). One
// conformance suite (tests/server/store_conformance_test.cpp) runs against both.
//
// How the hub uses it (docs/ARCHITECTURE.md; DESIGN.md principle 6: durable without stalling
// the loop):
//   - reads happen at most once per loop pass, all together (read): a room when it is first joined
//     after start-up, a session when a connection resumes one the hub has forgotten, a page of
//     a document's change history; the input that needed them waits meanwhile;
//   - handlers apply a change in memory and record it in the current WriteBatch
//     (RoomRegistry::emit and persist);
//   - once per loop pass the hub commits the batch in one transaction (group commit) and only
//     then sends what was held for it (acks, fences, room events).
// EXPIRY: the store owns retention: it trims each room's event log and chat and each session's
//   request ids inside every commit, and forgets sessions unused for session_days (at open and
//   about hourly). Stored locks are a record, not leases: the store never expires them; the
//   server that loads the room releases them in the room log.
// ORDERING: commits apply their writes in order, one commit after another; a read sees every
//   commit that returned.
// WRITERS: loading a room claims it for this store object (the room's writer generation goes
//   up); a later commit of this store that writes the room fails — whole, nothing of it
//   stored, "room_claimed_by_another_writer" in the message — once another store object (another
//   server process) has loaded the room since. So a process that lost a room (paused,
//   partitioned, or simply older) can never append to its log again; seqs stay without
//   duplicates or gaps. Yjs documents are claimed the same way, apart from rooms: load_ydoc
//   (and read()'s ydocs) claims the document, even one never stored, and a later commit of
//   this store that appends to or drops from its log fails the same way (the message names
//   room_claimed_by_another_writer too) once another store object has loaded it since.
// FAILURE: a failed call changes nothing. The hub keeps a failed batch (memory has moved on,
//   so the store must catch up, in order) with everything held for it, and retries at most
//   every kStoreRetryDelay; it gives up only after kStoreRetries failures over at least
//   store_give_up_ms: held answers become error internal, every connection is closed 1011 and
//   the server stops (exit 3). Nothing unstored is ever acknowledged.
// THREADS: one thread at a time. The hub's commits run on a commit thread of their own
//   (commit_thread.h) while the loop goes on; the loop reads only when no commit is under way,
//   and the hand-over is synchronised there. Implementations need not be thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <variant>
#include <vector>

#include "tandem/protocol/chat.h"
#include "tandem/protocol/documents.h"
#include "tandem/protocol/locks.h"
#include "tandem/result.h"

namespace tandem::server::store {

// Result<Done> for calls that return nothing but may fail.
struct Done {};

// One room event as it went out on the wire (the encoded message, seq and ts included).
struct StoredEvent {
  std::int64_t seq = 0;
  std::string json;
  bool operator==(const StoredEvent&) const = default;
};

// One change to a workflow document, for the change history (who, what, when).
struct StoredChange {
  std::int64_t seq = 0;  // the room event's seq
  std::string user;
  std::int64_t ts = 0;   // Unix ms
  std::string json;      // the event as broadcast (node_created, node_updated, ...)
  bool operator==(const StoredChange&) const = default;
};

// Webhooks (webhooks/outbox.h): the last seq of a room's event log an endpoint acknowledged.
struct WebhookCursor {
  std::string endpoint;
  std::int64_t seq = 0;
  bool operator==(const WebhookCursor&) const = default;
};

// A webhook batch given up (a 4xx past webhook_max_attempts, or events trimmed past
// webhook_max_backlog before delivery): which events, and why.
struct WebhookDeadLetter {
  std::string endpoint;
  std::string room;
  std::int64_t first_seq = 0;
  std::int64_t last_seq = 0;
  int status = 0;     // the last HTTP status; 0 when there was none (connection error, backlog bound)
  std::string error;  // the last error, or "backlog_exceeded"
  std::int64_t ts = 0;  // Unix ms
  bool operator==(const WebhookDeadLetter&) const = default;
};

// Everything the server needs to bring a room back.
struct RoomRecord {
  bool exists = false;       // false: never stored; epoch/seq are empty/0
  std::string epoch;         // opaque
  std::int64_t seq = 0;      // the last event's seq
  std::vector<StoredEvent> history;  // the last `history_limit` events, oldest first
  std::vector<protocol::Node> nodes;  // workflow documents: insertion order
  std::vector<protocol::Edge> edges;
  std::vector<protocol::ChatEntry> chat;  // the last `chat_limit` messages, oldest first
  // Locks held when the room was last stored. Their holders' connections did not survive a
  // restart: the server releases them (and says so in the room log) when it loads the room.
  std::vector<protocol::LockInfo> locks;
  // The lock fence high-water mark (of every room) when this room was loaded: fences granted
  // in it from now on are above it, so they keep growing per resource when the room moves
  // between instances (each instance counts fences itself; the store has every one it made
  // durable before the room moved: WRITERS).
  std::int64_t fence_high_water = 0;
  // Webhooks: the cursors of the endpoints Retention::webhook_endpoints names for this room
  // (those with one stored: an endpoint gets one with the first event stored after it was
  // configured), and the events past the lowest of them, oldest first, at most
  // Retention::webhook_max_backlog — what was stored but not acknowledged (webhooks/outbox.h).
  std::vector<WebhookCursor> webhook_cursors;
  std::vector<StoredEvent> webhook_backlog;
};

// One entry of a Yjs document's update log (ydocs/ydocs.h): a Yjs update as a client sent it,
// stored as bytes the server never interprets beyond checking their shape. The log's union is
// the document; a compaction replaces a prefix of it by one client's whole state, appended.
struct StoredYUpdate {
  std::int64_t seq = 0;  // the document's own counter, in the order updates were stored
  std::string data;      // a Yjs v1 update (bytes)
  bool operator==(const StoredYUpdate&) const = default;
};

// A Yjs document's log, oldest first; empty when never stored.
struct YDocRecord {
  std::vector<StoredYUpdate> updates;
};

struct StoredSession {
  std::string id;
  std::string user;
};

// A stored session as a connection resuming it needs it: whose it is and which requests it
// applied (so a resend is recognised without asking the store again).
struct SessionRecord {
  std::string id;
  std::string user;
  std::vector<std::string> applied;  // request ids remembered as applied, oldest first (at most requests_per_session)
};

// The reads the hub gathered during one loop pass. Handlers never read the store: input that
// needs stored state waits (parked, hub.h) until the pass's reads are answered, all together.
struct ReadRequest {
  struct ChangesPage {
    std::string room;
    std::int64_t before_seq = 0;  // as Store::changes
    std::size_t limit = 0;
  };
  std::vector<std::string> rooms;     // load_room each (and so claim each: WRITERS)
  std::vector<std::string> sessions;  // find_session each
  std::vector<ChangesPage> change_pages;
  std::vector<std::string> ydocs;     // load_ydoc each (and so claim each: WRITERS)
  bool empty() const { return rooms.empty() && sessions.empty() && change_pages.empty() && ydocs.empty(); }
};

// One answer per request of each kind, in request order.
struct ReadAnswers {
  std::vector<Result<RoomRecord>> rooms;
  std::vector<Result<std::optional<SessionRecord>>> sessions;
  std::vector<Result<std::vector<StoredChange>>> change_pages;
  std::vector<Result<YDocRecord>> ydocs;
};

// The writes of one loop iteration, applied by Store::commit in one transaction, in order.
class WriteBatch {
 public:
  struct NewRoom { std::string room, epoch; };
  struct AppendEvent { std::string room; std::int64_t seq; std::string json; };
  struct PutNode { std::string room; protocol::Node node; };
  struct DeleteNode { std::string room, node; };  // also deletes the edges that touch it
  struct PutEdge { std::string room; protocol::Edge edge; };
  struct DeleteEdge { std::string room, edge; };
  struct AddChange { std::string room; StoredChange change; };
  struct AddChat { std::string room; protocol::ChatEntry entry; };
  struct ClearChat { std::string room; };
  struct RaiseFence { std::int64_t fence; };  // the fence high-water mark is at least this
  struct PutLock { std::string room; protocol::LockInfo lock; };  // held now (replaces the resource's)
  struct DropLock { std::string room, resource; };                // released
  struct PutSession { StoredSession session; };
  struct RememberRequest { std::string session, request_id, answer_json; };
  struct AppendYUpdate { std::string doc; std::int64_t seq; std::string data; };  // to a Yjs document's log
  struct DropYUpdates { std::string doc; std::int64_t through_seq; };  // compaction: its entries up to this go
  // Webhooks: `endpoint` acknowledged `hooked_room`'s events up to `seq` (a cursor never goes
  // back: a lower seq changes nothing). Not a write of the room (room_of is empty): no claim
  // is checked, as a delivery made is made whoever owns the room now.
  struct AdvanceWebhookCursor { std::string endpoint, hooked_room; std::int64_t seq; };
  struct AddWebhookDeadLetter { WebhookDeadLetter letter; };
  using Write = std::variant<NewRoom, AppendEvent, PutNode, DeleteNode, PutEdge, DeleteEdge, AddChange, AddChat,
                             ClearChat, RaiseFence, PutSession, RememberRequest, PutLock, DropLock, AppendYUpdate,
                             DropYUpdates, AdvanceWebhookCursor, AddWebhookDeadLetter>;

  // A PutNode of a node this batch already puts replaces that earlier write in its place
  // (a node dragged or edited in bursts is written once per commit, not once per edit): the
  // same end state, since nothing in between can have removed the node — a DeleteNode or a
  // NewRoom ends the merging (below), and so do append() and remove_if(). Every other write is
  // kept as added. Ending the merging costs O(1) (merge_floor_), however many puts came before.
  WriteBatch() = default;
  // A copy is the same batch (the same id); a moved-from batch is a new, empty one.
  WriteBatch(const WriteBatch&) = default;
  WriteBatch& operator=(const WriteBatch&) = default;
  WriteBatch(WriteBatch&& other) noexcept { take(other); }
  WriteBatch& operator=(WriteBatch&& other) noexcept {
    if (this != &other) take(other);
    return *this;
  }
  ~WriteBatch() = default;

  // Which batch this is, for a store that kept part of a failed commit (postgres_store.h): the
  // hub retries a failed batch as the same batch — append() and remove_if() keep its id — so
  // that store skips what it kept only in a batch with the failed one's id. Every new batch,
  // and every clear(), takes an id never used before in this process (the hub drops a failed
  // batch rather than retrying it when the rooms it writes were lost: Hub::lose_rooms).
  std::uint64_t id() const { return id_; }

  template <class W>
  void add(W write) {
    if constexpr (std::is_same_v<W, Write>) {
      std::visit([this](auto&& one) { this->add(std::move(one)); }, std::move(write));
      return;
    } else if constexpr (std::is_same_v<W, PutNode>) {
      if (merge_put_node(write)) return;
      latest_puts_.emplace(node_key(write.room, write.node.id), writes_.size());
    } else if constexpr (std::is_same_v<W, DeleteNode> || std::is_same_v<W, NewRoom>) {
      merge_floor_ = writes_.size() + 1;  // past this write: no later put merges before it
    }
    if constexpr (!std::is_same_v<W, Write>) writes_.emplace_back(std::move(write));
  }
  const std::vector<Write>& writes() const { return writes_; }
  bool empty() const { return writes_.empty(); }
  void reserve(std::size_t writes) { writes_.reserve(writes); }
  void clear() {
    writes_.clear();
    latest_puts_.clear();
    merge_floor_ = 0;
    id_ = next_id();
  }
  // Adds `later`'s writes after these (a failed batch taken back in front of what came since).
  // Later PutNodes are not merged into these: a store may have kept part of a failed batch
  // (postgres_store.h), and a write merged there would be skipped with it.
  void append(WriteBatch&& later) {
    writes_.insert(writes_.end(), std::make_move_iterator(later.writes_.begin()),
                   std::make_move_iterator(later.writes_.end()));
    later.clear();
    merge_floor_ = writes_.size();
  }
  // Removes every write `unwanted` says yes to. The batch keeps its id: remove only writes a
  // failed commit of it cannot have stored (added since), or clear() it.
  template <class Pred>
  void remove_if(Pred unwanted) {
    std::erase_if(writes_, unwanted);
    latest_puts_.clear();  // indexes moved
    merge_floor_ = writes_.size();
  }

 private:
  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  void take(WriteBatch& other) noexcept {
    writes_ = std::move(other.writes_);
    latest_puts_ = std::move(other.latest_puts_);
    merge_floor_ = other.merge_floor_;
    id_ = other.id_;
    other.clear();
  }
  static std::size_t node_key(std::string_view room, std::string_view node) {
    const std::size_t h = std::hash<std::string_view>{}(room);
    return h ^ (std::hash<std::string_view>{}(node) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  }
  // Replaces the batch's PutNode of the same node; false when there is none.
  bool merge_put_node(PutNode& write) {
    auto [first, last] = latest_puts_.equal_range(node_key(write.room, write.node.id));
    for (; first != last; ++first) {
      if (first->second < merge_floor_) continue;
      auto& earlier = std::get<PutNode>(writes_[first->second]);
      if (earlier.room == write.room && earlier.node.id == write.node.id) {
        earlier.node = std::move(write.node);
        return true;
      }
    }
    return false;
  }

  std::vector<Write> writes_;
  // node_key(room, node) -> index in writes_ of a PutNode; later ones merge into it when it is
  // at or past merge_floor_ (entries below it stay until clear(): at most one per PutNode).
  std::unordered_multimap<std::size_t, std::size_t> latest_puts_;
  std::size_t merge_floor_ = 0;
  std::uint64_t id_ = next_id();
};

// The room a write belongs to; empty for the writes that belong to none (RaiseFence,
// PutSession, RememberRequest, and the Yjs documents' writes, which name a `doc`).
inline std::string_view room_of(const WriteBatch::Write& write) {
  return std::visit(
      [](const auto& w) -> std::string_view {
        if constexpr (requires { w.room; }) {
          return w.room;
        } else {
          return {};
        }
      },
      write);
}

// The Yjs document a write belongs to (AppendYUpdate, DropYUpdates); empty for every other.
inline std::string_view ydoc_of(const WriteBatch::Write& write) {
  if (const auto* append = std::get_if<WriteBatch::AppendYUpdate>(&write)) return append->doc;
  if (const auto* drop = std::get_if<WriteBatch::DropYUpdates>(&write)) return drop->doc;
  return {};
}

// The name a write is claimed and owned under (WRITERS above): its room, `doc:` + the document
// for a Yjs document's writes, empty for writes of no room.
inline std::string claimed_name(const WriteBatch::Write& write) {
  if (const std::string_view doc = ydoc_of(write); !doc.empty()) return "doc:" + std::string(doc);
  return std::string(room_of(write));
}

// A failed commit's error, with what it means added when the cause is a room or Yjs document
// another writer has claimed since (WRITERS above).
inline Error explain_lost_claim(Error error) {
  if (error.message.find("room_claimed_by_another_writer") != std::string::npos)
    error.message += " — another server process has loaded the room or document since this one did; only it may "
                     "write it now";
  return error;
}

// The webhook endpoints that follow a room (webhooks/webhook_config.h); none: the room's log is
// trimmed as if there were no webhooks. Endpoint names are [A-Za-z0-9_-] (the stores rely on it).
using WebhookEndpointsOf = std::function<std::vector<std::string>(std::string_view room)>;

// Bounds the store keeps (trimmed on commit).
struct Retention {
  std::size_t history = 1000;          // events per room (recovery_history)
  std::size_t chat = 256;              // chat messages per room (chat_history)
  std::size_t requests_per_session = 1024;  // remembered request ids (dedup_window)
  std::int64_t session_days = 7;       // sessions unused this long are forgotten
  // Webhooks: a room's events an endpoint of webhook_endpoints(room) has not acknowledged are
  // kept past `history`, up to webhook_max_backlog events per room (the newest); older ones
  // are trimmed all the same (the outbox records them as a dead letter).
  WebhookEndpointsOf webhook_endpoints;
  std::size_t webhook_max_backlog = 100000;
};

class Store {
 public:
  virtual ~Store() = default;

  // The room as stored (exists=false when never stored).
  virtual Result<RoomRecord> load_room(const std::string& room) = 0;
  // A page of a document's change history: changes with seq < before_seq (all when 0), newest
  // first, at most `limit`.
  virtual Result<std::vector<StoredChange>> changes(const std::string& room, std::int64_t before_seq,
                                                    std::size_t limit) = 0;
  // The session, with the request ids it applied; nullopt when unknown (or forgotten).
  virtual Result<std::optional<SessionRecord>> find_session(const std::string& id) = 0;
  // The highest fence ever handed out (0 for a new store).
  virtual Result<std::int64_t> fence_high_water() = 0;
  // A Yjs document's update log, oldest first (no updates: never stored); claims the document
  // for this store (WRITERS).
  virtual Result<YDocRecord> load_ydoc(const std::string& doc) = 0;

  // Every read of `request`, answered together: what the hub calls in a loop pass that has
  // no commit to make (hub.h "Store reads"). This default makes one call after another (SQLite: local, no network);
  // PostgresStore answers all of it in one round trip (one transaction: when it fails, every
  // answer carries its error).
  virtual ReadAnswers read(const ReadRequest& request) {
    ReadAnswers answers;
    for (const std::string& room : request.rooms) answers.rooms.push_back(load_room(room));
    for (const std::string& session : request.sessions) answers.sessions.push_back(find_session(session));
    for (const ReadRequest::ChangesPage& page : request.change_pages)
      answers.change_pages.push_back(changes(page.room, page.before_seq, page.limit));
    for (const std::string& doc : request.ydocs) answers.ydocs.push_back(load_ydoc(doc));
    return answers;
  }

  // Applies every write of `batch` in one transaction; nothing of it is visible if it fails.
  // Durable when it returns (WAL; see sqlite_store.h for synchronous modes). After a failed
  // commit the hub either retries the same batch (the same id(), the same writes first, perhaps
  // more appended) or drops it (a new id): a store that cannot tell whether a failed commit
  // made it (postgres_store.h) skips what did only in a batch with the failed one's id.
  virtual Result<Done> commit(const WriteBatch& batch) = 0;

  // Everything the store holds, as batches of at most `writes_per_batch` writes that, committed
  // in order into an empty store, reproduce it (tandem-server migrate): rooms with their
  // epochs, each room's event log (so seqs go on where they were), documents in insertion
  // order, the change history, chat, held locks, the fence high-water mark, sessions and their
  // remembered requests (a session's last use becomes the time of the copy), the Yjs
  // documents' logs. Read in one
  // snapshot, so the store of a running server can be exported. Stops at the first error of
  // `sink`, returning it.
  using BatchSink = std::function<Result<Done>(const WriteBatch&)>;
  virtual Result<Done> export_batches(std::size_t writes_per_batch, const BatchSink& sink) = 0;

  // Webhooks: the newest `limit` dead letters, newest first (the admin API shows them; read
  // once at start-up, before the loop runs).
  virtual Result<std::vector<WebhookDeadLetter>> webhook_dead_letters(std::size_t limit) = 0;
  // Webhooks: the rooms in which an endpoint that follows them (Retention::webhook_endpoints)
  // has not acknowledged every stored event, in name order. One process's start-up sweep
  // loads them so their backlog goes out before any client returns (read once, before the loop
  // runs; with several instances each room's owner delivers when it loads the room instead).
  virtual Result<std::vector<std::string>> webhook_rooms_behind() = 0;
};

}  // namespace tandem::server::store
