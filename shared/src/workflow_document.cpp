// workflow_document.cpp — node and edge operations on a client's copy of a workflow document
// (see tandem/workflow_document.h).
#include "tandem/workflow_document.h"

#include <algorithm>
#include <utility>

namespace tandem {

namespace {

// Sets `target` to `value` when it differs; says whether it did.
template <class T>
bool assign(T& target, const T& value) {
  if (target == value) return false;
  target = value;
  return true;
}

}  // namespace

const protocol::Node* WorkflowDocument::node(std::string_view id) const {
  auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](const protocol::Node& n) { return n.id == id; });
  return it == nodes_.end() ? nullptr : &*it;
}

const protocol::Edge* WorkflowDocument::edge(std::string_view id) const {
  auto it = std::find_if(edges_.begin(), edges_.end(), [&](const protocol::Edge& e) { return e.id == id; });
  return it == edges_.end() ? nullptr : &*it;
}

protocol::Node* WorkflowDocument::find_node(std::string_view id) {
  return const_cast<protocol::Node*>(std::as_const(*this).node(id));
}

bool WorkflowDocument::replace(std::vector<protocol::Node> nodes, std::vector<protocol::Edge> edges) {
  if (nodes == nodes_ && edges == edges_) return false;
  nodes_ = std::move(nodes);
  edges_ = std::move(edges);
  return true;
}

bool WorkflowDocument::create_node(const protocol::Node& node) {
  if (protocol::Node* existing = find_node(node.id)) return assign(*existing, node);
  nodes_.push_back(node);
  return true;
}

bool WorkflowDocument::update_node(std::string_view id, const protocol::NodeFields& fields) {
  protocol::Node* node = find_node(id);
  if (!node) return false;
  bool changed = false;
  if (fields.type) changed |= assign(node->type, *fields.type);
  if (fields.label) changed |= assign(node->label, *fields.label);
  if (fields.x) changed |= assign(node->x, *fields.x);
  if (fields.y) changed |= assign(node->y, *fields.y);
  if (fields.status) changed |= assign(node->status, *fields.status);
  if (fields.data) changed |= assign(node->data, *fields.data);
  return changed;
}

bool WorkflowDocument::delete_node(std::string_view id) {
  const auto node_gone = std::remove_if(nodes_.begin(), nodes_.end(), [&](const protocol::Node& n) { return n.id == id; });
  if (node_gone == nodes_.end()) return false;
  nodes_.erase(node_gone, nodes_.end());
  // The server deletes the attached edges first (edge_deleted events); this only matters for a
  // replica that missed them, which cannot happen within one epoch, but keeps it consistent.
  edges_.erase(std::remove_if(edges_.begin(), edges_.end(),
                              [&](const protocol::Edge& e) { return e.from == id || e.to == id; }),
               edges_.end());
  return true;
}

bool WorkflowDocument::create_edge(const protocol::Edge& edge) {
  auto it = std::find_if(edges_.begin(), edges_.end(), [&](const protocol::Edge& e) { return e.id == edge.id; });
  if (it != edges_.end()) return assign(*it, edge);
  edges_.push_back(edge);
  return true;
}

bool WorkflowDocument::delete_edge(std::string_view id) {
  const auto gone = std::remove_if(edges_.begin(), edges_.end(), [&](const protocol::Edge& e) { return e.id == id; });
  if (gone == edges_.end()) return false;
  edges_.erase(gone, edges_.end());
  return true;
}

bool WorkflowDocument::set_run_state(std::string_view id, const std::optional<protocol::NodeStatus>& status,
                                     const std::optional<std::string>& data) {
  protocol::NodeFields fields;
  fields.status = status;
  fields.data = data;
  return update_node(id, fields);
}

}  // namespace tandem
