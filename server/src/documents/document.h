// server/src/documents/document.h — one workflow document (PROTOCOL.md §9) in memory: its nodes
// in creation order and its edges, as the server last committed them, and the rules of editing
// it. Held by its room (rooms/room_registry.h, Room::doc) and loaded with the room from the store.
//
// Pure data and rules: no sockets, no store, no locks. The documents handler
// (handlers/documents.cpp) checks membership and locks, applies edits here, records them in the
// store and publishes the room events.
//
// Rules kept here (each edit either applies whole or changes nothing and says why, with a wire
// error code from protocol/errors.h):
//   - ids, types, labels, coordinates and data are valid (the codec checks the same on the wire;
//     this guards every other caller): invalid_message, too_big;
//   - node and edge ids are unique: conflict; edits name existing nodes/edges, edges join
//     existing nodes: not_found;
//   - bounds: max_nodes, max_edges, and max_bytes for the encoded document (the sum of its
//     nodes' and edges' JSON, i.e. the doc_snapshot without its envelope): limit_exceeded. An
//     update that shrinks a document already over max_bytes (settings lowered) is allowed;
//   - node_update is per-field last-writer-wins in the order edits are applied: only the given
//     fields change, `data` replaces the whole object;
//   - deleting a node drops the edges that touch it (returned, in document order).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tandem/protocol/documents.h"
#include "tandem/result.h"

namespace tandem::server::documents {

// Bounds of one document (Settings max_nodes, max_edges, max_doc_bytes).
struct DocumentLimits {
  std::size_t max_nodes = 5000;
  std::size_t max_edges = 20000;
  std::size_t max_bytes = 1048576;
};

class Document {
 public:
  // Replaces everything (a room loaded from the store). Order is kept. Not validated: the store
  // holds only what was applied here.
  void load(std::vector<protocol::Node> nodes, std::vector<protocol::Edge> edges);

  const std::vector<protocol::Node>& nodes() const { return nodes_; }
  const std::vector<protocol::Edge>& edges() const { return edges_; }
  const protocol::Node* find_node(std::string_view id) const;
  const protocol::Edge* find_edge(std::string_view id) const;
  bool empty() const { return nodes_.empty() && edges_.empty(); }
  // The encoded size the max_bytes bound applies to.
  std::size_t bytes() const { return bytes_; }

  // ---- edits: each returns what it changed, or the error that refused it (nothing changed) ----
  // The node as created.
  Result<protocol::Node> create_node(protocol::Node node, const DocumentLimits& limits);
  // The node after the update.
  Result<protocol::Node> update_node(std::string_view id, const protocol::NodeFields& fields,
                                     const DocumentLimits& limits);
  // The edges dropped with the node, in document order (the node itself is gone).
  Result<std::vector<protocol::Edge>> delete_node(std::string_view id);
  // The edge as created.
  Result<protocol::Edge> create_edge(protocol::Edge edge, const DocumentLimits& limits);
  // The edge deleted.
  Result<protocol::Edge> delete_edge(std::string_view id);

  // A backend's run report (HTTP publish node_update, PROTOCOL.md §13): sets the node's status
  // and/or replaces its data (JSON object text). Returns the changed node, or null when there is
  // no node `id` (nothing changes). The caller validates `data` (the publish codec does).
  const protocol::Node* apply_status(std::string_view id, const std::optional<protocol::NodeStatus>& status,
                                     const std::optional<std::string>& data);

  // The JSON size of one node / edge as the codec writes them (what bytes() adds up).
  static std::size_t encoded_size(const protocol::Node& node);
  static std::size_t encoded_size(const protocol::Edge& edge);

 private:
  void reindex();
  void reindex_edges_from(std::size_t position);  // positions of edges_[position..] changed

  std::vector<protocol::Node> nodes_;
  std::vector<protocol::Edge> edges_;
  std::unordered_map<std::string, std::size_t> node_index_;  // id -> position in nodes_
  std::unordered_map<std::string, std::size_t> edge_index_;  // id -> position in edges_
  std::size_t bytes_ = 0;
};

// Checks the fields of a node / an edge / an update against PROTOCOL.md §2 and §9; the error
// (invalid_message or too_big) names the field.
std::optional<Error> validate(const protocol::Node& node);
std::optional<Error> validate(const protocol::Edge& edge);
std::optional<Error> validate(const protocol::NodeFields& fields);

}  // namespace tandem::server::documents
