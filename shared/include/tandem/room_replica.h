// tandem/room_replica.h — what a client knows about one joined room: who is there (members with
// one presence meta per connection), which resources are locked by whom, the workflow document
// (workflow: rooms), the chat and who is typing, the latest state of each execution, the recent
// stream events (agent: rooms), and the room's position (epoch, seq). Plain data a UI renders
// from, kept current by applying the server's events in order (PROTOCOL.md §4, §7-§11, §13).
// No I/O, no clock.
//
// Each apply() returns a RoomChanges naming what changed, so a UI redraws only that:
//   Members   — a user arrived or left (or, in a crowd, the count changed)
//   Presence  — a connection's meta arrived, left, or changed state
//   Locks     — a lock was taken, moved or released
//   Doc       — a node or edge was created, changed or deleted, or the snapshot replaced them
//   Chat      — a message arrived, the history was replaced or cleared
//   Typing    — someone started or stopped typing
//   Execution — an execution_update arrived
//   Stream    — a stream event arrived (or the stream was reset for a snapshot replay)
//
// Room events (seq-carrying, PROTOCOL.md §4) are checked against the position: a seq at or
// below the last applied one is a duplicate and ignored; a seq beyond last + 1 is a gap — the
// event is not applied and the owner resubscribes with `since` = position().
//
// A recovered subscribe replays the missed events on top of the replica. A non-recovered one is
// followed by snapshots that replace their part (lock_state, doc_snapshot, history) and, in
// agent: rooms, by the stream events still in the server's history: those carry seqs at or
// below `subscribed.seq` and are taken as the new stream (is_stream_replay), not as duplicates.
// Executions have no snapshot: the latest update of each is kept across resubscribes. Typing
// is ephemeral and never replayed: every `subscribed` forgets it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tandem/protocol/messages.h"
#include "tandem/workflow_document.h"

namespace tandem {

// One kind of change, as a bit of RoomChanges.
enum class RoomChange : unsigned {
  Members = 1u << 0,
  Presence = 1u << 1,
  Locks = 1u << 2,
  Doc = 1u << 3,
  Chat = 1u << 4,
  Typing = 1u << 5,
  Execution = 1u << 6,
  Stream = 1u << 7,
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

// How much history a replica keeps; older entries are dropped first.
struct ReplicaLimits {
  std::size_t chat_messages = 1000;  // the server's join history is 256; live ones add up
  std::size_t stream_events = 1000;  // matches the server's recovery_history default
};

class RoomReplica {
 public:
  explicit RoomReplica(std::string room, ReplicaLimits limits = {}) : room_(std::move(room)), limits_(limits) {}

  const std::string& room() const { return room_; }
  // Members by user id.
  const std::map<std::string, RoomMember>& members() const { return members_; }
  // Current locks by resource.
  const std::map<std::string, protocol::LockInfo>& locks() const { return locks_; }
  // The last room event applied (for `subscribe.since`); empty before the first `subscribed`.
  const std::optional<protocol::StreamPosition>& position() const { return position_; }

  // The workflow document (workflow: rooms; empty elsewhere).
  const WorkflowDocument& document() const { return document_; }
  // Chat messages, oldest first (at most limits.chat_messages).
  const std::deque<protocol::ChatEntry>& chat() const { return chat_; }
  // Who is typing: user id -> display name.
  const std::map<std::string, std::string>& typing() const { return typing_; }
  // The latest execution_update of each execution, by execution id.
  const std::map<std::string, protocol::ExecutionUpdate>& executions() const { return executions_; }
  // Stream events in seq order (at most limits.stream_events, the latest).
  const std::deque<protocol::StreamEvent>& stream() const { return stream_; }

  // Users in the room: members().size(), or in a crowd the server's count.
  std::int64_t member_count() const { return crowd_count_ ? *crowd_count_ : static_cast<std::int64_t>(members_.size()); }
  // True in a crowd (PROTOCOL.md §7): members() holds only the users the app fetched with
  // presence_list and those who sent presence since; joins and leaves are not reported.
  bool members_partial() const { return crowd_count_.has_value(); }

