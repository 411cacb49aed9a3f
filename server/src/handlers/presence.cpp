// server/src/handlers/presence.cpp — the presence family (PROTOCOL.md §7): snapshots and
// diffs when connections join or leave a room, `presence` updates conflated per user per
// presence tick, crowds, and the member list on demand (`presence_list`).
//
// The presence engine (hub.presence(), engine/presence_engine.h) holds the state; this file
// sends. Joining (by `subscribe`; the automatic user: room has no presence) sends the joiner
// presence_state and the others presence_diff {joins}; leaving for any reason — unsubscribe,
// close, heartbeat loss, slow-consumer cut — sends presence_diff {leaves} at once, from the
// room-leave hook. Updates are flushed by the tick hook once per presence_tick_ms: one
// presence_update per user who changed, encoded once and sent to every member of the room.
// Each carries a state key, so a member that has not yet read this user's previous update gets
// only the newest one.
//
// Crowds: every member learning of every join costs N² bytes for a room of N (a 1,000-member
// room: ~100 MB and seconds). A room with more users than presence_crowd_users is a crowd:
// a joiner's presence_state carries the count and `partial`, not the members; joins and leaves
// send nothing at once and the count goes out as presence_count at most once per presence
// tick (keyed like updates: a slow reader gets only the latest). A crowd that shrinks to half
// the threshold sends every member a full presence_state and is an ordinary room again (the
// gap between the two thresholds keeps a room at the edge from flipping at every join).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "handlers.h"
#include "../engine/presence_engine.h"

