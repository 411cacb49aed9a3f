// publish.cpp — read/write for the published-events family (execution_update, node_update)
// and the HTTP publish body decoder.
#include "tandem/protocol/publish.h"

#include <utility>

#include "read_util.h"
#include "tandem/protocol/errors.h"

namespace tandem::protocol {

namespace {

void write_body(json::JsonWriter& w, const ExecutionUpdate& m) {
  w.str("room", m.room).str("execution", m.execution).str("status", to_string(m.status));
  w.opt_str("node", m.node).opt_num("progress", m.progress).opt_str("message", m.message).opt_raw("data", m.data);
  w.opt_int64("completed_nodes", m.completed_nodes).opt_int64("total_nodes", m.total_nodes);
}

void write_body(json::JsonWriter& w, const PublishedNodeUpdate& m) {
  w.str("room", m.room).str("node", m.node);
  if (m.status) w.str("status", to_string(*m.status));
  w.opt_raw("data", m.data);
}

// Tries each alternative of PublishMessage by its type string.
template <std::size_t I = 0>
Result<PublishMessage> read_publish_as(std::string_view type, json::Fields& f) {
  if constexpr (I == std::variant_size_v<PublishMessage>) {
    return Error{std::string(errc::unknown_type), "cannot publish type \"" + std::string(type) + "\""};
  } else {
    using M = std::variant_alternative_t<I, PublishMessage>;
    if (type != M::kType) return read_publish_as<I + 1>(type, f);
    M message{};
    read_body(f, message);
    if (!f.ok()) return f.error();
    return PublishMessage{std::move(message)};
  }
}

}  // namespace

void read_body(json::Fields& f, ExecutionUpdate& m) {
  detail::read_room(f, m.room);
  f.str("execution", m.execution, rules::entity_id);
  detail::read_enum(f, "status", m.status);
  f.opt_str("node", m.node, rules::entity_id);
  f.opt_num("progress", m.progress, 0.0, 1.0);
  f.opt_str("message", m.message, rules::message);
  f.opt_raw("data", m.data, json::RawKind::Any, bounds::max_node_data_bytes);
  detail::read_opt_count(f, "completed_nodes", m.completed_nodes);
  detail::read_opt_count(f, "total_nodes", m.total_nodes);
  if (f.ok() && m.completed_nodes && m.total_nodes && *m.completed_nodes > *m.total_nodes)
    f.fail(f.context() + ": completed_nodes exceeds total_nodes");
}

void read_body(json::Fields& f, PublishedNodeUpdate& m) {
  detail::read_room_of(f, m.room, rules::RoomKind::Workflow, "workflow:");
  f.str("node", m.node, rules::entity_id);
  detail::read_opt_enum(f, "status", m.status);
  f.opt_raw("data", m.data, json::RawKind::Object, bounds::max_node_data_bytes);
  if (f.ok() && !m.status && !m.data) f.fail(f.context() + ": needs status or data");
}

void read(json::Fields& f, ExecutionUpdate& m) {
  read_body(f, m);
  detail::read_count(f, "seq", m.seq);
  detail::read_count(f, "ts", m.ts);
}
void write(json::JsonWriter& w, const ExecutionUpdate& m) {
  write_body(w, m);
  w.int64("seq", m.seq).int64("ts", m.ts);
}

void read(json::Fields& f, PublishedNodeUpdate& m) {
  read_body(f, m);
  detail::read_count(f, "seq", m.seq);
  detail::read_count(f, "ts", m.ts);
}
void write(json::JsonWriter& w, const PublishedNodeUpdate& m) {
  write_body(w, m);
  w.int64("seq", m.seq).int64("ts", m.ts);
}

Result<PublishMessage> decode_publish(std::string_view body) {
  auto root = json::parse_json(body);
  if (!root) return root.error();
  json::Fields f(root.value().get(), "publish");
  std::string type;
  f.str("type", type, {1, 64, true});
  if (!f.ok()) return f.error();
  json::Fields fields(root.value().get(), type);
  return read_publish_as(type, fields);
}

std::string encode_publish(const PublishMessage& message) {
  return std::visit(
      [](const auto& m) {
        json::JsonWriter w(std::decay_t<decltype(m)>::kType);
        write_body(w, m);
        return std::move(w).finish();
      },
      message);
}

}  // namespace tandem::protocol
