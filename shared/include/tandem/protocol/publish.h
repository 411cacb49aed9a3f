// tandem/protocol/publish.h — the published-events family: events a backend pushes into rooms
// through POST /api/v1/publish, broadcast by the server as room events (PROTOCOL.md §13).
//
// The HTTP body is the message without seq/ts (decode_publish); the server stamps both and
// sends it to subscribers like any server message (encode_server / decode_server).
// PublishedNodeUpdate shares the type string "node_update" with the client's edit request
// NodeUpdate; direction tells them apart.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "tandem/json.h"
#include "tandem/protocol/documents.h"
#include "tandem/protocol/enums.h"
#include "tandem/result.h"

namespace tandem::protocol {

enum class ExecutionStatus { Queued, Running, Succeeded, Failed, Cancelled };

template <>
struct EnumNames<ExecutionStatus> {
  static constexpr std::array<std::pair<ExecutionStatus, std::string_view>, 5> table{{
      {ExecutionStatus::Queued, "queued"},
      {ExecutionStatus::Running, "running"},
      {ExecutionStatus::Succeeded, "succeeded"},
      {ExecutionStatus::Failed, "failed"},
      {ExecutionStatus::Cancelled, "cancelled"},
  }};
};

// Room event: progress of a workflow run (any room kind).
struct ExecutionUpdate {
  static constexpr const char* kType = "execution_update";
  std::string room;
  std::string execution;               // run id
  ExecutionStatus status = ExecutionStatus::Queued;
  std::optional<std::string> node;     // node being executed
  std::optional<double> progress;      // 0 .. 1
  std::optional<std::string> message;  // ≤ 1024 bytes, for humans
  std::optional<std::string> data;     // any JSON value text, ≤ bounds::max_node_data_bytes
  std::int64_t seq = 0;                // stamped by the server (absent in the HTTP body)
  std::int64_t ts = 0;
  std::optional<std::int64_t> completed_nodes{};  // nodes finished so far (≤ total_nodes when both given)
  std::optional<std::int64_t> total_nodes{};      // nodes in the run
  bool operator==(const ExecutionUpdate&) const = default;
};

// Room event (workflow: rooms): a node's run status and/or data, also applied to the document.
struct PublishedNodeUpdate {
  static constexpr const char* kType = "node_update";
  std::string room;
  std::string node;
  std::optional<NodeStatus> status;  // at least one of status, data
  std::optional<std::string> data;   // JSON object text, replaces the node's data
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool operator==(const PublishedNodeUpdate&) const = default;
};

// What POST /api/v1/publish accepts.
using PublishMessage = std::variant<ExecutionUpdate, PublishedNodeUpdate>;

// Decodes an HTTP publish body (one JSON object; seq/ts are ignored if present and left 0).
// Errors as decode_client: bad_json, invalid_message, unknown_type, too_big.
Result<PublishMessage> decode_publish(std::string_view body);

// Reads only the body fields (no seq/ts): used by decode_publish.
void read_body(json::Fields& f, ExecutionUpdate& m);
void read_body(json::Fields& f, PublishedNodeUpdate& m);
// Writes only the body fields: what a backend (or a test) POSTs.
std::string encode_publish(const PublishMessage& message);

void read(json::Fields& f, ExecutionUpdate& m);
void write(json::JsonWriter& w, const ExecutionUpdate& m);
void read(json::Fields& f, PublishedNodeUpdate& m);
void write(json::JsonWriter& w, const PublishedNodeUpdate& m);

}  // namespace tandem::protocol
