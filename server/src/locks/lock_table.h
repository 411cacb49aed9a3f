// server/src/locks/lock_table.h — soft locks on resources within rooms (PROTOCOL.md §8), as
// pure logic: no sockets, no clock of its own. Every call takes `now` (monotonic), and every
// change the table makes is returned as LockChange records that the locks handler turns into
// wire messages (`locked`, `unlocked`, `takeover_requested`, a delayed `lock_granted`).
//
// Rules kept here:
//   - one holder (a connection) per (room, resource); others are denied with the holder shown;
//   - leases expire unless renewed; ttl is clamped to [ttl_min, ttl_max];
//   - fences only grow: one counter for the whole table, never reset, so every grant has a
//     larger fence than every earlier grant of any resource (PROTOCOL.md asks for a per-room
//     counter; a table-wide one gives the same guarantees without remembering every room that
//     ever held a lock);
//   - a disconnected holder keeps its locks for `grace` so the same session can resume and
//     reclaim them; after that they are released (reason disconnected);
//   - takeover: free or same-user locks move at once; otherwise the holder is asked and the
//     lock moves when it unlocks or after `grace`, whichever comes first;
//   - at most max_locks_per_user locks held (or awaited by takeover) per user.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tandem/clock.h"
#include "tandem/protocol/locks.h"

namespace tandem::server::locks {

// The hub's connection id (hub.h declares the same alias); repeated so the table needs no hub.
using ConnectionId = std::uint64_t;

struct LockSettings {
  Millis ttl{30000};            // lease when a request names no ttl_ms
  Millis ttl_min{1000};         // shorter requested leases are raised to this
  Millis ttl_max{120000};       // longer requested leases are cut to this
  Millis grace{5000};           // disconnect grace and takeover grace
  std::size_t max_locks_per_user = 32;  // held + awaited by takeover, across all rooms
  std::int64_t fences_after = 0;  // the first grant gets this + 1 (the store's high-water mark)
};

// Who holds or asks for a lock: the connection (and its session, for resume) and the user shown.
struct LockOwner {
  ConnectionId connection = 0;
  std::string session;
  protocol::LockHolder user;  // id, name, color
};

// A takeover waiting for the holder to yield.
struct PendingTakeover {
  LockOwner requester;
  std::optional<std::string> request_id;  // answered with lock_granted once the lock moves
  Millis deadline{0};                     // the lock moves at this time at the latest
};

struct Lease {
  std::string room;
  std::string resource;
  LockOwner owner;
  std::int64_t fence = 0;
  Millis expires_at{0};
  std::optional<Millis> orphaned_until;  // holder disconnected: released at this time unless resumed
  std::optional<PendingTakeover> takeover;
};

// One observable change, in the order it happened.
struct LockChange {
  enum class Kind {
    Locked,             // broadcast `locked`; if `reply_to` is set, also answer it with lock_granted
    Unlocked,           // broadcast `unlocked` with `reason`
    TakeoverRequested,  // tell the holder (`lease.owner.connection`) that `requester` asks
  };
  Kind kind = Kind::Locked;
  Lease lease;  // the lease as granted (Locked) or as it was (Unlocked, TakeoverRequested)
  protocol::UnlockReason reason = protocol::UnlockReason::Released;  // Unlocked only
  std::optional<LockOwner> requester;  // TakeoverRequested: who asks. Locked: whom to answer
  std::optional<std::string> reply_id;  // Locked after a takeover: the takeover's request id
};
using LockChanges = std::vector<LockChange>;

enum class LockResult {
  Granted,        // a new lease (broadcast `locked`)
  Extended,       // this connection already held it: same fence, new expiry (no broadcast)
  HeldByOther,    // denied; `lease` is the holder's
  LimitExceeded,  // the user is at max_locks_per_user
};

struct LockOutcome {
  LockResult result = LockResult::Granted;
  Lease lease;  // granted/extended lease, or the blocking one for HeldByOther
  LockChanges changes;
};

enum class RenewResult { Renewed, NotHeld };
struct RenewOutcome {
  RenewResult result = RenewResult::NotHeld;
  Lease lease;          // valid when Renewed
  LockChanges changes;  // a lease found overdue on the way (expired before this renew)
};

enum class ReleaseResult { Released, NotHeld };
struct ReleaseOutcome {
  ReleaseResult result = ReleaseResult::NotHeld;
  LockChanges changes;  // unlocked (and, after a pending takeover, the move to the requester)
};

enum class TakeoverResult {
  Granted,           // moved at once (free, same user, or already this connection's)
  Requested,         // the holder was asked; the answer comes as a Locked change with reply_id
  AlreadyRequested,  // someone else's takeover is pending on this resource
  LimitExceeded,     // the requester's user is at max_locks_per_user
};
struct TakeoverOutcome {
  TakeoverResult result = TakeoverResult::Granted;
  Lease lease;  // Granted: the requester's lease; otherwise the holder's
  LockChanges changes;
};

// Running totals, for /metrics.
struct LockCounters {
  std::uint64_t grants = 0;     // new leases, including takeovers that moved
  std::uint64_t denials = 0;    // lock requests answered lock_denied
  std::uint64_t expiries = 0;   // leases that ran out
  std::uint64_t takeovers = 0;  // leases moved by takeover
};

class LockTable {
 public:
  explicit LockTable(LockSettings settings = {}) : settings_(settings), last_fence_(settings.fences_after) {}

