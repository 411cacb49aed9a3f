// server/src/engine/presence_engine.h — the presence engine: who is present in each room (one
// member per user, one meta per connection, PROTOCOL.md §7) and the state changes waiting for
// the next presence tick. Handlers reach it as hub.presence() and never learn which engine
// runs. One implementation today: PresenceBook (presence/presence_book.h), in this process's
// memory.
//
// EXPIRY: the caller owns it. An entry lives from join() to leave(), never by time. The
//   presence family calls join() from its room-join hook (a `subscribe`; the automatic user:
//   room has no presence) and leave() from its room-leave hook, which the hub runs for every
//   membership whatever ends it: unsubscribe, or Hub::closed → the disconnect hooks → leave
//   every room (a close, a lost heartbeat, a slow-consumer cut). Conflated changes are taken
//   by the presence tick hook once per presence_tick_ms, driven by Hub::tick. An engine shared
//   by several processes must in addition drop the entries of a process that died (say, a TTL
//   refreshed every presence tick): that is the engine's business, not the caller's.
// ORDERING: every call answers synchronously. snapshot() lists members in join order, list()
//   in user id order.
//   take_updates() yields at most one update per (room, user) since the last call, carrying
//   the latest state of each of that user's connections; rooms in name order, users in the
//   order they first changed.
// DELIVERY: none of its own — the engine sends nothing; the presence family broadcasts diffs
//   at once and updates with a state key (a reader that fell behind gets only the newest).
//   Nothing is durable: a restart empties it, and rejoining clients get a fresh snapshot.
// FAILURE: an in-process engine cannot fail.
// THREADING: the loop thread only.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "tandem/protocol/presence.h"

namespace tandem::server {

enum class PresenceJoin {
  Joined,         // a new meta (a new member, or a new tab of a present one)
  AlreadyPresent  // this connection already has a meta here (resubscribe)
};

enum class PresenceSetResult { Stored, NotPresent };

class PresenceEngine {
 public:
  virtual ~PresenceEngine() = default;

  // Adds `connection`'s meta (empty state) to `room` for `user`.
  virtual PresenceJoin join(const std::string& room, const protocol::UserInfo& user, const std::string& connection) = 0;
  // Removes the meta; returns the member with just that meta (its last state) for the leave
  // diff, or nothing when the connection had no meta here.
  virtual std::optional<protocol::PresenceMember> leave(const std::string& room, const std::string& user_id,
                                                        const std::string& connection) = 0;
  // Replaces the connection's state and marks it changed for the next tick.
  virtual PresenceSetResult set(const std::string& room, const std::string& user_id, const std::string& connection,
                                protocol::Presence state) = 0;

  // Everyone in the room, in join order (the joiner included).
  virtual std::vector<protocol::PresenceMember> snapshot(const std::string& room) const = 0;
  // Users in the room (members, not metas).
  virtual std::size_t user_count(const std::string& room) const = 0;
  // One page of the room's members in user id order: the users after `after` (all when
  // empty), at most `limit`; `more` when users follow the page.
  struct Page {
    std::vector<protocol::PresenceMember> members;
    bool more = false;
  };
  virtual Page list(const std::string& room, const std::string& after, std::size_t limit) const = 0;
  // The member carrying just `connection`'s meta (for a join diff).
  virtual std::optional<protocol::PresenceMember> member_with(const std::string& room, const std::string& user_id,
                                                              const std::string& connection) const = 0;
  // The conflated updates since the last call, and forgets them (order: see ORDERING above).
  virtual std::vector<protocol::PresenceUpdate> take_updates() = 0;
  // True when take_updates() would yield something.
  virtual bool has_pending() const = 0;
};

}  // namespace tandem::server
