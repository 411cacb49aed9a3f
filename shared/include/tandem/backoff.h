// tandem/backoff.h — how long to wait before the next reconnect attempt: exponential growth
// with jitter, capped, reset once a connection has proved stable.
//
// Jitter spreads the reconnects of many clients that lost the same server at the same moment,
// so a restarted server is not hit by all of them in the same millisecond. Randomness comes in
// through tandem::Rng, so a scripted Rng makes every delay predictable in tests.
#pragma once

#include <optional>

#include "tandem/clock.h"
#include "tandem/result.h"

namespace tandem {

struct BackoffConfig {
  // First delay: short enough that a blip is invisible, long enough not to hammer a server
  // that is refusing connections.
  Millis initial{500};
  // Each further attempt waits `factor` times longer than the previous one.
  double factor = 2.0;
  // No delay exceeds this (jitter included): a user who comes back after an outage waits at
  // most this long for the client to notice the server is back.
  Millis cap{30'000};
  // Each delay is the nominal one times a uniform factor in [1 - jitter, 1 + jitter].
  double jitter = 0.5;
};

// Checks a config once at start-up; the Error's message names the bad field.
std::optional<Error> validate(const BackoffConfig& config);

class Backoff {
 public:
  explicit Backoff(BackoffConfig config = {});

  // The delay before the next attempt, and counts the attempt. Nominal delay of attempt n
  // (0-based) is min(cap, initial * factor^n); the result is that times a jitter factor drawn
  // from `rng`, never above cap and never negative.
  Millis next_delay(Rng& rng);

  // The nominal (unjittered) delay the next call to next_delay() is centred on.
  Millis nominal_delay() const;

  // Back to the initial delay; call once a connection has been stable.
  void reset();

  // How many delays were handed out since construction or the last reset().
  int attempts() const { return attempts_; }

  const BackoffConfig& config() const { return config_; }

 private:
  BackoffConfig config_;
  int attempts_ = 0;
};

}  // namespace tandem