  // The lease length for a requested ttl: the default when absent, else clamped.
  Millis clamp_ttl(std::optional<std::int64_t> ttl_ms) const;

  LockOutcome acquire(std::string_view room, std::string_view resource, const LockOwner& owner,
                      std::optional<std::int64_t> ttl_ms, Millis now);
  // Extends a lease held by `connection` to now + ttl. Same fence.
  RenewOutcome renew(std::string_view room, std::string_view resource, ConnectionId connection,
                     std::optional<std::int64_t> ttl_ms, Millis now);
  // Releases a lease held by `connection` (reason released, or taken_over when a takeover waits).
  ReleaseOutcome release(std::string_view room, std::string_view resource, ConnectionId connection, Millis now);
  TakeoverOutcome takeover(std::string_view room, std::string_view resource, const LockOwner& requester,
                           std::optional<std::string> request_id, Millis now);

  // The connection left the room: its leases there are released, its pending takeovers dropped.
  LockChanges leave_room(std::string_view room, ConnectionId connection, Millis now);
  // The connection dropped: its leases are kept for `grace` (see resume), its pending
  // takeovers are dropped. Returns nothing visible: others see the locks as still held.
  void disconnect(ConnectionId connection, Millis now);
  // A new connection resumed `session`: every lease of that session still kept for it (in a
  // grace that has not run out at `now`, or on the connection it replaced) moves to
  // `connection`. Returns the reclaimed leases; one with a pending takeover must be asked
  // again (the request went to the dropped connection).
  std::vector<Lease> resume(std::string_view session, ConnectionId connection, Millis now);
  // Expiries, ended disconnect graces and takeover deadlines up to `now`.
  LockChanges tick(Millis now);

  // The lease on (room, resource) in force at `now` (held, or kept for a dropped holder in its
  // grace); null when free or only past its expiry. For writes that must respect locks.
  const Lease* holder(std::string_view room, std::string_view resource, Millis now) const;
  // Every lease in `room`, by resource name, for the lock_state snapshot.
  std::vector<Lease> locks_in(std::string_view room) const;
  bool has_locks_in(std::string_view room) const;
  std::size_t locks_held_by(std::string_view user) const;
  std::size_t size() const;
  const LockCounters& counters() const { return counters_; }
  const LockSettings& settings() const { return settings_; }

 private:
  using RoomLocks = std::map<std::string, Lease, std::less<>>;  // resource -> lease

  Lease* find(std::string_view room, std::string_view resource);
  // Creates a new lease with the next fence and returns its Locked change.
  LockChange grant(const std::string& room, const std::string& resource, const LockOwner& owner, Millis ttl,
                   Millis now);
  // Ends the lease of (room, resource) with `reason`; if a takeover waits on it, the lock moves
  // to the requester instead (reason taken_over).
  void end_lease(const std::string& room, const std::string& resource, protocol::UnlockReason reason, Millis now,
                 LockChanges& changes);
  // Ends the lease if its expiry, disconnect grace or takeover deadline is at or before `now`.
  void settle_if_due(const std::string& room, const std::string& resource, Millis now, LockChanges& changes);
  std::size_t claims_of(const std::string& user) const;  // held + awaited by takeover
  void adjust_claims(const std::string& user, int delta);

  LockSettings settings_;
  std::unordered_map<std::string, RoomLocks> rooms_;
  std::unordered_map<std::string, std::size_t> claims_;  // user id -> held + awaited leases
  std::int64_t last_fence_;
  LockCounters counters_;
};

}  // namespace tandem::server::locks
