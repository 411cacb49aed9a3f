// wait.h — the one way integration tests wait: poll something until a condition holds or a
// deadline passes. There are no bare sleeps in these tests; every wait names its deadline.
#pragma once

#include <chrono>
#include <functional>

namespace tandem::integration {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Generous deadlines: they only bound a failing test, a passing one returns as soon as the
// condition holds. Sized for a loaded 2-core machine running sanitizers.
inline constexpr milliseconds kStepDeadline{5000};

// Calls `pump` (which should block briefly waiting for activity, e.g. transport.poll(20ms))
// until `done` returns true or `timeout` has passed. Returns the final value of done().
inline bool pump_until(const std::function<bool()>& done, const std::function<void()>& pump,
                       milliseconds timeout = kStepDeadline) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return done();
    pump();
  }
  return true;
}

}  // namespace tandem::integration
