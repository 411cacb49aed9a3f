// tandem/workflow_document.h — the nodes and edges of one workflow:{id} room as a client sees
// them (PROTOCOL.md §9): plain data a UI renders from, changed only by the operations the
// server's events describe. Nodes and edges are kept in creation order (a snapshot's order is
// the server's). No seq checks here: RoomReplica decides which events apply.
//
// Each operation says whether anything changed. Operations are lenient like the server's
// outcome they mirror: an update or delete of an unknown id changes nothing, a create of an id
// that exists replaces it (the server never sends that; a replica converges if it does).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/protocol/documents.h"

namespace tandem {

class WorkflowDocument {
 public:
  const std::vector<protocol::Node>& nodes() const { return nodes_; }  // creation order
  const std::vector<protocol::Edge>& edges() const { return edges_; }  // creation order
  const protocol::Node* node(std::string_view id) const;
  const protocol::Edge* edge(std::string_view id) const;
  bool empty() const { return nodes_.empty() && edges_.empty(); }

  // doc_snapshot: the whole document.
  bool replace(std::vector<protocol::Node> nodes, std::vector<protocol::Edge> edges);
  // node_created.
  bool create_node(const protocol::Node& node);
  // node_updated: per field; `data` replaces the whole object.
  bool update_node(std::string_view id, const protocol::NodeFields& fields);
  // node_deleted: the node and every edge touching it.
  bool delete_node(std::string_view id);
  // edge_created.
  bool create_edge(const protocol::Edge& edge);
  // edge_deleted.
  bool delete_edge(std::string_view id);
  // published node_update: a run's status and/or data.
  bool set_run_state(std::string_view id, const std::optional<protocol::NodeStatus>& status,
                     const std::optional<std::string>& data);

  bool operator==(const WorkflowDocument&) const = default;

 private:
  protocol::Node* find_node(std::string_view id);

  std::vector<protocol::Node> nodes_;
  std::vector<protocol::Edge> edges_;
};

}  // namespace tandem
