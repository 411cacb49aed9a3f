// backoff.cpp — exponential reconnect delays with jitter (see tandem/backoff.h).
#include "tandem/backoff.h"

#include <algorithm>
#include <cmath>
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

Millis Backoff::nominal_delay() const {
  // Computed in double: factor^attempts overflows to +inf after enough attempts, and min()
  // with the cap then still gives the cap.
  const double cap = static_cast<double>(config_.cap.count());
  const double nominal = static_cast<double>(config_.initial.count()) * std::pow(config_.factor, attempts_);
  return Millis{static_cast<Millis::rep>(std::llround(std::min(nominal, cap)))};
}

Millis Backoff::next_delay(Rng& rng) {
  const double nominal = static_cast<double>(nominal_delay().count());
  const double spread = 2.0 * rng.uniform01() - 1.0;  // uniform in [-1, 1)
  const double jittered = nominal * (1.0 + config_.jitter * spread);
  const double bounded = std::clamp(jittered, 0.0, static_cast<double>(config_.cap.count()));
  if (attempts_ < 1'000'000) ++attempts_;  // saturate: the delay is long since at the cap
  return Millis{static_cast<Millis::rep>(std::llround(bounded))};
}

void Backoff::reset() { attempts_ = 0; }

}  // namespace tandem
