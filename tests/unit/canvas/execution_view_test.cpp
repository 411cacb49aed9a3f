// execution_view_test.cpp — the execution panel's rows: the bar fraction from node counts,
// progress or what was remembered, the progress and detail texts, newest-first order, and the
// updates reported once each.
#include "execution_view.h"

#include <gtest/gtest.h>

namespace canvas {
namespace {

using tandem::protocol::ExecutionStatus;
using tandem::protocol::ExecutionUpdate;

ExecutionUpdate update(std::string id, ExecutionStatus status, std::int64_t seq) {
  ExecutionUpdate u;
  u.room = "workflow:42";
  u.execution = std::move(id);
  u.status = status;
  u.seq = seq;
  return u;
}

TEST(execution_view_test, node_counts_give_the_fraction_and_the_progress_text) {
  auto u = update("run-7", ExecutionStatus::Running, 10);
  u.completed_nodes = 2;
  u.total_nodes = 5;
  u.progress = 0.9;  // the counts win
  u.node = "n3";
  u.message = "fetching page 2";
  const auto row = execution_row(u, std::nullopt, "Fetch orders");
  EXPECT_FLOAT_EQ(row.fraction, 0.4f);
  EXPECT_EQ(row.progress, "2/5 nodes · 40%");
  EXPECT_EQ(row.detail, "at Fetch orders · fetching page 2");
  EXPECT_EQ(execution_line(row), "run-7 running 2/5 nodes · 40% at Fetch orders · fetching page 2");
}

TEST(execution_view_test, progress_remembered_or_implied_by_success) {
  auto u = update("run-1", ExecutionStatus::Running, 1);
  u.progress = 0.25;
  EXPECT_EQ(execution_row(u, std::nullopt, "").progress, "25%");
  u.progress.reset();
  EXPECT_FLOAT_EQ(execution_row(u, 0.6, "").fraction, 0.6f);
  EXPECT_FLOAT_EQ(execution_row(u, std::nullopt, "").fraction, 0.0f);
  u.status = ExecutionStatus::Succeeded;
  EXPECT_EQ(execution_row(u, std::nullopt, "").progress, "100%");
  u.node = "n9";
  EXPECT_EQ(execution_row(u, std::nullopt, "").detail, "at n9");  // no label: the id
}

TEST(execution_view_test, zero_total_nodes_and_out_of_range_progress_stay_in_the_bar) {
  auto u = update("run-2", ExecutionStatus::Queued, 1);
  u.completed_nodes = 0;
  u.total_nodes = 0;
  EXPECT_FLOAT_EQ(execution_row(u, std::nullopt, "").fraction, 0.0f);
  EXPECT_EQ(execution_row(u, std::nullopt, "").progress, "0/0 nodes · 0%");
  u.completed_nodes.reset();
  u.progress = 1.5;
  EXPECT_FLOAT_EQ(execution_row(u, std::nullopt, "").fraction, 1.0f);
}

TEST(execution_rows_test, newest_first_with_labels_and_remembered_progress) {
  ExecutionRows rows;
  std::map<std::string, ExecutionUpdate> executions;
  auto a = update("run-a", ExecutionStatus::Running, 3);
  a.progress = 0.5;
  a.node = "n1";
  executions["run-a"] = a;
  executions["run-b"] = update("run-b", ExecutionStatus::Queued, 4);
  const auto& shown = rows.update(executions, [](const std::string& id) { return id == "n1" ? "Start" : id; });
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(shown[0].execution, "run-b");
  EXPECT_EQ(shown[1].detail, "at Start");

  // The next update of run-a carries no progress: the last one given is kept.
  auto later = update("run-a", ExecutionStatus::Running, 5);
  later.message = "still going";
  executions["run-a"] = later;
  rows.update(executions);
  ASSERT_EQ(rows.rows()[0].execution, "run-a");
  EXPECT_FLOAT_EQ(rows.rows()[0].fraction, 0.5f);
  EXPECT_EQ(rows.rows()[0].detail, "still going");
}

TEST(execution_rows_test, each_update_is_reported_once_oldest_first) {
  ExecutionRows rows;
  std::map<std::string, ExecutionUpdate> executions{{"run-a", update("run-a", ExecutionStatus::Running, 3)},
                                                    {"run-b", update("run-b", ExecutionStatus::Queued, 4)}};
  rows.update(executions);
  auto changed = rows.take_changed();
  ASSERT_EQ(changed.size(), 2u);
  EXPECT_EQ(changed[0].execution, "run-a");
  EXPECT_EQ(changed[1].execution, "run-b");
  rows.update(executions);
  EXPECT_TRUE(rows.take_changed().empty());
  executions["run-a"] = update("run-a", ExecutionStatus::Succeeded, 6);
  rows.update(executions);
  changed = rows.take_changed();
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].status, ExecutionStatus::Succeeded);
}

}  // namespace
}  // namespace canvas
