// wasm-client/canvas/round_trip_probe.cpp — app ping timing (round_trip_probe.h).
#include "round_trip_probe.h"

#include <utility>
#include <variant>

namespace canvas {

RoundTripProbe::RoundTripProbe(ClockFunction clock, tandem::Millis interval)
    : clock_(std::move(clock)), interval_(interval) {}

void RoundTripProbe::tick(tandem::Client& client) {
  const tandem::Millis now = clock_();
  if (sent_at_ || client.state() != tandem::State::Open || now < next_ping_at_) return;
  sent_at_ = now;
  // A request (with an id), not a fire-and-forget send: the outbox matches the pong to it and
  // fails it on timeout or close, so the probe never waits forever for a lost ping. (Refused
  // as queue_full, the callback has already run and cleared sent_at_.)
  client.request(tandem::protocol::Ping{},
                 [this](tandem::Result<tandem::protocol::ServerFrame> answer) {
                   handle_answer(answer);
                 });
}

void RoundTripProbe::handle_answer(const tandem::Result<tandem::protocol::ServerFrame>& answer) {
  const tandem::Millis now = clock_();
  if (answer.ok() && sent_at_ &&
      std::holds_alternative<tandem::protocol::Pong>(answer.value().message)) {
    last_ = now - *sent_at_;
  }
  // An error (timeout, closed) just ends this probe; the next one starts after the pause.
  sent_at_.reset();
  next_ping_at_ = now + interval_;
}

}  // namespace canvas
