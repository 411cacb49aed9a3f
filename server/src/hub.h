// server/src/hub.h — every WebSocket connection's logic, without sockets.
//
// The edge (lws_server.cpp; a fake in tests) feeds the hub events: a connection opened, a
// complete text message arrived, a message was refused by the frame assembler, a
// connection closed, time passed. The hub answers with effects it keeps per connection:
// frames in an outbound queue and, at most once, a close request (code + reason). It calls
// EdgeWaker::wake(id) when a connection has something new; the edge then drains it at its
// next writable moment (never from inside an input callback).
//
// Sections:
//   Now, Bytes, CloseRequest     the vocabulary shared with the edge
//   Connection                   per-connection state ("one of these per connection")
//   HandlerRegistry              message type -> handler; each family registers its own
//   Hub                          the registry of connections and the rules of issue 2
//
// Rules enforced here (docs/PROTOCOL.md §Connection): nothing but `connected` before auth;
// any other message before auth closes 4401; no auth within auth_timeout closes 4408; bad
// JSON / unknown type / invalid fields / too big get an error and the connection stays; more
// than max_bad_frames of those per minute closes 4400; an outbound queue over
// max_outbound_bytes closes 4508; shutdown closes everyone with 1012.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "config.h"
#include "engine/broker.h"
#include "engine/cluster.h"
#include "engine/cluster_message.h"
#include "engine/lock_engine.h"
#include "engine/presence_engine.h"
#include "fifo.h"
#include "frame_queue.h"
#include "ids.h"
#include "jwt.h"
#include "metrics.h"
#include "rate_limit.h"
#include "rooms/room_registry.h"
#include "session_book.h"
#include "store/commit_thread.h"
#include "store/store.h"
#include "tandem/clock.h"
#include "tandem/protocol/codec.h"
#include "tandem/protocol/errors.h"

namespace tandem::server {

using ConnectionId = std::uint64_t;

class YDocs;  // ydocs/ydocs.h
namespace webhooks {
class Outbox;          // webhooks/outbox.h
class DeliveryThread;  // webhooks/delivery_thread.h
}  // namespace webhooks

// The protocol a connection speaks, chosen by its URL path at the upgrade.
enum class Wire : std::uint8_t {
  Tandem,      // /ws: Tandem's JSON protocol (docs/PROTOCOL.md), text messages
  YWebsocket,  // /yjs/{doc}: the y-websocket protocol for one Yjs document, binary messages
  Hocuspocus,  // /yjs: @hocuspocus/provider's framing, documents named per message, binary
};

// The two clocks the hub needs: monotonic for timeouts, wall for `ts` fields and token expiry.
struct Now {
  Millis mono{0};
  UnixMillis wall = 0;
};

// What happens to frames still queued when a close is requested.
enum class QueuedFrames {
  Flush,  // send them first (errors before a 4400 explain it; shutdown drains)
  Drop,   // discard them (a slow consumer would never drain)
};

struct CloseRequest {
  int code = 0;
  std::string reason;  // at most 123 bytes (the WebSocket limit), cut at a UTF-8 boundary
  QueuedFrames queued = QueuedFrames::Flush;
};

// Why the edge refused a message before it reached the hub.
enum class FrameProblem {
  TooBig,      // over max_frame_bytes; its bytes were discarded as they arrived
  OverHardLimit,  // over hard_frame_bytes: the connection must go (1009)
  WrongKind,   // binary on a Tandem connection (JSON text only), text on a Yjs one (binary only)
  OverPreAuthLimit,  // over max_preauth_bytes before authentication: the connection must go (1009)
  Unmasked,    // a frame without the client mask bit (RFC 6455 5.1): the connection must go (1002)
};

enum class AuthState { Pending, Authenticated };

// One of these per WebSocket connection, owned by the Hub.
struct Connection {
  ConnectionId id = 0;
  Wire wire = Wire::Tandem;
  std::string wire_id;        // `connection_id` on the wire: "c" + id
  std::string peer;           // remote address, for logs
  AuthState auth = AuthState::Pending;
  Millis opened_at{0};
  protocol::UserInfo user;    // valid once authenticated
  std::vector<std::string> rooms;  // the token's room patterns
  std::vector<std::string> perms;  // the token's permissions ("chat:clear", jwt.h)
  std::vector<std::string> read_only;  // the token's read-only room patterns (jwt.h)
  std::string ydoc;           // Wire::YWebsocket: the document its path named
  std::optional<std::string> presented_session;  // ?session= at upgrade, to resume
  std::string session;        // sent in `connected`
  SessionStart session_start = SessionStart::New;  // Resumed: features move what they kept for it
  // What a log line about this connection carries in JSON (log.h): its wire id, its user once
  // authenticated (empty before: left out) and `room` when given. Views into this connection.
  log::Fields log_fields(std::string_view room = {}) const { return {.conn = wire_id, .room = room, .user = user.id}; }

