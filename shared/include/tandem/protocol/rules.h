// tandem/protocol/rules.h — field rules shared by every family: how long a room name, an id
// or a token may be, and what characters they take (PROTOCOL.md §Names and ids).
#pragma once

#include "tandem/json.h"

namespace tandem::protocol::rules {

inline constexpr json::StringRule request_id{1, 64, true};     // client-chosen request id
inline constexpr json::StringRule room{3, 128, true};          // "family:id", e.g. "workflow:42"
inline constexpr json::StringRule user_id{1, 128, true};       // token `sub`
inline constexpr json::StringRule resource{1, 128, true};      // lockable resource (node id)
inline constexpr json::StringRule entity_id{1, 128, true};     // node / edge / message ids
inline constexpr json::StringRule display_name{1, 64, false};  // user names, labels
inline constexpr json::StringRule color{4, 9, false};          // "#rgb" .. "#rrggbbaa"
inline constexpr json::StringRule token{10, 8192, false};      // a JWT
inline constexpr json::StringRule opaque{1, 128, true};        // session ids, connection ids
inline constexpr json::StringRule code{1, 64, true};           // error codes
inline constexpr json::StringRule message{0, 1024, false};     // human messages

}  // namespace tandem::protocol::rules
