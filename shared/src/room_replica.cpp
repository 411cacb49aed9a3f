// room_replica.cpp — applies presence and lock events to one room's plain-data model
// (see tandem/room_replica.h).
#include "tandem/room_replica.h"

#include <algorithm>

namespace tandem {

namespace {

// Adds or replaces `meta` in `member`; says whether anything changed.
bool upsert_meta(RoomMember& member, const protocol::PresenceMeta& meta) {
  auto it = std::find_if(member.metas.begin(), member.metas.end(),
                         [&](const protocol::PresenceMeta& m) { return m.connection == meta.connection; });
  if (it == member.metas.end()) {
    member.metas.push_back(meta);
    return true;
  }
  if (it->state == meta.state) return false;
  it->state = meta.state;
  return true;
}

}  // namespace

const RoomMember* RoomReplica::member(const std::string& user_id) const {
  auto it = members_.find(user_id);
  return it == members_.end() ? nullptr : &it->second;
}

const protocol::LockInfo* RoomReplica::lock(const std::string& resource) const {
  auto it = locks_.find(resource);
  return it == locks_.end() ? nullptr : &it->second;
}

SeqCheck RoomReplica::check(std::int64_t seq) const {
  if (!position_) return SeqCheck::Next;  // nothing to compare with yet
  if (seq <= position_->seq) return SeqCheck::Duplicate;
  if (seq > position_->seq + 1) return SeqCheck::Gap;
  return SeqCheck::Next;
}

void RoomReplica::advance(std::int64_t seq) {
  if (position_ && seq > position_->seq) position_->seq = seq;
}

RoomChanges RoomReplica::apply(const protocol::Subscribed& m) {
  const bool same_epoch = position_ && position_->epoch == m.epoch;
  if (m.recovered && same_epoch) return {};  // the replayed events move the position
  position_ = protocol::StreamPosition{m.epoch, m.seq};
  if (locks_.empty()) return {};
  locks_.clear();  // lock_state follows with the current set
  return RoomChange::Locks;
}

RoomChanges RoomReplica::apply(const protocol::PresenceSnapshot& m) {
  std::map<std::string, RoomMember> next;
  for (const auto& incoming : m.members) {
    if (incoming.metas.empty()) continue;  // a member without connections is not present
    next[incoming.user.id] = RoomMember{incoming.user, incoming.metas};
  }
  RoomChanges changes;
  const bool same_users = next.size() == members_.size() &&
                          std::equal(next.begin(), next.end(), members_.begin(),
                                     [](const auto& a, const auto& b) { return a.first == b.first; });
  if (!same_users) changes |= RoomChange::Members;
  if (next != members_) changes |= RoomChange::Presence;
  members_ = std::move(next);
  return changes;
}

RoomChanges RoomReplica::apply(const protocol::PresenceDiff& m) {
  RoomChanges changes;
  for (const auto& join : m.joins) {
    auto [it, inserted] = members_.try_emplace(join.user.id, RoomMember{join.user, {}});
    if (inserted) changes |= RoomChange::Members;
    it->second.user = join.user;  // a name or color may have changed with a new token
    for (const auto& meta : join.metas)
      if (upsert_meta(it->second, meta)) changes |= RoomChange::Presence;
    if (it->second.metas.empty()) {  // a join without metas carries nobody
      members_.erase(it);
      changes |= RoomChange::Members;
    }
  }
  for (const auto& leave : m.leaves) {
    auto it = members_.find(leave.user.id);
    if (it == members_.end()) continue;
    auto& metas = it->second.metas;
    for (const auto& meta : leave.metas) {
      auto gone = std::remove_if(metas.begin(), metas.end(),
                                 [&](const protocol::PresenceMeta& x) { return x.connection == meta.connection; });
      if (gone != metas.end()) changes |= RoomChange::Presence;
      metas.erase(gone, metas.end());
    }
    if (metas.empty()) {  // the user's last connection left: the user is gone
      members_.erase(it);
      changes |= RoomChange::Members;
    }
  }
  return changes;
}

RoomChanges RoomReplica::apply(const protocol::PresenceUpdate& m) {
  auto it = members_.find(m.user);
  if (it == members_.end()) return {};  // not joined (as far as we know): no name to show
  RoomChanges changes;
  for (const auto& meta : m.metas)
    if (upsert_meta(it->second, meta)) changes |= RoomChange::Presence;
  return changes;
}

RoomChanges RoomReplica::apply(const protocol::LockState& m) {
  std::map<std::string, protocol::LockInfo> next;
  for (const auto& info : m.locks) next[info.resource] = info;
  if (next == locks_) return {};
  locks_ = std::move(next);
  return RoomChange::Locks;
}

RoomChanges RoomReplica::apply(const protocol::Locked& m) {
  if (check(m.seq) != SeqCheck::Next) return {};
  advance(m.seq);
  locks_[m.resource] = protocol::LockInfo{m.resource, m.holder, m.fence, m.expires_at};
  return RoomChange::Locks;
}

RoomChanges RoomReplica::apply(const protocol::Unlocked& m) {
  if (check(m.seq) != SeqCheck::Next) return {};
  advance(m.seq);
  if (locks_.erase(m.resource) == 0) return {};
  return RoomChange::Locks;
}

}  // namespace tandem
