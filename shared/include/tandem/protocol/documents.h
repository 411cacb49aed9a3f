// tandem/protocol/documents.h — the documents family: the nodes and edges of a workflow:{id}
// room, edited live (PROTOCOL.md §9 Documents).
//
// Client edits (node_create ... edge_delete) are answered with ack or with errors locked,
// stale_fence, not_found, conflict; every applied edit reaches every subscriber as a room event
// (node_created ... edge_deleted) with the editing user, seq and ts. Arbitrary node data
// travels as compact JSON object text (bounded by bounds::max_node_data_bytes).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tandem/json.h"
#include "tandem/protocol/enums.h"

namespace tandem::protocol {

enum class NodeStatus { Idle, Queued, Running, Succeeded, Failed, Skipped };

template <>
struct EnumNames<NodeStatus> {
  static constexpr std::array<std::pair<NodeStatus, std::string_view>, 6> table{{
      {NodeStatus::Idle, "idle"},
      {NodeStatus::Queued, "queued"},
      {NodeStatus::Running, "running"},
      {NodeStatus::Succeeded, "succeeded"},
      {NodeStatus::Failed, "failed"},
      {NodeStatus::Skipped, "skipped"},
  }};
};

struct Node {
  std::string id;
  std::string type;                  // 1-64 identifier chars, e.g. "http_request"
  std::string label;                 // 0-256 bytes
  double x = 0;                      // finite, within ±1e9
  double y = 0;
  NodeStatus status = NodeStatus::Idle;
  std::string data = "{}";           // JSON object text
  bool operator==(const Node&) const = default;
};

struct Edge {
  std::string id;
  std::string from;  // node id
  std::string to;    // node id
  bool operator==(const Edge&) const = default;
};

// The fields a node_update changes; at least one is set. `data` replaces the whole object.
struct NodeFields {
  std::optional<std::string> type;
  std::optional<std::string> label;
  std::optional<double> x;
  std::optional<double> y;
  std::optional<NodeStatus> status;
  std::optional<std::string> data;
  bool operator==(const NodeFields&) const = default;
};

// ---- client → server ----------------------------------------------------------------------

struct NodeCreate {
  static constexpr const char* kType = "node_create";
  std::string room;  // workflow:{id}
  Node node;         // label, x, y, status, data may be omitted on the wire (defaults)
  bool operator==(const NodeCreate&) const = default;
};

struct NodeUpdate {
  static constexpr const char* kType = "node_update";
  std::string room;
  std::string node;                   // node id
  NodeFields fields;
  std::optional<std::int64_t> fence;  // the writer's lock fence on the node
  bool operator==(const NodeUpdate&) const = default;
};

struct NodeDelete {
  static constexpr const char* kType = "node_delete";
  std::string room;
  std::string node;
  std::optional<std::int64_t> fence;
  bool operator==(const NodeDelete&) const = default;
};

struct EdgeCreate {
  static constexpr const char* kType = "edge_create";
  std::string room;
  Edge edge;
  bool operator==(const EdgeCreate&) const = default;
};

struct EdgeDelete {
  static constexpr const char* kType = "edge_delete";
  std::string room;
  std::string edge;  // edge id
  bool operator==(const EdgeDelete&) const = default;
};

// ---- server → client ----------------------------------------------------------------------

// The whole document, on a non-recovered join.
struct DocSnapshot {
  static constexpr const char* kType = "doc_snapshot";
  std::string room;
  std::int64_t seq = 0;
  std::vector<Node> nodes;
  std::vector<Edge> edges;
  bool operator==(const DocSnapshot&) const = default;
};

// Room events. `user` is the id of the user whose edit it was.
struct NodeCreated {
  static constexpr const char* kType = "node_created";
  std::string room;
  Node node;
  std::string user;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool operator==(const NodeCreated&) const = default;
};

struct NodeUpdated {
  static constexpr const char* kType = "node_updated";
  std::string room;
  std::string node;
  NodeFields fields;
  std::string user;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool operator==(const NodeUpdated&) const = default;
};

struct NodeDeleted {
  static constexpr const char* kType = "node_deleted";
  std::string room;
  std::string node;
  std::string user;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool operator==(const NodeDeleted&) const = default;
};

struct EdgeCreated {
  static constexpr const char* kType = "edge_created";
  std::string room;
  Edge edge;
  std::string user;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool operator==(const EdgeCreated&) const = default;
};

struct EdgeDeleted {
  static constexpr const char* kType = "edge_deleted";
  std::string room;
  std::string edge;
  std::string user;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool operator==(const EdgeDeleted&) const = default;
};

void read(json::Fields& f, NodeCreate& m);
void write(json::JsonWriter& w, const NodeCreate& m);
void read(json::Fields& f, NodeUpdate& m);
void write(json::JsonWriter& w, const NodeUpdate& m);
void read(json::Fields& f, NodeDelete& m);
void write(json::JsonWriter& w, const NodeDelete& m);
void read(json::Fields& f, EdgeCreate& m);
void write(json::JsonWriter& w, const EdgeCreate& m);
void read(json::Fields& f, EdgeDelete& m);
void write(json::JsonWriter& w, const EdgeDelete& m);
void read(json::Fields& f, DocSnapshot& m);
void write(json::JsonWriter& w, const DocSnapshot& m);
void read(json::Fields& f, NodeCreated& m);
void write(json::JsonWriter& w, const NodeCreated& m);
void read(json::Fields& f, NodeUpdated& m);
void write(json::JsonWriter& w, const NodeUpdated& m);
void read(json::Fields& f, NodeDeleted& m);
void write(json::JsonWriter& w, const NodeDeleted& m);
void read(json::Fields& f, EdgeCreated& m);
void write(json::JsonWriter& w, const EdgeCreated& m);
void read(json::Fields& f, EdgeDeleted& m);
void write(json::JsonWriter& w, const EdgeDeleted& m);

}  // namespace tandem::protocol