  FrameQueue outbound;                // encoded messages, oldest first (bytes() bounded by max_outbound_bytes)
  bool wake_pending = false;          // the edge was woken and has not drained since
  std::optional<CloseRequest> close;  // set once; input is ignored afterwards
  // Frames held for the pending group commit: while there are any, every later frame for this
  // connection waits behind them, so it sees nothing out of order and nothing not yet stored.
  std::size_t held_frames = 0;

  std::vector<Millis> bad_frames;  // times of recent protocol errors (at most max_bad_frames + 1)
  RateLimit rate;                  // messages sent once authenticated (rate_per_sec, rate_burst)

  // Input waiting for the pass's store reads ("Store reads" at Hub), in arrival order: while
  // there is any, every later message of this connection waits behind it.
  struct ParkedInput {
    enum class Kind {
      Message,         // text: a message the client sent
      TokenAtUpgrade,  // text: ?token= (authenticate with presented_session)
      AutomaticJoin,   // text: a room another instance asked this owner to join it to (its user: room)
      Adopt,           // a remote member's session, once the store said which requests it applied
      YjsMessage,      // bytes: a binary message of a Yjs connection (ydocs/)
    };
    std::string text;
    Kind kind = Kind::Message;
  };
  Fifo<ParkedInput> parked;

  // Several instances (engine/cluster.h).
  struct RemoteOrigin {
    std::string instance;        // where the client's socket is
    ConnectionId connection = 0;  // its id there
  };
  // Set on a remote member: this instance owns rooms the client uses, its socket is elsewhere.
  std::optional<RemoteOrigin> remote;
  // On the client's own instance: rooms another instance owns that this client talks to
  // (room -> owner), and the owners it is attached to (told `detach` when it goes).
  std::unordered_map<std::string, std::string> forwarded;
  std::unordered_map<std::string, std::string> forwarded_ydocs;  // the same for Yjs documents (doc -> owner)
  std::vector<std::string> attached_to;
};

class Hub;

// What a handler gets: the connection, the decoded frame, the time, and reply helpers that
// echo the request id.
struct HandlerContext {
  Hub& hub;
  Connection& connection;
  const protocol::ClientFrame& frame;
  Now now;

  void reply(protocol::ServerMessage message);  // carries frame.id
  void reply_after_commit(protocol::ServerMessage message);  // the same, once the writes are durable
  // {"type":"ack","id"} when the request had an id; the id is remembered as applied in this
  // session, so a resend of it is acked again ("duplicate":true) without being applied twice.
  void ack();
  // The same for a change recorded in hub.writes(): the ack waits for the commit, and the id is
  // stored with the change (a resend after a restart is recognised too).
  void ack_after_commit();
  void error(std::string_view code, std::string message);  // malformed-input codes count as bad frames
  // True when the connection is in `room`; otherwise answers error not_subscribed.
  bool require_member(const std::string& room);
};

// Message type -> handler, plus lifecycle hooks. Each family registers from its own file
// (handlers/<family>.cpp, listed in handlers/handlers.h).
class HandlerRegistry {
 public:
  using Handler = std::function<void(HandlerContext&)>;
  using DisconnectHook = std::function<void(Hub&, Connection&)>;
  using TickHook = std::function<void(Hub&, Now)>;
  using AuthenticatedHook = std::function<void(Hub&, Connection&, Now)>;

  // Registers `handler(HandlerContext&, const M&)` for message struct M (keyed by M::kType).
  template <class M, class F>
  void on(F handler) {
    handlers_[M::kType] = [handler = std::move(handler)](HandlerContext& ctx) {
      handler(ctx, std::get<M>(ctx.frame.message));
    };
  }
  // Runs when a connection is gone, before the hub forgets it (presence leaves, locks are
  // released). Nothing can be sent to it any more.
  void on_disconnect(DisconnectHook hook) { disconnect_hooks_.push_back(std::move(hook)); }
  // Runs on every Hub::tick (expiry of locks, typing indicators, conflated presence...).
  void on_tick(TickHook hook) { tick_hooks_.push_back(std::move(hook)); }
  // Runs once a connection is authenticated, after `connected` was queued (auto-join user:{sub}).
  void on_authenticated(AuthenticatedHook hook) { authenticated_hooks_.push_back(std::move(hook)); }
  // Runs when a connection continues a session here: after authentication resumed it, and —
  // several instances — when a remote member carrying a session attaches to this owner (what
  // the session held in this instance's rooms, its locks, comes back to it).
  void on_session_continued(AuthenticatedHook hook) { session_continued_hooks_.push_back(std::move(hook)); }
  // Room membership changes (rooms/room_registry.h): snapshots and diffs on join, releases on
  // leave. Hooks run in registration order: presence before locks, as PROTOCOL.md §4 orders
  // the snapshots.
  void on_room_join(RoomJoinHook hook) { room_join_hooks_.push_back(std::move(hook)); }
  void on_room_leave(RoomLeaveHook hook) { room_leave_hooks_.push_back(std::move(hook)); }

