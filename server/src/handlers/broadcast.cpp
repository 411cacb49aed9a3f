// server/src/handlers/broadcast.cpp — the broadcast family (PROTOCOL.md §12a): an app-defined
// event ("dragging", a reaction, any ephemeral UI signal) relayed to every member of a room.
// Ephemeral like typing: no seq, not in the room log or the store, never replayed on a
// (re)subscribe; a member that is not connected when it is sent never gets it.
//
// The sender must be a member of the room (not_subscribed otherwise; the token's room patterns
// were checked when it joined). It is left out unless it asked for `self`. Works in every room
// kind, user: rooms included (there it reaches the user's other connections).
//
// Cost: the message is encoded once and the same bytes go into every member's queue (the
// broker); `data` is copied into the frame as the text the codec decoded, not parsed again.
// Several instances: the message is handled by the room's owner like any room message (the
// hub forwards it there); the owner's broker reaches members on every instance.
#include <optional>

#include "handlers.h"

namespace tandem::server::handlers {

void register_broadcast(HandlerRegistry& registry) {
  registry.on<protocol::BroadcastSend>([](HandlerContext& ctx, const protocol::BroadcastSend& send) {
    if (!ctx.require_member(send.room)) return;
    const Connection& sender = ctx.connection;
    const Bytes frame = encode_once(protocol::BroadcastMessage{send.room, send.event, send.data, sender.user.id,
                                                               sender.user.name, sender.user.color, sender.wire_id});
    ctx.hub.broker().broadcast(send.room, frame,
                               {.except = send.self ? std::nullopt : std::optional<ConnectionId>(sender.id)});
    ctx.ack();  // after the fan-out: with `self`, the sender's copy comes before its ack
  });
}

}  // namespace tandem::server::handlers