namespace tandem::server::handlers {

namespace {

// A room that is a crowd: the count its members were last told.
struct Crowd {
  std::int64_t told = -1;
  bool changed = true;
};

// When conflated updates go out next, and which rooms are crowds (the presence itself is the
// hub's presence engine).
struct PresenceState {
  std::optional<Millis> next_flush;
  std::unordered_map<std::string, Crowd> crowds;
};

std::int64_t users_in(Hub& hub, const std::string& room) {
  return static_cast<std::int64_t>(hub.presence().user_count(room));
}

// The crowd `room` is, or becomes now that it has `users`; nullptr for an ordinary room.
Crowd* crowd_of(Hub& hub, PresenceState& state, const std::string& room, std::int64_t users) {
  if (auto it = state.crowds.find(room); it != state.crowds.end()) return &it->second;
  const int threshold = hub.settings().presence_crowd_users;
  if (threshold <= 0 || users <= threshold) return nullptr;
  return &state.crowds[room];
}

// Each crowd whose count changed since the last tick: presence_count to every member.
void flush_counts(Hub& hub, PresenceState& state) {
  for (auto& [room, crowd] : state.crowds) {
    if (!crowd.changed) continue;
    crowd.changed = false;
    const std::int64_t users = users_in(hub, room);
    if (users == crowd.told) continue;
    crowd.told = users;
    auto key = std::make_shared<const std::string>("presence_count\n" + room);
    hub.broker().broadcast(room, encode_once(protocol::ServerMessage{protocol::PresenceCount{room, users}}),
                           {.key = std::move(key)});
  }
}

// Flushes on a fixed cadence (next += period) rather than "period after the last flush", so
// hub ticks that arrive a little late do not stretch every presence tick to two hub ticks.
void flush_updates(Hub& hub, PresenceState& state, Now now) {
  const Millis period{hub.settings().presence_tick_ms};
  if (state.next_flush && now.mono < *state.next_flush) return;
  state.next_flush = state.next_flush ? *state.next_flush + period : now.mono + period;
  if (*state.next_flush <= now.mono) state.next_flush = now.mono + period;  // far behind: restart
  flush_counts(hub, state);
  PresenceEngine& presence = hub.presence();
  if (!presence.has_pending()) return;
  for (auto& update : presence.take_updates()) {
    const std::string room = update.room;
    // A member whose queue still holds this user's previous update gets only this one. Room
    // names and user ids never contain '\n' (identifier characters), so the key is unambiguous.
    auto key = std::make_shared<const std::string>("presence_update\n" + room + "\n" + update.user);
    hub.broker().broadcast(room, encode_once(protocol::ServerMessage{std::move(update)}), {.key = std::move(key)});
  }
}

}  // namespace

void register_presence(HandlerRegistry& registry) {
  auto state = std::make_shared<PresenceState>();

  registry.on_room_join([state](Hub& hub, Connection& c, const std::string& room, JoinKind kind) {
    if (kind == JoinKind::Automatic) return;  // no subscribe, no snapshots
    PresenceEngine& presence = hub.presence();
    const PresenceJoin joined = presence.join(room, c.user, c.wire_id);
    const std::int64_t users = users_in(hub, room);
    if (Crowd* crowd = crowd_of(hub, *state, room, users)) {
      hub.send(c, protocol::ServerFrame{std::nullopt, protocol::PresenceSnapshot{room, {}, users, true}});
      crowd->changed = true;
      return;
    }
    hub.send(c, protocol::ServerFrame{std::nullopt, protocol::PresenceSnapshot{room, presence.snapshot(room)}});
    if (joined == PresenceJoin::AlreadyPresent) return;  // resubscribe: the others know it already
    auto member = presence.member_with(room, c.user.id, c.wire_id);
    if (!member) return;
    protocol::PresenceDiff diff;
    diff.room = room;
    diff.joins.push_back(std::move(*member));
    hub.broker().broadcast(room, encode_once(protocol::ServerMessage{std::move(diff)}), {.except = c.id});
  });

  registry.on_room_leave([state](Hub& hub, Connection& c, const std::string& room, LeaveReason) {
    auto left = hub.presence().leave(room, c.user.id, c.wire_id);
    if (!left) return;
    if (auto it = state->crowds.find(room); it != state->crowds.end()) {
      const std::int64_t users = users_in(hub, room);
      if (users == 0) {
        state->crowds.erase(it);
      } else if (users * 2 <= hub.settings().presence_crowd_users) {  // small again: everyone gets the list
        state->crowds.erase(it);
        hub.broker().broadcast(
            room, encode_once(protocol::ServerMessage{protocol::PresenceSnapshot{room, hub.presence().snapshot(room)}}), {});
      } else {
        it->second.changed = true;
      }
      return;
    }
    protocol::PresenceDiff diff;
    diff.room = room;
    diff.leaves.push_back(std::move(*left));
    hub.broker().broadcast(room, encode_once(protocol::ServerMessage{std::move(diff)}), {});  // the leaver is out
  });

  registry.on<protocol::PresenceSet>([](HandlerContext& ctx, const protocol::PresenceSet& presence) {
    Connection& c = ctx.connection;
    // Presence exists only in rooms joined by subscribe (the engine has no meta for the
    // automatic user: room), so "not present" and "not subscribed" are one answer.
    if (ctx.hub.presence().set(presence.room, c.user.id, c.wire_id, presence.state) == PresenceSetResult::NotPresent) {
      ctx.error(protocol::errc::not_subscribed, "not subscribed to \"" + presence.room + "\"");
      return;
    }
    ctx.ack();
  });

  registry.on<protocol::PresenceListRequest>([](HandlerContext& ctx, const protocol::PresenceListRequest& request) {
    if (!ctx.require_member(request.room)) return;
    const auto max = static_cast<std::size_t>(ctx.hub.settings().presence_list_max);
    const std::size_t limit = std::min(max, static_cast<std::size_t>(request.limit.value_or(static_cast<std::int64_t>(max))));
    PresenceEngine& presence = ctx.hub.presence();
    auto page = presence.list(request.room, request.after.value_or(""), limit);
    protocol::PresenceListPage answer{request.room, std::move(page.members), users_in(ctx.hub, request.room), std::nullopt};
    if (page.more && !answer.members.empty()) answer.next = answer.members.back().user.id;
    ctx.reply(std::move(answer));
  });

  registry.on_tick([state](Hub& hub, Now now) { flush_updates(hub, *state, now); });
}

}  // namespace tandem::server::handlers
