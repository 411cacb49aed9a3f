// server/src/rooms/room_registry.cpp — room membership both ways, epochs, seqs and the room
// log (see room_registry.h).
#include "room_registry.h"

#include <algorithm>

#include "../hub.h"
#include "../log.h"
#include "room_access.h"
#include "tandem/protocol/codec.h"

namespace tandem::server {

namespace {
const std::vector<ConnectionId> kNoMembers;

// The bots a room's log leaves on: its bot_toggled events applied in order. Encoded events
// start with their "type" (JsonWriter writes it first), so only those are decoded.
std::vector<std::string> bots_in_log(const Fifo<RoomEvent>& history) {
  constexpr std::string_view kPrefix = R"({"type":"bot_toggled",)";
  std::vector<std::string> bots;
  for (const RoomEvent& event : history) {
    if (!std::string_view(*event.frame).starts_with(kPrefix)) continue;
    auto frames = protocol::decode_server(*event.frame);
    if (frames.size() != 1 || !frames.front()) continue;
    const auto* toggled = std::get_if<protocol::BotToggled>(&frames.front()->message);
    if (!toggled) continue;
    std::erase(bots, toggled->bot);
    if (toggled->enabled) bots.push_back(toggled->bot);
  }
  std::sort(bots.begin(), bots.end());
  return bots;
}
}  // namespace

namespace {

// Several instances: the rooms `connection` subscribed to through other instances (each counts
// towards max_rooms here; its automatic user: room does not).
std::size_t subscribed_elsewhere(const Connection& connection) {
  return connection.forwarded.size() - (connection.forwarded.contains(user_room(connection.user.id)) ? 1 : 0);
}

}  // namespace

JoinOutcome RoomRegistry::join(const Connection& connection, const std::string& room, JoinKind kind,
                               UnixMillis now) {
  const std::size_t subscribed = subscribed_count(connection.id) + subscribed_elsewhere(connection);
  auto& memberships = by_connection_[connection.id];
  auto existing = std::find_if(memberships.begin(), memberships.end(),
                               [&](const Membership& m) { return m.room == room; });
  if (existing != memberships.end()) {
    // A subscribe to the automatic user: room makes it a subscribed one (it then counts).
    if (kind == JoinKind::Subscribed && existing->kind == JoinKind::Automatic) {
      if (subscribed >= max_rooms_) return {JoinStatus::LimitExceeded, nullptr};
      existing->kind = JoinKind::Subscribed;
    }
    return {JoinStatus::AlreadyMember, &rooms_.at(room)};
  }
  if (kind == JoinKind::Subscribed && subscribed >= max_rooms_) {
    if (memberships.empty()) by_connection_.erase(connection.id);
    return {JoinStatus::LimitExceeded, nullptr};
  }
  Room* r = open(room, now);
  if (!r) {
    if (memberships.empty()) by_connection_.erase(connection.id);
    return {JoinStatus::Unavailable, nullptr};
  }
  r->members.push_back(connection.id);
  memberships.push_back({room, kind});
  return {JoinStatus::Joined, r};
}

Room* RoomRegistry::open(const std::string& room, UnixMillis now) {
  auto [it, created] = rooms_.try_emplace(room);
  Room& r = it->second;
  if (created) {
    r.name = room;
    if (!load(r, now)) {
      rooms_.erase(it);
      return nullptr;
    }
  }
  return &r;
}

Room* RoomRegistry::find_mutable(std::string_view room) {
  auto it = rooms_.find(std::string(room));
  return it == rooms_.end() ? nullptr : &it->second;
}

void RoomRegistry::attach_store(store::Store* store, std::function<store::WriteBatch&()> writes,
                                std::size_t history_limit, std::function<void()> before_direct_read) {
  store_ = store;
  writes_ = std::move(writes);
  before_direct_read_ = std::move(before_direct_read);
  history_limit_ = history_limit;
}

bool RoomRegistry::load(Room& r, UnixMillis now) {
  auto fresh = [&](bool durable) {
    r.epoch = "e" + std::to_string(now) + "." + std::to_string(++rooms_created_);
    r.seq = 0;
    r.durable = durable;
    if (durable) writes_().add(store::WriteBatch::NewRoom{r.name, r.epoch});
    return true;
  };
  if (!store_) return fresh(false);
  // Read by the hub's read phase for the input that opens it now; a caller that skipped that
  // phase (a tool, a test of the registry alone) reads the store here.
  auto planned = loaded_.find(r.name);
  const bool read_here = planned == loaded_.end();
  if (read_here && before_direct_read_) before_direct_read_();
  Result<store::RoomRecord> loaded = read_here ? store_->load_room(r.name) : std::move(planned->second);
  if (!read_here) loaded_.erase(planned);
  if (!loaded) {
    LOG_ERROR_CTX(log::Fields{.room = r.name},
                  "room %s: cannot load it from the store (%s); joins and publishes to it are refused until it loads",
                  r.name.c_str(), loaded.error().message.c_str());
    return false;
  }
  store::RoomRecord stored = std::move(loaded).value();
  if (on_fences_read_) on_fences_read_(stored.fence_high_water);
  if (on_webhooks_read_) on_webhooks_read_(r.name, stored);
  if (!stored.exists) return fresh(true);
  r.epoch = std::move(stored.epoch);
  r.seq = stored.seq;
  r.durable = true;
  for (store::StoredEvent& event : stored.history)
    r.history.push_back({event.seq, std::make_shared<const std::string>(std::move(event.json))});
  r.bots = bots_in_log(r.history);
  std::erase_if(r.bots, [&](const std::string& bot) {
    return std::find(known_bots_.begin(), known_bots_.end(), bot) == known_bots_.end();
  });
  r.doc.load(std::move(stored.nodes), std::move(stored.edges));
  r.chat.assign(std::make_move_iterator(stored.chat.begin()), std::make_move_iterator(stored.chat.end()));
  // Locks held when the server stopped: their holders' connections did not survive it.
  for (const protocol::LockInfo& lock : stored.locks) {
    const std::int64_t seq = ++r.seq;
    protocol::Unlocked released{r.name, lock.resource, protocol::UnlockReason::Disconnected, seq, now};
    record(r, seq, encode_once(released));
    writes_().add(store::WriteBatch::DropLock{r.name, lock.resource});
  }
  return true;
}

bool RoomRegistry::needs_load(std::string_view room) const {
  if (!store_) return false;
  const std::string name(room);
  return !rooms_.contains(name) && !loaded_.contains(name);
}

void RoomRegistry::loaded(const std::string& room, Result<store::RoomRecord> record) {
  loaded_.insert_or_assign(room, std::move(record));
}

RoomRegistry::NodeLookup RoomRegistry::find_node(const std::string& room, std::string_view node) const {
  if (const Room* live = find(room)) return live->doc.find_node(node) ? NodeLookup::Found : NodeLookup::Missing;
  auto read = loaded_.find(room);
  if (read == loaded_.end()) return NodeLookup::Missing;  // no store: a room that is not live is empty
  if (!read->second) return NodeLookup::StoreFailed;
  const auto& nodes = read->second->nodes;
  return std::any_of(nodes.begin(), nodes.end(), [&](const protocol::Node& n) { return n.id == node; }) ? NodeLookup::Found
                                                                                                      : NodeLookup::Missing;
}

void RoomRegistry::record(Room& r, std::int64_t seq, Bytes frame) {
  if (r.durable) writes_().add(store::WriteBatch::AppendEvent{r.name, seq, *frame});
  r.history.push_back({seq, std::move(frame)});
  while (r.history.size() > history_limit_) r.history.pop_front();
}

RoomEvent RoomRegistry::record_and_publish(Hub& hub, Room& room, std::int64_t seq,
                                           const protocol::ServerMessage& message) {
  Bytes frame = encode_once(message);
  record(room, seq, frame);
  hub.broker().publish(room.name, seq, frame);
  return RoomEvent{seq, std::move(frame)};
}

void RoomRegistry::persist(const Room& room, store::WriteBatch::Write write) {
  if (room.durable) writes_().add(std::move(write));
}

std::optional<std::vector<Bytes>> RoomRegistry::events_after(std::string_view room, std::int64_t seq) const {
  const Room* r = find(room);
  if (!r || seq > r->seq || seq < 0) return std::nullopt;
  std::vector<Bytes> missed;
  if (seq == r->seq) return missed;
  if (r->history.empty() || r->history.front().seq > seq + 1) return std::nullopt;  // fell out of the history
  // A hole (an event that never made it into the log) must not be replayed as complete.
  const bool contiguous = r->history.back().seq == r->seq &&
                          static_cast<std::int64_t>(r->history.size()) == r->seq - r->history.front().seq + 1;
  if (!contiguous) return std::nullopt;
  for (const RoomEvent& event : r->history)
    if (event.seq > seq) missed.push_back(event.frame);
  return missed;
}

void RoomRegistry::release_if_idle(const std::string& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || !it->second.members.empty()) return;
  if (keep_alive_ && keep_alive_(room)) return;
  if (!store_) {
    forget(it);
  } else if (std::find(idle_.begin(), idle_.end(), room) == idle_.end()) {
    idle_.push_back(room);
  }
}

