// tandem/protocol/rooms.h — the rooms family: joining and leaving rooms, and the seq/epoch
// position a client resumes from (PROTOCOL.md §4 Rooms, seq and epoch; §6 Rooms).
//
// A subscribe without `since` gets fresh snapshots; with `since` the server replays what the
// client missed when its history still covers it (recovered = true).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tandem/json.h"

namespace tandem::protocol {

// The last room event a client applied: where recovery resumes.
struct StreamPosition {
  std::string epoch;      // opaque; changes whenever the room's history was lost
  std::int64_t seq = 0;   // 0 .. 2^53
  bool operator==(const StreamPosition&) const = default;
};

// ---- client → server ----------------------------------------------------------------------

// Joins a room (answered with Subscribed carrying the same id).
struct Subscribe {
  static constexpr const char* kType = "subscribe";
  std::string room;
  std::optional<StreamPosition> since;  // resume after this event
  bool operator==(const Subscribe&) const = default;
};

// Leaves a room (answered with ack).
struct Unsubscribe {
  static constexpr const char* kType = "unsubscribe";
  std::string room;
  bool operator==(const Unsubscribe&) const = default;
};

// ---- server → client ----------------------------------------------------------------------

// Answer to subscribe; snapshots or replayed events follow it (PROTOCOL.md §4).
struct Subscribed {
  static constexpr const char* kType = "subscribed";
  std::string room;
  std::string epoch;
  std::int64_t seq = 0;    // the room's latest event seq at the moment of joining
  bool recovered = false;  // true: missed events follow; false: snapshots follow (replace replica)
  bool operator==(const Subscribed&) const = default;
};

void read(json::Fields& f, Subscribe& m);
void write(json::JsonWriter& w, const Subscribe& m);
void read(json::Fields& f, Unsubscribe& m);
void write(json::JsonWriter& w, const Unsubscribe& m);
void read(json::Fields& f, Subscribed& m);
void write(json::JsonWriter& w, const Subscribed& m);

}  // namespace tandem::protocol
