// server/src/handlers/documents.cpp — the documents family (PROTOCOL.md §9): node_create,
// node_update, node_delete, edge_create, edge_delete in workflow:{id} rooms, and the
// doc_snapshot sent after `subscribed` (after lock_state: locks register first).
//
// The editing rules live in documents/document.h (pure logic). This file adds what needs the
// hub: membership (not_subscribed), locks (an edit to a node leased by another connection is
// `locked`; a `fence` other than the node's latest grant is `stale_fence`), and recording. Each
// applied edit changes the room's document in memory, goes into the current WriteBatch (the
// document rows and one change-history row per room event, for durable rooms), is published as
// room event(s) with the next seq, and is acked once committed (ack_after_commit, which also
// stores the request id so a resend is not applied twice). A refused edit changes nothing.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "handlers.h"
#include "../documents/document.h"
#include "tandem/protocol/rules.h"

namespace tandem::server::handlers {

namespace {

using store::WriteBatch;

documents::DocumentLimits limits_of(const Settings& settings) {
  documents::DocumentLimits limits;
  limits.max_nodes = static_cast<std::size_t>(std::max(0, settings.max_nodes));
  limits.max_edges = static_cast<std::size_t>(std::max(0, settings.max_edges));
  limits.max_bytes = static_cast<std::size_t>(std::max<std::int64_t>(0, settings.max_doc_bytes));
  return limits;
}

bool is_workflow_room(std::string_view room) {
  return protocol::rules::room_kind(room) == protocol::rules::RoomKind::Workflow;
}

// The room whose document this connection may edit; null after answering why not.
Room* editable_room(HandlerContext& ctx, const std::string& room) {
  if (!is_workflow_room(room)) {  // the codec refuses these already; kept for other callers
    ctx.error(protocol::errc::invalid_message, "documents live in workflow: rooms only");
    return nullptr;
  }
  if (!ctx.require_member(room)) return nullptr;
  Room* live = ctx.hub.rooms().find_mutable(room);
  if (!live) ctx.error(protocol::errc::internal, "room \"" + room + "\" is not loaded");  // a member's room is live
  return live;
}

// True when this connection may change `node` (PROTOCOL.md §9): a fence it presents must be the
// fence of the lease in force on the node, held by this connection (else it lost its lock —
// expired, released, taken over, or ended by a restart: stale_fence), and a lease in force must
// be its own (else locked, naming the holder). Otherwise answers the error.
bool may_write_node(HandlerContext& ctx, const std::string& room, const std::string& node,
                    const std::optional<std::int64_t>& fence) {
  const locks::Lease* lease = ctx.hub.locks().holder(room, node, ctx.now.mono);
  if (fence && (!lease || lease->owner.connection != ctx.connection.id || lease->fence != *fence)) {
    ctx.error(protocol::errc::stale_fence, "fence " + std::to_string(*fence) + " is not a lock this connection holds on \"" +
                                               node + "\": re-lock and re-read");
    return false;
  }
  if (lease && lease->owner.connection != ctx.connection.id) {
    ctx.error(protocol::errc::locked, node + " is locked by " + lease->owner.user.name);
    return false;
  }
  return true;
}

// Stamps a document event with its author, emits it to the room log and every member (next
// seq, ts) and keeps it, as broadcast, in the change history.
template <class Event>
void publish_change(HandlerContext& ctx, Room& room, Event event) {
  RoomRegistry& rooms = ctx.hub.rooms();
  event.user = ctx.connection.user.id;
  const RoomEvent emitted = rooms.emit(ctx.hub, room, event, ctx.now.wall);  // stamps event.seq and event.ts
  rooms.persist(room, WriteBatch::AddChange{room.name, store::StoredChange{event.seq, event.user, event.ts,
                                                                           *emitted.frame}});
}

void refuse(HandlerContext& ctx, const Error& error) { ctx.error(error.code, error.message); }

}  // namespace

void register_documents(HandlerRegistry& registry) {
  registry.on<protocol::NodeCreate>([](HandlerContext& ctx, const protocol::NodeCreate& create) {
    Room* room = editable_room(ctx, create.room);
    if (!room) return;
    auto created = room->doc.create_node(create.node, limits_of(ctx.hub.settings()));
    if (!created) return refuse(ctx, created.error());
    ctx.hub.rooms().persist(*room, WriteBatch::PutNode{room->name, created.value()});
    publish_change(ctx, *room, protocol::NodeCreated{room->name, created.value(), {}});
    ctx.ack_after_commit();
  });

  registry.on<protocol::NodeUpdate>([](HandlerContext& ctx, const protocol::NodeUpdate& update) {
    Room* room = editable_room(ctx, update.room);
    if (!room) return;
    if (!room->doc.find_node(update.node))
      return ctx.error(protocol::errc::not_found, "no node \"" + update.node + "\"");
    if (!may_write_node(ctx, room->name, update.node, update.fence)) return;
    auto updated = room->doc.update_node(update.node, update.fields, limits_of(ctx.hub.settings()));
    if (!updated) return refuse(ctx, updated.error());
    ctx.hub.rooms().persist(*room, WriteBatch::PutNode{room->name, updated.value()});
    publish_change(ctx, *room, protocol::NodeUpdated{room->name, update.node, update.fields, {}});
    ctx.ack_after_commit();
  });

  registry.on<protocol::NodeDelete>([](HandlerContext& ctx, const protocol::NodeDelete& del) {
    Room* room = editable_room(ctx, del.room);
    if (!room) return;
    if (!room->doc.find_node(del.node)) return ctx.error(protocol::errc::not_found, "no node \"" + del.node + "\"");
    if (!may_write_node(ctx, room->name, del.node, del.fence)) return;
    auto dropped = room->doc.delete_node(del.node);
    if (!dropped) return refuse(ctx, dropped.error());
    ctx.hub.rooms().persist(*room, WriteBatch::DeleteNode{room->name, del.node});  // its edges too
    // Its edges go first, so no replica ever holds an edge to a missing node.
    for (const protocol::Edge& edge : dropped.value())
      publish_change(ctx, *room, protocol::EdgeDeleted{room->name, edge.id, {}});
    publish_change(ctx, *room, protocol::NodeDeleted{room->name, del.node, {}});
    ctx.ack_after_commit();
  });

  registry.on<protocol::EdgeCreate>([](HandlerContext& ctx, const protocol::EdgeCreate& create) {
    Room* room = editable_room(ctx, create.room);
    if (!room) return;
    auto created = room->doc.create_edge(create.edge, limits_of(ctx.hub.settings()));
    if (!created) return refuse(ctx, created.error());
    ctx.hub.rooms().persist(*room, WriteBatch::PutEdge{room->name, created.value()});
    publish_change(ctx, *room, protocol::EdgeCreated{room->name, created.value(), {}});
    ctx.ack_after_commit();
  });

  registry.on<protocol::EdgeDelete>([](HandlerContext& ctx, const protocol::EdgeDelete& del) {
    Room* room = editable_room(ctx, del.room);
    if (!room) return;
    auto deleted = room->doc.delete_edge(del.edge);
    if (!deleted) return refuse(ctx, deleted.error());
    ctx.hub.rooms().persist(*room, WriteBatch::DeleteEdge{room->name, del.edge});
    publish_change(ctx, *room, protocol::EdgeDeleted{room->name, del.edge, {}});
    ctx.ack_after_commit();
  });

  // doc_snapshot after subscribed (after presence_state and lock_state: registration order). Not
  // for the automatic room, nor after a recovery: the replayed events brought the replica up to
  // date.
  registry.on_room_join([](Hub& hub, Connection& c, const std::string& room, JoinKind kind) {
    if (kind != JoinKind::Subscribed || !is_workflow_room(room)) return;
    const Room* r = hub.rooms().find(room);
    if (!r) return;
    // Held for the pending commit: it may show edits made in this loop pass, which must not
    // reach anyone before they are stored.
    protocol::DocSnapshot snapshot{room, r->seq, r->doc.nodes(), r->doc.edges()};
    hub.send_after_commit(c, std::make_shared<const std::string>(protocol::encode_server(snapshot)));
  });
}

}  // namespace tandem::server::handlers
