// tandem/protocol/broadcast.h — the broadcast family: an app-defined event ("dragging",
// "reaction", any ephemeral UI signal) sent to every member of a room (PROTOCOL.md §12a
// Broadcast). Ephemeral like typing and signals: no seq, never stored, never replayed.
//
// "broadcast" is the type string in both directions: BroadcastSend goes client → server,
// BroadcastMessage server → client.
#pragma once

#include <optional>
#include <string>

#include "tandem/json.h"

namespace tandem::protocol {

// Client → server: `event` (with `data`) to every other member of `room`, and to the sender too
// when `self` is true. Usually sent without id (fire and forget); with one it is acked once
// every member's queue holds it.
struct BroadcastSend {
  static constexpr const char* kType = "broadcast";
  std::string room;
  std::string event;                // app event name, 1-64 identifier chars (rules::type_name)
  std::optional<std::string> data;  // any JSON value text, ≤ bounds::max_broadcast_data_bytes
  bool self = false;                // the sender receives it too (written only when true)
  bool operator==(const BroadcastSend&) const = default;
};

// Server → every member of the room (the sender only with `self`). The sender is named the way
// chat names it (user, name, color, as they were when it was sent) plus its connection id (as
// in presence metas: `signal.to` reaches it).
struct BroadcastMessage {
  static constexpr const char* kType = "broadcast";
  std::string room;
  std::string event;
  // Written verbatim (JsonWriter::verbatim): it must be compact JSON text as Fields::raw
  // produces it — the server passes on what it decoded, without re-encoding it per message.
  std::optional<std::string> data;
  std::string user;        // sender's user id
  std::string name;        // sender's display name
  std::string color;       // sender's color
  std::string connection;  // sender's connection id
  bool operator==(const BroadcastMessage&) const = default;
};

void read(json::Fields& f, BroadcastSend& m);
void write(json::JsonWriter& w, const BroadcastSend& m);
void read(json::Fields& f, BroadcastMessage& m);
void write(json::JsonWriter& w, const BroadcastMessage& m);

}  // namespace tandem::protocol
