// wasm-client/canvas/execution_view.cpp — the execution panel's logic (see execution_view.h).
#include "execution_view.h"

#include <algorithm>
#include <cmath>

namespace canvas {

using tandem::protocol::ExecutionStatus;
using tandem::protocol::ExecutionUpdate;

namespace {

// The fraction an update itself states, if any.
std::optional<double> stated_fraction(const ExecutionUpdate& update) {
  if (update.completed_nodes && update.total_nodes && *update.total_nodes > 0) {
    return static_cast<double>(*update.completed_nodes) / static_cast<double>(*update.total_nodes);
  }
  return update.progress;
}

}  // namespace

ExecutionRow execution_row(const ExecutionUpdate& update, std::optional<double> remembered,
                           const std::string& node_label) {
  ExecutionRow row;
  row.execution = update.execution;
  row.status = update.status;
  row.seq = update.seq;
  std::optional<double> fraction = stated_fraction(update);
  if (!fraction) fraction = remembered;
  if (!fraction && update.status == ExecutionStatus::Succeeded) fraction = 1.0;
  row.fraction = static_cast<float>(std::clamp(fraction.value_or(0.0), 0.0, 1.0));

  const std::string percent = std::to_string(static_cast<int>(std::lround(row.fraction * 100))) + "%";
  row.progress = update.completed_nodes && update.total_nodes
                     ? std::to_string(*update.completed_nodes) + "/" + std::to_string(*update.total_nodes) +
                           " nodes · " + percent
                     : percent;
  if (update.node) row.detail = "at " + (node_label.empty() ? *update.node : node_label);
  if (update.message && !update.message->empty()) {
    row.detail += (row.detail.empty() ? "" : " · ") + *update.message;
  }
  return row;
}

std::string execution_line(const ExecutionRow& row) {
  std::string line = row.execution + " " + std::string(tandem::protocol::to_string(row.status)) + " " + row.progress;
  if (!row.detail.empty()) line += " " + row.detail;
  return line;
}

const std::vector<ExecutionRow>& ExecutionRows::update(const std::map<std::string, ExecutionUpdate>& executions,
                                                       const NodeLabel& node_label) {
  rows_.clear();
  for (const auto& [id, update] : executions) {
    std::optional<double> remembered;
    if (const auto known = fractions_.find(id); known != fractions_.end()) remembered = known->second;
    const std::string label = update.node && node_label ? node_label(*update.node) : std::string();
    rows_.push_back(execution_row(update, remembered, label));
    if (const auto stated = stated_fraction(update)) fractions_[id] = *stated;
  }
  std::sort(rows_.begin(), rows_.end(), [](const ExecutionRow& a, const ExecutionRow& b) { return a.seq > b.seq; });
  return rows_;
}

std::vector<ExecutionRow> ExecutionRows::take_changed() {
  std::vector<ExecutionRow> changed;
  for (auto row = rows_.rbegin(); row != rows_.rend(); ++row) {  // oldest first
    auto& reported = reported_seq_[row->execution];
    if (row->seq > reported) {
      reported = row->seq;
      changed.push_back(*row);
    }
  }
  return changed;
}

}  // namespace canvas
