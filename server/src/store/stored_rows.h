// server/src/store/stored_rows.h — what stored rows mean, for both stores: the node, chat
// entry, lock or change a row reads back as, and the writes a whole store exports as. Each
// store reads rows its own way (SQLite statements, libpq results) through a type with
// text(i), int64(i) and real(i); these functions turn such rows into values, so the stores
// cannot disagree. `at` is the index of the row's first column (exports select the room in
// front of it).
#pragma once

#include <string>

#include "store/batch_chunker.h"
#include "store/store.h"
#include "tandem/protocol/errors.h"

namespace tandem::server::store::stored_rows {

// id, type, label, x, y, status, data. Fails on a status this build does not know.
template <class Row>
Result<protocol::Node> node(const Row& r, int at = 0) {
  protocol::Node node{r.text(at), r.text(at + 1), r.text(at + 2), r.real(at + 3), r.real(at + 4),
                      protocol::NodeStatus::Idle, r.text(at + 6)};
  const std::string status = r.text(at + 5);
  auto parsed = protocol::enum_from_string<protocol::NodeStatus>(status);
  if (!parsed) return Error{std::string(protocol::errc::internal), "node " + node.id + " has unknown status '" + status + "'"};
  node.status = *parsed;
  return node;
}

// id, from, to.
template <class Row>
protocol::Edge edge(const Row& r, int at = 0) {
  return protocol::Edge{r.text(at), r.text(at + 1), r.text(at + 2)};
}

// user, name, color, text, seq, ts.
template <class Row>
protocol::ChatEntry chat(const Row& r, int at = 0) {
  return protocol::ChatEntry{r.text(at), r.text(at + 1), r.text(at + 2), r.text(at + 3), r.int64(at + 4), r.int64(at + 5)};
}

// resource, user, name, color, fence, expires_at.
template <class Row>
protocol::LockInfo lock(const Row& r, int at = 0) {
  return protocol::LockInfo{r.text(at), {r.text(at + 1), r.text(at + 2), r.text(at + 3)}, r.int64(at + 4), r.int64(at + 5)};
}

// seq, user, ts, json.
template <class Row>
StoredChange change(const Row& r, int at = 0) {
  return StoredChange{r.int64(at), r.text(at + 1), r.int64(at + 2), r.text(at + 3)};
}

// The tables an export reads, in the order an import needs them (rooms before what belongs to
// them, sessions before their requests). Each store's export statement for a table selects:
//   Rooms     room, epoch                       Chat      room, user, name, color, text, seq, ts
//   Events    room, seq, json                   Locks     room, resource, user, name, color, fence, expires_at
//   Nodes     room, id, type, label, x, y, status, data    Fence     high_water
//   Edges     room, id, from, to                Sessions  id, user
//   Changes   room, seq, user, ts, json         Requests  session, request_id, answer_json
//   YUpdates  doc, seq, data (bytes: the row type's bytes(i))
enum class ExportTable { Rooms, Events, Nodes, Edges, Changes, Chat, Locks, Fence, Sessions, Requests, YUpdates };

// The statement of a store's own Sql enum that reads `table` for an export: both stores name
// their export statements alike (the fence row is read by SelectFence).
template <class Sql>
constexpr Sql export_statement(ExportTable table) {
  using T = ExportTable;
  switch (table) {
    case T::Rooms: return Sql::ExportRooms;
    case T::Events: return Sql::ExportEvents;
    case T::Nodes: return Sql::ExportNodes;
    case T::Edges: return Sql::ExportEdges;
    case T::Changes: return Sql::ExportChanges;
    case T::Chat: return Sql::ExportChat;
    case T::Locks: return Sql::ExportLocks;
    case T::Fence: return Sql::SelectFence;
    case T::Sessions: return Sql::ExportSessions;
    case T::Requests: return Sql::ExportRequests;
    case T::YUpdates: return Sql::ExportYUpdates;
  }
  return Sql::SelectFence;
}
inline constexpr ExportTable kExportTables[] = {ExportTable::Rooms,   ExportTable::Events, ExportTable::Nodes,
                                                ExportTable::Edges,   ExportTable::Changes, ExportTable::Chat,
                                                ExportTable::Locks,   ExportTable::Fence,  ExportTable::Sessions,
                                                ExportTable::Requests, ExportTable::YUpdates};

// Store::export_batches for any store: `rows(table, each)` calls `each(row)` for every row of
// `table` and returns the first error; every row becomes its write in `out`.
template <class RowsOf>
Result<Done> export_writes(RowsOf&& rows, BatchChunker& out) {
  using B = WriteBatch;
  for (ExportTable table : kExportTables) {
    auto exported = rows(table, [&](const auto& r) -> Result<Done> {
      switch (table) {
        case ExportTable::Rooms: return out.add(B::NewRoom{r.text(0), r.text(1)});
        case ExportTable::Events: return out.add(B::AppendEvent{r.text(0), r.int64(1), r.text(2)});
        case ExportTable::Nodes: {
          auto n = node(r, 1);
          if (!n) return n.error();
          return out.add(B::PutNode{r.text(0), std::move(n).value()});
        }
        case ExportTable::Edges: return out.add(B::PutEdge{r.text(0), edge(r, 1)});
        case ExportTable::Changes: return out.add(B::AddChange{r.text(0), change(r, 1)});
        case ExportTable::Chat: return out.add(B::AddChat{r.text(0), chat(r, 1)});
        case ExportTable::Locks: return out.add(B::PutLock{r.text(0), lock(r, 1)});
        case ExportTable::Fence:
          if (r.int64(0) == 0) return Done{};  // never raised: nothing to copy
          return out.add(B::RaiseFence{r.int64(0)});
        case ExportTable::Sessions: return out.add(B::PutSession{StoredSession{r.text(0), r.text(1)}});
        case ExportTable::Requests: return out.add(B::RememberRequest{r.text(0), r.text(1), r.text(2)});
        case ExportTable::YUpdates: return out.add(B::AppendYUpdate{r.text(0), r.int64(1), r.bytes(2)});
      }
      return Done{};
    });
    if (!exported) return exported;
  }
  return out.flush();
}

}  // namespace tandem::server::store::stored_rows
