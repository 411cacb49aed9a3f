// server/src/handlers/streams.cpp — the streams family (PROTOCOL.md §11): in agent:{id} rooms
// (the codec refuses other kinds with invalid_message) a `stream` event from a member becomes a
// room event for every member, the sender included; that member's connection becomes the
// room's producer. `stream_control` from anyone in the room is routed to the producer only
// (ephemeral), or answered not_found when the room has none (it never streamed, left, or
// disconnected). A non-recovered subscribe replays the stream events still in the room's
// history, after the other snapshots (PROTOCOL.md §4).
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "handlers.h"
#include "tandem/protocol/rules.h"

namespace tandem::server::handlers {

namespace {

// Every encoded `stream` room event starts like this (JsonWriter writes "type" first); the
// history holds encoded frames, so this picks them out without decoding each one.
constexpr std::string_view kStreamEventPrefix = R"({"type":"stream",)";

// room -> the connection that most recently sent a stream event there.
using Producers = std::unordered_map<std::string, ConnectionId>;

}  // namespace

void register_streams(HandlerRegistry& registry) {
  auto producers = std::make_shared<Producers>();

  registry.on<protocol::StreamSend>([producers](HandlerContext& ctx, const protocol::StreamSend& stream) {
    if (!ctx.require_member(stream.room)) return;
    Hub& hub = ctx.hub;
    Room* room = hub.rooms().find_mutable(stream.room);
    if (!room) return;  // a member's room is live; defensive
    (*producers)[stream.room] = ctx.connection.id;
    hub.rooms().emit(hub, *room, protocol::StreamEvent{stream.room, stream.event, stream.data, ctx.connection.user.id},
                     ctx.now.wall);
    ctx.ack_after_commit();  // only when the event had an id; stored with the event
  });

  registry.on<protocol::StreamControlSend>([producers](HandlerContext& ctx, const protocol::StreamControlSend& control) {
    if (!ctx.require_member(control.room)) return;
    auto it = producers->find(control.room);
    Connection* producer = it == producers->end() ? nullptr : ctx.hub.find(it->second);
    if (!producer || producer->close || !ctx.hub.rooms().is_member(producer->id, control.room)) {
      ctx.error(protocol::errc::not_found, "\"" + control.room + "\" has no producer");
      return;
    }
    ctx.hub.send(*producer, protocol::ServerFrame{std::nullopt, protocol::StreamControl{control.room, control.action,
                                                                                        ctx.connection.user.id}});
    ctx.ack();
  });

  // The stream so far, after every other snapshot (streams register after chat).
  registry.on_room_join([](Hub& hub, Connection& c, const std::string& room, JoinKind kind) {
    if (kind != JoinKind::Subscribed || protocol::rules::room_kind(room) != protocol::rules::RoomKind::Agent) return;
    const Room* r = hub.rooms().find(room);
    if (!r) return;
    for (const RoomEvent& event : r->history)
      if (std::string_view(*event.frame).starts_with(kStreamEventPrefix)) hub.send(c, event.frame);
  });

  // A producer that leaves the room (unsubscribe or disconnect) is no producer any more.
  registry.on_room_leave([producers](Hub&, Connection& c, const std::string& room, LeaveReason) {
    auto it = producers->find(room);
    if (it != producers->end() && it->second == c.id) producers->erase(it);
  });
}

}  // namespace tandem::server::handlers
