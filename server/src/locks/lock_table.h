// server/src/locks/lock_table.h — soft locks on resources within rooms (PROTOCOL.md §8), as
// pure logic in this process's memory: the in-process LockEngine (engine/lock_engine.h says
// who drives expiry and what is guaranteed). No sockets, no clock of its own. Every call takes
// `now` (monotonic), and every change the table makes is returned as LockChange records that
// the locks handler turns into wire messages (`locked`, `unlocked`, `takeover_requested`, a
// delayed `lock_granted`).
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

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../engine/lock_engine.h"
#include "lock_types.h"
#include "tandem/clock.h"

namespace tandem::server::locks {

struct LockSettings {
  Millis ttl{30000};            // lease when a request names no ttl_ms
  Millis ttl_min{1000};         // shorter requested leases are raised to this
  Millis ttl_max{120000};       // longer requested leases are cut to this
  Millis grace{5000};           // disconnect grace and takeover grace
  std::size_t max_locks_per_user = 32;  // held + awaited by takeover, across all rooms
  std::int64_t fences_after = 0;  // the first grant gets this + 1 (the store's high-water mark)
};

class LockTable final : public LockEngine {
 public:
  explicit LockTable(LockSettings settings = {}) : settings_(settings), last_fence_(settings.fences_after) {}
  void forget_room(std::string_view room) override;
  void fences_after(std::int64_t high_water) override { last_fence_ = std::max(last_fence_, high_water); }

  // The lease length for a requested ttl: the default when absent, else clamped.
  Millis clamp_ttl(std::optional<std::int64_t> ttl_ms) const;

  // LockEngine (engine/lock_engine.h has each call's contract).
  LockOutcome acquire(std::string_view room, std::string_view resource, const LockOwner& owner,
                      std::optional<std::int64_t> ttl_ms, Millis now) override;
  RenewOutcome renew(std::string_view room, std::string_view resource, ConnectionId connection,
                     std::optional<std::int64_t> ttl_ms, Millis now) override;
  ReleaseOutcome release(std::string_view room, std::string_view resource, ConnectionId connection,
                         Millis now) override;
  TakeoverOutcome takeover(std::string_view room, std::string_view resource, const LockOwner& requester,
                           std::optional<std::string> request_id, Millis now) override;
  LockChanges leave_room(std::string_view room, ConnectionId connection, Millis now) override;
  void disconnect(ConnectionId connection, Millis now) override;
  std::vector<Lease> resume(std::string_view session, ConnectionId connection, Millis now) override;
  LockChanges tick(Millis now) override;
  const Lease* holder(std::string_view room, std::string_view resource, Millis now) const override;
  std::vector<Lease> locks_in(std::string_view room) const override;
  bool has_locks_in(std::string_view room) const override;

  // Introspection, for tests and diagnostics.
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
