// server/src/documents/document.cpp — a workflow document in memory (see document.h).
#include "document.h"

namespace tandem::server::documents {

void Document::load(std::vector<protocol::Node> nodes, std::vector<protocol::Edge> edges) {
  nodes_ = std::move(nodes);
  edges_ = std::move(edges);
  reindex();
}

const protocol::Node* Document::find_node(std::string_view id) const {
  auto it = node_index_.find(std::string(id));
  return it == node_index_.end() ? nullptr : &nodes_[it->second];
}

const protocol::Edge* Document::find_edge(std::string_view id) const {
  auto it = edge_index_.find(std::string(id));
  return it == edge_index_.end() ? nullptr : &edges_[it->second];
}

void Document::reindex() {
  node_index_.clear();
  edge_index_.clear();
  for (std::size_t i = 0; i < nodes_.size(); ++i) node_index_[nodes_[i].id] = i;
  for (std::size_t i = 0; i < edges_.size(); ++i) edge_index_[edges_[i].id] = i;
}

}  // namespace tandem::server::documents
