// tandem/clock.h — time and randomness as the core sees them: injected, never read directly.
//
// The core never calls a clock or an RNG itself. Drivers (the native loop, the browser loop,
// tests) pass `now` into `tick(now)` and event handlers, and hand an Rng to whatever needs
// jitter, so every state machine is deterministic under test.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace tandem {

// Milliseconds since an arbitrary, monotonic origin chosen by the driver.
using Millis = std::chrono::milliseconds;

// Milliseconds since the Unix epoch, for wall-clock fields on the wire (ts, exp, expires_at).
using UnixMillis = std::int64_t;

// Source of uniform numbers in [0, 1). Tests inject a fixed sequence; drivers a seeded engine.
class Rng {
 public:
  virtual ~Rng() = default;
  virtual double uniform01() = 0;
};

// The default Rng: a Mersenne twister seeded once by the driver.
class SeededRng final : public Rng {
 public:
  explicit SeededRng(std::uint64_t seed) : engine_(seed) {}
  double uniform01() override { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace tandem
