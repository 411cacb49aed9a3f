// server/src/rooms/room_registry.h — who is in which room (PROTOCOL.md §4, §6), and sending to
// a room's members.
//
// Membership both ways: room -> connections (in join order) and connection -> rooms. A room is
// live while it has members — or while a feature keeps it (keep_alive: locks of a dropped
// holder still in their grace belong to the room's log). The first join loads it from the
// store (epoch, seq, recent events; locks that were held when the server stopped are released
// as `unlocked` events, since their holders' connections are gone) or creates it with a fresh
// epoch. The room log: every room event gets the next seq, goes into the room's recent history
// (recovery_history events, for `subscribe {since}`) and into the store.
//
// The registry is owned by the Hub (Hub::rooms()). Features react to membership changes
// through hooks registered on the HandlerRegistry (on_room_join / on_room_leave, see hub.h):
// presence sends presence_state / presence_diff, locks send lock_state and release locks.
// Join is two steps so the `subscribed` answer can go out between them:
//   auto joined = hub.rooms().join(connection, room, JoinKind::Subscribed, now.wall);
//   ... reply subscribed {epoch, seq} ...
//   hub.rooms().notify_joined(hub, connection, room, JoinKind::Subscribed);  // snapshots, diffs
// Leaving runs the leave hooks itself, after the membership is gone (so a broadcast from a
// leave hook reaches only the remaining members).
//
// Fan-out to the members goes through the hub's broker (hub.broker(), engine/broker.h):
// room events from emit(), ephemeral messages from the families directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "../documents/document.h"
#include "../fifo.h"
#include "../frame_queue.h"
#include "../store/store.h"
#include "tandem/clock.h"
#include "tandem/protocol/messages.h"

namespace tandem::server {

class Hub;
struct Connection;
using ConnectionId = std::uint64_t;

// How a connection came to be in a room.
enum class JoinKind {
  Automatic,   // user:{sub}, joined at authentication; no `subscribed`, no snapshots
  Subscribed,  // a `subscribe` request (first time or again)
  // notify_joined only: a `subscribe` answered recovered:true after replaying the missed
  // events, so only state that is never replayed (presence) is snapshotted. Memberships made
  // this way are Subscribed ones.
  Recovered,
};

// Why a connection left a room.
enum class LeaveReason {
  Unsubscribed,  // an `unsubscribe` request
  Disconnected,  // the connection is gone (closed, heartbeat lost, slow consumer...)
};

enum class JoinStatus {
  Joined,          // new member (the room may have been created for it)
  AlreadyMember,   // resubscribe: membership unchanged, snapshots go out again
  LimitExceeded,   // the connection already has max_rooms subscribed rooms
  Unavailable,     // the room's stored state could not be loaded (a store error): not joined,
                   // nothing changed; the next join loads it again
};

// One recorded room event: its seq and the bytes every member got.
struct RoomEvent {
  std::int64_t seq = 0;
  Bytes frame;
};

struct Room {
  std::string name;
  std::string epoch;     // chosen when the room was first stored; "e<wall ms>.<n>"
  std::int64_t seq = 0;  // the latest room event's seq; 0 = none yet
  std::vector<ConnectionId> members;  // join order
  Fifo<RoomEvent> history;            // the latest recovery_history events, oldest first
  bool durable = false;               // stored (or being stored): its events are written too
  documents::Document doc;            // workflow:{id} rooms: the document (empty elsewhere)
  Fifo<protocol::ChatEntry> chat;     // the latest chat_history messages, oldest first
  // Chat bots turned on here (handlers/bots.cpp), sorted. Not stored apart: a loaded room
  // replays the bot_toggled events of its stored log (so a toggle older than the last
  // recovery_history events is forgotten at a reload; PROTOCOL.md "Chat bots").
  std::vector<std::string> bots;
};

struct JoinOutcome {
  JoinStatus status = JoinStatus::Joined;
  const Room* room = nullptr;  // null when LimitExceeded or Unavailable
};

// Counters for /metrics and /api/v1/ws/stats.
struct RoomStats {
  std::size_t rooms = 0;        // rooms that exist (have members), automatic user: rooms included
  std::size_t memberships = 0;  // sum over rooms of their member counts
};

// Hooks (registered on HandlerRegistry, run by the registry). A join hook runs after the
// membership exists; a leave hook after it is gone. The room name stays valid during the call.
using RoomJoinHook = std::function<void(Hub&, Connection&, const std::string& room, JoinKind)>;
using RoomLeaveHook = std::function<void(Hub&, Connection&, const std::string& room, LeaveReason)>;

class RoomRegistry {
 public:
  // `max_rooms`: rooms one connection may join by `subscribe` (automatic joins do not count).
  explicit RoomRegistry(std::size_t max_rooms) : max_rooms_(max_rooms) {}

