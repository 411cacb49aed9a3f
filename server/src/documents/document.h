// server/src/documents/document.h — one workflow document (PROTOCOL.md §9) in memory: its nodes
// in creation order and its edges, as the server last committed them. Held by its room
// (rooms/room_registry.h, Room::doc) and loaded with the room from the store.
//
// Pure data and rules: no sockets, no store, no locks. The documents handler
// (handlers/documents.cpp) checks membership and locks, applies edits here, records them in the
// store and publishes the room events.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tandem/protocol/documents.h"

namespace tandem::server::documents {

class Document {
 public:
  // Replaces everything (a room loaded from the store). Order is kept.
  void load(std::vector<protocol::Node> nodes, std::vector<protocol::Edge> edges);

  const std::vector<protocol::Node>& nodes() const { return nodes_; }
  const std::vector<protocol::Edge>& edges() const { return edges_; }
  const protocol::Node* find_node(std::string_view id) const;
  const protocol::Edge* find_edge(std::string_view id) const;
  bool empty() const { return nodes_.empty() && edges_.empty(); }

 private:
  void reindex();

  std::vector<protocol::Node> nodes_;
  std::vector<protocol::Edge> edges_;
  std::unordered_map<std::string, std::size_t> node_index_;  // id -> position in nodes_
  std::unordered_map<std::string, std::size_t> edge_index_;  // id -> position in edges_
};

}  // namespace tandem::server::documents