  const Handler* find(std::string_view type) const;
  const std::vector<DisconnectHook>& disconnect_hooks() const { return disconnect_hooks_; }
  const std::vector<TickHook>& tick_hooks() const { return tick_hooks_; }
  const std::vector<AuthenticatedHook>& authenticated_hooks() const { return authenticated_hooks_; }
  const std::vector<AuthenticatedHook>& session_continued_hooks() const { return session_continued_hooks_; }
  const std::vector<RoomJoinHook>& room_join_hooks() const { return room_join_hooks_; }
  const std::vector<RoomLeaveHook>& room_leave_hooks() const { return room_leave_hooks_; }

 private:
  std::unordered_map<std::string, Handler> handlers_;
  std::vector<DisconnectHook> disconnect_hooks_;
  std::vector<TickHook> tick_hooks_;
  std::vector<AuthenticatedHook> authenticated_hooks_;
  std::vector<AuthenticatedHook> session_continued_hooks_;
  std::vector<RoomJoinHook> room_join_hooks_;
  std::vector<RoomLeaveHook> room_leave_hooks_;
};

// The edge implements this.
class EdgeWaker {
 public:
  virtual ~EdgeWaker() = default;
  // Connection `id` has frames or a close request: write them when its socket is writable.
  virtual void wake(ConnectionId id) = 0;
  // The hub has writes waiting: call Hub::commit() once the events being handled now are done
  // (the next loop iteration), so one transaction carries them all.
  virtual void commit_soon() = 0;
  // The hub dropped `id`'s queue and asked for a close (slow consumer): close it even if its
  // socket never becomes writable again — a peer that stopped reading never drains.
  virtual void abandon(ConnectionId id) = 0;
  // Called from the commit thread (store/commit_thread.h) when a commit it ran has returned:
  // run a loop pass soon, whose Hub::commit(now) collects it. Must be thread-safe.
  virtual void commit_finished() {}
  // Called from the webhook delivery thread (webhooks/delivery_thread.h) when a POST was
  // answered: run a loop pass soon, whose Hub::commit(now) takes the answer. Thread-safe.
  virtual void deliveries_answered() { commit_finished(); }
};

// What the edge knows at upgrade time.
struct OpenRequest {
  std::optional<std::string> token;    // ?token=
  std::optional<std::string> session;  // ?session=
  std::string peer;                    // "127.0.0.1:53412", for logs
  Wire wire = Wire::Tandem;
  std::string ydoc;                    // Wire::YWebsocket: the document named by the path
};

// Why a WebSocket upgrade is refused before it happens (an HTTP answer instead of 101).
struct UpgradeRefusal {
  int status = 0;       // 503: this instance is full; 429: this user has too many connections
  std::string message;  // the answer's body
};

struct HubStats {
  std::size_t connections = 0;    // open WebSocket connections
  std::size_t authenticated = 0;  // of which past auth
};

// One live room as the admin API shows it (GET /api/v1/ws/rooms/{room}): who is in it and
// which locks are in force.
struct RoomDetail {
  struct Member {
    protocol::UserInfo user;
    std::size_t connections = 0;  // the user's connections in the room (a second tab counts)
  };
  struct Lock {
    std::string resource;
    protocol::LockHolder holder;
    std::int64_t fence = 0;
    UnixMillis expires_at = 0;  // wall clock, like the wire's
    Millis expires_in{0};
  };
  std::string room;
  std::vector<Member> members;  // in the order of each user's first join
  std::vector<Lock> locks;      // by resource
};

class Hub {
 public:
  // Fills a HandlerRegistry; the default (nullptr) is handlers::register_all, every family.
  using Registration = std::function<void(HandlerRegistry&)>;

  // Keeps references to `ids`, `waker` and `store`; they must outlive the hub. Without a store
  // (unit tests of features that keep nothing) writes are dropped and commits always succeed.
  Hub(const Settings& settings, IdSource& ids, EdgeWaker& waker, const Registration& registration = nullptr,
      store::Store* store = nullptr);
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;
  ~Hub();

