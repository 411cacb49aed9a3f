// server/src/handlers/rooms.cpp — the rooms family: subscribe, unsubscribe, the automatic
// user:{sub} room, and leaving every room on disconnect (PROTOCOL.md §6).
//
// There is no durable room history yet: `since` is accepted and every subscribe answers
// recovered:false with the room's current epoch and seq, followed by fresh snapshots (sent by
// the join hooks of presence, locks, ...).
#include <string>

#include "handlers.h"
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
    protocol::Subscribed answer;
    answer.room = subscribe.room;
    answer.epoch = joined.room->epoch;
    answer.seq = joined.room->seq;
    answer.recovered = false;  // no history to replay from yet: snapshots follow
    ctx.reply(std::move(answer));
    rooms.notify_joined(ctx.hub, c, subscribe.room, JoinKind::Subscribed);
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
    hub.rooms().join(c, room, JoinKind::Automatic, now.wall);
    hub.rooms().notify_joined(hub, c, room, JoinKind::Automatic);
  });

  registry.on_disconnect([](Hub& hub, Connection& c) {
    hub.rooms().leave_all(hub, c, LeaveReason::Disconnected);
  });
}

}  // namespace tandem::server::handlers
