// backoff_test.cpp — reconnect delays: bounds, spread, growth, cap, reset, determinism.
#include "tandem/backoff.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "fakes.h"

using namespace tandem;
using tandem::testing::ScriptedRng;

namespace {
// Nominal delay of attempt n under the default config: 500 ms doubling, capped at 30 s.
double nominal_ms(int attempt) { return std::min(500.0 * std::pow(2.0, attempt), 30'000.0); }
}  // namespace

TEST(backoff_test, defaults_match_the_contract) {
  const BackoffConfig config;
  EXPECT_EQ(config.initial, Millis{500});
  EXPECT_EQ(config.factor, 2.0);
  EXPECT_EQ(config.cap, Millis{30'000});
  EXPECT_EQ(config.jitter, 0.5);
  EXPECT_FALSE(validate(config).has_value());
}

TEST(backoff_test, without_jitter_doubles_from_initial_up_to_the_cap) {
  Backoff backoff;
  ScriptedRng centre({0.5});  // 0.5 is the centre of [1 - j, 1 + j]
  const std::vector<long> expected = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
  for (long ms : expected) EXPECT_EQ(backoff.next_delay(centre).count(), ms);
  EXPECT_EQ(backoff.attempts(), static_cast<int>(expected.size()));
}

TEST(backoff_test, every_delay_stays_within_jitter_bounds_and_under_the_cap) {
  Backoff backoff;
  SeededRng rng(42);
  for (int attempt = 0; attempt < 40; ++attempt) {
    const double d = nominal_ms(attempt);
    const auto delay = static_cast<double>(backoff.next_delay(rng).count());
    EXPECT_GE(delay, std::floor(d * 0.5)) << "attempt " << attempt;
    EXPECT_LE(delay, std::ceil(d * 1.5)) << "attempt " << attempt;
    EXPECT_LE(delay, 30'000.0) << "attempt " << attempt;
  }
}

TEST(backoff_test, extreme_rng_values_hit_the_jitter_edges) {
  ScriptedRng low({0.0});
  ScriptedRng high({0.999999});
  Backoff a, b;
  EXPECT_EQ(a.next_delay(low).count(), 250);   // 500 * (1 - 0.5)
  EXPECT_EQ(b.next_delay(high).count(), 750);  // 500 * (1 + 0.5), rounded
  // At the cap the upper half of the jitter is cut off: never above 30 s.
  for (int i = 0; i < 10; ++i) b.next_delay(high);
  EXPECT_EQ(b.next_delay(high).count(), 30'000);
  for (int i = 0; i < 10; ++i) a.next_delay(low);
  EXPECT_EQ(a.next_delay(low).count(), 15'000);
}

TEST(backoff_test, different_rng_values_spread_the_delays_around_the_nominal_one) {
  SeededRng rng(7);
  std::set<long> distinct;
  double sum = 0;
  constexpr int kSamples = 2000;
  for (int i = 0; i < kSamples; ++i) {
    Backoff backoff;  // always the first attempt: nominal 500 ms
    const long ms = backoff.next_delay(rng).count();
    distinct.insert(ms);
    sum += static_cast<double>(ms);
  }
  EXPECT_GT(distinct.size(), 200u);  // 501 possible values in [250, 750]
  EXPECT_NEAR(sum / kSamples, 500.0, 15.0);
}

TEST(backoff_test, same_rng_script_gives_the_same_delays) {
  ScriptedRng first({0.1, 0.9, 0.3, 0.7});
  ScriptedRng second({0.1, 0.9, 0.3, 0.7});
  Backoff a, b;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a.next_delay(first), b.next_delay(second));
}

TEST(backoff_test, reset_returns_to_the_initial_delay) {
  Backoff backoff;
  ScriptedRng centre;
  for (int i = 0; i < 5; ++i) backoff.next_delay(centre);
  EXPECT_EQ(backoff.nominal_delay(), Millis{16'000});
  backoff.reset();
  EXPECT_EQ(backoff.attempts(), 0);
  EXPECT_EQ(backoff.next_delay(centre), Millis{500});
}

TEST(backoff_test, many_attempts_do_not_overflow) {
  Backoff backoff;
  ScriptedRng centre;
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(backoff.next_delay(centre).count(), i < 6 ? 500L << i : 30'000L);
}

TEST(backoff_test, validate_names_the_bad_field) {
  BackoffConfig config;
  config.jitter = 1.5;
  auto error = validate(config);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->message.find("jitter"), std::string::npos);
  config = {};
  config.cap = Millis{100};
  error = validate(config);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->message.find("cap"), std::string::npos);
}
