// read_util.h — private helpers the family codecs share: room names (with their kind),
// seq/ts/fence integers and enums. Not installed; only shared/src/protocol includes it.
#pragma once

#include <optional>
#include <string>

#include "tandem/json.h"
#include "tandem/protocol/enums.h"
#include "tandem/protocol/rules.h"

namespace tandem::protocol::detail {

// A room name: rules::room plus the "kind:name" shape.
inline bool read_room(json::Fields& f, std::string& out, const char* key = "room") {
  if (!f.str(key, out, rules::room)) return false;
  if (!rules::valid_room_shape(out))
    return f.fail(f.context() + "." + key + ": a room is \"kind:name\" with a lowercase kind");
  return true;
}

// A room that must be of one kind (documents need workflow:, streams need agent:).
inline bool read_room_of(json::Fields& f, std::string& out, rules::RoomKind kind, const char* prefix) {
  if (!read_room(f, out)) return false;
  if (rules::room_kind(out) != kind)
    return f.fail(f.context() + ".room: this message needs a \"" + prefix + "\" room");
  return true;
}

// Non-negative integers up to 2^53: seq numbers, Unix-ms times.
inline bool read_count(json::Fields& f, const char* key, std::int64_t& out) {
  return f.int64(key, out, 0, bounds::max_integer);
}
inline bool read_opt_count(json::Fields& f, const char* key, std::optional<std::int64_t>& out) {
  return f.opt_int64(key, out, 0, bounds::max_integer);
}
// Fences start at 1.
inline bool read_fence(json::Fields& f, const char* key, std::int64_t& out) {
  return f.int64(key, out, 1, bounds::max_integer);
}

template <WireEnum E>
bool read_opt_enum(json::Fields& f, const char* key, std::optional<E>& out) {
  std::optional<std::string> name;
  if (!f.opt_str(key, name, {1, 64, false})) return false;
  if (!name) return true;
  const auto value = enum_from_string<E>(*name);
  if (!value) return f.fail(f.context() + "." + key + ": must be one of " + enum_choices<E>());
  out = *value;
  return true;
}

template <WireEnum E>
bool read_enum(json::Fields& f, const char* key, E& out) {
  std::string name;
  if (!f.str(key, name, {1, 64, false})) return false;
  const auto value = enum_from_string<E>(name);
  if (!value) return f.fail(f.context() + "." + key + ": must be one of " + enum_choices<E>());
  out = *value;
  return true;
}

// The user, seq and ts every attributed room event carries.
inline void read_stamp(json::Fields& f, std::string& user, std::int64_t& seq, std::int64_t& ts) {
  f.str("user", user, rules::user_id);
  read_count(f, "seq", seq);
  read_count(f, "ts", ts);
}
inline void write_stamp(json::JsonWriter& w, const std::string& user, std::int64_t seq, std::int64_t ts) {
  w.str("user", user).int64("seq", seq).int64("ts", ts);
}

// A coordinate (cursor, node position): finite, within ±bounds::max_coordinate.
inline bool read_coordinate(json::Fields& f, const char* key, double& out) {
  return f.num(key, out, -bounds::max_coordinate, bounds::max_coordinate);
}

}  // namespace tandem::protocol::detail
