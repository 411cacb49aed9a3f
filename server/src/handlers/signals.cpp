// server/src/handlers/signals.cpp — the signals family (PROTOCOL.md §12): a small JSON payload
// (WebRTC offer/answer/ICE, or any peer message) relayed from one connection to exactly one
// other connection in the same room. Ephemeral: no seq, never stored or replayed.
//
// Both ends must be in the room: the sender (else not_subscribed) and the target named by its
// connection id (else not_found — a target that left, or one in another room, is the same
// "not here" to the sender). The sender's answer is `ack` once the signal is in the target's
// queue.
#include <string>

#include "handlers.h"

namespace tandem::server::handlers {

void register_signals(HandlerRegistry& registry) {
  registry.on<protocol::SignalSend>([](HandlerContext& ctx, const protocol::SignalSend& signal) {
    if (!ctx.require_member(signal.room)) return;
    Connection* target = ctx.hub.find_by_wire_id(signal.to);
    if (!target || target->close || !ctx.hub.rooms().is_member(target->id, signal.room)) {
      ctx.error(protocol::errc::not_found, "connection \"" + signal.to + "\" is not in \"" + signal.room + "\"");
      return;
    }
    ctx.hub.send(*target, protocol::ServerFrame{
                              std::nullopt, protocol::SignalMessage{signal.room, ctx.connection.wire_id,
                                                                    ctx.connection.user.id, signal.data}});
    ctx.ack();
  });
}

}  // namespace tandem::server::handlers
