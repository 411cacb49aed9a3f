// server/src/engine/lock_engine.h — the lock engine: soft locks on resources within rooms, with
// fences (PROTOCOL.md §8). Handlers reach it as hub.locks() and never learn which engine runs.
// One implementation today: locks::LockTable (locks/lock_table.h), in this process's memory.
//
// EXPIRY: the engine owns it — lease expiry, the end of a dropped holder's disconnect grace and
//   takeover deadlines — but it has no clock: every call takes `now` (monotonic), and tick(now)
//   settles whatever fell due. The locks family calls tick() from its Hub::tick hook (the edge
//   ticks every min(250 ms, presence_tick_ms)), so an expiry is reported at most one hub tick
//   late; holder() already treats a lease past its expiry as free in between. The caller also
//   drives the holder's life cycle: disconnect() (disconnect hook) starts the grace, resume()
//   (authenticated hook, resumed session) ends it, leave_room() (unsubscribe) releases at once.
// ORDERING: every call answers synchronously and returns its LockChanges in the order they
//   happened; the caller turns them into room events in that order (each gets the next seq).
// DELIVERY: none of its own — the engine sends nothing and stores nothing. Fences only grow:
//   one counter per engine, started after the store's high-water mark. The caller makes a new
//   fence durable (WriteBatch::RaiseFence) before anyone is told it, by holding the grant until
//   the commit, and records held leases (PutLock / DropLock) for the room. Leases are not
//   resumed after a restart: the room's next load releases the stored ones.
// FAILURE: an in-process engine cannot fail. holder() must answer synchronously, because a
//   document edit is accepted or refused in the same handler call; that is why locks stay with
//   the process that owns the room, even when several processes share a store.
// THREADING: the loop thread only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../locks/lock_types.h"
#include "tandem/clock.h"

namespace tandem::server {

class LockEngine {
 public:
  virtual ~LockEngine() = default;

  // ---- requests ------------------------------------------------------------------------------
  // A new lease (or an extended one, if this connection already holds it), or the reason not.
  virtual locks::LockOutcome acquire(std::string_view room, std::string_view resource, const locks::LockOwner& owner,
                                     std::optional<std::int64_t> ttl_ms, Millis now) = 0;
  // Extends a lease held by `connection` to now + ttl. Same fence.
  virtual locks::RenewOutcome renew(std::string_view room, std::string_view resource, locks::ConnectionId connection,
                                    std::optional<std::int64_t> ttl_ms, Millis now) = 0;
  // Releases a lease held by `connection` (reason released, or taken_over when a takeover waits).
  virtual locks::ReleaseOutcome release(std::string_view room, std::string_view resource,
                                        locks::ConnectionId connection, Millis now) = 0;
  // Free or same-user locks move at once; otherwise the holder is asked and the lock moves when
  // it unlocks or when the grace ends (a Locked change answering `request_id`).
  virtual locks::TakeoverOutcome takeover(std::string_view room, std::string_view resource,
                                          const locks::LockOwner& requester, std::optional<std::string> request_id,
                                          Millis now) = 0;

  // ---- the holder's life cycle ---------------------------------------------------------------
  // The connection left the room: its leases there are released, its pending takeovers dropped.
  virtual locks::LockChanges leave_room(std::string_view room, locks::ConnectionId connection, Millis now) = 0;
  // The connection dropped: its leases are kept for the grace (see resume), its pending
  // takeovers are dropped. Returns nothing visible: others see the locks as still held.
  virtual void disconnect(locks::ConnectionId connection, Millis now) = 0;
  // A new connection resumed `session`: every lease of that session still kept for it (in a
  // grace that has not run out at `now`, or on the connection it replaced) moves to
  // `connection`. Returns the reclaimed leases; one with a pending takeover must be asked
  // again (the request went to the dropped connection).
  virtual std::vector<locks::Lease> resume(std::string_view session, locks::ConnectionId connection, Millis now) = 0;
  // The room moved to another instance: its leases (held, in a grace, awaited) are dropped
  // here without a word — the new owner releases the stored ones when it loads the room.
  virtual void forget_room(std::string_view room) = 0;
  // Later grants get fences above `high_water` (a room was loaded whose resources another
  // instance may have granted fences for, up to the store's high-water mark).
  virtual void fences_after(std::int64_t high_water) = 0;
  // Expiries, ended disconnect graces and takeover deadlines up to `now`.
  virtual locks::LockChanges tick(Millis now) = 0;

  // ---- queries -------------------------------------------------------------------------------
  // The lease on (room, resource) in force at `now` (held, or kept for a dropped holder in its
  // grace); null when free or only past its expiry. Valid until the next non-const call.
  virtual const locks::Lease* holder(std::string_view room, std::string_view resource, Millis now) const = 0;
  // Every lease in `room`, by resource name, for the lock_state snapshot.
  virtual std::vector<locks::Lease> locks_in(std::string_view room) const = 0;
  // True while `room` has a lease (held or in a grace): the room stays live for its release.
  virtual bool has_locks_in(std::string_view room) const = 0;
};

}  // namespace tandem::server
