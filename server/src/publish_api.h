// server/src/publish_api.h — POST /api/v1/publish without sockets (PROTOCOL.md §13, §14): a
// backend's execution_update / node_update messages become room events.
//
// The body is one publish message or a JSON array of them (a batch, at most
// kMaxPublishBatch). Everything is validated before anything is applied: a malformed message,
// or a node_update naming a node its workflow document does not have, refuses the whole request
// (400 / 404) and changes nothing. Then each message, in order, gets its room's next seq and
// the time, goes into the room log (history + store) and to the room's members, like any room
// event; a node_update also changes the node in the room's document (Document::apply_status)
// and stores it (PutNode). Rooms without members are opened for this and released after.
//
// Rooms that are not live are read from the store with the loop pass's reads (Hub::
// when_rooms_loaded): the HTTP callback never waits for the store, and a node_update naming a
// room that was never stored is refused without creating it.
//
// Durability: the answer is given only once the events are stored — after the group commit
// that carries them and anything else the loop pass queued (Hub::after_commit). While the store
// fails the answer waits, as acks do; if the server gives the store up it answers 503 (the
// events were applied in memory but not stored; the server is stopping).
//
// Authorization (Bearer publish_api_key) is checked by HttpApi before publish() is called.
#pragma once

#include <cstddef>
#include <string_view>

#include "http_api.h"
#include "hub.h"

namespace tandem::server {

// Messages in one batch request.
inline constexpr std::size_t kMaxPublishBatch = 256;

// Applies a publish body (already authorized) to the hub's rooms and answers it.
// 200 {"room","epoch","seq"} for one message, 200 {"results":[...]} for a batch;
// 400 {"error":code,"message"} (bad_json, invalid_message, unknown_type, too_big), 404 (unknown
// node), 503 (a room could not be read, or the store was given up). `respond` is called once,
// at once or from a later loop pass.
//
// With several instances the rooms must run on one instance: here, or on another, which the
// body is forwarded to (Hub::forward_publish) and whose answer is given. A batch whose rooms
// run on different instances is refused (409 conflict, nothing published): publish them in
// separate requests. `forwarded`: the body came from another instance, which thought this
// one ran the rooms — if a room moved meanwhile, 503 (retry), never forwarded again.
void publish(Hub& hub, std::string_view body, Now now, HttpApi::Respond respond, bool forwarded = false);

}  // namespace tandem::server
