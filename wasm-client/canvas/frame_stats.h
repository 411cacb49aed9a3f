// wasm-client/canvas/frame_stats.h — frame time statistics for --frame-stats N: collects the
// time each frame took to build and draw (main() measures it up to glFinish, so software GL's
// rasterising is included) and, every N frames, summarises them (mean, p95, max). Pure; tested
// in tests/unit/canvas/frame_stats_test.cpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <vector>

namespace canvas {

struct FrameSummary {
  std::size_t frames = 0;
  double mean_ms = 0;
  double p95_ms = 0;  // the frame time 95 % of the frames stayed at or under
  double max_ms = 0;
};

class FrameStats {
 public:
  explicit FrameStats(std::size_t window) : window_(window) { samples_.reserve(window); }

  // Adds one frame's time; returns the summary of the window when it is full (then starts anew).
  std::optional<FrameSummary> add(double frame_ms) {
    samples_.push_back(frame_ms);
    if (window_ == 0 || samples_.size() < window_) return std::nullopt;
    FrameSummary summary;
    summary.frames = samples_.size();
    double total = 0;
    for (const double sample : samples_) total += sample;
    summary.mean_ms = total / static_cast<double>(samples_.size());
    std::sort(samples_.begin(), samples_.end());
    const std::size_t p95_index = (samples_.size() * 95 + 99) / 100 - 1;  // nearest rank
    summary.p95_ms = samples_[std::min(p95_index, samples_.size() - 1)];
    summary.max_ms = samples_.back();
    samples_.clear();
    return summary;
  }

 private:
  std::size_t window_;
  std::vector<double> samples_;
};

}  // namespace canvas
