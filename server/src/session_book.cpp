// server/src/session_book.cpp — sessions and their resume window (see session_book.h).
#include "session_book.h"

#include <algorithm>

namespace tandem::server {

SessionClaim SessionBook::claim(const std::optional<std::string>& wanted, std::string_view user,
                                ConnectionId connection, IdSource& ids, Millis now, const store::SessionRecord* stored) {
  if (wanted) {
    auto it = sessions_.find(*wanted);
    // Past its window but not yet expired by a tick: gone from memory — the store may still
    // continue it (and its applied ids), so do not let the stale entry hide it.
    if (it != sessions_.end() && it->second.resumable_until && now >= *it->second.resumable_until) {
      sessions_.erase(it);
      it = sessions_.end();
    }
    // Another user's session id is treated like an unknown one: no hint that it exists.
    const bool resumable = it != sessions_.end() && it->second.user == user &&
                           (!it->second.resumable_until || now < *it->second.resumable_until);
    if (resumable) {
      Entry& entry = it->second;
      // Several instances: what the store says it applied elsewhere meanwhile counts too.
      if (stored && stored->id == *wanted && stored->user == user)
        for (const std::string& request_id : stored->applied) remember_applied(*wanted, request_id, true);
      SessionClaim claim{it->first, SessionStart::Resumed, std::nullopt};
      if (entry.connection != 0 && entry.connection != connection) claim.replaced = entry.connection;
      entry.connection = connection;
      entry.resumable_until.reset();
      return claim;
    }
    if (it == sessions_.end() && stored && stored->id == *wanted && stored->user == user) {
      sessions_.emplace(*wanted, Entry{std::string(user), connection, std::nullopt, {}, {}, {}});
      for (const std::string& request_id : stored->applied) remember_applied(*wanted, request_id, true);
      return SessionClaim{*wanted, SessionStart::Resumed, std::nullopt};
    }
  }
  std::string id = ids.session_id();
  while (sessions_.contains(id)) id = ids.session_id();  // 128 random bits: never in practice
  sessions_.emplace(id, Entry{std::string(user), connection, std::nullopt, {}, {}, {}});
  return SessionClaim{std::move(id), SessionStart::New, std::nullopt};
}

void SessionBook::adopt(const std::string& session, std::string_view user, ConnectionId connection, Millis now,
                        const store::SessionRecord* stored) {
  auto it = sessions_.find(session);
  if (it == sessions_.end() || it->second.user != user ||
      (it->second.resumable_until && now >= *it->second.resumable_until)) {  // unknown, or forgotten but for a tick
    it = sessions_.insert_or_assign(session, Entry{std::string(user), connection, std::nullopt, {}, {}, {}}).first;
    if (stored && stored->id == session && stored->user == user)
      for (const std::string& request_id : stored->applied) remember_applied(session, request_id, true);
    return;
  }
  it->second.connection = connection;
  it->second.resumable_until.reset();
  if (stored && stored->id == session && stored->user == user)
    for (const std::string& request_id : stored->applied) remember_applied(session, request_id, true);
}

bool SessionBook::needs_lookup(const std::string& wanted, Millis now) const {
  auto it = sessions_.find(wanted);
  return it == sessions_.end() || (it->second.resumable_until && now >= *it->second.resumable_until);
}

void SessionBook::remember_applied(std::string_view session, const std::string& request_id, bool durable) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  Entry& entry = it->second;
  if (!entry.applied.insert(request_id).second) return;
  // Two windows, so a flood of ephemeral acks (typing, signals) never pushes out the id of a
  // stored change whose resend must stay a duplicate.
  auto& order = durable ? entry.durable_order : entry.ephemeral_order;
  order.push_back(request_id);
  while (order.size() > dedup_window_) {
    entry.applied.erase(order.front());
    order.pop_front();
  }
}

void SessionBook::forget_applied(const std::string& session, const std::string& request_id) {
  auto it = sessions_.find(session);
  if (it == sessions_.end() || it->second.applied.erase(request_id) == 0) return;
  it->second.durable_order.erase(request_id);
  it->second.ephemeral_order.erase(request_id);
}

bool SessionBook::was_applied(std::string_view session, const std::string& request_id) const {
  auto it = sessions_.find(session);
  return it != sessions_.end() && it->second.applied.contains(request_id);
}

void SessionBook::detach(std::string_view session, ConnectionId connection, Millis now) {
  auto it = sessions_.find(session);
  if (it == sessions_.end() || it->second.connection != connection) return;
  it->second.connection = 0;
  it->second.resumable_until = now + resume_window_;
  detached_order_.emplace_back(*it->second.resumable_until, it->first);
}

void SessionBook::expire(Millis now) {
  while (!detached_order_.empty() && now >= detached_order_.front().first) {
    auto it = sessions_.find(detached_order_.front().second);
    if (it != sessions_.end() && it->second.resumable_until && now >= *it->second.resumable_until) sessions_.erase(it);
    detached_order_.pop_front();
  }
}

std::size_t SessionBook::detached() const {
  return static_cast<std::size_t>(
      std::count_if(sessions_.begin(), sessions_.end(), [](const auto& item) { return item.second.resumable_until.has_value(); }));
}

}  // namespace tandem::server