  // Durable rooms: where rooms are loaded from and their writes go (the hub's store and its
  // current batch), and how many events each room keeps for recovery. Without a store, rooms
  // start fresh and keep their log in memory only. `before_direct_read` runs before the
  // registry reads the store itself (a room not read by the hub's read phase): the hub waits
  // there for a commit under way, which owns the store meanwhile.
  void attach_store(store::Store* store, std::function<store::WriteBatch&()> writes, std::size_t history_limit,
                    std::function<void()> before_direct_read = {});
  // The bots the server knows (setting `bots`): a loaded room keeps only these of the bots its
  // log leaves on (a bot removed from the setting is off after a restart).
  void set_known_bots(std::vector<std::string> bots) { known_bots_ = std::move(bots); }
  // A room whose last member left stays live while this says so (set by the locks feature).
  void set_keep_alive(std::function<bool(const std::string& room)> keep_alive) { keep_alive_ = std::move(keep_alive); }
  // Forgets a room with no members that nothing keeps alive any more — with a store, only at
  // the next forget_idle() (after a successful commit), so a room rejoined in between is reused
  // rather than reloaded from a store that is behind memory.
  void release_if_idle(const std::string& room);
  // `keep`: rooms that stay idle for a later call (their writes are not stored yet).
  void forget_idle(const std::function<bool(const std::string& room)>& keep = {});
  // Forgets `room` now, whatever it holds (several instances: it moved to another instance).
  // Its members must have left it first.
  void drop(const std::string& room);
  // Called with each room's name when it is forgotten (several instances: its lease goes).
  void set_on_forget(std::function<void(const std::string& room)> on_forget) { on_forget_ = std::move(on_forget); }
  // Called with the store's lock fence high-water mark whenever a room is loaded from the
  // store (store::RoomRecord::fence_high_water): the hub raises the lock engine's counter.
  void set_on_fences_read(std::function<void(std::int64_t high_water)> on_fences_read) {
    on_fences_read_ = std::move(on_fences_read);
  }
  // Called with every room loaded from the store (stored or not yet): the webhook outbox takes
  // the endpoints' cursors and the backlog past them (store::RoomRecord).
  void set_on_webhooks_read(std::function<void(const std::string& room, const store::RoomRecord& record)> on_read) {
    on_webhooks_read_ = std::move(on_read);
  }

  // ---- loading from the store (once per loop pass, by the hub: hub.h "Store reads") ------
  // True when joining or opening `room` would need its stored state: a store is attached, the
  // room is not live and no loaded record waits for it. The hub then parks the input that
  // wants the room and asks for the room in the pass's reads.
  bool needs_load(std::string_view room) const;
  // The pass's read answered for `room`: the next open() of it uses this record (or, on an
  // error, refuses once: Unavailable) instead of reading the store.
  void loaded(const std::string& room, Result<store::RoomRecord> record);
  // Whether workflow `room` has node `node`, without opening (and so creating) the room: from
  // the live room, else from the record read for it; StoreFailed when that read failed.
  enum class NodeLookup { Found, Missing, StoreFailed };
  NodeLookup find_node(const std::string& room, std::string_view node) const;
  // Drops records nobody opened (their input went away meanwhile).
  void forget_loaded() { loaded_.clear(); }

