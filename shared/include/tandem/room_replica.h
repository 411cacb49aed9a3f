// tandem/room_replica.h — what a client knows about one joined room: who is there (members with
// one presence meta per connection), which resources are locked by whom, and the room's
// position (epoch, seq). Plain data a UI renders from, kept current by applying the server's
// events in order (PROTOCOL.md §4, §7, §8). No I/O, no clock.
//
// Each apply() returns a RoomChanges naming what changed, so a UI redraws only that:
//   Members  — a user arrived or left
//   Presence — a connection's meta arrived, left, or changed state
//   Locks    — a lock was taken, moved or released
//
// Room events (seq-carrying, PROTOCOL.md §4) are checked against the position: a seq at or
// below the last applied one is a duplicate and ignored; a seq beyond last + 1 is a gap — the
// event is not applied and the owner resubscribes with `since` = position().
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tandem/protocol/messages.h"

namespace tandem {

// One kind of change, as a bit of RoomChanges.
enum class RoomChange : unsigned {
  Members = 1u << 0,
  Presence = 1u << 1,
  Locks = 1u << 2,
};

// A set of RoomChange bits; empty when nothing visible changed.
class RoomChanges {
 public:
  RoomChanges() = default;
  RoomChanges(RoomChange change) : bits_(static_cast<unsigned>(change)) {}  // NOLINT: implicit on purpose
  RoomChanges& operator|=(RoomChanges other) {
    bits_ |= other.bits_;
    return *this;
  }
  friend RoomChanges operator|(RoomChanges a, RoomChanges b) { return a |= b; }
  bool has(RoomChange change) const { return (bits_ & static_cast<unsigned>(change)) != 0; }
  bool empty() const { return bits_ == 0; }
  bool operator==(const RoomChanges&) const = default;

 private:
  unsigned bits_ = 0;
};

// How a seq-carrying room event relates to the replica's position.
enum class SeqCheck {
  Next,       // exactly last + 1 (or the first event after a snapshot): apply it
  Duplicate,  // ≤ last applied: already seen, drop it
  Gap,        // > last + 1: events were missed; resubscribe with since
};

// One user in the room and each of their connections (tabs) with its presence state.
struct RoomMember {
  protocol::UserInfo user;
  std::vector<protocol::PresenceMeta> metas;  // in join order; never empty while a member
  bool operator==(const RoomMember&) const = default;
};

class RoomReplica {
 public:
  explicit RoomReplica(std::string room) : room_(std::move(room)) {}

  const std::string& room() const { return room_; }
  // Members by user id.
  const std::map<std::string, RoomMember>& members() const { return members_; }
  // Current locks by resource.
  const std::map<std::string, protocol::LockInfo>& locks() const { return locks_; }
  // The last room event applied (for `subscribe.since`); empty before the first `subscribed`.
  const std::optional<protocol::StreamPosition>& position() const { return position_; }

  const RoomMember* member(const std::string& user_id) const;
  const protocol::LockInfo* lock(const std::string& resource) const;

  // The answer to (re)subscribe. recovered=false: the position restarts at the answer's seq and
  // the locks are dropped (a lock_state snapshot follows and refills them); recovered=true:
  // the missed events follow and move the position themselves.
  RoomChanges apply(const protocol::Subscribed& m);
  RoomChanges apply(const protocol::PresenceSnapshot& m);  // replaces every member
  RoomChanges apply(const protocol::PresenceDiff& m);      // joins, then leaves
  RoomChanges apply(const protocol::PresenceUpdate& m);    // replaces the named metas' states
  RoomChanges apply(const protocol::LockState& m);         // replaces every lock
  RoomChanges apply(const protocol::Locked& m);            // a seq-checked room event
  RoomChanges apply(const protocol::Unlocked& m);          // a seq-checked room event

  // Classifies a room event's seq against position() (see SeqCheck).
  SeqCheck check(std::int64_t seq) const;
  // Records that the room event with `seq` was applied (by this replica or by another model
  // of the room, e.g. a chat log): the position moves to it.
  void advance(std::int64_t seq);

 private:
  std::string room_;
  std::map<std::string, RoomMember> members_;
  std::map<std::string, protocol::LockInfo> locks_;
  std::optional<protocol::StreamPosition> position_;
};

}  // namespace tandem
