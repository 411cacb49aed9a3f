// server/src/ydocs/ydocs.h — Yjs documents: the y-websocket and Hocuspocus connections' side of
// the hub, persisted as update logs, without CRDT code.
//
// A document is the union of a log of Yjs updates (bytes, store.h StoredYUpdate). The server
// checks each update's shape (yjs/update_check.h) but never merges updates; what a client
// needs comes from the log alone:
//   - JOIN: a client's sync step 1 is answered with every logged update (as update messages),
//     then an empty sync step 2 — the "synced" marker, so it must come last — then, once per
//     connection and document, the others' awareness states and a sync step 1 with an empty
//     state vector: the client answers it with its whole state (a step 2), which is how its
//     offline edits reach the document.
//   - WRITE: an update (or step 2) from a writer is appended to the log, stored with the pass's
//     group commit, and only then relayed to the document's other connections, so whatever a
//     client has seen is stored; a Hocuspocus client is told its update was stored (SyncStatus).
//     An update that carries nothing the log has not (its struct ids and deletions are covered,
//     yjs::covers) is neither stored nor relayed.
//   - COMPACTION: the step 2 answering an empty step 1 holds everything its client had been sent
//     before that step 1 — every log entry up to the seq last sent then. Once that prefix holds
//     at least two entries, the answer is appended and the prefix dropped, in one commit.
//     Concurrent compactions are safe: each drops only entries its own client had received, and
//     its own answer (which covers them) stays at the end. When a log grows past
//     ydoc_compact_after entries, a connected writer is asked (one request at a time per
//     document), so a long session compacts too.
//   - AWARENESS (cursors, names) is relayed at once and never stored; each client id belongs to
//     the connection that announced it first (max_awareness_clients per connection and
//     document), and its state is removed at the others when that connection goes.
//   - STATELESS (Hocuspocus): relayed to the document's other Hocuspocus connections, never
//     stored (no server hooks run here: it is the apps' own ephemeral channel).
//   - ACCESS: the document `d` is the room "doc:d" for the token's `rooms` patterns (else 4403);
//     one matching a `read_only` pattern may read and announce awareness, its updates are not
//     applied (y-websocket: a permission-denied message, once; Hocuspocus: scope "readonly").
// LIMITS: max_ydoc_bytes bounds a log (an update past it closes its sender 4413); malformed
//   messages close 4400 and change nothing; a document's log that cannot be read closes its
//   connections 1011.
// EXPIRY: a document stays in memory while connections use it and until its writes are stored;
//   forget_idle() (after commits) drops the rest: the next join reads the log again.
// SEVERAL INSTANCES: a document is owned like a room, under "doc:{doc}" (engine/cluster.h):
//   its owner runs all of the above; a connection elsewhere is checked (its token) where it
//   arrived and its messages are forwarded to the owner (Hub::route_ydoc), which treats it as a
//   remote member. Loading a log claims it in the store (store.h WRITERS), so an owner that lost
//   the document can neither append nor compact; losing it (lose()) closes its connections 1012
//   and they reconnect to the new owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "frame_queue.h"
#include "hub.h"
#include "store/store.h"
#include "tandem/result.h"
#include "yjs/messages.h"
#include "yjs/update_check.h"

namespace tandem::server {

// Close codes of the Yjs endpoints (PROTOCOL.md §Yjs); 4400, 4401, 4408, 4429 and 1009 as on /ws.
inline constexpr protocol::CloseCode kYjsTextRefused{1003, "unsupported data", false, false};
inline constexpr protocol::CloseCode kYDocForbidden{4403, "forbidden", false, false};
inline constexpr protocol::CloseCode kYDocTooLarge{4413, "document too large", false, false};

// One document in memory, for the admin API (GET /api/v1/ydocs).
struct YDocSummary {
  std::string doc;
  std::size_t connections = 0;
  std::size_t updates = 0;  // entries of its log
  std::size_t bytes = 0;    // their size
  std::int64_t last_seq = 0;
};

class YDocs {
 public:
  explicit YDocs(Hub& hub) : hub_(hub) {}
  YDocs(const YDocs&) = delete;
  YDocs& operator=(const YDocs&) = delete;

