// server/src/engine/local_broker.cpp — fan-out to this process's room members (see
// local_broker.h).
#include "local_broker.h"

#include "../hub.h"

namespace tandem::server {

// No use for `seq` here: the frame carries it, and the room log already calls in seq order.
void LocalBroker::publish(std::string_view room, std::int64_t /*seq*/, const Bytes& frame) {
  for (ConnectionId id : hub_.rooms().members(room))
    if (Connection* c = hub_.find(id)) hub_.send_after_commit(*c, frame);
}

void LocalBroker::broadcast(std::string_view room, const Bytes& frame, const BroadcastOptions& options) {
  for (ConnectionId id : hub_.rooms().members(room)) {
    if (options.except && *options.except == id) continue;
    if (Connection* c = hub_.find(id)) hub_.send(*c, frame, options.key);
  }
}

}  // namespace tandem::server
