// server/src/locks/lock_table.cpp — the lock rules of PROTOCOL.md §8 (see lock_table.h).
#include "lock_table.h"

#include <algorithm>
#include <utility>

namespace tandem::server::locks {

using protocol::UnlockReason;

Millis LockTable::clamp_ttl(std::optional<std::int64_t> ttl_ms) const {
  if (!ttl_ms) return settings_.ttl;
  return std::clamp(Millis(*ttl_ms), settings_.ttl_min, settings_.ttl_max);
}

Lease* LockTable::find(std::string_view room, std::string_view resource) {
  auto r = rooms_.find(std::string(room));
  if (r == rooms_.end()) return nullptr;
  auto l = r->second.find(resource);
  return l == r->second.end() ? nullptr : &l->second;
}

const Lease* LockTable::holder(std::string_view room, std::string_view resource, Millis now) const {
  auto r = rooms_.find(std::string(room));
  if (r == rooms_.end()) return nullptr;
  auto l = r->second.find(resource);
  if (l == r->second.end()) return nullptr;
  const Lease& lease = l->second;
  if (lease.expires_at <= now || (lease.orphaned_until && *lease.orphaned_until <= now)) return nullptr;  // due: tick() releases it
  return &lease;
}

std::size_t LockTable::claims_of(const std::string& user) const {
  auto it = claims_.find(user);
  return it == claims_.end() ? 0 : it->second;
}

void LockTable::adjust_claims(const std::string& user, int delta) {
  std::size_t& count = claims_[user];
  count = delta < 0 ? count - std::min(count, static_cast<std::size_t>(-delta)) : count + static_cast<std::size_t>(delta);
  if (count == 0) claims_.erase(user);
}

LockChange LockTable::grant(const std::string& room, const std::string& resource, const LockOwner& owner, Millis ttl,
                            Millis now) {
  Lease lease;
  lease.room = room;
  lease.resource = resource;
  lease.owner = owner;
  lease.fence = ++last_fence_;
  lease.expires_at = now + ttl;
  rooms_[room][resource] = lease;
  adjust_claims(owner.user.user, +1);
  ++counters_.grants;
  LockChange change;
  change.kind = LockChange::Kind::Locked;
  change.lease = std::move(lease);
  return change;
}

void LockTable::forget_room(std::string_view room) {
  auto r = rooms_.find(std::string(room));
  if (r == rooms_.end()) return;
  for (const auto& [resource, lease] : r->second) {
    adjust_claims(lease.owner.user.user, -1);
    if (lease.takeover) adjust_claims(lease.takeover->requester.user.user, -1);
  }
  rooms_.erase(r);
}

void LockTable::end_lease(const std::string& room, const std::string& resource, UnlockReason reason, Millis now,
                          LockChanges& changes) {
  auto r = rooms_.find(room);
  auto l = r->second.find(resource);
  Lease ended = std::move(l->second);
  r->second.erase(l);
  if (r->second.empty()) rooms_.erase(r);
  adjust_claims(ended.owner.user.user, -1);

  std::optional<PendingTakeover> takeover = std::move(ended.takeover);
  ended.takeover.reset();
  if (takeover) reason = UnlockReason::TakenOver;  // "when it moves everyone gets unlocked (taken_over)"
  if (reason == UnlockReason::Expired) ++counters_.expiries;
  changes.push_back(LockChange{LockChange::Kind::Unlocked, std::move(ended), reason, std::nullopt, std::nullopt});

  if (takeover) {
    adjust_claims(takeover->requester.user.user, -1);  // the awaited claim becomes a held one in grant()
    ++counters_.takeovers;
    LockChange moved = grant(room, resource, takeover->requester, settings_.ttl, now);
    moved.requester = takeover->requester;
    moved.reply_id = std::move(takeover->request_id);
    changes.push_back(std::move(moved));
  }
}

void LockTable::settle_if_due(const std::string& room, const std::string& resource, Millis now, LockChanges& changes) {
  const Lease* lease = find(room, resource);
  if (!lease) return;
  // The earliest due deadline decides the reason.
  std::optional<std::pair<Millis, UnlockReason>> due;
  auto consider = [&](Millis at, UnlockReason reason) {
    if (at <= now && (!due || at < due->first)) due.emplace(at, reason);
  };
  consider(lease->expires_at, UnlockReason::Expired);
  if (lease->orphaned_until) consider(*lease->orphaned_until, UnlockReason::Disconnected);
  if (lease->takeover) consider(lease->takeover->deadline, UnlockReason::TakenOver);
  if (due) end_lease(room, resource, due->second, now, changes);
}

LockOutcome LockTable::acquire(std::string_view room_name, std::string_view resource_name, const LockOwner& owner,
                               std::optional<std::int64_t> ttl_ms, Millis now) {
  const std::string room(room_name), resource(resource_name);
  LockOutcome out;
  settle_if_due(room, resource, now, out.changes);
  if (Lease* lease = find(room, resource)) {
    if (lease->owner.connection == owner.connection && !lease->orphaned_until) {
      lease->expires_at = now + clamp_ttl(ttl_ms);
      out.result = LockResult::Extended;
      out.lease = *lease;
    } else {
      // Another connection of the same user is denied too (PROTOCOL.md: "holder = yourself").
      out.result = LockResult::HeldByOther;
      out.lease = *lease;
      ++counters_.denials;
    }
    return out;
  }
  if (claims_of(owner.user.user) >= settings_.max_locks_per_user) {
    out.result = LockResult::LimitExceeded;
    return out;
  }
  out.result = LockResult::Granted;
  out.changes.push_back(grant(room, resource, owner, clamp_ttl(ttl_ms), now));
  out.lease = out.changes.back().lease;
  return out;
}

RenewOutcome LockTable::renew(std::string_view room_name, std::string_view resource_name, ConnectionId connection,
                              std::optional<std::int64_t> ttl_ms, Millis now) {
  const std::string room(room_name), resource(resource_name);
  RenewOutcome out;
  settle_if_due(room, resource, now, out.changes);
  Lease* lease = find(room, resource);
  if (!lease || lease->owner.connection != connection || lease->orphaned_until) return out;
  lease->expires_at = now + clamp_ttl(ttl_ms);
  out.result = RenewResult::Renewed;
  out.lease = *lease;
  return out;
}

ReleaseOutcome LockTable::release(std::string_view room_name, std::string_view resource_name, ConnectionId connection,
                                  Millis now) {
  const std::string room(room_name), resource(resource_name);
  ReleaseOutcome out;
  settle_if_due(room, resource, now, out.changes);
  const Lease* lease = find(room, resource);
  if (!lease || lease->owner.connection != connection || lease->orphaned_until) return out;
  end_lease(room, resource, UnlockReason::Released, now, out.changes);
  out.result = ReleaseResult::Released;
  return out;
}

TakeoverOutcome LockTable::takeover(std::string_view room_name, std::string_view resource_name,
                                    const LockOwner& requester, std::optional<std::string> request_id, Millis now) {
  const std::string room(room_name), resource(resource_name);
  TakeoverOutcome out;
  settle_if_due(room, resource, now, out.changes);
  Lease* lease = find(room, resource);

  if (!lease) {  // free: an ordinary grant
    if (claims_of(requester.user.user) >= settings_.max_locks_per_user) {
      out.result = TakeoverResult::LimitExceeded;
      return out;
    }
    out.changes.push_back(grant(room, resource, requester, settings_.ttl, now));
    out.result = TakeoverResult::Granted;
    out.lease = out.changes.back().lease;
    return out;
  }
  if (lease->owner.connection == requester.connection && !lease->orphaned_until) {
    out.result = TakeoverResult::Granted;  // already ours: nothing moves
    out.lease = *lease;
    return out;
  }
  if (lease->takeover) {  // one takeover at a time, so every request is answered exactly once
    out.result = TakeoverResult::AlreadyRequested;
    out.lease = *lease;
    return out;
  }
  if (lease->owner.user.user == requester.user.user) {
    // Another tab of the same user: the lock moves at once (the user's count is unchanged).
    end_lease(room, resource, UnlockReason::TakenOver, now, out.changes);
    ++counters_.takeovers;
    out.changes.push_back(grant(room, resource, requester, settings_.ttl, now));
    out.result = TakeoverResult::Granted;
    out.lease = out.changes.back().lease;
    return out;
  }
  if (claims_of(requester.user.user) >= settings_.max_locks_per_user) {
    out.result = TakeoverResult::LimitExceeded;
    out.lease = *lease;
    return out;
  }
  lease->takeover = PendingTakeover{requester, std::move(request_id), now + settings_.grace};
  adjust_claims(requester.user.user, +1);
  out.result = TakeoverResult::Requested;
  out.lease = *lease;
  out.changes.push_back(
      LockChange{LockChange::Kind::TakeoverRequested, *lease, UnlockReason::Released, requester, std::nullopt});
  return out;
}

LockChanges LockTable::leave_room(std::string_view room_name, ConnectionId connection, Millis now) {
  LockChanges changes;
  auto r = rooms_.find(std::string(room_name));
  if (r == rooms_.end()) return changes;
  const std::string room(room_name);
  std::vector<std::string> held;
  for (auto& [resource, lease] : r->second) {
    if (lease.owner.connection == connection) held.push_back(resource);
    if (lease.takeover && lease.takeover->requester.connection == connection) {
      adjust_claims(lease.takeover->requester.user.user, -1);
      lease.takeover.reset();
    }
  }
  for (const std::string& resource : held) end_lease(room, resource, UnlockReason::Released, now, changes);
  return changes;
}

void LockTable::disconnect(ConnectionId connection, Millis now) {
  for (auto& [room, locks] : rooms_) {
    for (auto& [resource, lease] : locks) {
      if (lease.owner.connection == connection && !lease.orphaned_until) lease.orphaned_until = now + settings_.grace;
      if (lease.takeover && lease.takeover->requester.connection == connection) {
        adjust_claims(lease.takeover->requester.user.user, -1);
        lease.takeover.reset();
      }
    }
  }
}

std::vector<Lease> LockTable::resume(std::string_view session, ConnectionId connection, Millis now) {
  std::vector<Lease> reclaimed;
  if (session.empty()) return reclaimed;  // no session, nothing to match
  for (auto& [room, locks] : rooms_) {
    for (auto& [resource, lease] : locks) {
      // Orphaned leases, and those of a connection the session just left behind (closed 4409).
      const bool grace_over = lease.orphaned_until && *lease.orphaned_until <= now;  // tick() releases it
      if (lease.owner.session == session && lease.owner.connection != connection && !grace_over) {
        lease.owner.connection = connection;
        lease.orphaned_until.reset();
        reclaimed.push_back(lease);
      }
    }
  }
  return reclaimed;
}

LockChanges LockTable::tick(Millis now) {
  // Collect first: settling removes leases (and may empty rooms) while we iterate.
  std::vector<std::pair<std::string, std::string>> due;
  for (const auto& [room, locks] : rooms_) {
    for (const auto& [resource, lease] : locks) {
      bool overdue = lease.expires_at <= now || (lease.orphaned_until && *lease.orphaned_until <= now) ||
                     (lease.takeover && lease.takeover->deadline <= now);
      if (overdue) due.emplace_back(room, resource);
    }
  }
  LockChanges changes;
  for (const auto& [room, resource] : due) settle_if_due(room, resource, now, changes);
  return changes;
}

std::vector<Lease> LockTable::locks_in(std::string_view room) const {
  std::vector<Lease> out;
  auto r = rooms_.find(std::string(room));
  if (r == rooms_.end()) return out;
  out.reserve(r->second.size());
  for (const auto& [resource, lease] : r->second) out.push_back(lease);
  return out;
}

bool LockTable::has_locks_in(std::string_view room) const {
  auto r = rooms_.find(std::string(room));
  return r != rooms_.end() && !r->second.empty();
}

std::size_t LockTable::locks_held_by(std::string_view user) const {
  std::size_t count = 0;
  for (const auto& [room, locks] : rooms_)
    for (const auto& [resource, lease] : locks)
      if (lease.owner.user.user == user) ++count;
  return count;
}

std::size_t LockTable::size() const {
  std::size_t count = 0;
  for (const auto& [room, locks] : rooms_) count += locks.size();
  return count;
}

}  // namespace tandem::server::locks
