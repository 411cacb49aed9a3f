// documents.cpp — read/write for the documents family: node/edge edits, doc_snapshot, and the
// node_*/edge_* room events; Node, Edge and NodeFields values.
#include "tandem/protocol/documents.h"

#include "read_util.h"

namespace tandem::protocol {

namespace {

void read_workflow_room(json::Fields& f, std::string& room) {
  detail::read_room_of(f, room, rules::RoomKind::Workflow, "workflow:");
}

// Reads a node; optional members (label, x, y, status, data) default as documented.
void read_node(json::Fields& f, Node& n) {
  f.str("id", n.id, rules::entity_id);
  f.str("type", n.type, rules::type_name);
  std::optional<std::string> label;
  f.opt_str("label", label, rules::label);
  n.label = label.value_or("");
  std::optional<double> x, y;
  f.opt_num("x", x, -bounds::max_coordinate, bounds::max_coordinate);
  f.opt_num("y", y, -bounds::max_coordinate, bounds::max_coordinate);
  n.x = x.value_or(0);
  n.y = y.value_or(0);
  std::optional<NodeStatus> status;
  detail::read_opt_enum(f, "status", status);
  n.status = status.value_or(NodeStatus::Idle);
  std::optional<std::string> data;
  f.opt_raw("data", data, json::RawKind::Object, bounds::max_node_data_bytes);
  n.data = data.value_or("{}");
}

json::JsonWriter write_node(const Node& n) {
  json::JsonWriter w;
  w.str("id", n.id)
      .str("type", n.type)
      .str("label", n.label)
      .num("x", n.x)
      .num("y", n.y)
      .str("status", to_string(n.status))
      .raw("data", n.data);
  return w;
}

void read_edge(json::Fields& f, Edge& e) {
  f.str("id", e.id, rules::entity_id);
  f.str("from", e.from, rules::entity_id);
  f.str("to", e.to, rules::entity_id);
}

json::JsonWriter write_edge(const Edge& e) {
  json::JsonWriter w;
  w.str("id", e.id).str("from", e.from).str("to", e.to);
  return w;
}

void read_fields(json::Fields& f, NodeFields& out) {
  f.nested("fields", true, [&](json::Fields& n) {
    n.opt_str("type", out.type, rules::type_name);
    n.opt_str("label", out.label, rules::label);
    n.opt_num("x", out.x, -bounds::max_coordinate, bounds::max_coordinate);
    n.opt_num("y", out.y, -bounds::max_coordinate, bounds::max_coordinate);
    detail::read_opt_enum(n, "status", out.status);
    n.opt_raw("data", out.data, json::RawKind::Object, bounds::max_node_data_bytes);
    if (n.ok() && !out.type && !out.label && !out.x && !out.y && !out.status && !out.data)
      n.fail(n.context() + ": nothing to update (type, label, x, y, status or data)");
  });
}

json::JsonWriter write_fields(const NodeFields& n) {
  json::JsonWriter w;
  w.opt_str("type", n.type).opt_str("label", n.label).opt_num("x", n.x).opt_num("y", n.y);
  if (n.status) w.str("status", to_string(*n.status));
  w.opt_raw("data", n.data);
  return w;
}

}  // namespace

void read(json::Fields& f, NodeCreate& m) {
  read_workflow_room(f, m.room);
  f.nested("node", true, [&](json::Fields& n) { read_node(n, m.node); });
}
void write(json::JsonWriter& w, const NodeCreate& m) { w.str("room", m.room).child("node", write_node(m.node)); }

void read(json::Fields& f, NodeUpdate& m) {
  read_workflow_room(f, m.room);
  f.str("node", m.node, rules::entity_id);
  read_fields(f, m.fields);
  f.opt_int64("fence", m.fence, 1, bounds::max_integer);
}
void write(json::JsonWriter& w, const NodeUpdate& m) {
  w.str("room", m.room).str("node", m.node).child("fields", write_fields(m.fields)).opt_int64("fence", m.fence);
}

void read(json::Fields& f, NodeDelete& m) {
  read_workflow_room(f, m.room);
  f.str("node", m.node, rules::entity_id);
  f.opt_int64("fence", m.fence, 1, bounds::max_integer);
}
void write(json::JsonWriter& w, const NodeDelete& m) {
  w.str("room", m.room).str("node", m.node).opt_int64("fence", m.fence);
}

void read(json::Fields& f, EdgeCreate& m) {
  read_workflow_room(f, m.room);
  f.nested("edge", true, [&](json::Fields& e) { read_edge(e, m.edge); });
}
void write(json::JsonWriter& w, const EdgeCreate& m) { w.str("room", m.room).child("edge", write_edge(m.edge)); }

void read(json::Fields& f, EdgeDelete& m) {
  read_workflow_room(f, m.room);
  f.str("edge", m.edge, rules::entity_id);
}
void write(json::JsonWriter& w, const EdgeDelete& m) { w.str("room", m.room).str("edge", m.edge); }

void read(json::Fields& f, DocSnapshot& m) {
  read_workflow_room(f, m.room);
  detail::read_count(f, "seq", m.seq);
  f.each("nodes", true, bounds::max_list_items, [&](json::Fields& e) {
    Node node;
    read_node(e, node);
    m.nodes.push_back(std::move(node));
  });
  f.each("edges", true, bounds::max_list_items * 2, [&](json::Fields& e) {
    Edge edge;
    read_edge(e, edge);
    m.edges.push_back(std::move(edge));
  });
}
void write(json::JsonWriter& w, const DocSnapshot& m) {
  auto nodes = json::JsonWriter::array();
  for (const auto& n : m.nodes) nodes.push(write_node(n));
  auto edges = json::JsonWriter::array();
  for (const auto& e : m.edges) edges.push(write_edge(e));
  w.str("room", m.room).int64("seq", m.seq).child("nodes", std::move(nodes)).child("edges", std::move(edges));
}

void read(json::Fields& f, NodeCreated& m) {
  read_workflow_room(f, m.room);
  f.nested("node", true, [&](json::Fields& n) { read_node(n, m.node); });
  detail::read_stamp(f, m.user, m.seq, m.ts);
}
void write(json::JsonWriter& w, const NodeCreated& m) {
  w.str("room", m.room).child("node", write_node(m.node));
  detail::write_stamp(w, m.user, m.seq, m.ts);
}

void read(json::Fields& f, NodeUpdated& m) {
  read_workflow_room(f, m.room);
  f.str("node", m.node, rules::entity_id);
  read_fields(f, m.fields);
  detail::read_stamp(f, m.user, m.seq, m.ts);
}
void write(json::JsonWriter& w, const NodeUpdated& m) {
  w.str("room", m.room).str("node", m.node).child("fields", write_fields(m.fields));
  detail::write_stamp(w, m.user, m.seq, m.ts);
}

void read(json::Fields& f, NodeDeleted& m) {
  read_workflow_room(f, m.room);
  f.str("node", m.node, rules::entity_id);
  detail::read_stamp(f, m.user, m.seq, m.ts);
}
void write(json::JsonWriter& w, const NodeDeleted& m) {
  w.str("room", m.room).str("node", m.node);
  detail::write_stamp(w, m.user, m.seq, m.ts);
}

void read(json::Fields& f, EdgeCreated& m) {
  read_workflow_room(f, m.room);
  f.nested("edge", true, [&](json::Fields& e) { read_edge(e, m.edge); });
  detail::read_stamp(f, m.user, m.seq, m.ts);
}
void write(json::JsonWriter& w, const EdgeCreated& m) {
  w.str("room", m.room).child("edge", write_edge(m.edge));
  detail::write_stamp(w, m.user, m.seq, m.ts);
}

void read(json::Fields& f, EdgeDeleted& m) {
  read_workflow_room(f, m.room);
  f.str("edge", m.edge, rules::entity_id);
  detail::read_stamp(f, m.user, m.seq, m.ts);
}
void write(json::JsonWriter& w, const EdgeDeleted& m) {
  w.str("room", m.room).str("edge", m.edge);
  detail::write_stamp(w, m.user, m.seq, m.ts);
}

}  // namespace tandem::protocol