  // ---- events from the edge ----------------------------------------------------------------
  // A WebSocket connection was accepted. With a token it is authenticated at once (or closed
  // 4401); without one it has auth_timeout to send `auth`.
  ConnectionId open(const OpenRequest& request, Now now);
  // Asked by the edge before an upgrade: whether this instance has room for one more
  // connection (max_connections) and, when the URL carries a valid token, whether its user may
  // open another (max_connections_per_user; an invalid token is refused after the upgrade with
  // 4401 as always). nullopt: go ahead.
  std::optional<UpgradeRefusal> check_upgrade(const std::optional<std::string>& token, Now now) const;
  // Whether the connection has authenticated (the edge bounds what it accepts before that).
  bool authenticated(ConnectionId id) const;
  // One complete message: on a Tandem connection text (its JSON protocol) or binary (Yjs
  // documents in Hocuspocus framing, ydocs/), on a Yjs connection binary (the edge checked the
  // kind: FrameProblem::WrongKind otherwise).
  void receive(ConnectionId id, std::string_view text, Now now, MessageKind kind = MessageKind::Text);
  // A message the edge refused (see FrameProblem). `bytes` is its size so far.
  void refuse(ConnectionId id, FrameProblem problem, std::size_t bytes, Now now);
  // The connection is gone (either side closed it). Forgets it.
  void closed(ConnectionId id);
  // Periodic: auth timeouts, then the features' tick hooks. Call every few hundred ms.
  void tick(Now now);
  // Graceful shutdown: every connection gets close 1012 "restart"; later opens too.
  void shutdown();
  // ---- effects for the edge ------------------------------------------------------------------
  // The next frame to write: one queued message as is, or several text messages joined into
  // one batch frame (a JSON array) up to max_batch_bytes; `kind` says whether it goes out as a
  // text or a binary frame (binary messages are never joined). nullptr when nothing is queued.
  Bytes next_frame(ConnectionId id, MessageKind& kind);
  Bytes next_frame(ConnectionId id) {
    MessageKind kind;
    return next_frame(id, kind);
  }
  // The close to execute once next_frame() returns nullptr; nullptr when none is requested.
  const CloseRequest* close_request(ConnectionId id) const;

  // ---- for handlers and features ---------------------------------------------------------------
  // Queues `frame`; with a `key` it replaces a queued frame with the same key (frame_queue.h).
  void send(Connection& connection, Bytes frame, const StateKey& key = nullptr);
  // Queues `frame` to go out as a binary WebSocket message (the Yjs protocols, ydocs/).
  void send_binary(Connection& connection, Bytes frame);
  void send(Connection& connection, const protocol::ServerFrame& frame);
  // Durable state: handlers add what they changed to writes() and send what must not reach a
  // client before it is stored (acks of stored changes, fences, room events) with
  // send_after_commit(), which holds it until commit() has made the writes durable. Without a
  // store nothing is held.
  store::WriteBatch& writes();
  void send_after_commit(Connection& connection, protocol::ServerFrame frame);
  void send_after_commit(Connection& connection, Bytes frame, MessageKind kind = MessageKind::Text);
  // Group commit: stores the writes of this loop pass in one transaction, then sends what was
  // held for them. A failed commit keeps everything and is retried by the next calls, at most
  // every kStoreRetryDelay (with the edge's monotonic `now`). The edge calls commit(now) after
  // every loop pass; in a pass without writes (or after one that committed while reads
  // waited) it makes the store reads instead and resumes the input that waited for them
  // ("Store reads" below). Whenever work is left for another pass the hub asks the edge for
  // one (EdgeWaker::commit_soon). commit() without `now` repeats passes until nothing is left
  // (tests; the last flush at exit).
  void commit();
  void commit(Millis now);
  // Shutting down, before the last commit(): stops the webhook delivery thread (cancels the
  // post under way, joins it) and adds the cursors its answers moved to the batch. After
  // it, nothing calls EdgeWaker::deliveries_answered.
  void stop_webhooks();
  // Calls `then(true)` once every write recorded so far is stored (after the commit that
  // carries it), or `then(false)` when the store is given up — for answers outside WebSocket
  // connections (HTTP publish). Without a store: at once, true.
  void after_commit(std::function<void(bool stored)> then);

