// server/src/rooms/room_registry.cpp — room membership both ways, epochs, seqs and room
// broadcasts (see room_registry.h).
#include "room_registry.h"

#include <algorithm>

#include "../hub.h"

namespace tandem::server {

namespace {
const std::vector<ConnectionId> kNoMembers;
}  // namespace

JoinOutcome RoomRegistry::join(const Connection& connection, const std::string& room, JoinKind kind,
                               UnixMillis now) {
  auto& memberships = by_connection_[connection.id];
  auto existing = std::find_if(memberships.begin(), memberships.end(),
                               [&](const Membership& m) { return m.room == room; });
  if (existing != memberships.end()) {
    // A subscribe to the automatic user: room makes it a subscribed one (it then counts).
    if (kind == JoinKind::Subscribed && existing->kind == JoinKind::Automatic) {
      if (subscribed_count(connection.id) >= max_rooms_) return {JoinStatus::LimitExceeded, nullptr};
      existing->kind = JoinKind::Subscribed;
    }
    return {JoinStatus::AlreadyMember, &rooms_.at(room)};
  }
  if (kind == JoinKind::Subscribed && subscribed_count(connection.id) >= max_rooms_) {
    if (memberships.empty()) by_connection_.erase(connection.id);
    return {JoinStatus::LimitExceeded, nullptr};
  }
  auto [it, created] = rooms_.try_emplace(room);
  Room& r = it->second;
  if (created) {
    r.name = room;
    r.epoch = "e" + std::to_string(now) + "." + std::to_string(++rooms_created_);
    r.seq = 0;
  }
  r.members.push_back(connection.id);
  memberships.push_back({room, kind});
  return {JoinStatus::Joined, &r};
}

void RoomRegistry::notify_joined(Hub& hub, Connection& connection, const std::string& room, JoinKind kind) {
  for (const auto& hook : hub.handlers().room_join_hooks()) hook(hub, connection, room, kind);
}

void RoomRegistry::remove_member(ConnectionId connection, const std::string& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  std::erase(it->second.members, connection);
  if (it->second.members.empty()) rooms_.erase(it);  // a room exists while it has members
}

bool RoomRegistry::leave(Hub& hub, Connection& connection, const std::string& room, LeaveReason reason) {
  auto by = by_connection_.find(connection.id);
  if (by == by_connection_.end()) return false;
  auto& memberships = by->second;
  auto existing = std::find_if(memberships.begin(), memberships.end(),
                               [&](const Membership& m) { return m.room == room; });
  if (existing == memberships.end()) return false;
  const std::string name = room;  // `room` may refer into the membership being erased
  memberships.erase(existing);
  if (memberships.empty()) by_connection_.erase(by);
  remove_member(connection.id, name);
  for (const auto& hook : hub.handlers().room_leave_hooks()) hook(hub, connection, name, reason);
  return true;
}

void RoomRegistry::leave_all(Hub& hub, Connection& connection, LeaveReason reason) {
  for (const std::string& room : rooms_of(connection.id)) leave(hub, connection, room, reason);
}

const Room* RoomRegistry::find(std::string_view room) const {
  auto it = rooms_.find(std::string(room));
  return it == rooms_.end() ? nullptr : &it->second;
}

bool RoomRegistry::is_member(ConnectionId connection, std::string_view room) const {
  auto by = by_connection_.find(connection);
  if (by == by_connection_.end()) return false;
  return std::any_of(by->second.begin(), by->second.end(), [&](const Membership& m) { return m.room == room; });
}

const std::vector<ConnectionId>& RoomRegistry::members(std::string_view room) const {
  const Room* r = find(room);
  return r ? r->members : kNoMembers;
}

std::vector<std::string> RoomRegistry::rooms_of(ConnectionId connection) const {
  std::vector<std::string> names;
  auto by = by_connection_.find(connection);
  if (by == by_connection_.end()) return names;
  names.reserve(by->second.size());
  for (const Membership& m : by->second) names.push_back(m.room);
  return names;
}

std::size_t RoomRegistry::subscribed_count(ConnectionId connection) const {
  auto by = by_connection_.find(connection);
  if (by == by_connection_.end()) return 0;
  return static_cast<std::size_t>(std::count_if(by->second.begin(), by->second.end(),
                                                [](const Membership& m) { return m.kind == JoinKind::Subscribed; }));
}

RoomStats RoomRegistry::stats() const {
  RoomStats s;
  s.rooms = rooms_.size();
  for (const auto& [name, room] : rooms_) s.memberships += room.members.size();
  return s;
}

void RoomRegistry::for_each_room(const std::function<void(const Room&)>& visit) const {
  for (const auto& [name, room] : rooms_) visit(room);
}

std::int64_t RoomRegistry::next_seq(std::string_view room) {
  auto it = rooms_.find(std::string(room));
  if (it == rooms_.end()) return 0;  // precondition broken; nothing to number
  return ++it->second.seq;
}

void RoomRegistry::broadcast(Hub& hub, std::string_view room, const Bytes& frame,
                             std::optional<ConnectionId> except, const StateKey& key) const {
  const Room* r = find(room);
  if (!r) return;
  for (ConnectionId id : r->members) {
    if (except && *except == id) continue;
    if (Connection* c = hub.find(id)) hub.send(*c, frame, key);
  }
}

void RoomRegistry::broadcast(Hub& hub, std::string_view room, const protocol::ServerMessage& message,
                             std::optional<ConnectionId> except, const StateKey& key) const {
  auto frame = std::make_shared<const std::string>(
      protocol::encode(protocol::ServerFrame{std::nullopt, message}));
  broadcast(hub, room, frame, except, key);
}

}  // namespace tandem::server
