// backoff.cpp — exponential reconnect delays with jitter (see tandem/backoff.h).
#include "tandem/backoff.h"

#include <algorithm>
#include <string>

namespace tandem {

std::optional<Error> validate(const BackoffConfig& config) {
  auto invalid = [](std::string message) { return Error{"invalid_config", "backoff: " + std::move(message)}; };
  if (config.initial.count() <= 0) return invalid("initial must be > 0 ms");
  if (!(config.factor >= 1.0)) return invalid("factor must be >= 1");
  if (config.cap < config.initial) return invalid("cap must be >= initial");
  if (!(config.jitter >= 0.0 && config.jitter < 1.0)) return invalid("jitter must be in [0, 1)");
  return std::nullopt;
}

Backoff::Backoff(BackoffConfig config) : config_(config) {}

namespace {

// A delay in whole ms: the nearest, halves up (delays are never negative). Not std::llround,
// whose libm code the browser's wasm would carry for this alone.
Millis round_ms(double ms) { return Millis{static_cast<Millis::rep>(ms + 0.5)}; }

}  // namespace

Millis Backoff::nominal_delay() const {
  // initial × factor^attempts by multiplying, stopping once at the cap: no overflow however
  // many attempts, and no std::pow (libm's pow was ~1.3 KB gzipped of the browser client,
  // issue 18).
  const double cap = static_cast<double>(config_.cap.count());
  double nominal = static_cast<double>(config_.initial.count());
  for (int i = 0; i < attempts_ && nominal < cap && config_.factor > 1.0; ++i) nominal *= config_.factor;
  return round_ms(std::min(nominal, cap));
}

Millis Backoff::next_delay(Rng& rng) {
  const double nominal = static_cast<double>(nominal_delay().count());
  const double spread = 2.0 * rng.uniform01() - 1.0;  // uniform in [-1, 1)
  const double jittered = nominal * (1.0 + config_.jitter * spread);
  const double bounded = std::clamp(jittered, 0.0, static_cast<double>(config_.cap.count()));
  if (attempts_ < 1'000'000) ++attempts_;  // saturate: the delay is long since at the cap
  return round_ms(bounded);
}

void Backoff::reset() { attempts_ = 0; }

}  // namespace tandem
