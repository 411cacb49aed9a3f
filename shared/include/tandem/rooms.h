// tandem/rooms.h — the rooms of one client: joins rooms and keeps a RoomReplica of each,
// throttles presence and typing, holds locks (renewing them at half the lease), edits workflow
// documents, sends chat and stream events, and after a reconnect rejoins every room and asks
// for its locks again. The Client owns one and drives it; apps reach it through
// Client::rooms(). No I/O and no clock of its own.
//
//   client.rooms().join("workflow:42", presence, [](Result<protocol::Subscribed> r) {...});
//   client.rooms().set_presence("workflow:42", {.cursor = protocol::Cursor{10, 20}});
//   client.rooms().lock("workflow:42", "n3", 30'000, [](Result<LockAnswer> r) {...});
//   client.rooms().on_change = [](const std::string& room, RoomChanges what) { redraw(...); };
//   client.rooms().on_lock_lost = [](const LockLost& lost) { ... };
//   client.rooms().create_node("workflow:42", node, [](Result<Acked> r) {...});
//   client.rooms().send_chat("chat:lobby", "hello", [](Result<Acked> r) {...});
//   client.rooms().on_stream_control = [](const protocol::StreamControl& c) { ... };  // producers
//   client.rooms().broadcast("workflow:42", "dragging", R"({"node":"n3"})", false);  // ephemeral
//   client.rooms().on_broadcast = [](const protocol::BroadcastMessage& b) { ... };
//
// Acked requests (edits, chat, clear, stream, stream_control, signal) go through the Outbox:
// queued while offline, resent with their original id after a reconnect. The server applies an
// id once per session and answers a resend of an applied one with ack duplicate:true, which is
// success (Acked::duplicate says so). After a reconnect the rooms are subscribed again before
// the Outbox resends anything, so a resent edit finds its room joined on the new connection.
//
// Reconnect: when the connection opens again, every joined room is subscribed again with
// `since` = its replica's position, its last presence state is sent again, and each lock held
// (or being asked for) is requested again once the room is joined. A lock granted again is
// still held (its fence may change); one denied is reported through on_lock_lost. If the
// denial names our own user and the replica shows the lock with our old fence, the old
// connection's lease is still in its grace period: the lock is taken over (same user: moves
// at once, PROTOCOL.md §8) instead of being reported lost.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "tandem/clock.h"
#include "tandem/outbox.h"
#include "tandem/protocol/messages.h"
#include "tandem/result.h"
#include "tandem/room_replica.h"
#include "tandem/transport.h"

