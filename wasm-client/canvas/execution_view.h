// wasm-client/canvas/execution_view.h — the execution panel's logic without Dear ImGui: one row
// per execution (its latest execution_update, PROTOCOL.md §13) with status, bar fraction and
// the progress text, newest first, and which updates are new since the last frame (for stdout).
// Unit-tested in tests/unit/canvas/execution_view_test.cpp; execution_panel.h draws the rows.
// Recolouring nodes by status is the graph view's job, not this one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tandem/protocol/publish.h"

namespace canvas {

struct ExecutionRow {
  std::string execution;                      // run id
  tandem::protocol::ExecutionStatus status = tandem::protocol::ExecutionStatus::Queued;
  float fraction = 0;                         // 0..1, the bar's fill
  std::string progress;                       // "2/5 nodes · 40%", or "40%"
  std::string detail;                         // "at Fetch orders · fetching page 2" (may be empty)
  std::int64_t seq = 0;                       // of the update shown
};

// The row for `update`. The fraction is completed/total when both are given, else `progress`,
// else `remembered` (an update may leave progress out), else 1 for succeeded and 0 otherwise.
// `node_label` names the node the run is at (its label, or the id when it has none).
ExecutionRow execution_row(const tandem::protocol::ExecutionUpdate& update, std::optional<double> remembered,
                           const std::string& node_label);

// "run-7 running 2/5 nodes · 40% at n2 · fetching page 2": one row as a line of text.
std::string execution_line(const ExecutionRow& row);

// Rows for a room's executions (RoomReplica::executions()), newest update first; remembers each
// execution's last known fraction for updates that carry none.
class ExecutionRows {
 public:
  // `node_label` turns a node id into what to show (the document's label); may be empty.
  using NodeLabel = std::function<std::string(const std::string& node_id)>;

  const std::vector<ExecutionRow>& update(const std::map<std::string, tandem::protocol::ExecutionUpdate>& executions,
                                          const NodeLabel& node_label = {});
  const std::vector<ExecutionRow>& rows() const { return rows_; }
  // The rows whose update is newer than at the last call (every row the first time).
  std::vector<ExecutionRow> take_changed();

 private:
  std::map<std::string, double> fractions_;  // execution id -> last fraction given
  std::map<std::string, std::int64_t> reported_seq_;
  std::vector<ExecutionRow> rows_;
};

}  // namespace canvas
