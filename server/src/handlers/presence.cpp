// server/src/handlers/presence.cpp — the presence family (PROTOCOL.md §7): snapshots and
// diffs when connections join or leave a room, and `presence` updates conflated per user per
// presence tick.
//
// The presence engine (hub.presence(), engine/presence_engine.h) holds the state; this file
// sends. Joining (by
// `subscribe`; the automatic user: room has no presence) sends the joiner presence_state and
// the others presence_diff {joins}; leaving for any reason — unsubscribe, close, heartbeat
// loss, slow-consumer cut — sends presence_diff {leaves} at once, from the room-leave hook.
// Updates are flushed by the tick hook once per presence_tick_ms: one presence_update per user
// who changed, encoded once and sent to every member of the room. Each carries a state key, so
// a member that has not yet read this user's previous update gets only the newest one.
#include <memory>
#include <string>

#include "handlers.h"
#include "../engine/presence_engine.h"

namespace tandem::server::handlers {

namespace {

// When conflated updates go out next (the presence itself is the hub's presence engine).
struct PresenceState {
  std::optional<Millis> next_flush;
};

// Flushes on a fixed cadence (next += period) rather than "period after the last flush", so
// hub ticks that arrive a little late do not stretch every presence tick to two hub ticks.
void flush_updates(Hub& hub, PresenceState& state, Now now) {
  const Millis period{hub.settings().presence_tick_ms};
  if (state.next_flush && now.mono < *state.next_flush) return;
  state.next_flush = state.next_flush ? *state.next_flush + period : now.mono + period;
  if (*state.next_flush <= now.mono) state.next_flush = now.mono + period;  // far behind: restart
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

  registry.on_room_join([](Hub& hub, Connection& c, const std::string& room, JoinKind kind) {
    if (kind == JoinKind::Automatic) return;  // no subscribe, no snapshots
    PresenceEngine& presence = hub.presence();
    const PresenceJoin joined = presence.join(room, c.user, c.wire_id);
    hub.send(c, protocol::ServerFrame{std::nullopt, protocol::PresenceSnapshot{room, presence.snapshot(room)}});
    if (joined == PresenceJoin::AlreadyPresent) return;  // resubscribe: the others know it already
    auto member = presence.member_with(room, c.user.id, c.wire_id);
    if (!member) return;
    protocol::PresenceDiff diff;
    diff.room = room;
    diff.joins.push_back(std::move(*member));
    hub.broker().broadcast(room, encode_once(protocol::ServerMessage{std::move(diff)}), {.except = c.id});
  });

  registry.on_room_leave([](Hub& hub, Connection& c, const std::string& room, LeaveReason) {
    auto left = hub.presence().leave(room, c.user.id, c.wire_id);
    if (!left) return;
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

  registry.on_tick([state](Hub& hub, Now now) { flush_updates(hub, *state, now); });
}

}  // namespace tandem::server::handlers
