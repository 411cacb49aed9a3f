// server/src/documents/document.cpp — a workflow document in memory and its editing rules (see
// document.h).
#include "document.h"

#include <cmath>
#include <utility>

#include "tandem/json.h"
#include "tandem/protocol/errors.h"
#include "tandem/protocol/rules.h"

namespace tandem::server::documents {

namespace {

Error error(std::string_view code, std::string message) { return Error{std::string(code), std::move(message)}; }

std::optional<Error> check_string(std::string_view value, const json::StringRule& rule, const char* field) {
  if (value.size() > rule.max)
    return error(protocol::errc::too_big, std::string(field) + ": over " + std::to_string(rule.max) + " bytes");
  if (value.size() < rule.min)
    return error(protocol::errc::invalid_message, std::string(field) + ": shorter than " + std::to_string(rule.min));
  if (rule.identifier) {
    for (char c : value)
      if (!json::is_identifier_char(c))
        return error(protocol::errc::invalid_message, std::string(field) + ": only [A-Za-z0-9_:.@-] allowed");
  } else if (!json::is_valid_utf8(value)) {
    return error(protocol::errc::invalid_message, std::string(field) + ": not UTF-8");
  }
  return std::nullopt;
}

std::optional<Error> check_coordinate(double value, const char* field) {
  if (!std::isfinite(value) || std::fabs(value) > protocol::bounds::max_coordinate)
    return error(protocol::errc::invalid_message, std::string(field) + ": must be finite, within ±1e9");
  return std::nullopt;
}

std::optional<Error> check_data(std::string_view data) {
  if (data.size() > protocol::bounds::max_node_data_bytes)
    return error(protocol::errc::too_big, "data: over " + std::to_string(protocol::bounds::max_node_data_bytes) + " bytes");
  // Valid JSON whose first character is '{' is an object.
  const std::size_t first = data.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || data[first] != '{' || !json::parse_json(data))
    return error(protocol::errc::invalid_message, "data: must be a JSON object");
  return std::nullopt;
}

std::optional<Error> first_of(std::initializer_list<std::optional<Error>> checks) {
  for (const auto& check : checks)
    if (check) return check;
  return std::nullopt;
}

Error limit(std::string what) { return error(protocol::errc::limit_exceeded, std::move(what)); }

}  // namespace

std::optional<Error> validate(const protocol::Node& node) {
  return first_of({check_string(node.id, protocol::rules::entity_id, "node.id"),
                   check_string(node.type, protocol::rules::type_name, "node.type"),
                   check_string(node.label, protocol::rules::label, "node.label"),
                   check_coordinate(node.x, "node.x"), check_coordinate(node.y, "node.y"), check_data(node.data)});
}

std::optional<Error> validate(const protocol::Edge& edge) {
  return first_of({check_string(edge.id, protocol::rules::entity_id, "edge.id"),
                   check_string(edge.from, protocol::rules::entity_id, "edge.from"),
                   check_string(edge.to, protocol::rules::entity_id, "edge.to")});
}

std::optional<Error> validate(const protocol::NodeFields& f) {
  if (!f.type && !f.label && !f.x && !f.y && !f.status && !f.data)
    return error(protocol::errc::invalid_message, "fields: nothing to update (type, label, x, y, status or data)");
  return first_of({f.type ? check_string(*f.type, protocol::rules::type_name, "fields.type") : std::nullopt,
                   f.label ? check_string(*f.label, protocol::rules::label, "fields.label") : std::nullopt,
                   f.x ? check_coordinate(*f.x, "fields.x") : std::nullopt,
                   f.y ? check_coordinate(*f.y, "fields.y") : std::nullopt,
                   f.data ? check_data(*f.data) : std::nullopt});
}

namespace {
// `"key":` and the value, for a member of an object.
std::size_t member_size(std::string_view key, std::size_t value_size) { return key.size() + 3 + value_size; }
}  // namespace

std::size_t Document::encoded_size(const protocol::Node& n) {
  // The length of the codec's node text (shared/src/protocol/documents.cpp), counted rather
  // than written: it runs twice for every edit. `data` is text the codec printed
  // (Fields::raw) or the store kept from it: already compact, counted as it is.
  std::size_t size = 2 + 5;  // {} and the commas between the six members always present
  size += member_size("id", json::string_size(n.id));
  size += member_size("type", json::string_size(n.type));
  size += member_size("label", json::string_size(n.label));
  size += member_size("x", json::number_size(n.x));
  size += member_size("y", json::number_size(n.y));
  size += member_size("status", json::string_size(protocol::to_string(n.status)));
  if (!n.data.empty()) size += 1 + member_size("data", n.data.size());
  return size;
}

std::size_t Document::encoded_size(const protocol::Edge& e) {
  return 2 + 2 + member_size("id", json::string_size(e.id)) + member_size("from", json::string_size(e.from)) +
         member_size("to", json::string_size(e.to));
}

void Document::load(std::vector<protocol::Node> nodes, std::vector<protocol::Edge> edges) {
  nodes_ = std::move(nodes);
  edges_ = std::move(edges);
  reindex();
  bytes_ = 0;
  for (const auto& node : nodes_) bytes_ += encoded_size(node);
  for (const auto& edge : edges_) bytes_ += encoded_size(edge);
}

const protocol::Node* Document::find_node(std::string_view id) const {
  auto it = node_index_.find(std::string(id));
  return it == node_index_.end() ? nullptr : &nodes_[it->second];
}