  // ---- Several instances (engine/cluster.h, docs/SCALING.md) ----------------------------------
  // With a directory and a link this hub runs only the rooms it owns: a client's message about
  // a room another instance owns is forwarded there (the client attached once), and what that
  // owner sends back is queued on the client's socket. Messages from other instances' clients
  // about rooms this hub owns arrive as remote members. The owner of a room nobody knows yet is
  // learned with the pass's reads (the input waits, parked). Both outlive the hub.
  void attach_cluster(RoomDirectory& directory, ClusterLink& link);
  // The automatic join of `room` (the user: room after auth): true when another instance owns
  // it — the join was sent there, the connection is a member through it — else the caller joins
  // locally. The owner is known by then (learned before authentication went on).
  bool join_elsewhere(Connection& connection, const std::string& room);
  // POST /api/v1/publish for rooms another instance runs is run there. The owner's side:
  // `runner` runs a body another instance forwarded (publish_api.h) and answers.
  using PublishAnswer = std::function<void(int status, std::string body)>;
  using PublishRunner = std::function<void(std::string_view body, Now now, PublishAnswer answer)>;
  void set_publish_runner(PublishRunner runner) { publish_runner_ = std::move(runner); }
  // What this instance tells the others with each heartbeat (the admin API's figures, as
  // JSON: HttpApi::instance_report), and what the other live instances said last: null alone.
  void set_cluster_report(std::function<std::string()> report) { cluster_report_ = std::move(report); }
  const std::vector<std::string>* cluster_reports() const { return directory_ ? &cluster_reports_ : nullptr; }
  // The edge's side: sends `body` to `owner`; `answer` gets the owner's answer — or 503 when
  // the owner dies or messages between them are lost first, 504 when none comes within
  // store_give_up_ms + instance_ttl_ms (then the events may or may not have been published).
  void forward_publish(const std::string& owner, std::string body, PublishAnswer answer);
  // The same for a POST /sse/{stream} whose stream `owner` holds (PROTOCOL.md §5.5): `answer`
  // gets its status and body, 503 when the owner dies first, 504 after instance_ttl_ms.
  void forward_sse_post(const std::string& owner, cluster::SsePost post, PublishAnswer answer);
  // The holder's side: `runner` applies a POST another instance forwarded and answers.
  using SsePostRunner = std::function<void(const cluster::SsePost& post, PublishAnswer answer)>;
  void set_sse_post_runner(SsePostRunner runner) { sse_post_runner_ = std::move(runner); }

  // ---- Store reads ---------------------------------------------------------------------------
  // Handlers never read the store. Input that needs stored state — a room's first join since
  // start-up, a session this process has forgotten — is parked (Connection::parked) and what it
  // needs joins this pass's reads; commit(now) makes them all in one Store::read, then
  // replays the parked input, which now finds everything in memory. A pass makes one store
  // round trip at most: its commit when it has writes, else its reads (reads that waited
  // behind a commit go first in the next pass, which follows at once), however many
  // connections wait. The same for HTTP:
  //
  // Calls `then` once `rooms` can be opened without reading the store (at once when they can
  // now): RoomRegistry::open then uses what was read, or refuses a room whose read failed.
  // `then(false)` when the store was given up meanwhile.
  void when_rooms_loaded(const std::vector<std::string>& rooms, std::function<void(bool readable)> then);
  // Calls `then` with each room's owner (in order) once they are known — at once with one
  // instance (then every owner is instance(), ""). With several, a room nobody owns is taken
  // by this instance on the way.
  using OwnersReader = std::function<void(Result<std::vector<std::string>>)>;
  void when_owners_known(const std::vector<std::string>& rooms, OwnersReader then);
  // This instance's id among several; "" when alone.
  const std::string& instance() const;
  // Reads a page of a document's change history with the pass's reads.
  using ChangesPageReader = std::function<void(Result<std::vector<store::StoredChange>>)>;
  void read_changes(store::ReadRequest::ChangesPage page, ChangesPageReader then);
  // The store kept failing (at least kStoreRetries attempts and store_give_up_ms since the first
  // failure): every connection was closed (1011) and the server should stop.
  bool store_failed() const { return store_failed_; }
  store::Store* store() { return store_; }
  // Yjs documents (ydocs/ydocs.h): the y-websocket and Hocuspocus connections' side.
  YDocs& ydocs() { return *ydocs_; }
  // Reads a Yjs document's log with the pass's reads; its answer goes to YDocs::loaded, and
  // parked input resumes after it.
  void need_ydoc(const std::string& doc);
  // Marks `connection` authenticated as the token's user (auth, user, rooms, perms, the
  // authenticated count and the per-user metrics); false (and closed 4429) when the user has
  // max_connections_per_user already. What else a protocol does on auth is its own.
  bool mark_authenticated(Connection& connection, const jwt::Claims& claims);
  // Several instances: where a connection's messages about Yjs document `doc` go. A document is
  // owned like a room, under the name "doc:{doc}" (engine/cluster.h): Here when this instance
  // runs it (always with one instance, and on a remote member); Elsewhere when `bytes` (if
  // any) went to the instance that does (the connection attached there once; closed 1012 when
  // the directory cannot be asked); Wait while its owner is learned: the caller parks.
  enum class Route { Here, Elsewhere, Wait };
  Route route_ydoc(Connection& connection, const std::string& doc, std::string_view bytes);
  // Several instances: a room or Yjs document ("doc:{doc}") this instance no longer holds in
  // memory; its lease is given up unless the other of the two by that name is still live here.
  void forget_owned(const std::string& room);
  // The lock engine (engine/lock_engine.h): the locks family changes it; documents ask it who
  // holds a node (and with which fence).
  LockEngine& locks() { return *locks_; }
  // The presence engine (engine/presence_engine.h): the presence family keeps who is in each
  // room there and flushes its conflated updates on tick.
  PresenceEngine& presence() { return *presence_; }
  // The broker (engine/broker.h): fan-out to a room's members. Room events reach it through
  // RoomRegistry; presence and typing broadcast through it directly.
  Broker& broker() { return *broker_; }
  // Idempotent requests (PROTOCOL.md §3): `request_id` was applied in the connection's session;
  // `durable`: also stored with the current writes. HandlerContext::ack*() call it.
  void remember_applied(Connection& connection, const std::string& request_id, bool durable);
  // Requests a close. The first request wins; later ones are ignored.
  void close(Connection& connection, const protocol::CloseCode& code, std::string_view reason,
             QueuedFrames queued = QueuedFrames::Flush);
  // Verifies `token` and, if good, marks the connection authenticated and sends `connected`.
  // A bad token closes 4401 with the reason.
  // `request_id` is the `auth` message's id, echoed on `connected` (PROTOCOL.md §5.1).
  // `session` is the one the client presented (auth.session or ?session=), resumed when it can
  // be (session_book.h); a connection still holding it is closed 4409.
  void authenticate(Connection& connection, std::string_view token, const std::optional<std::string>& session,
                    Now now, std::optional<std::string> request_id = std::nullopt);
  // Answers a malformed or refused message with an error (carrying `id` when known). Malformed
  // input (bad_json, invalid_message, unknown_type, too_big) is counted: the
  // (max_bad_frames+1)th within a minute closes 4400 instead.
  void protocol_error(Connection& connection, const Error& error, const std::optional<std::string>& id, Now now);
  // A message over the connection's rate limit: dropped, answered rate_limited (with its id),
  // and counted; the (max_rate_violations+1)th within a minute closes 4429 instead.
  void rate_limited(Connection& connection, std::string_view text, Now now);

