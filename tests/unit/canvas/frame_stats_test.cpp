// frame_stats_test.cpp — the --frame-stats summary: nothing until the window is full, then
// mean, nearest-rank p95 and max, and a fresh window after each summary.
#include "frame_stats.h"

#include <gtest/gtest.h>

namespace canvas {
namespace {

TEST(frame_stats_test, summarises_each_full_window) {
  FrameStats stats(20);
  std::optional<FrameSummary> summary;
  for (int i = 1; i <= 20; ++i) {
    summary = stats.add(static_cast<double>(i));
    if (i < 20) {
      EXPECT_FALSE(summary);
    }
  }
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->frames, 20u);
  EXPECT_DOUBLE_EQ(summary->mean_ms, 10.5);
  EXPECT_DOUBLE_EQ(summary->p95_ms, 19);  // rank ceil(0.95 * 20) = 19
  EXPECT_DOUBLE_EQ(summary->max_ms, 20);
  EXPECT_FALSE(stats.add(1.0));  // a new window begins
}

TEST(frame_stats_test, a_zero_window_never_summarises) {
  FrameStats stats(0);
  EXPECT_FALSE(stats.add(5.0));
}

}  // namespace
}  // namespace canvas
