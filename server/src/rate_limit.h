// server/src/rate_limit.h — one connection's message rate limit (PROTOCOL.md §17): a token
// bucket of `burst` messages refilled at `per_sec`, and the count of messages it refused within
// a window, for the close that repeated violations earn (4429).
//
// Plain data driven by the caller's clock (Hub::receive, once per message as it arrives): a
// message takes a token or is refused; a refusal is a violation. Nothing here sends or closes.
#pragma once

#include <algorithm>

#include "tandem/clock.h"

namespace tandem::server {

class RateLimit {
 public:
  // True when the message may pass (it took a token). The bucket starts full.
  bool take(Millis now, double per_sec, double burst) {
    if (!started_) {
      started_ = true;
      tokens_ = burst;
    } else {
      tokens_ = std::min(burst, tokens_ + per_sec * static_cast<double>((now - refilled_at_).count()) / 1000.0);
    }
    refilled_at_ = now;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  // Counts a refused message; true once more than `max` were refused within `window` (the
  // window starts at the first refusal after the previous window ended).
  bool violation(Millis now, int max, Millis window) {
    if (violations_ == 0 || now - window_start_ >= window) {
      window_start_ = now;
      violations_ = 0;
    }
    return ++violations_ > max;
  }

 private:
  bool started_ = false;
  double tokens_ = 0;
  Millis refilled_at_{0};
  int violations_ = 0;
  Millis window_start_{0};
};

}  // namespace tandem::server