const protocol::Edge* Document::find_edge(std::string_view id) const {
  auto it = edge_index_.find(std::string(id));
  return it == edge_index_.end() ? nullptr : &edges_[it->second];
}

Result<protocol::Node> Document::create_node(protocol::Node node, const DocumentLimits& limits) {
  if (auto invalid = validate(node)) return *invalid;
  if (find_node(node.id)) return error(protocol::errc::conflict, "node \"" + node.id + "\" exists");
  if (nodes_.size() >= limits.max_nodes)
    return limit("a document holds at most " + std::to_string(limits.max_nodes) + " nodes (max_nodes)");
  const std::size_t size = encoded_size(node);
  if (bytes_ + size > limits.max_bytes)
    return limit("the document would exceed " + std::to_string(limits.max_bytes) + " bytes (max_doc_bytes)");
  bytes_ += size;
  node_index_[node.id] = nodes_.size();
  nodes_.push_back(std::move(node));
  return nodes_.back();
}

Result<protocol::Node> Document::update_node(std::string_view id, const protocol::NodeFields& fields,
                                             const DocumentLimits& limits) {
  auto it = node_index_.find(std::string(id));
  if (it == node_index_.end()) return error(protocol::errc::not_found, "no node \"" + std::string(id) + "\"");
  if (auto invalid = validate(fields)) return *invalid;
  protocol::Node& node = nodes_[it->second];
  protocol::Node updated = node;
  if (fields.type) updated.type = *fields.type;
  if (fields.label) updated.label = *fields.label;
  if (fields.x) updated.x = *fields.x;
  if (fields.y) updated.y = *fields.y;
  if (fields.status) updated.status = *fields.status;
  if (fields.data) updated.data = *fields.data;
  const std::size_t before = encoded_size(node);
  const std::size_t after = encoded_size(updated);
  if (after > before && bytes_ - before + after > limits.max_bytes)
    return limit("the document would exceed " + std::to_string(limits.max_bytes) + " bytes (max_doc_bytes)");
  bytes_ = bytes_ - before + after;
  node = std::move(updated);
  return node;
}

Result<std::vector<protocol::Edge>> Document::delete_node(std::string_view id) {
  auto it = node_index_.find(std::string(id));
  if (it == node_index_.end()) return error(protocol::errc::not_found, "no node \"" + std::string(id) + "\"");
  std::vector<protocol::Edge> dropped;
  std::vector<protocol::Edge> kept;
  kept.reserve(edges_.size());
  for (auto& edge : edges_) {
    if (edge.from == id || edge.to == id) {
      bytes_ -= encoded_size(edge);
      dropped.push_back(std::move(edge));
    } else {
      kept.push_back(std::move(edge));
    }
  }
  edges_ = std::move(kept);
  if (!dropped.empty()) reindex_edges_from(0);
  const std::size_t position = it->second;
  bytes_ -= encoded_size(nodes_[position]);
  node_index_.erase(it);
  nodes_.erase(nodes_.begin() + static_cast<std::ptrdiff_t>(position));
  for (std::size_t i = position; i < nodes_.size(); ++i) node_index_[nodes_[i].id] = i;
  return dropped;
}

Result<protocol::Edge> Document::create_edge(protocol::Edge edge, const DocumentLimits& limits) {
  if (auto invalid = validate(edge)) return *invalid;
  if (find_edge(edge.id)) return error(protocol::errc::conflict, "edge \"" + edge.id + "\" exists");
  for (const std::string* end : {&edge.from, &edge.to})
    if (!find_node(*end)) return error(protocol::errc::not_found, "no node \"" + *end + "\" to join");
  if (edges_.size() >= limits.max_edges)
    return limit("a document holds at most " + std::to_string(limits.max_edges) + " edges (max_edges)");
  const std::size_t size = encoded_size(edge);
  if (bytes_ + size > limits.max_bytes)
    return limit("the document would exceed " + std::to_string(limits.max_bytes) + " bytes (max_doc_bytes)");
  bytes_ += size;
  edge_index_[edge.id] = edges_.size();
  edges_.push_back(std::move(edge));
  return edges_.back();
}

Result<protocol::Edge> Document::delete_edge(std::string_view id) {
  auto it = edge_index_.find(std::string(id));
  if (it == edge_index_.end()) return error(protocol::errc::not_found, "no edge \"" + std::string(id) + "\"");
  const std::size_t position = it->second;
  protocol::Edge deleted = std::move(edges_[position]);
  edge_index_.erase(it);
  edges_.erase(edges_.begin() + static_cast<std::ptrdiff_t>(position));
  reindex_edges_from(position);
  bytes_ -= encoded_size(deleted);
  return deleted;
}

const protocol::Node* Document::apply_status(std::string_view id, const std::optional<protocol::NodeStatus>& status,
                                             const std::optional<std::string>& data) {
  auto it = node_index_.find(std::string(id));
  if (it == node_index_.end()) return nullptr;
  protocol::Node& node = nodes_[it->second];
  bytes_ -= encoded_size(node);
  if (status) node.status = *status;
  if (data) node.data = *data;
  bytes_ += encoded_size(node);
  return &node;
}

void Document::reindex() {
  node_index_.clear();
  for (std::size_t i = 0; i < nodes_.size(); ++i) node_index_[nodes_[i].id] = i;
  reindex_edges_from(0);
}

void Document::reindex_edges_from(std::size_t position) {
  if (position == 0) edge_index_.clear();
  for (std::size_t i = position; i < edges_.size(); ++i) edge_index_[edges_[i].id] = i;
}

}  // namespace tandem::server::documents
