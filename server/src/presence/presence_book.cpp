// server/src/presence/presence_book.cpp — presence per room, grouped per user, and conflated
// pending changes (see presence_book.h).
#include "presence_book.h"

#include <algorithm>

namespace tandem::server {

PresenceBook::Member* PresenceBook::find_member(const std::string& room, const std::string& user_id) {
  auto r = rooms_.find(room);
  if (r == rooms_.end()) return nullptr;
  auto m = std::find_if(r->second.members.begin(), r->second.members.end(),
                        [&](const Member& member) { return member.user.id == user_id; });
  return m == r->second.members.end() ? nullptr : &*m;
}

PresenceJoin PresenceBook::join(const std::string& room, const protocol::UserInfo& user, const std::string& connection) {
  RoomPresence& r = rooms_[room];
  auto m = std::find_if(r.members.begin(), r.members.end(), [&](const Member& member) { return member.user.id == user.id; });
  if (m == r.members.end()) {
    r.members.push_back(Member{user, {}});
    m = std::prev(r.members.end());
  }
  for (const auto& meta : m->metas)
    if (meta.connection == connection) return PresenceJoin::AlreadyPresent;
  m->metas.push_back(protocol::PresenceMeta{connection, {}});
  return PresenceJoin::Joined;
}

std::optional<protocol::PresenceMember> PresenceBook::leave(const std::string& room, const std::string& user_id,
                                                           const std::string& connection) {
  auto r = rooms_.find(room);
  if (r == rooms_.end()) return std::nullopt;
  auto& members = r->second.members;
  auto m = std::find_if(members.begin(), members.end(), [&](const Member& member) { return member.user.id == user_id; });
  if (m == members.end()) return std::nullopt;
  auto meta = std::find_if(m->metas.begin(), m->metas.end(),
                           [&](const protocol::PresenceMeta& x) { return x.connection == connection; });
  if (meta == m->metas.end()) return std::nullopt;
  protocol::PresenceMember left{m->user, {std::move(*meta)}};
  m->metas.erase(meta);
  if (m->metas.empty()) members.erase(m);
  if (members.empty()) rooms_.erase(r);

  // A pending change of a connection that left has nothing left to report.
  auto p = pending_.find(room);
  if (p != pending_.end()) {
    for (auto& user : p->second)
      if (user.user_id == user_id) std::erase(user.connections, connection);
    std::erase_if(p->second, [](const PendingUser& user) { return user.connections.empty(); });
    if (p->second.empty()) pending_.erase(p);
  }
  return left;
}

PresenceSetResult PresenceBook::set(const std::string& room, const std::string& user_id, const std::string& connection,
                                    protocol::Presence state) {
  Member* m = find_member(room, user_id);
  if (!m) return PresenceSetResult::NotPresent;
  auto meta = std::find_if(m->metas.begin(), m->metas.end(),
                           [&](const protocol::PresenceMeta& x) { return x.connection == connection; });
  if (meta == m->metas.end()) return PresenceSetResult::NotPresent;
  meta->state = std::move(state);

  auto& users = pending_[room];
  auto user = std::find_if(users.begin(), users.end(), [&](const PendingUser& u) { return u.user_id == user_id; });
  if (user == users.end()) {
    users.push_back(PendingUser{user_id, {}});
    user = std::prev(users.end());
  }
  if (std::find(user->connections.begin(), user->connections.end(), connection) == user->connections.end())
    user->connections.push_back(connection);
  return PresenceSetResult::Stored;
}

std::vector<protocol::PresenceMember> PresenceBook::snapshot(const std::string& room) const {
  std::vector<protocol::PresenceMember> members;
  auto r = rooms_.find(room);
  if (r == rooms_.end()) return members;
  members.reserve(r->second.members.size());
  for (const Member& m : r->second.members) members.push_back(protocol::PresenceMember{m.user, m.metas});
  return members;
}

std::optional<protocol::PresenceMember> PresenceBook::member_with(const std::string& room, const std::string& user_id,
                                                                 const std::string& connection) const {
  auto r = rooms_.find(room);
  if (r == rooms_.end()) return std::nullopt;
  for (const Member& m : r->second.members) {
    if (m.user.id != user_id) continue;
    for (const auto& meta : m.metas)
      if (meta.connection == connection) return protocol::PresenceMember{m.user, {meta}};
  }
  return std::nullopt;
}

std::vector<protocol::PresenceUpdate> PresenceBook::take_updates() {
  std::vector<protocol::PresenceUpdate> updates;
  for (const auto& [room, users] : pending_) {
    for (const PendingUser& user : users) {
      const Member* m = find_member(room, user.user_id);
      if (!m) continue;
      protocol::PresenceUpdate update;
      update.room = room;
      update.user = user.user_id;
      // Every tab's state, not just the ones that changed: an update still queued for a slow
      // reader is replaced by the user's next one (frame_queue.h), which must not lose a tab.
      update.metas = m->metas;
      if (!update.metas.empty()) updates.push_back(std::move(update));
    }
  }
  pending_.clear();
  return updates;
}

std::size_t PresenceBook::user_count(const std::string& room) const {
  auto r = rooms_.find(room);
  return r == rooms_.end() ? 0 : r->second.members.size();
}

PresenceEngine::Page PresenceBook::list(const std::string& room, const std::string& after, std::size_t limit) const {
  Page page;
  auto r = rooms_.find(room);
  if (r == rooms_.end() || limit == 0) return page;
  std::vector<const Member*> later;  // the users after `after`; the first `limit` of them by id
  later.reserve(r->second.members.size());
  for (const Member& m : r->second.members)
    if (after.empty() || m.user.id > after) later.push_back(&m);
  const auto by_id = [](const Member* a, const Member* b) { return a->user.id < b->user.id; };
  if (later.size() > limit) {
    std::nth_element(later.begin(), later.begin() + static_cast<std::ptrdiff_t>(limit), later.end(), by_id);
    later.resize(limit);
    page.more = true;
  }
  std::sort(later.begin(), later.end(), by_id);
  page.members.reserve(later.size());
  for (const Member* m : later) page.members.push_back(protocol::PresenceMember{m->user, m->metas});
  return page;
}

}  // namespace tandem::server