  Connection* find(ConnectionId id);
  // By the id peers see (`connection_id`, presence metas, `signal.to`): "c" + id.
  Connection* find_by_wire_id(std::string_view wire_id);
  HubStats stats() const;
  // The members and locks of `room` if this instance runs it (several instances: rooms it owns;
  // remote members included), else nullopt. Leases past their expiry are left out, as holder()
  // treats them.
  std::optional<RoomDetail> room_detail(std::string_view room, Now now) const;
  // Counters for /metrics and the admin stats; features report their events here.
  Metrics& metrics() { return metrics_; }
  // Webhooks (webhooks/outbox.h); null when none are configured (or without a store).
  const webhooks::Outbox* webhook_outbox() const { return outbox_.get(); }
  const Metrics& metrics() const { return metrics_; }
  const Settings& settings() const { return settings_; }
  const HandlerRegistry& handlers() const { return handlers_; }
  // Room membership (rooms/room_registry.h): members, the room log, counts for metrics.
  RoomRegistry& rooms() { return rooms_; }
  const RoomRegistry& rooms() const { return rooms_; }
  bool shutting_down() const { return shutting_down_; }
  // The latest time the edge gave (for work that has no event time of its own).
  Now now() const { return last_now_; }

 private:
  void wake(Connection& connection);
  // Decodes and handles one message; false when it must wait for store reads (nothing done).
  bool handle(Connection& connection, std::string_view text, Now now);
  void receive_yjs(Connection& connection, std::string_view bytes, Now now);
  // Several instances: what to do with a message about `room` (Elsewhere: forwarded, or answered).
  Route route(Connection& connection, const std::string& room, const protocol::ClientMessage& message,
              std::string_view text, const std::optional<std::string>& request_id, Now now);
  void forward(Connection& connection, const std::string& owner, std::string_view text,
               MessageKind kind = MessageKind::Text);
  void attach_to(Connection& connection, const std::string& owner);  // once per owner
  void receive_from_cluster();
  // Answers a frame from another instance's connection this one does not know (close 1012).
  void refuse_unknown_member(const std::string& instance, std::uint64_t connection);
  // The owner's side of join_elsewhere; false when it must wait for a read.
  bool join_remote_member(Connection& member, const std::string& room);
  void flush_to_cluster();
  void need_owner(const std::string& room);
  void learn_owners();
  // The store reads `frame` needs before it can be handled, added to this pass's; true when
  // it must wait for them.
  bool needs_reads(const Connection& connection, const protocol::ClientFrame& frame, Now now);
  bool needs_reads_to_authenticate(std::string_view token, const std::optional<std::string>& session, Now now);
  void need_room(const std::string& room);
  void need_session(const std::string& session);
  void park(Connection& connection, Connection::ParkedInput input);
  // After the commit: this pass's reads, then the input and callbacks that waited for them.
  void read_and_resume();
  // Webhooks, once per loop pass: the delivery thread's answers in, cursors and dead letters
  // into the batch, the POSTs now due out.
  void pump_webhooks(Millis now);
  void resume(Connection& connection);
  bool has_work() const;
  bool has_reads() const;  // reads to make, or input and callbacks waiting for them
  // Something needs a loop pass (a commit, reads): asks the edge for one when nothing did yet.
  void expect_pass();
  // The store was given up: everyone waiting is told so.
  void give_up_waiters();