namespace tandem {

struct RoomsSettings {
  // Client-side presence throttle: at most one presence message per room per interval; the
  // first change after a quiet interval goes at once, later ones in the interval are merged
  // and the latest goes when it ends (matches the server's 50 ms conflation tick).
  Millis presence_interval{50};
  // Lease asked for when lock() gets no ttl (the server's default lock_ttl).
  std::int64_t default_lock_ttl_ms = 30'000;
  // The server clamps leases to [lock_ttl_min, lock_ttl_max] (PROTOCOL.md §8); renewal timing
  // uses the clamped lease so a long requested ttl is never renewed after the real one ended.
  std::int64_t lock_ttl_min_ms = 1'000;
  std::int64_t lock_ttl_max_ms = 120'000;
  // While typing, `typing` is sent again at most this often (the server clears an indicator
  // after typing_timeout, 5 s, without one); set_typing(true) in between sends nothing.
  Millis typing_refresh{1'000};
  // A rejoin the server refuses with `internal` (it could not load the room from its store just
  // now, PROTOCOL.md §6) is asked again after rejoin_retry_min, doubling up to rejoin_retry_max;
  // the replica and the locks' wishes are kept meanwhile.
  Millis rejoin_retry_min{1'000};
  Millis rejoin_retry_max{30'000};
  // History kept by each replica (chat messages, stream events).
  ReplicaLimits replica;
};

// The answer to an acked request that has no data (edits, chat, clear, stream, ...).
struct Acked {
  bool duplicate = false;  // the server had already applied this id (a resend): still success
};
// Gets Acked, or an Error: the server's code (locked, stale_fence, not_found, conflict,
// forbidden, ...) or a client one (not_subscribed before a join, queue_full, timeout, closed).
using AckCallback = std::function<void(Result<Acked>)>;

// Where a joined room is in its life.
enum class RoomStatus {
  Joining,    // first subscribe sent; no answer yet
  Joined,     // subscribed; the replica is current
  Rejoining,  // subscribing again (after a reconnect or a seq gap); the replica is kept meanwhile
};

// What lock() or request_takeover() ended with (an Error reports failures: not_subscribed,
// limit_exceeded, timeout, closed, ...).
enum class LockOutcome { Granted, Denied };

struct LockAnswer {
  LockOutcome outcome = LockOutcome::Denied;
  std::int64_t fence = 0;                  // Granted: present it in writes
  std::int64_t expires_at = 0;             // Granted: our lease; Denied: the holder's
  std::optional<protocol::LockHolder> holder;  // Denied: who has it
};
using LockCallback = std::function<void(Result<LockAnswer>)>;
using JoinCallback = std::function<void(Result<protocol::Subscribed>)>;
using MembersCallback = std::function<void(Result<protocol::PresenceListPage>)>;

// Why a lock we held is no longer ours.
enum class LockLossReason {
  Expired,       // the server no longer had it (renew answered not_found, or `unlocked` expired)
  TakenOver,     // moved to someone who asked for a takeover
  Disconnected,  // the server released it after our connection dropped (`unlocked` disconnected)
  Released,      // the server released it for another reason (`unlocked` released)
  Denied,        // asked for again after a reconnect and refused; `holder` says who has it
  Failed,        // asked for again after a reconnect and the request failed; `error` says why
  RoomLost,      // the room could not be rejoined after a reconnect
};
const char* to_string(LockLossReason reason);

struct LockLost {
  std::string room;
  std::string resource;
  LockLossReason reason = LockLossReason::Expired;
  std::int64_t fence = 0;                      // the fence we held
  std::optional<protocol::LockHolder> holder;  // Denied: the new holder
  std::optional<Error> error;                  // Failed / RoomLost: the server's answer
};

// What set_presence() did.
enum class PresenceStatus {
  Sent,       // on the wire now
  Throttled,  // kept; the latest state goes when the throttle interval ends
  Deferred,   // kept; goes when the room is joined and the connection open
  NotJoined,  // no join() for this room: nothing kept
};

// One lock this connection holds or is asking for, as the app may inspect it.
enum class HeldLockStatus {
  Acquiring,    // lock / takeover sent, no answer yet
  Held,         // granted; renewed at half the lease
  Reacquiring,  // held or asked for before a reconnect; asked for again after the rejoin
};

class Rooms {
 public:
  // Submits a request through the Outbox (answers come back through the callback).
  using SubmitFn = std::function<RequestStatus(const protocol::ClientMessage&, RequestCallback)>;
  // Sends a fire-and-forget frame (presence, typing); NotOpen when there is no open connection.
  using SendFn = std::function<SendStatus(const protocol::ClientMessage&)>;

  Rooms(SubmitFn submit, SendFn send, RoomsSettings settings = {});
  Rooms(const Rooms&) = delete;
  Rooms& operator=(const Rooms&) = delete;

  // ---- callbacks ----
  std::function<void(const std::string& room, RoomChanges what)> on_change;  // the replica changed
  std::function<void(const LockLost&)> on_lock_lost;                           // a held lock ended
  std::function<void(const protocol::TakeoverRequested&)> on_takeover_requested;  // someone wants ours
  std::function<void(const std::string& room, const Error&)> on_rejoin_failed;  // a room is gone
  // A room joined again after a reconnect or a seq gap; `recovered` says nothing was missed
  // (the missed events follow) rather than the snapshots being sent afresh.
  std::function<void(const protocol::Subscribed&)> on_rejoined;
  std::function<void(const protocol::StreamControl&)> on_stream_control;  // we are a room's producer
  std::function<void(const protocol::SignalMessage&)> on_signal;          // a peer's signal to us
  // A member's broadcast in a room we are in (ours too when we sent it with `self`). Like
  // every server message it also reaches Client::on_message.
  std::function<void(const protocol::BroadcastMessage&)> on_broadcast;

  // ---- rooms ----
  // Subscribes; `done` runs with the `subscribed` answer or the error (forbidden, ...). A room
  // already joined (or joining) answers not at once but with a fresh subscribe as well.
  // `presence` is sent as this connection's state once joined (and after every rejoin).
  void join(const std::string& room, std::optional<protocol::Presence> presence, JoinCallback done);
  // Unsubscribes and forgets the room (its locks are released by the server, not reported as
  // lost). `done` (optional) gets the ack. A join still waiting fails with errc::closed.
  void leave(const std::string& room, RequestCallback done = {});
  // Sets this connection's presence state in a room (the whole state: it replaces the last).
  PresenceStatus set_presence(const std::string& room, protocol::Presence state);

  // ---- locks ----
  // Asks for `resource`; `ttl_ms` empty = settings.default_lock_ttl_ms. While granted the lock
  // is renewed at half the lease until unlock(), leave() or a loss (on_lock_lost).
  void lock(const std::string& room, const std::string& resource, std::optional<std::int64_t> ttl_ms,
            LockCallback done);
  // Releases a lock we hold (renewal stops at once). `done` (optional) gets the ack.
  void unlock(const std::string& room, const std::string& resource, RequestCallback done = {});
  // Asks the holder to yield; `done` runs when the lock is ours (within lock_grace) or fails.
  void request_takeover(const std::string& room, const std::string& resource, LockCallback done);

  // ---- documents (workflow: rooms, PROTOCOL.md §9) ----
  // Each needs the room joined (or joining), else fails at once with not_subscribed. `fence`:
  // the writer's lock fence on the node (fence(room, node) when held); the server refuses an
  // old one with stale_fence.
  void create_node(const std::string& room, const protocol::Node& node, AckCallback done);
  void update_node(const std::string& room, const std::string& node, const protocol::NodeFields& fields,
                   std::optional<std::int64_t> fence, AckCallback done);
  void delete_node(const std::string& room, const std::string& node, std::optional<std::int64_t> fence,
                   AckCallback done);
  void create_edge(const std::string& room, const protocol::Edge& edge, AckCallback done);
  void delete_edge(const std::string& room, const std::string& edge, AckCallback done);

  // Any ack-answered request about `room` (what the calls above and below are built on, for
  // callers that hold the message already, such as the browser bindings): not_subscribed at
  // once when the room is not joined; one that raced a rejoin is held and sent again after it.
  void submit_acked(const std::string& room, protocol::ClientMessage message, AckCallback done);

  // ---- chat (PROTOCOL.md §10) ----
  void send_chat(const std::string& room, const std::string& text, AckCallback done);
  void clear_chat(const std::string& room, AckCallback done);  // needs the chat:clear permission
  // Fire-and-forget: sent only when open and joined (NotOpen otherwise); while active it is
  // sent again at most every typing_refresh. Sending chat ends our indicator.
  SendStatus set_typing(const std::string& room, bool active);

  // ---- streams (agent: rooms, PROTOCOL.md §11) and signals (§12) ----
  // A producer's event; `data` is JSON value text (e.g. R"({"text":"..."})").
  void send_stream(const std::string& room, const std::string& event, std::optional<std::string> data,
                   AckCallback done);
  // A consumer's request to the producer (not_found when the room has none).
  void control_stream(const std::string& room, protocol::StreamAction action, AckCallback done);
  // `data` (JSON object text) to connection `to` in the room.
  void send_signal(const std::string& room, const std::string& to, const std::string& data, AckCallback done);

  // ---- broadcast (PROTOCOL.md §12a) ----
  // An app event to every other member of the room (and to us too with `self`): ephemeral,
  // never stored or replayed. `event`: 1-64 identifier chars; `data`: JSON value text or none.
  // Both are checked here first, as the server will (an error invalid_message or too_big; the
  // check encodes and decodes the message once more, cheap for the small payloads this is for).
  // Fire and forget: sent only while open and the room is joined, else SendStatus::NotOpen and
  // nothing is kept (a stale "dragging" is worthless after a reconnect); not_subscribed when
  // the room was never joined.
  Result<SendStatus> broadcast(const std::string& room, const std::string& event, std::optional<std::string> data,
                               bool self);
  // Acked: through the Outbox like chat (queued while offline, resent once with its id after a
  // reconnect; the server never relays an id twice in a session). `done` gets Acked once every
  // member's queue holds it, or the error (not_subscribed, invalid_message, too_big, ...).
  void broadcast(const std::string& room, const std::string& event, std::optional<std::string> data, bool self,
                 AckCallback done);

  // ---- the member list on demand (crowds, PROTOCOL.md §7) ----
  // Asks for one page of the room's users in id order (after `after`, at most `limit`, the
  // server caps it); the page's members are added to the replica before `done` gets the page.
  void list_members(const std::string& room, std::optional<std::string> after, std::optional<std::int64_t> limit,
                    MembersCallback done);

  // ---- state ----
  const RoomReplica* replica(const std::string& room) const;
  std::optional<RoomStatus> status(const std::string& room) const;
  std::optional<HeldLockStatus> lock_status(const std::string& room, const std::string& resource) const;
  std::optional<std::int64_t> fence(const std::string& room, const std::string& resource) const;  // when Held

  // ---- driven by the Client ----
  void on_open(Millis now, const protocol::Connected& connected);  // after the Outbox resent
  void on_closed();
  void on_stopped();  // after the Outbox failed its requests: requests held for a rejoin fail too
  // A server frame that answered no request; Drop = a duplicate or out-of-order room event
  // (PROTOCOL.md §4: clients drop them) that the app should not see either.
  enum class FrameVerdict { Deliver, Drop };
  FrameVerdict on_frame(const protocol::ServerFrame& frame);
  void tick(Millis now);  // trailing presence sends and lock renewals

 private:
  struct LockEntry {
    HeldLockStatus status = HeldLockStatus::Acquiring;
    std::int64_t ttl_ms = 0;
    std::int64_t fence = 0;  // when Held
    Millis renew_at{0};      // when Held
    bool renew_in_flight = false;
    std::uint64_t attempt = 0;  // answers to an older attempt are stale and ignored
    LockCallback done;          // the app's callback while its lock()/takeover is unanswered
  };
  struct RoomEntry {
    RoomEntry(const std::string& room, ReplicaLimits limits) : replica(room, limits) {}
    RoomStatus status = RoomStatus::Joining;
    RoomReplica replica;
    std::uint64_t join_attempt = 0;  // answers to an older subscribe are stale
    std::vector<JoinCallback> join_waiters;
    std::optional<protocol::Presence> presence;  // our latest state, resent after a rejoin
    bool presence_unsent = false;                // `presence` changed since the last send
    std::optional<Millis> presence_sent_at;
    std::map<std::string, LockEntry> locks;  // by resource
    bool typing_active = false;              // our indicator as the server knows it
    Millis typing_sent_at{0};
    std::optional<Millis> rejoin_at;         // Rejoining, refused with `internal`: ask again then
    int rejoin_refusals = 0;                 // in a row, for the backoff
    // Requests the server answered not_subscribed while the room was being rejoined (they
    // raced the rejoin on a new connection): sent again, in order, once it is joined.
    struct HeldRequest {
      protocol::ClientMessage message;
      AckCallback done;
    };
    std::vector<HeldRequest> held;
  };

  void subscribe(const std::string& room, RoomEntry& entry);
  void handle_subscribed(const std::string& room, std::uint64_t attempt, Result<protocol::ServerFrame> answer);
  void flush_presence(const std::string& room, RoomEntry& entry);
  void request_lock(const std::string& room, const std::string& resource, LockEntry& lock, bool takeover);
  void handle_lock_answer(const std::string& room, const std::string& resource, std::uint64_t attempt, bool takeover,
                          Result<protocol::ServerFrame> answer);
  void handle_renew_answer(const std::string& room, const std::string& resource, std::uint64_t attempt,
                           Result<protocol::ServerFrame> answer);
  void lose(const std::string& room, const std::string& resource, LockLost lost);
  void notify(const std::string& room, RoomChanges changes);
  Millis renew_delay(std::int64_t ttl_ms) const;
  FrameVerdict room_event(const std::string& room, std::int64_t seq);
  template <class M>
  FrameVerdict handle(const std::optional<std::string>& id, const M& m);

  RoomEntry* find(const std::string& room);
  LockEntry* find_lock(const std::string& room, const std::string& resource);

  SubmitFn submit_;
  SendFn send_;
  RoomsSettings settings_;
  Millis now_{0};
  bool open_ = false;
  std::string self_user_;  // our user id, from `connected`
  std::uint64_t next_attempt_ = 0;
  std::map<std::string, RoomEntry> rooms_;
};

}  // namespace tandem
