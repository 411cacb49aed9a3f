// room_replica.cpp — applies presence, lock, document, chat, execution and stream events to one
// room's plain-data model (see tandem/room_replica.h).
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

bool RoomReplica::accept(std::int64_t seq) {
  if (check(seq) != SeqCheck::Next) return false;
  advance(seq);
  return true;
}

RoomChanges RoomReplica::apply(const protocol::Subscribed& m) {
  RoomChanges changes;
  if (!typing_.empty()) {  // ephemeral, never replayed: unknown after any (re)subscribe
    typing_.clear();
    changes |= RoomChange::Typing;
  }
  const bool same_epoch = position_ && position_->epoch == m.epoch;
  if (m.recovered && same_epoch) {  // the replayed events move the position
    stream_replay_until_.reset();
    return changes;
  }
  position_ = protocol::StreamPosition{m.epoch, m.seq};
  stream_replay_until_ = m.seq;
  if (!stream_.empty()) {  // the server replays the stream it still has (agent: rooms)
    stream_.clear();
    changes |= RoomChange::Stream;
  }
  if (!locks_.empty()) {  // lock_state follows with the current set
    locks_.clear();
    changes |= RoomChange::Locks;
  }
  return changes;
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
  const std::optional<std::int64_t> crowd_count = m.partial ? std::optional(m.count.value_or(0)) : std::nullopt;
  if (crowd_count != crowd_count_) changes |= RoomChange::Members;
  crowd_count_ = crowd_count;
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

RoomChanges RoomReplica::apply(const protocol::PresenceCount& m) {
  if (crowd_count_ == m.count) return {};
  crowd_count_ = m.count;
  return RoomChange::Members;
}

RoomChanges RoomReplica::apply(const protocol::PresenceListPage& m) {
  RoomChanges changes;
  for (const auto& incoming : m.members) {
    if (incoming.metas.empty()) continue;
    auto [it, inserted] = members_.try_emplace(incoming.user.id, RoomMember{incoming.user, incoming.metas});
    if (inserted) {
      changes |= RoomChange::Members;
      changes |= RoomChange::Presence;
    } else if (it->second.user != incoming.user || it->second.metas != incoming.metas) {
      it->second = RoomMember{incoming.user, incoming.metas};
      changes |= RoomChange::Presence;
    }
  }
  if (crowd_count_ && *crowd_count_ != m.count) {
    crowd_count_ = m.count;
    changes |= RoomChange::Members;
  }
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
  if (!accept(m.seq)) return {};
  locks_[m.resource] = protocol::LockInfo{m.resource, m.holder, m.fence, m.expires_at};
  return RoomChange::Locks;
}

RoomChanges RoomReplica::apply(const protocol::Unlocked& m) {
  if (!accept(m.seq)) return {};
  if (locks_.erase(m.resource) == 0) return {};
  return RoomChange::Locks;
}

// ---- documents ----------------------------------------------------------------------------

namespace {
RoomChanges doc_if(bool changed) { return changed ? RoomChanges(RoomChange::Doc) : RoomChanges(); }
}  // namespace

RoomChanges RoomReplica::apply(const protocol::DocSnapshot& m) { return doc_if(document_.replace(m.nodes, m.edges)); }

RoomChanges RoomReplica::apply(const protocol::NodeCreated& m) {
  if (!accept(m.seq)) return {};
  return doc_if(document_.create_node(m.node));
}

RoomChanges RoomReplica::apply(const protocol::NodeUpdated& m) {
  if (!accept(m.seq)) return {};
  return doc_if(document_.update_node(m.node, m.fields));
}

RoomChanges RoomReplica::apply(const protocol::NodeDeleted& m) {
  if (!accept(m.seq)) return {};
  return doc_if(document_.delete_node(m.node));
}

RoomChanges RoomReplica::apply(const protocol::EdgeCreated& m) {
  if (!accept(m.seq)) return {};
  return doc_if(document_.create_edge(m.edge));
}

RoomChanges RoomReplica::apply(const protocol::EdgeDeleted& m) {
  if (!accept(m.seq)) return {};
  return doc_if(document_.delete_edge(m.edge));
}

RoomChanges RoomReplica::apply(const protocol::PublishedNodeUpdate& m) {
  if (!accept(m.seq)) return {};
  return doc_if(document_.set_run_state(m.node, m.status, m.data));
}

// ---- chat ---------------------------------------------------------------------------------

RoomChanges RoomReplica::apply(const protocol::ChatHistory& m) {
  std::deque<protocol::ChatEntry> next(m.messages.begin(), m.messages.end());
  while (next.size() > limits_.chat_messages) next.pop_front();
  if (next == chat_) return {};
  chat_ = std::move(next);
  return RoomChange::Chat;
}

RoomChanges RoomReplica::apply(const protocol::ChatMessage& m) {
  if (!accept(m.seq)) return {};
  chat_.push_back(m.entry());
  while (chat_.size() > limits_.chat_messages) chat_.pop_front();
  return RoomChange::Chat;
}

RoomChanges RoomReplica::apply(const protocol::Cleared& m) {
  if (!accept(m.seq)) return {};
  if (chat_.empty()) return {};
  chat_.clear();
  return RoomChange::Chat;
}

RoomChanges RoomReplica::apply(const protocol::BotToggled& m) {
  accept(m.seq);
  return {};
}

RoomChanges RoomReplica::apply(const protocol::TypingEvent& m) {
  if (m.active) {
    auto [it, inserted] = typing_.insert_or_assign(m.user, m.name);
    (void)it;
    return inserted ? RoomChanges(RoomChange::Typing) : RoomChanges();
  }
  return typing_.erase(m.user) > 0 ? RoomChanges(RoomChange::Typing) : RoomChanges();
}

// ---- published events and streams --------------------------------------------------------

RoomChanges RoomReplica::apply(const protocol::ExecutionUpdate& m) {
  if (!accept(m.seq)) return {};
  executions_[m.execution] = m;
  return RoomChange::Execution;
}

bool RoomReplica::is_stream_replay(const protocol::StreamEvent& m) const {
  return stream_replay_until_ && m.seq <= *stream_replay_until_ && (stream_.empty() || m.seq > stream_.back().seq);
}

RoomChanges RoomReplica::apply(const protocol::StreamEvent& m) {
  if (!is_stream_replay(m) && !accept(m.seq)) return {};
  push_stream(m);
  return RoomChange::Stream;
}

void RoomReplica::push_stream(const protocol::StreamEvent& m) {
  stream_.push_back(m);
  while (stream_.size() > limits_.stream_events) stream_.pop_front();
}

}  // namespace tandem
