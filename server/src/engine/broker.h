// server/src/engine/broker.h — the broker: fan-out of a room's messages to the connections
// subscribed to it. Two kinds: publish() for durable room events (they have a seq and are in
// the room log) and broadcast() for ephemeral messages (presence, typing). Handlers reach it
// as hub.broker() — room events through RoomRegistry::emit — and never learn which broker
// runs. One implementation today: LocalBroker (engine/local_broker.h), this process's members.
//
// EXPIRY: none — the broker keeps neither subscriptions nor messages. Who receives is the
//   room's membership (RoomRegistry: join, leave, disconnect); what was missed is served from
//   the room log (Room::history and the store), never from the broker.
// ORDERING: the room log assigns seqs and publishes each event before the next, so every
//   subscriber receives a room's events in seq order. Per connection, everything the hub
//   queues (publications, broadcasts, direct replies) keeps the order it was handed over; a
//   frame queued after one held for the commit waits behind it. One exception: a broadcast
//   with a state key replaces a still-queued one with the same key (frame_queue.h).
// DELIVERY: publish() delivers once the group commit carrying the event has succeeded, never
//   before it is durable (at once when the hub has no store). If the hub gives up that commit
//   (kStoreRetries failures), the event is never delivered and every connection is closed
//   1011. broadcast() delivers at once, at most once, and stores nothing. A subscriber that
//   cannot keep up is closed 4508 (slow consumer) and recovers with `subscribe {since}`.
// FAILURE: a recipient's trouble never fails the publisher; LocalBroker itself cannot fail. A
//   broker spanning processes that loses its link must make its subscribers resubscribe with
//   `since` (recovered:false beyond the history) rather than drop events silently.
// THREADING: the loop thread only.
//
// Serialize once: callers encode a message once (encode_once) and the same bytes reach every
// recipient's queue.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "../frame_queue.h"
#include "tandem/protocol/codec.h"

namespace tandem::server {

using ConnectionId = std::uint64_t;  // the hub's connection id (hub.h declares the same alias)

struct BroadcastOptions {
  std::optional<ConnectionId> except = std::nullopt;  // a member left out (the sender of a diff or typing)
  StateKey key = nullptr;  // marks a latest-state message: it replaces a still-queued one with this key
};

class Broker {
 public:
  virtual ~Broker() = default;

  // Room event `seq` of `room`, already in the room log and in the current write batch: every
  // subscriber gets `frame` once the batch is committed (see DELIVERY).
  virtual void publish(std::string_view room, std::int64_t seq, const Bytes& frame) = 0;
  // An ephemeral message: every subscriber (but options.except) gets `frame` at once.
  virtual void broadcast(std::string_view room, const Bytes& frame, const BroadcastOptions& options) = 0;
};

// `message` encoded once, without a request id: the bytes publish() and broadcast() share
// between every recipient.
inline Bytes encode_once(const protocol::ServerMessage& message) {
  return std::make_shared<const std::string>(protocol::encode(protocol::ServerFrame{std::nullopt, message}));
}

}  // namespace tandem::server
