// server/src/engine/local_broker.h — the in-process Broker (engine/broker.h has the contract):
// a room's subscribers are this process's members of the room (RoomRegistry), reached through
// the hub's outbound queues. publish() uses Hub::send_after_commit, so room events wait for the
// group commit; broadcast() uses Hub::send. The same Bytes go into every member's queue.
#pragma once

#include <cstdint>
#include <string_view>

#include "broker.h"

namespace tandem::server {

class Hub;

class LocalBroker final : public Broker {
 public:
  // Keeps a reference: the hub owns the broker and outlives it.
  explicit LocalBroker(Hub& hub) : hub_(hub) {}

  void publish(std::string_view room, std::int64_t seq, const Bytes& frame) override;
  void broadcast(std::string_view room, const Bytes& frame, const BroadcastOptions& options) override;

 private:
  Hub& hub_;
};

}  // namespace tandem::server