  const RoomMember* member(const std::string& user_id) const;
  const protocol::LockInfo* lock(const std::string& resource) const;

  // The answer to (re)subscribe. recovered=false: the position restarts at the answer's seq and
  // the locks are dropped (a lock_state snapshot follows and refills them); recovered=true:
  // the missed events follow and move the position themselves.
  RoomChanges apply(const protocol::Subscribed& m);
  RoomChanges apply(const protocol::PresenceSnapshot& m);  // replaces every member
  RoomChanges apply(const protocol::PresenceDiff& m);      // joins, then leaves
  RoomChanges apply(const protocol::PresenceUpdate& m);    // replaces the named metas' states
  RoomChanges apply(const protocol::PresenceCount& m);     // a crowd's count (the list is partial)
  RoomChanges apply(const protocol::PresenceListPage& m);  // adds or refreshes the page's members
  RoomChanges apply(const protocol::LockState& m);         // replaces every lock
  RoomChanges apply(const protocol::Locked& m);            // a seq-checked room event
  RoomChanges apply(const protocol::Unlocked& m);          // a seq-checked room event
  // Documents. The snapshot replaces the document; the events are seq-checked.
  RoomChanges apply(const protocol::DocSnapshot& m);
  RoomChanges apply(const protocol::NodeCreated& m);
  RoomChanges apply(const protocol::NodeUpdated& m);
  RoomChanges apply(const protocol::NodeDeleted& m);
  RoomChanges apply(const protocol::EdgeCreated& m);
  RoomChanges apply(const protocol::EdgeDeleted& m);
  RoomChanges apply(const protocol::PublishedNodeUpdate& m);  // the node's status / data
  // Chat. history replaces the messages; chat appends; cleared empties (both seq-checked).
  RoomChanges apply(const protocol::ChatHistory& m);
  RoomChanges apply(const protocol::ChatMessage& m);
  RoomChanges apply(const protocol::BotToggled& m);  // advances the seq; the app tracks bots from messages
  RoomChanges apply(const protocol::Cleared& m);
  RoomChanges apply(const protocol::TypingEvent& m);  // ephemeral
  // Published progress: kept as the latest per execution id (seq-checked).
  RoomChanges apply(const protocol::ExecutionUpdate& m);
  // Streams: seq-checked, or a snapshot replay (is_stream_replay) appended without moving the
  // position.
  RoomChanges apply(const protocol::StreamEvent& m);

  // True for a stream event replayed after a non-recovered `subscribed` (seq at or below its
  // seq) that the replica does not hold yet.
  bool is_stream_replay(const protocol::StreamEvent& m) const;

  // Classifies a room event's seq against position() (see SeqCheck).
  SeqCheck check(std::int64_t seq) const;
  // Records that the room event with `seq` was applied (by this replica or by another model
  // of the room, e.g. a chat log): the position moves to it.
  void advance(std::int64_t seq);

 private:
  // check() + advance(): true when the event with `seq` is the next one and may be applied.
  bool accept(std::int64_t seq);
  void push_stream(const protocol::StreamEvent& m);

  std::string room_;
  ReplicaLimits limits_;
  std::map<std::string, RoomMember> members_;
  std::optional<std::int64_t> crowd_count_;  // set while the room is a crowd (partial members)
  std::map<std::string, protocol::LockInfo> locks_;
  WorkflowDocument document_;
  std::deque<protocol::ChatEntry> chat_;
  std::map<std::string, std::string> typing_;
  std::map<std::string, protocol::ExecutionUpdate> executions_;
  std::deque<protocol::StreamEvent> stream_;
  // After a non-recovered `subscribed`: its seq, the last one a snapshot replay may carry.
  std::optional<std::int64_t> stream_replay_until_;
  std::optional<protocol::StreamPosition> position_;
};

}  // namespace tandem