  // ---- membership changes ----------------------------------------------------------------
  JoinOutcome join(const Connection& connection, const std::string& room, JoinKind kind, UnixMillis now);
  // The room, loaded (or created) if it is not live, without making anyone a member — for
  // events that arrive from outside (HTTP publish). Call release_if_idle(room) when done so a
  // memberless room does not stay in memory. Null when the room is not live and its stored
  // state cannot be loaded: a room is never run from a blank state that would hide (and, once
  // written, overwrite) what the store holds.
  Room* open(const std::string& room, UnixMillis now);
  // A live room, for the families that change its state (document, chat). Null when not live.
  Room* find_mutable(std::string_view room);
  // Runs the room-join hooks (presence snapshot + diff, lock snapshot, ...).
  void notify_joined(Hub& hub, Connection& connection, const std::string& room, JoinKind kind);
  // Leaves one room and runs the leave hooks. False when the connection was not a member.
  bool leave(Hub& hub, Connection& connection, const std::string& room, LeaveReason reason);
  // Leaves every room (disconnect), running the leave hooks for each.
  void leave_all(Hub& hub, Connection& connection, LeaveReason reason);

  // ---- queries ---------------------------------------------------------------------------
  const Room* find(std::string_view room) const;
  bool is_member(ConnectionId connection, std::string_view room) const;
  // Members in join order; empty when the room does not exist.
  const std::vector<ConnectionId>& members(std::string_view room) const;
  // Rooms of one connection in join order (automatic ones included).
  std::vector<std::string> rooms_of(ConnectionId connection) const;
  // Rooms joined by `subscribe` (what max_rooms bounds).
  std::size_t subscribed_count(ConnectionId connection) const;
  RoomStats stats() const;
  // Every room, for /api/v1/ws/rooms. Order unspecified.
  void for_each_room(const std::function<void(const Room&)>& visit) const;

  // ---- room events -------------------------------------------------------------------------
  // What the families call to change a room's log and stored state; they never number events
  // or ask whether a room is stored themselves.
  //
  // Emits a room event (chat, cleared, locked, node_updated, stream...): stamps `event` in place
  // with the room's next seq, and with `ts` = `now` when the message has a ts (so a caller
  // passing a variable reads both back), records it in the room log (the history, and the
  // current write batch when the room is durable) and publishes it through the hub's broker
  // (engine/broker.h: members get it once it is stored). Returns the event as recorded: its seq
  // and the bytes every member gets. `room` is one of this registry's live rooms.
  template <class Event>
  RoomEvent emit(Hub& hub, Room& room, Event&& event, UnixMillis now) {
    event.seq = ++room.seq;
    if constexpr (requires(std::remove_cvref_t<Event>& e) { e.ts; }) event.ts = now;
    return record_and_publish(hub, room, event.seq, event);
  }
  // Adds a write about `room` (its document, chat, locks...) to the current batch when the room
  // is durable; drops it when the room lives in memory only (no store).
  void persist(const Room& room, store::WriteBatch::Write write);
  // The recorded events after `seq`, oldest first, if the history still holds all of them
  // (empty when nothing was missed); nothing when `seq` is older than the history or newer
  // than the room.
  std::optional<std::vector<Bytes>> events_after(std::string_view room, std::int64_t seq) const;

 private:
  struct Membership {
    std::string room;
    JoinKind kind;
  };
  void remove_member(ConnectionId connection, const std::string& room);
  bool load(Room& room, UnixMillis now);  // from the store, or fresh; false: the store failed
  void record(Room& room, std::int64_t seq, Bytes frame);
  RoomEvent record_and_publish(Hub& hub, Room& room, std::int64_t seq, const protocol::ServerMessage& message);

  std::size_t max_rooms_;
  std::unordered_map<std::string, Room> rooms_;
  std::unordered_map<ConnectionId, std::vector<Membership>> by_connection_;
  std::uint64_t rooms_created_ = 0;  // makes epochs unique within one millisecond
  store::Store* store_ = nullptr;
  std::function<store::WriteBatch&()> writes_;
  std::function<void()> before_direct_read_;
  std::size_t history_limit_ = 1000;
  std::vector<std::string> known_bots_;
  std::function<bool(const std::string&)> keep_alive_;
  std::vector<std::string> idle_;  // rooms to forget at forget_idle()
  std::function<void(const std::string&)> on_forget_;
  std::function<void(std::int64_t)> on_fences_read_;
  std::function<void(const std::string&, const store::RoomRecord&)> on_webhooks_read_;
  void forget(std::unordered_map<std::string, Room>::iterator room);
  std::unordered_map<std::string, Result<store::RoomRecord>> loaded_;  // read for input that waits
};

}  // namespace tandem::server
