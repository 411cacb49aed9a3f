// server/src/rooms/room_access.cpp — token room patterns against room names (room_access.h).
#include "room_access.h"

namespace tandem::server {

namespace {
constexpr std::string_view kUserRoomPrefix = "user:";
}  // namespace

bool room_matches(std::string_view pattern, std::string_view room) {
  if (!pattern.empty() && pattern.back() == '*') {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    return room.starts_with(prefix);
  }
  return pattern == room;
}

std::string user_room(std::string_view user_id) { return std::string(kUserRoomPrefix) + std::string(user_id); }

RoomAccess room_access(const std::vector<std::string>& patterns, std::string_view user_id, std::string_view room) {
  if (room.starts_with(kUserRoomPrefix))
    return room == user_room(user_id) ? RoomAccess::Allowed : RoomAccess::Forbidden;
  for (const std::string& pattern : patterns)
    if (room_matches(pattern, room)) return RoomAccess::Allowed;
  return RoomAccess::Forbidden;
}

}  // namespace tandem::server