  Settings settings_;
  IdSource& ids_;
  EdgeWaker& waker_;
  std::vector<Bytes> batch_parts_;  // reused by next_frame
  HandlerRegistry handlers_;
  RoomRegistry rooms_;
  store::Store* store_ = nullptr;
  std::unique_ptr<LockEngine> locks_;  // in-process: locks::LockTable
  std::unique_ptr<PresenceEngine> presence_;  // in-process: PresenceBook
  std::unique_ptr<Broker> broker_;  // in-process: LocalBroker (this hub's room members)
  std::unique_ptr<YDocs> ydocs_;
  // Webhooks (with a store and endpoints configured): the outbox on the loop, its POSTs on
  // their own thread. Destroyed before the store (declared after nothing it uses).
  std::unique_ptr<webhooks::Outbox> outbox_;
  std::unique_ptr<webhooks::DeliveryThread> deliveries_;
  std::unordered_map<ConnectionId, Connection> connections_;
  // Auth deadlines in open order; auth_timeout is one value, so this stays sorted.
  std::deque<std::pair<Millis, ConnectionId>> auth_deadlines_;
  std::size_t authenticated_ = 0;
  SessionBook sessions_;
  store::WriteBatch batch_;
  // Frames waiting for the batch, in send order. `reply_id`: an answer, failed with error
  // internal (echoing it) if the writes are given up; events are then dropped.
  struct HeldFrame {
    ConnectionId connection;
    Bytes frame;
    std::optional<std::string> reply_id;
    bool is_reply;
    MessageKind kind = MessageKind::Text;
  };
  std::vector<HeldFrame> held_;  // for batch_ (or behind the commit under way)
  // The commit under way on committer_ and what waits for it; batch_, held_ and
  // commit_waiters_ gather the next one meanwhile. A failed commit is taken back in front of
  // them (take_outcome), so they again hold everything not stored, in order.
  // An event of a room a webhook endpoint follows, in a commit under way (the outbox gets it
  // once the commit returned).
  struct HookedEvent {
    std::string room;
    std::int64_t seq = 0;
    std::string json;
  };
  struct CommitInFlight {
    std::vector<HeldFrame> held;
    std::vector<std::function<void(bool stored)>> waiters;
    std::vector<HookedEvent> hooked;
  };
  std::optional<CommitInFlight> in_flight_;
  std::vector<CommitInFlight> stored_;  // commits taken (take_outcome), not acted on yet
  std::optional<Error> failure_;        // a failed commit taken, not acted on yet
  std::unique_ptr<store::CommitThread> committer_;  // with a store
  int failed_commits_ = 0;  // in a row; the batch and held frames are kept and retried
  std::optional<Millis> first_failure_at_;  // with failed_commits_ > 0: when they began
  std::optional<Millis> retry_at_;          // no attempt before this while failing
  bool store_failed_ = false;
  std::vector<std::function<void(bool stored)>> commit_waiters_;  // after_commit, in order
  void hold(Connection& connection, HeldFrame frame);
  // This pass's reads and who waits for them.
  store::ReadRequest reads_;
  std::vector<ChangesPageReader> change_page_readers_;  // one per reads_.change_pages
  std::vector<std::function<void(bool readable)>> read_waiters_;  // when_rooms_loaded
  std::vector<ConnectionId> parked_connections_;        // with parked input, in parking order
  bool reads_deferred_ = false;  // the last pass committed while reads waited: they go first
  // Several instances (attach_cluster).
  RoomDirectory* directory_ = nullptr;
  ClusterLink* link_ = nullptr;
  std::unordered_map<std::string, std::string> owners_;  // room -> its owner, as learned
  std::vector<std::string> owners_needed_;                // rooms whose owner this pass must learn
  std::unordered_set<std::string> ydoc_owners_needed_;    // of which Yjs documents' (no room to load)
  std::vector<std::string> ydoc_owners_learned_;          // Yjs documents found ours this pass (kept if used)
  std::vector<std::string> to_release_;                   // rooms forgotten here: leases to give up
  std::optional<Millis> renewed_at_;                      // the last renewal of this instance's leases
  std::optional<Millis> beat_at_;                         // the last heartbeat
  std::uint64_t link_gaps_ = 0;                           // ClusterLink::gaps() as last seen
  PublishRunner publish_runner_;
  std::function<std::string()> cluster_report_;
  std::vector<std::string> cluster_reports_;  // the other instances', from the last heartbeat
  SsePostRunner sse_post_runner_;
  // A request forwarded to another instance (a publish, an SSE POST) awaiting its answer.
  struct ForwardedPublish {
    std::string owner;
    Millis deadline;
    PublishAnswer answer;
    std::string what = "the publish";  // for the timeout's message: "… may or may not have been applied"
  };
  std::map<std::uint64_t, ForwardedPublish> forwarded_publishes_;  // by serial, awaiting the owner's answer
  std::uint64_t publish_serial_ = 0;
  void expire_forwarded_publishes(Now now);
  void renew_rooms(Now now);
  // The heartbeat (every instance_ttl_ms / 3): instances this one deals with that died are
  // cut loose (cut_ties_with).
  void beat(Now now);
  // What this instance shares with `instance` (every other instance when null) is given up,
  // because messages between them may have been lost or it died: remote members it carried
  // leave (told to close 1012 unless it died), and clients here that talk to rooms it owns are
  // closed 1012 so they reconnect and recover.
  void cut_ties_with(const std::string* instance, bool died, std::string_view reason);
  // Another instance has taken `rooms` (renew found their leases taken, or the store refused a
  // commit for one of them): their members are closed 1012 (they recover on the new owner),
  // the rooms and their locks dropped from memory, their unstored writes dropped — the whole
  // batch, with every room it wrote, when it holds any (see hub.cpp).
  void lose_rooms(const std::vector<std::string>& rooms, std::string_view why);
  std::map<std::pair<std::string, ConnectionId>, ConnectionId> remote_members_;  // (instance, id there) -> id here
  std::vector<ConnectionId> remote_dirty_;  // remote members with frames to ship this pass
  std::unordered_map<std::string, ConnectionId> remote_wire_ids_;  // remote members by wire id
  std::string wire_suffix_;  // "-<instance>" with several instances: wire ids unique across them
  Connection* find_by_wire_id_here(std::string_view wire_id);
  std::unordered_map<std::string, store::SessionRecord> stored_sessions_;  // read for claims that wait
  std::unordered_set<std::string> looked_up_sessions_;  // read (found or not) this pass
  void commit_at(Millis now, bool paced);
  // Takes the outcome of the commit under way without acting on it (no sends, no callbacks:
  // safe in the middle of handling input): a stored one joins stored_; a failed batch is
  // taken back in front of batch_, held_ and commit_waiters_, and failure_ set.
  void take_outcome(store::CommitThread::Outcome outcome, Millis now);
  // Acts on what take_outcome took, from commit passes only: releases what waited for stored
  // commits, forgets idle rooms no unstored write needs; after a failure, loses the rooms
  // another instance claimed, or gives the store up (kStoreRetries / store_give_up_ms).
  void act_on_outcome(Millis now);
  // Takes a commit that has returned, if any, and acts on every outcome taken (commit passes).
  void collect_finished_commit(Millis now);
  // Waits for the commit under way, if any, and takes its outcome: before anything that needs
  // every unstored write in batch_ (lose_rooms) or the store itself (a direct room read).
  void settle_commit(Millis now);
  void release_held(bool stored);
  void release_frames(std::vector<HeldFrame> frames, bool stored);
  void send_held(Connection& connection, Bytes frame, MessageKind kind);  // a frame released by the commit
  // Queues `frame` on the connection's outbound queue (send() without the held-frames check).
  void queue(Connection& connection, Bytes frame, const StateKey& key, MessageKind kind = MessageKind::Text);
  Now last_now_;  // the latest time the edge gave us; closed() has none of its own
  std::optional<Millis> sessions_touched_at_;  // the last store of every live session as used
  void touch_live_sessions(Now now);
  Metrics metrics_;
  ConnectionId next_id_ = 1;
  bool shutting_down_ = false;
};

// The hub gives up on a failing store (closes every connection with 1011, reports
// store_failed()) after at least kStoreRetries failed commits in a row that span at least
// store_give_up_ms (setting; default 30 s): a database restarting or failing over costs
// clients a delay, not their data. Failed commits are retried at most every kStoreRetryDelay.
inline constexpr int kStoreRetries = 20;
inline constexpr Millis kStoreRetryDelay{100};

// How often the sessions of live connections are stored as used: the store forgets sessions
// unused for session_days (days), so a client connected that long without storing a request
// (a watcher) must not lose its session row — its next edit would then fail the whole batch.
inline constexpr Millis kLiveSessionTouchInterval{60LL * 60 * 1000};

// How long protocol errors are remembered for the max_bad_frames rule.
inline constexpr Millis kBadFrameWindow{60000};
// How long rate_limited refusals are counted for the max_rate_violations rule.
inline constexpr Millis kRateViolationWindow{60000};

// Cuts `reason` to the 123 bytes a close frame allows, at a UTF-8 character boundary.
std::string close_reason(std::string_view reason);

}  // namespace tandem::server