  // A Yjs connection was accepted. y-websocket: authenticated with ?token= at once (4401 without
  // or with a bad one, 4403 outside its rooms) and attached to its document. Hocuspocus: waits
  // for its auth messages (the hub's auth_timeout applies).
  void opened(Connection& connection, const OpenRequest& request, Now now);
  // One binary message. False when it must wait for a document's log (Hub::need_ydoc was
  // asked; nothing was done): the hub parks it and calls again after the read.
  bool receive(Connection& connection, std::string_view bytes, Now now);
  // The connection is gone: its awareness states are removed at the others.
  void closed(Connection& connection);
  // The answer of Hub::need_ydoc.
  void loaded(const std::string& doc, Result<store::YDocRecord> record);
  // Drops documents nobody uses whose writes are all stored (their leases go: Hub::forget_owned).
  void forget_idle();
  // Whether the document is in memory here.
  bool live(std::string_view doc) const;
  // Several instances: another instance runs the document now (this one lost its lease or its
  // store claim): its connections are closed 1012 and what it held in memory goes.
  void lose(std::string_view doc, std::string_view why);
  // Periodic (Hub::tick): Hocuspocus providers close a socket that brought no message for 30 s
  // (their messageReconnectTimeout) and WebSocket pings do not count, so every heartbeat_ms / 2
  // each v4 provider gets a Ping message (older ones throw on it).
  void tick(Now now);
  std::vector<YDocSummary> summaries() const;

 private:
  struct Entry {
    std::int64_t seq = 0;
    Bytes update;  // the Yjs update
  };
  struct Awareness {
    std::uint64_t clock = 0;
    std::string state;  // JSON
    ConnectionId owner = 0;
  };
  struct Document {
    enum class State { Loading, Ready, Failed };
    State state = State::Loading;
    std::vector<Entry> log;       // oldest first
    std::int64_t last_seq = 0;
    std::size_t bytes = 0;        // the log's updates
    std::size_t unstored = 0;     // appended, not stored yet
    yjs::UpdateSummary content;   // what the log holds (ids and deletions)
    std::vector<ConnectionId> connections;  // attached
    std::map<std::uint64_t, Awareness> awareness;
    bool compaction_asked = false;  // a writer was asked for its state because the log grew
  };
  // One connection's use of one document.
  struct Attachment {
    std::string doc;
    std::string address;  // Hocuspocus: the document's address as the provider sent it
    bool read_only = false;
    bool state_asked = false;              // the empty step 1 went out
    std::optional<std::int64_t> answer_through;  // its step 2 will cover the log up to this seq
    bool told_read_only = false;
    std::vector<std::uint64_t> awareness_clients;
  };
  // Per connection: its documents, and whether its provider answers Ping (Hocuspocus v4).
  struct Attached {
    std::vector<Attachment> documents;
    bool answers_ping = false;
  };

  // Framing: a y-websocket message as it goes to `connection` (Hocuspocus: the document's
  // address in front; sync, awareness and query-awareness bodies are the same in both).
  Bytes framed(const Connection& connection, const Attachment& attachment, std::string_view message) const;
  void send(Connection& connection, const Attachment& attachment, std::string_view message);
  Document* ready(Connection& connection, const std::string& doc, bool& wait);
  Attachment* attachment(ConnectionId id, std::string_view doc);
  // The messages about one document both framings carry, decoded.
  using DocumentMessage =
      std::variant<yjs::SyncStep1, yjs::SyncStep2, yjs::SyncUpdate, yjs::AwarenessUpdate, yjs::QueryAwareness>;
  Attachment& attach(Connection& connection, const std::string& doc, bool read_only);
  void detach(Connection& connection, Attachment& attachment);
  // Token checks for `doc`: the claims, or a close/denial already done (nullopt).
  enum class Access { Write, Read, Refused };
  Access access(const std::string& sub, const std::vector<std::string>& rooms, const std::vector<std::string>& read_only,
               const std::string& doc) const;
  // A y-websocket connection to the document its path named, with its token's access.
  Attachment& attach_y_websocket(Connection& connection);

  bool receive_y_websocket(Connection& connection, std::string_view bytes, Now now);
  bool receive_hocuspocus(Connection& connection, std::string_view bytes, Now now);
  // False when it must wait for the document's owner (several instances): the hub parks it.
  bool authenticate_hocuspocus(Connection& connection, std::string_view address, const yjs::hocuspocus::Token& token,
                               std::string_view bytes, Now now);
  void handle(Connection& connection, Attachment& attachment, Document& doc, const DocumentMessage& message);
  void sync_step1(Connection& connection, Attachment& attachment, Document& doc);
  void apply_update(Connection& connection, Attachment& attachment, Document& doc,
                    const yjs::SyncUpdatePayload& update, bool answers_state_request);
  void ask_state(Connection& connection, Attachment& attachment, Document& doc);
  void maybe_ask_compaction(Document& doc);
  void awareness(Connection& connection, Attachment& attachment, Document& doc, const yjs::AwarenessUpdate& update);
  void relay(Document& doc, ConnectionId except, std::string_view message, bool after_commit);
  void relay_stateless(Connection& connection, const Attachment& attachment, std::string_view payload);
  void refuse(Connection& connection, std::string_view reason);  // malformed: close 4400

  Hub& hub_;
  Millis next_ping_{0};
  std::unordered_map<std::string, Document> docs_;
  std::unordered_map<ConnectionId, Attached> attachments_;
};

}  // namespace tandem::server
