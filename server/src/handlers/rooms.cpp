// server/src/handlers/rooms.cpp — the rooms family: subscribe, unsubscribe, the automatic
// user:{sub} room, and leaving every room on disconnect (PROTOCOL.md §6).
//
// Recovery (PROTOCOL.md §6): `subscribe {since: {epoch, seq}}` from a client that saw the room
// up to `seq` is answered recovered:true when the epoch matches and the room's history still
// holds every event after it: `subscribed`, the missed events in order, then presence_state
// (presence is never replayed). Otherwise recovered:false and every snapshot (presence_state,
// lock_state, ...) from the join hooks.
#include <string>

#include "handlers.h"
#include "../log.h"
#include "../rooms/room_access.h"

namespace tandem::server::handlers {

void register_rooms(HandlerRegistry& registry) {
  registry.on<protocol::Subscribe>([](HandlerContext& ctx, const protocol::Subscribe& subscribe) {
    Connection& c = ctx.connection;
    if (room_access(c.rooms, c.user.id, subscribe.room) == RoomAccess::Forbidden) {
      ctx.error(protocol::errc::forbidden, "room \"" + subscribe.room + "\" is outside this token's rooms");
      return;
    }
    RoomRegistry& rooms = ctx.hub.rooms();
    JoinOutcome joined = rooms.join(c, subscribe.room, JoinKind::Subscribed, ctx.now.wall);
    if (joined.status == JoinStatus::LimitExceeded) {
      ctx.error(protocol::errc::limit_exceeded,
                "already in " + std::to_string(ctx.hub.settings().max_rooms) + " rooms (max_rooms)");
      return;
    }
    if (joined.status == JoinStatus::Unavailable) {
      ctx.error(protocol::errc::internal,
                "room \"" + subscribe.room + "\" could not be loaded from the store; not joined — try again");
      return;
    }
    std::optional<std::vector<Bytes>> missed;
    if (subscribe.since && subscribe.since->epoch == joined.room->epoch)
      missed = rooms.events_after(subscribe.room, subscribe.since->seq);
    protocol::Subscribed answer;
    answer.room = subscribe.room;
    answer.epoch = joined.room->epoch;
    answer.seq = joined.room->seq;
    answer.recovered = missed.has_value();
    // Held for the pending commit: the room's seq, the replayed events and every snapshot after
    // them (which queue behind it) may show changes made in this loop pass, and nothing may
    // reach a client before it is stored.
    ctx.reply_after_commit(std::move(answer));
    if (missed)
      for (Bytes& event : *missed) ctx.hub.send(c, std::move(event));
    rooms.notify_joined(ctx.hub, c, subscribe.room, missed ? JoinKind::Recovered : JoinKind::Subscribed);
  });

  registry.on<protocol::Unsubscribe>([](HandlerContext& ctx, const protocol::Unsubscribe& unsubscribe) {
    if (!ctx.hub.rooms().leave(ctx.hub, ctx.connection, unsubscribe.room, LeaveReason::Unsubscribed)) {
      ctx.error(protocol::errc::not_subscribed, "not subscribed to \"" + unsubscribe.room + "\"");
      return;
    }
    ctx.ack();
  });

  // Every connection is in its user's room, so a message for the user reaches all its tabs.
  registry.on_authenticated([](Hub& hub, Connection& c, Now now) {
    const std::string room = user_room(c.user.id);
    if (hub.join_elsewhere(c, room)) return;  // several instances: the room's owner joins it there
    if (hub.rooms().join(c, room, JoinKind::Automatic, now.wall).status == JoinStatus::Unavailable) {
      // The store error is logged by the registry; messages to this user miss this connection.
      LOG_WARN_CTX(c.log_fields(room), "%s: not in its user room %s (the room could not be loaded)", c.wire_id.c_str(),
                   room.c_str());
      return;
    }
    hub.rooms().notify_joined(hub, c, room, JoinKind::Automatic);
  });

  registry.on_disconnect([](Hub& hub, Connection& c) {
    hub.rooms().leave_all(hub, c, LeaveReason::Disconnected);
  });
}

}  // namespace tandem::server::handlers
