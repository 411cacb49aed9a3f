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
// Durability: the answer is given only once the events are stored. publish() runs on the loop
// thread (an HTTP callback) and calls Hub::commit() itself before answering, so the group commit
// carries the events — and anything else this loop pass queued — before the 200. A commit that
// fails (the hub keeps and retries it) is answered 503: the events are in memory and will be
// stored and delivered when the store recovers, so the backend must not resend blindly.
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
// node), 503 (not stored yet, see above).
HttpResponse publish(Hub& hub, std::string_view body, Now now);

}  // namespace tandem::server
