// wasm-client/canvas/round_trip_probe.h — measures the application-level round trip to
// tandem-server: while the connection is open, one app ping ({"type":"ping","id"}) at a time,
// timed from the moment it is handed to the client until its pong (which carries the same id)
// comes back. This is what a user's edits feel like, queueing in the server included —
// unlike WebSocket ping frames, which browsers cannot see anyway.
#pragma once

#include <functional>
#include <optional>

#include "tandem/client.h"
#include "tandem/clock.h"

namespace canvas {

class RoundTripProbe {
 public:
  // Reads the driver's monotonic clock. Read again when the pong arrives (not at the next
  // frame), so the figure is not rounded up to the frame interval.
  using ClockFunction = std::function<tandem::Millis()>;

  // `interval`: pause between an answer and the next ping. 2 s keeps the figure fresh for a
  // person watching it at the cost of ~60 bytes each way.
  explicit RoundTripProbe(ClockFunction clock, tandem::Millis interval = tandem::Millis{2000});

  // Sends a ping through `client` when it is open, none is in flight and the pause has passed.
  // The probe must outlive the client's pending request (declare it before the client).
  void tick(tandem::Client& client);

  // The latest measured round trip; nullopt until the first pong.
  std::optional<tandem::Millis> last_round_trip() const { return last_; }

 private:
  void handle_answer(const tandem::Result<tandem::protocol::ServerFrame>& answer);

  ClockFunction clock_;
  tandem::Millis interval_;
  std::optional<tandem::Millis> sent_at_;  // set while a ping is in flight
  tandem::Millis next_ping_at_{0};
  std::optional<tandem::Millis> last_;
};

}  // namespace canvas
