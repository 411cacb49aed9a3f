// rooms.cpp — joins, presence and typing throttles, lock leases, document/chat/stream requests
// and the rejoin after a reconnect (see tandem/rooms.h).
//
// Re-entrancy: app callbacks may call back into Rooms (leave a room from on_lock_lost, lock
// from a join callback), so no reference into rooms_ is used after a callback or a submit
// (whose callback may run at once); entries are looked up again by name.
#include "tandem/rooms.h"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/json.h"
#include "tandem/protocol/codec.h"
#include "tandem/protocol/errors.h"

namespace tandem {

namespace {

// Room events carry a seq (PROTOCOL.md §4) and are checked against the replica's position.
template <class M>
constexpr bool is_room_event =
    std::is_same_v<M, protocol::ChatMessage> || std::is_same_v<M, protocol::Cleared> ||
    std::is_same_v<M, protocol::NodeCreated> || std::is_same_v<M, protocol::NodeUpdated> ||
    std::is_same_v<M, protocol::NodeDeleted> || std::is_same_v<M, protocol::EdgeCreated> ||
    std::is_same_v<M, protocol::EdgeDeleted> || std::is_same_v<M, protocol::Locked> ||
    std::is_same_v<M, protocol::Unlocked> || std::is_same_v<M, protocol::StreamEvent> ||
    std::is_same_v<M, protocol::ExecutionUpdate> || std::is_same_v<M, protocol::PublishedNodeUpdate> ||
    std::is_same_v<M, protocol::BotToggled>;

// Messages the replica models without a seq check: snapshots and ephemeral state.
template <class M>
constexpr bool is_room_snapshot_or_presence =
    std::is_same_v<M, protocol::PresenceSnapshot> || std::is_same_v<M, protocol::PresenceDiff> ||
    std::is_same_v<M, protocol::PresenceUpdate> || std::is_same_v<M, protocol::PresenceCount> ||
    std::is_same_v<M, protocol::LockState> ||
    std::is_same_v<M, protocol::DocSnapshot> || std::is_same_v<M, protocol::ChatHistory> ||
    std::is_same_v<M, protocol::TypingEvent>;

Error local_error(std::string_view code, std::string message) { return Error{std::string(code), std::move(message)}; }

// Why the server would refuse `send` (an event name it does not take, data that is not JSON or
// too big), or nothing. The encoder leaves out data it cannot parse, so that is checked first.
std::optional<Error> broadcast_problem(const protocol::BroadcastSend& send) {
  if (send.data) {
    auto parsed = json::parse_json(*send.data);
    if (!parsed) return local_error(protocol::errc::invalid_message, "broadcast.data is not JSON: " + parsed.error().message);
  }
  auto decoded = protocol::decode_client(protocol::encode_client(send));
  if (!decoded) return decoded.error();
  return std::nullopt;
}

LockLossReason loss_reason(protocol::UnlockReason reason) {
  switch (reason) {
    case protocol::UnlockReason::Expired: return LockLossReason::Expired;
    case protocol::UnlockReason::TakenOver: return LockLossReason::TakenOver;
    case protocol::UnlockReason::Disconnected: return LockLossReason::Disconnected;
    case protocol::UnlockReason::Released: return LockLossReason::Released;
  }
  return LockLossReason::Released;
}

}  // namespace

const char* to_string(LockLossReason reason) {
  switch (reason) {
    case LockLossReason::Expired: return "expired";
    case LockLossReason::TakenOver: return "taken_over";
    case LockLossReason::Disconnected: return "disconnected";
    case LockLossReason::Released: return "released";
    case LockLossReason::Denied: return "denied";
    case LockLossReason::Failed: return "failed";
    case LockLossReason::RoomLost: return "room_lost";
  }
  return "unknown";
}

Rooms::Rooms(SubmitFn submit, SendFn send, RoomsSettings settings)
    : submit_(std::move(submit)), send_(std::move(send)), settings_(settings) {}

// ---- lookups ------------------------------------------------------------------------------

Rooms::RoomEntry* Rooms::find(const std::string& room) {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : &it->second;
}

Rooms::LockEntry* Rooms::find_lock(const std::string& room, const std::string& resource) {
  RoomEntry* entry = find(room);
  if (!entry) return nullptr;
  auto it = entry->locks.find(resource);
  return it == entry->locks.end() ? nullptr : &it->second;
}

const RoomReplica* Rooms::replica(const std::string& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : &it->second.replica;
}

std::optional<RoomStatus> Rooms::status(const std::string& room) const {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return std::nullopt;
  return it->second.status;
}

std::optional<HeldLockStatus> Rooms::lock_status(const std::string& room, const std::string& resource) const {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return std::nullopt;
  auto lock = it->second.locks.find(resource);
  if (lock == it->second.locks.end()) return std::nullopt;
  return lock->second.status;
}

std::optional<std::int64_t> Rooms::fence(const std::string& room, const std::string& resource) const {
  auto status = lock_status(room, resource);
  if (status != HeldLockStatus::Held) return std::nullopt;
  return rooms_.at(room).locks.at(resource).fence;
}

// ---- rooms --------------------------------------------------------------------------------

void Rooms::join(const std::string& room, std::optional<protocol::Presence> presence, JoinCallback done) {
  auto [it, inserted] = rooms_.try_emplace(room, room, settings_.replica);
  RoomEntry& entry = it->second;
  if (presence) {
    entry.presence = std::move(presence);
    entry.presence_unsent = true;
  }
  if (done) entry.join_waiters.push_back(std::move(done));
  // A subscribe already on its way answers this join too.
  if (!inserted && entry.status != RoomStatus::Joined) return;
  if (!inserted) entry.status = RoomStatus::Rejoining;
  subscribe(room, entry);
}

void Rooms::subscribe(const std::string& room, RoomEntry& entry) {
  const std::uint64_t attempt = ++next_attempt_;
  entry.join_attempt = attempt;
  protocol::Subscribe message{room, entry.replica.position()};
  submit_(protocol::ClientMessage{std::move(message)},
          [this, room, attempt](Result<protocol::ServerFrame> answer) { handle_subscribed(room, attempt, std::move(answer)); });
}

void Rooms::handle_subscribed(const std::string& room, std::uint64_t attempt, Result<protocol::ServerFrame> answer) {
  RoomEntry* entry = find(room);
  if (!entry || entry->join_attempt != attempt) return;  // left, or a newer subscribe is out
  std::vector<JoinCallback> waiters = std::move(entry->join_waiters);
  entry->join_waiters.clear();

  const protocol::Subscribed* subscribed = nullptr;
  std::optional<Error> failure;
  if (!answer.ok())
    failure = answer.error();
  else if (!(subscribed = std::get_if<protocol::Subscribed>(&answer.value().message)))
    failure = local_error(protocol::errc::invalid_message,
                          std::string("subscribe answered with ") + protocol::type_of(answer.value().message));

  if (failure) {
    const RoomStatus was = entry->status;
    if (was == RoomStatus::Rejoining && failure->code == protocol::errc::closed) {
      entry->status = RoomStatus::Joined;  // the client stopped: rejoin when it starts again
    } else if (was == RoomStatus::Rejoining && failure->code == protocol::errc::timeout && open_) {
      entry->join_waiters = std::move(waiters);  // still worth having: ask again
      subscribe(room, *entry);
      return;
    } else if (was == RoomStatus::Rejoining && failure->code == protocol::errc::internal) {
      // The server could not load the room just now: not gone. Keep everything and ask again
      // later (tick), backing off.
      entry->join_waiters = std::move(waiters);
      const int doublings = std::min(entry->rejoin_refusals++, 16);
      entry->rejoin_at = now_ + std::min(settings_.rejoin_retry_max, settings_.rejoin_retry_min * (Millis::rep{1} << doublings));
      return;
    } else {
      // Joining: the app hears it from its callback. Rejoining: the room is gone (e.g. the new
      // token no longer allows it); its locks went with it.
      std::vector<std::pair<std::string, std::int64_t>> held;
      for (const auto& [resource, lock] : entry->locks)
        if (lock.fence != 0) held.emplace_back(resource, lock.fence);
      std::vector<LockCallback> lock_waiters;
      for (auto& [resource, lock] : entry->locks)
        if (lock.done) lock_waiters.push_back(std::move(lock.done));
      std::vector<RoomEntry::HeldRequest> requests = std::move(entry->held);
      rooms_.erase(room);
      for (auto& request : requests)
        if (request.done) request.done(*failure);
      for (auto& wait : lock_waiters) wait(*failure);
      for (const auto& [resource, fence] : held)
        if (on_lock_lost) on_lock_lost(LockLost{room, resource, LockLossReason::RoomLost, fence, std::nullopt, *failure});
      if (was == RoomStatus::Rejoining && on_rejoin_failed) on_rejoin_failed(room, *failure);
    }
    for (auto& wait : waiters) wait(*failure);
    return;
  }

  const bool rejoined = entry->status == RoomStatus::Rejoining;
  entry->status = RoomStatus::Joined;
  entry->rejoin_refusals = 0;
  const RoomChanges changes = entry->replica.apply(*subscribed);
  const protocol::Subscribed copy = *subscribed;
  // Our state and our locks again, before the app hears of the join.
  flush_presence(room, *entry);
  std::vector<std::string> reacquire;
  for (const auto& [resource, lock] : entry->locks)
    if (lock.status == HeldLockStatus::Reacquiring) reacquire.push_back(resource);
  for (const auto& resource : reacquire)
    if (LockEntry* lock = find_lock(room, resource)) request_lock(room, resource, *lock, false);
  if (RoomEntry* joined = find(room))  // a lock answer given at once may have left it
    for (auto& request : std::exchange(joined->held, {})) submit_acked(room, std::move(request.message), std::move(request.done));
  notify(room, changes);
  if (rejoined && on_rejoined) on_rejoined(copy);
  for (auto& wait : waiters) wait(copy);
}

void Rooms::on_stopped() {
  std::vector<RoomEntry::HeldRequest> held;
  for (auto& [name, entry] : rooms_)
    for (auto& request : std::exchange(entry.held, {})) held.push_back(std::move(request));
  const Error stopped = local_error(protocol::errc::closed, "the client stopped");
  for (auto& request : held)
    if (request.done) request.done(stopped);
}

void Rooms::leave(const std::string& room, RequestCallback done) {
  RoomEntry* entry = find(room);
  if (!entry) {
    if (done) done(local_error(protocol::errc::not_subscribed, "not joined to " + room));
    return;
  }
  std::vector<JoinCallback> waiters = std::move(entry->join_waiters);
  std::vector<LockCallback> lock_waiters;
  for (auto& [resource, lock] : entry->locks)
    if (lock.done) lock_waiters.push_back(std::move(lock.done));
  std::vector<RoomEntry::HeldRequest> held = std::move(entry->held);
  rooms_.erase(room);
  submit_(protocol::ClientMessage{protocol::Unsubscribe{room}},
          done ? std::move(done) : RequestCallback([](Result<protocol::ServerFrame>) {}));
  const Error left = local_error(protocol::errc::closed, "left " + room);
  for (auto& request : held)
    if (request.done) request.done(left);
  for (auto& wait : waiters) wait(left);
  for (auto& wait : lock_waiters) wait(left);
}

// ---- presence -----------------------------------------------------------------------------

PresenceStatus Rooms::set_presence(const std::string& room, protocol::Presence state) {
  RoomEntry* entry = find(room);
  if (!entry) return PresenceStatus::NotJoined;
  entry->presence = std::move(state);
  entry->presence_unsent = true;
  if (!open_ || entry->status != RoomStatus::Joined) return PresenceStatus::Deferred;
  flush_presence(room, *entry);
  return entry->presence_unsent ? PresenceStatus::Throttled : PresenceStatus::Sent;
}

void Rooms::flush_presence(const std::string& room, RoomEntry& entry) {
  if (!open_ || entry.status != RoomStatus::Joined || !entry.presence || !entry.presence_unsent) return;
  if (entry.presence_sent_at && now_ < *entry.presence_sent_at + settings_.presence_interval) return;
  if (send_(protocol::ClientMessage{protocol::PresenceSet{room, *entry.presence}}) != SendStatus::Sent) return;
  entry.presence_unsent = false;
  entry.presence_sent_at = now_;
}

// ---- documents, chat, streams, signals ----------------------------------------------------

void Rooms::submit_acked(const std::string& room, protocol::ClientMessage message, AckCallback done) {
  if (!find(room)) {
    if (done) done(local_error(protocol::errc::not_subscribed, "join " + room + " before sending to it"));
    return;
  }
  const char* type = protocol::type_of(message);
  submit_(message, [this, room, message, done = std::move(done), type](Result<protocol::ServerFrame> answer) mutable {
    if (!answer.ok() && answer.error().code == protocol::errc::not_subscribed) {
      // The new connection is not in the room yet (its rejoin is on its way, or was refused
      // for now): not applied, so held and sent again once the rejoin succeeds. A room we
      // believed joined is rejoined first.
      if (RoomEntry* entry = find(room)) {
        if (entry->status == RoomStatus::Joined && open_) {
          entry->status = RoomStatus::Rejoining;
          subscribe(room, *entry);
        }
        if (entry->status == RoomStatus::Rejoining) {
          entry->held.push_back({std::move(message), std::move(done)});
          return;
        }
      }
    }
    if (!done) return;
    if (!answer.ok()) {
      done(answer.error());
    } else if (const auto* ack = std::get_if<protocol::Ack>(&answer.value().message)) {
      done(Acked{ack->duplicate});
    } else {
      done(local_error(protocol::errc::invalid_message,
                       std::string(type) + " answered with " + protocol::type_of(answer.value().message)));
    }
  });
}

void Rooms::create_node(const std::string& room, const protocol::Node& node, AckCallback done) {
  submit_acked(room, protocol::NodeCreate{room, node}, std::move(done));
}

void Rooms::update_node(const std::string& room, const std::string& node, const protocol::NodeFields& fields,
                        std::optional<std::int64_t> fence, AckCallback done) {
  submit_acked(room, protocol::NodeUpdate{room, node, fields, fence}, std::move(done));
}

void Rooms::delete_node(const std::string& room, const std::string& node, std::optional<std::int64_t> fence,
                        AckCallback done) {
  submit_acked(room, protocol::NodeDelete{room, node, fence}, std::move(done));
}

void Rooms::create_edge(const std::string& room, const protocol::Edge& edge, AckCallback done) {
  submit_acked(room, protocol::EdgeCreate{room, edge}, std::move(done));
}

void Rooms::delete_edge(const std::string& room, const std::string& edge, AckCallback done) {
  submit_acked(room, protocol::EdgeDelete{room, edge}, std::move(done));
}

void Rooms::send_chat(const std::string& room, const std::string& text, AckCallback done) {
  if (RoomEntry* entry = find(room)) entry->typing_active = false;  // the server ends it with the message
  submit_acked(room, protocol::ChatSend{room, text}, std::move(done));
}

void Rooms::clear_chat(const std::string& room, AckCallback done) {
  submit_acked(room, protocol::ChatClear{room}, std::move(done));
}

SendStatus Rooms::set_typing(const std::string& room, bool active) {
  RoomEntry* entry = find(room);
  if (!entry || !open_ || entry->status != RoomStatus::Joined) return SendStatus::NotOpen;
  if (active == entry->typing_active && (!active || now_ < entry->typing_sent_at + settings_.typing_refresh))
    return SendStatus::Sent;  // the server's indicator is already what was asked for
  if (send_(protocol::ClientMessage{protocol::TypingSend{room, active}}) != SendStatus::Sent) return SendStatus::NotOpen;
  entry->typing_active = active;
  entry->typing_sent_at = now_;
  return SendStatus::Sent;
}

void Rooms::send_stream(const std::string& room, const std::string& event, std::optional<std::string> data,
                        AckCallback done) {
  submit_acked(room, protocol::StreamSend{room, event, std::move(data)}, std::move(done));
}

void Rooms::control_stream(const std::string& room, protocol::StreamAction action, AckCallback done) {
  submit_acked(room, protocol::StreamControlSend{room, action}, std::move(done));
}

void Rooms::send_signal(const std::string& room, const std::string& to, const std::string& data, AckCallback done) {
  submit_acked(room, protocol::SignalSend{room, to, data}, std::move(done));
}

Result<SendStatus> Rooms::broadcast(const std::string& room, const std::string& event, std::optional<std::string> data,
                                    bool self) {
  RoomEntry* entry = find(room);
  if (!entry) return local_error(protocol::errc::not_subscribed, "join " + room + " before broadcasting to it");
  protocol::BroadcastSend send{room, event, std::move(data), self};
  if (auto problem = broadcast_problem(send)) return *problem;
  if (!open_ || entry->status != RoomStatus::Joined) return SendStatus::NotOpen;
  return send_(protocol::ClientMessage{std::move(send)});
}

void Rooms::broadcast(const std::string& room, const std::string& event, std::optional<std::string> data, bool self,
                      AckCallback done) {
  protocol::BroadcastSend send{room, event, std::move(data), self};
  if (auto problem = broadcast_problem(send)) {
    if (done) done(*problem);
    return;
  }
  submit_acked(room, std::move(send), std::move(done));
}

void Rooms::list_members(const std::string& room, std::optional<std::string> after, std::optional<std::int64_t> limit,
                         MembersCallback done) {
  if (!find(room)) {
    if (done) done(local_error(protocol::errc::not_subscribed, "join " + room + " before listing its members"));
    return;
  }
  protocol::PresenceListRequest request{room, std::move(after), limit};
  submit_(request, [this, room, done = std::move(done)](Result<protocol::ServerFrame> answer) {
    if (!answer.ok()) {
      if (done) done(answer.error());
      return;
    }
    auto* page = std::get_if<protocol::PresenceListPage>(&answer.value().message);
    if (!page) {
      if (done)
        done(local_error(protocol::errc::invalid_message,
                         std::string("presence_list answered with ") + protocol::type_of(answer.value().message)));
      return;
    }
    if (RoomEntry* entry = find(room)) notify(room, entry->replica.apply(*page));
    if (done) done(std::move(*page));
  });
}

// ---- locks --------------------------------------------------------------------------------

Millis Rooms::renew_delay(std::int64_t ttl_ms) const {
  const std::int64_t lease = std::clamp(ttl_ms, settings_.lock_ttl_min_ms, settings_.lock_ttl_max_ms);
  return Millis{lease / 2};
}

void Rooms::lock(const std::string& room, const std::string& resource, std::optional<std::int64_t> ttl_ms,
                 LockCallback done) {
  RoomEntry* entry = find(room);
  if (!entry) {
    if (done) done(local_error(protocol::errc::not_subscribed, "join " + room + " before locking in it"));
    return;
  }
  LockEntry& lock = entry->locks[resource];
  if (lock.done) {
    if (done) done(local_error(protocol::errc::conflict, "a request for " + resource + " is already waiting"));
    return;
  }
  lock.ttl_ms = ttl_ms.value_or(settings_.default_lock_ttl_ms);
  lock.done = std::move(done);
  if (lock.status == HeldLockStatus::Reacquiring) return;  // the rejoin asks for it and answers
  if (lock.status != HeldLockStatus::Held) lock.status = HeldLockStatus::Acquiring;
  request_lock(room, resource, lock, false);
}

void Rooms::request_takeover(const std::string& room, const std::string& resource, LockCallback done) {
  RoomEntry* entry = find(room);
  if (!entry) {
    if (done) done(local_error(protocol::errc::not_subscribed, "join " + room + " before taking over in it"));
    return;
  }
  LockEntry& lock = entry->locks[resource];
  if (lock.done) {
    if (done) done(local_error(protocol::errc::conflict, "a request for " + resource + " is already waiting"));
    return;
  }
  if (lock.status == HeldLockStatus::Held) {  // ours already
    if (done) done(LockAnswer{LockOutcome::Granted, lock.fence, 0, std::nullopt});
    return;
  }
  if (lock.ttl_ms == 0) lock.ttl_ms = settings_.default_lock_ttl_ms;
  lock.done = std::move(done);
  if (lock.status == HeldLockStatus::Reacquiring) return;
  lock.status = HeldLockStatus::Acquiring;
  request_lock(room, resource, lock, true);
}

void Rooms::request_lock(const std::string& room, const std::string& resource, LockEntry& lock, bool takeover) {
  const std::uint64_t attempt = ++next_attempt_;
  lock.attempt = attempt;
  lock.renew_in_flight = false;
  protocol::ClientMessage message = takeover ? protocol::ClientMessage{protocol::Takeover{room, resource}}
                                             : protocol::ClientMessage{protocol::Lock{room, resource, lock.ttl_ms}};
  submit_(message, [this, room, resource, attempt, takeover](Result<protocol::ServerFrame> answer) {
    handle_lock_answer(room, resource, attempt, takeover, std::move(answer));
  });
}

void Rooms::handle_lock_answer(const std::string& room, const std::string& resource, std::uint64_t attempt,
                               bool takeover, Result<protocol::ServerFrame> answer) {
  LockEntry* lock = find_lock(room, resource);
  if (!lock || lock->attempt != attempt) return;  // unlocked, left, or asked again since
  const bool was_reacquiring = lock->status == HeldLockStatus::Reacquiring;
  const std::int64_t old_fence = lock->fence;

  if (answer.ok()) {
    if (const auto* granted = std::get_if<protocol::LockGranted>(&answer.value().message)) {
      lock->status = HeldLockStatus::Held;
      lock->fence = granted->fence;
      lock->renew_at = now_ + renew_delay(lock->ttl_ms);
      LockCallback done = std::move(lock->done);
      lock->done = nullptr;
      if (done) done(LockAnswer{LockOutcome::Granted, granted->fence, granted->expires_at, std::nullopt});
      return;
    }
    if (const auto* denied = std::get_if<protocol::LockDenied>(&answer.value().message)) {
      // After a reconnect our old connection may still hold it (within lock_grace): the same
      // user takes it over at once. Only when the replica shows it with our old fence — another
      // tab of ours holding it must not be robbed.
      const protocol::LockInfo* current = find(room)->replica.lock(resource);
      if (was_reacquiring && !takeover && old_fence != 0 && denied->holder.user == self_user_ && current &&
          current->fence == old_fence) {
        request_lock(room, resource, *lock, true);
        return;
      }
      LockCallback done = std::move(lock->done);
      const LockAnswer refusal{LockOutcome::Denied, 0, denied->expires_at, denied->holder};
      find(room)->locks.erase(resource);
      if (done)
        done(refusal);
      else if (was_reacquiring)
        lose(room, resource, LockLost{room, resource, LockLossReason::Denied, old_fence, denied->holder, std::nullopt});
      return;
    }
  }
  // Built rather than assigned into `answer`: assigning a Result<ServerFrame> instantiates the
  // move assignment of every server message (~1.2 KB of the browser client, gzipped).
  const Error error = answer.ok() ? local_error(protocol::errc::invalid_message,
                                                std::string("lock answered with ") + protocol::type_of(answer.value().message))
                                  : answer.error();
  if (error.code == protocol::errc::closed && was_reacquiring && !lock->done) return;  // stopped: ask again on start
  LockCallback done = std::move(lock->done);
  find(room)->locks.erase(resource);
  if (done)
    done(error);
  else if (was_reacquiring)
    lose(room, resource, LockLost{room, resource, LockLossReason::Failed, old_fence, std::nullopt, error});
}

void Rooms::handle_renew_answer(const std::string& room, const std::string& resource, std::uint64_t attempt,
                                Result<protocol::ServerFrame> answer) {
  LockEntry* lock = find_lock(room, resource);
  if (!lock || lock->attempt != attempt || lock->status != HeldLockStatus::Held) return;
  lock->renew_in_flight = false;
  if (answer.ok()) {
    if (const auto* granted = std::get_if<protocol::LockGranted>(&answer.value().message)) {
      lock->fence = granted->fence;
      lock->renew_at = now_ + renew_delay(lock->ttl_ms);
    }
    return;
  }
  const Error& error = answer.error();
  if (error.code == protocol::errc::not_found) {  // expired or taken over before the renew
    lose(room, resource, LockLost{room, resource, LockLossReason::Expired, lock->fence, std::nullopt, error});
    return;
  }
  // closed: the client stopped (the next start asks again); anything else: try again now.
  lock->renew_at = now_;
}

void Rooms::unlock(const std::string& room, const std::string& resource, RequestCallback done) {
  RoomEntry* entry = find(room);
  if (!entry) {
    if (done) done(local_error(protocol::errc::not_subscribed, "not joined to " + room));
    return;
  }
  LockCallback waiting;
  if (auto it = entry->locks.find(resource); it != entry->locks.end()) {
    waiting = std::move(it->second.done);
    entry->locks.erase(it);  // no renewals, and its `unlocked` is not a loss
  }
  submit_(protocol::ClientMessage{protocol::Unlock{room, resource}},
          done ? std::move(done) : RequestCallback([](Result<protocol::ServerFrame>) {}));
  if (waiting) waiting(local_error(protocol::errc::closed, "unlocked before the answer"));
}

void Rooms::lose(const std::string& room, const std::string& resource, LockLost lost) {
  if (RoomEntry* entry = find(room)) entry->locks.erase(resource);
  if (on_lock_lost) on_lock_lost(lost);
}

// ---- driving ------------------------------------------------------------------------------

void Rooms::on_open(Millis now, const protocol::Connected& connected) {
  if (now > now_) now_ = now;
  open_ = true;
  self_user_ = connected.user.id;
  std::vector<std::string> names;
  for (const auto& [name, entry] : rooms_) names.push_back(name);
  for (const auto& name : names) {
    RoomEntry* entry = find(name);
    if (!entry) continue;
    entry->presence_unsent = entry->presence.has_value();  // the new connection has no state
    entry->presence_sent_at.reset();
    entry->typing_active = false;
    // A first subscribe still unanswered is resent by the Outbox, and the requests behind it in
    // order: nothing to redo. Otherwise the new connection is in no room: subscribe again and
    // ask again for every lock once subscribed; answers to earlier requests are stale. A rejoin
    // still unanswered is asked again too: its subscribe is younger than requests for the room
    // sent before the connection dropped, which the Outbox resends first (they would find the
    // new connection not subscribed). The old one, resent too, is answered and ignored.
    if (entry->status == RoomStatus::Joining) continue;
    for (auto& [resource, lock] : entry->locks) {
      lock.status = HeldLockStatus::Reacquiring;
      lock.attempt = ++next_attempt_;
      lock.renew_in_flight = false;
    }
    entry->status = RoomStatus::Rejoining;
    entry->rejoin_at.reset();  // a refused rejoin waiting to retry: at once now
    subscribe(name, *entry);
  }
}

void Rooms::on_closed() { open_ = false; }

void Rooms::notify(const std::string& room, RoomChanges changes) {
  if (!changes.empty() && on_change) on_change(room, changes);
}

Rooms::FrameVerdict Rooms::room_event(const std::string& room, std::int64_t seq) {
  RoomEntry* entry = find(room);
  if (!entry) return FrameVerdict::Deliver;  // not a room we model
  switch (entry->replica.check(seq)) {
    case SeqCheck::Next: return FrameVerdict::Deliver;
    case SeqCheck::Duplicate: return FrameVerdict::Drop;
    case SeqCheck::Gap:
      if (entry->status == RoomStatus::Joined) {  // recover the missed events
        entry->status = RoomStatus::Rejoining;
        subscribe(room, *entry);
      }
      return FrameVerdict::Drop;
  }
  return FrameVerdict::Deliver;
}

template <class M>
Rooms::FrameVerdict Rooms::handle(const std::optional<std::string>& /*id*/, const M& m) {
  if constexpr (is_room_snapshot_or_presence<M>) {
    if (RoomEntry* entry = find(m.room)) notify(m.room, entry->replica.apply(m));
    return FrameVerdict::Deliver;
  } else if constexpr (std::is_same_v<M, protocol::Locked> || std::is_same_v<M, protocol::Unlocked>) {
    if (room_event(m.room, m.seq) == FrameVerdict::Drop) return FrameVerdict::Drop;
    RoomEntry* entry = find(m.room);
    if (!entry) return FrameVerdict::Deliver;
    const RoomChanges changes = entry->replica.apply(m);
    std::optional<LockLost> lost;
    if (auto it = entry->locks.find(m.resource); it != entry->locks.end() && it->second.status == HeldLockStatus::Held) {
      if constexpr (std::is_same_v<M, protocol::Unlocked>)
        lost = LockLost{m.room, m.resource, loss_reason(m.reason), it->second.fence, std::nullopt, std::nullopt};
      else if (m.fence != it->second.fence)
        lost = LockLost{m.room, m.resource, LockLossReason::TakenOver, it->second.fence, m.holder, std::nullopt};
    }
    notify(m.room, changes);
    if (lost) lose(lost->room, lost->resource, *lost);
    return FrameVerdict::Deliver;
  } else if constexpr (is_room_event<M>) {
    RoomEntry* entry = find(m.room);
    if (!entry) return FrameVerdict::Deliver;  // not a room we model
    if constexpr (std::is_same_v<M, protocol::StreamEvent>) {
      if (entry->replica.is_stream_replay(m)) {  // part of a snapshot: not a duplicate
        notify(m.room, entry->replica.apply(m));
        return FrameVerdict::Deliver;
      }
    }
    if (room_event(m.room, m.seq) == FrameVerdict::Drop) return FrameVerdict::Drop;
    if ((entry = find(m.room))) notify(m.room, entry->replica.apply(m));
    return FrameVerdict::Deliver;
  } else if constexpr (std::is_same_v<M, protocol::TakeoverRequested>) {
    if (on_takeover_requested) on_takeover_requested(m);
    return FrameVerdict::Deliver;
  } else if constexpr (std::is_same_v<M, protocol::StreamControl>) {
    if (on_stream_control) on_stream_control(m);
    return FrameVerdict::Deliver;
  } else if constexpr (std::is_same_v<M, protocol::SignalMessage>) {
    if (on_signal) on_signal(m);
    return FrameVerdict::Deliver;
  } else if constexpr (std::is_same_v<M, protocol::BroadcastMessage>) {
    if (on_broadcast) on_broadcast(m);
    return FrameVerdict::Deliver;
  } else {
    return FrameVerdict::Deliver;
  }
}

Rooms::FrameVerdict Rooms::on_frame(const protocol::ServerFrame& frame) {
  return std::visit([&](const auto& m) { return handle(frame.id, m); }, frame.message);
}

void Rooms::tick(Millis now) {
  if (now > now_) now_ = now;
  if (!open_) return;
  std::vector<std::string> rejoins;
  std::vector<std::pair<std::string, std::string>> due;
  for (auto& [name, entry] : rooms_) {
    if (entry.rejoin_at && *entry.rejoin_at <= now_) rejoins.push_back(name);
    flush_presence(name, entry);
    if (entry.status != RoomStatus::Joined) continue;
    for (auto& [resource, lock] : entry.locks)
      if (lock.status == HeldLockStatus::Held && !lock.renew_in_flight && lock.renew_at <= now_)
        due.emplace_back(name, resource);
  }
  for (const auto& name : rejoins) {
    RoomEntry* entry = find(name);
    if (!entry || !entry->rejoin_at) continue;
    entry->rejoin_at.reset();
    subscribe(name, *entry);
  }
  for (const auto& [room, resource] : due) {
    LockEntry* lock = find_lock(room, resource);
    if (!lock) continue;
    lock->renew_in_flight = true;
    const std::uint64_t attempt = lock->attempt;
    submit_(protocol::ClientMessage{protocol::Renew{room, resource, lock->ttl_ms}},
            [this, room = room, resource = resource, attempt](Result<protocol::ServerFrame> answer) {
              handle_renew_answer(room, resource, attempt, std::move(answer));
            });
  }
}

}  // namespace tandem
