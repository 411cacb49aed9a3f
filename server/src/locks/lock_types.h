// server/src/locks/lock_types.h — the vocabulary of soft locks (PROTOCOL.md §8): who holds a
// lock, a lease, the changes a lock engine reports and the outcome of each request. Shared by
// the LockEngine interface (engine/lock_engine.h), its implementation LockTable
// (locks/lock_table.h) and the locks handler that turns changes into wire messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tandem/clock.h"
#include "tandem/protocol/locks.h"

namespace tandem::server::locks {

// The hub's connection id (hub.h declares the same alias); repeated so locks need no hub.
using ConnectionId = std::uint64_t;

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

}  // namespace tandem::server::locks
