// server/src/rooms/room_access.h — may this connection join that room? (PROTOCOL.md §6)
//
// A token's `rooms` claim lists patterns: an exact name ("chat:lobby"), a prefix ending in '*'
// ("workflow:*" matches "workflow:42"), or "*" (every room). `user:` rooms are private: a
// connection may join only its own user:{sub} (it is joined to it automatically), whatever its
// patterns say, so a "*" token cannot read another user's direct messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tandem::server {

enum class RoomAccess { Allowed, Forbidden };

// True when `room` matches `pattern` (exact, "prefix*" or "*").
bool room_matches(std::string_view pattern, std::string_view room);

RoomAccess room_access(const std::vector<std::string>& patterns, std::string_view user_id, std::string_view room);

// "user:" + user id: the room every connection of that user is in.
std::string user_room(std::string_view user_id);

}  // namespace tandem::server