void RoomRegistry::forget_idle(const std::function<bool(const std::string& room)>& keep) {
  std::vector<std::string> kept;
  for (std::string& room : idle_) {
    if (keep && keep(room)) {
      kept.push_back(std::move(room));
      continue;
    }
    auto it = rooms_.find(room);
    if (it != rooms_.end() && it->second.members.empty() && !(keep_alive_ && keep_alive_(room))) forget(it);
  }
  idle_ = std::move(kept);
}

void RoomRegistry::drop(const std::string& room) {
  std::erase(idle_, room);
  if (auto it = rooms_.find(room); it != rooms_.end()) forget(it);
}

void RoomRegistry::forget(std::unordered_map<std::string, Room>::iterator room) {
  const std::string name = room->first;
  rooms_.erase(room);
  if (on_forget_) on_forget_(name);
}

void RoomRegistry::notify_joined(Hub& hub, Connection& connection, const std::string& room, JoinKind kind) {
  for (const auto& hook : hub.handlers().room_join_hooks()) hook(hub, connection, room, kind);
}

void RoomRegistry::remove_member(ConnectionId connection, const std::string& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  std::erase(it->second.members, connection);
  release_if_idle(room);  // a room lives while it has members, or a feature keeps it
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
  for (const auto& [name, room] : rooms_) {
    if (room.members.empty()) continue;  // kept alive, but nobody is in it
    ++s.rooms;
    s.memberships += room.members.size();
  }
  return s;
}

void RoomRegistry::for_each_room(const std::function<void(const Room&)>& visit) const {
  for (const auto& [name, room] : rooms_)
    if (!room.members.empty()) visit(room);
}

}  // namespace tandem::server
