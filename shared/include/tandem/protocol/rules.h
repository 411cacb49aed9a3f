// tandem/protocol/rules.h — field rules shared by every family: how long a room name, an id
// or a token may be, what characters they take (PROTOCOL.md §Names and ids), and the codec's
// size bounds for payloads and lists (PROTOCOL.md §Limits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tandem/json.h"

namespace tandem::protocol::rules {

inline constexpr json::StringRule request_id{1, 64, true};     // client-chosen request id
inline constexpr json::StringRule room{3, 128, true};          // "kind:name", e.g. "workflow:42"
inline constexpr json::StringRule user_id{1, 128, true};       // token `sub`
inline constexpr json::StringRule resource{1, 128, true};      // lockable resource (node id)
inline constexpr json::StringRule entity_id{1, 128, true};     // node / edge ids, execution ids
inline constexpr json::StringRule display_name{1, 64, false};  // user names
inline constexpr json::StringRule color{4, 9, false};          // "#rgb" .. "#rrggbbaa"
inline constexpr json::StringRule token{10, 8192, false};      // a JWT
inline constexpr json::StringRule opaque{1, 128, true};        // session, connection ids, epochs
inline constexpr json::StringRule code{1, 64, true};           // error codes
inline constexpr json::StringRule message{0, 1024, false};     // human messages
inline constexpr json::StringRule type_name{1, 64, true};      // node types, stream and broadcast event names
inline constexpr json::StringRule label{0, 256, false};        // node labels (may be empty)
inline constexpr json::StringRule version{1, 64, false};       // server_version

// Room kinds with a meaning in the protocol; every other kind is a plain room.
enum class RoomKind { User, Workflow, Agent, Chat, Other };

inline constexpr std::size_t max_room_kind = 32;

// True when `name` is "kind:name": kind [a-z][a-z0-9_]* (≤ 32 chars), then ':', then a
// non-empty name. The character set and total length are rules::room's (checked by Fields).
constexpr bool valid_room_shape(std::string_view name) {
  const std::size_t colon = name.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > max_room_kind || colon + 1 >= name.size())
    return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  for (std::size_t i = 1; i < colon; ++i) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// The kind of a room whose shape is valid ("workflow:42" -> Workflow).
constexpr RoomKind room_kind(std::string_view name) {
  const std::string_view kind = name.substr(0, name.find(':'));
  if (kind == "user") return RoomKind::User;
  if (kind == "workflow") return RoomKind::Workflow;
  if (kind == "agent") return RoomKind::Agent;
  if (kind == "chat") return RoomKind::Chat;
  return RoomKind::Other;
}

}  // namespace tandem::protocol::rules

// Size and range bounds the codec enforces when decoding (both directions). Server settings
// may be stricter; they can never be looser than these.
namespace tandem::protocol::bounds {

inline constexpr std::int64_t max_integer = 9007199254740992;  // 2^53: exact in a double (JS)
inline constexpr double max_coordinate = 1e9;                  // cursor and node x/y, ±
inline constexpr std::size_t max_chat_bytes = 4096;            // chat text
inline constexpr std::size_t max_presence_bytes = 1024;        // presence state.data
inline constexpr std::size_t max_node_data_bytes = 16384;      // node data, published data
inline constexpr std::size_t max_stream_data_bytes = 32768;    // stream event data
inline constexpr std::size_t max_signal_bytes = 32768;         // signal data
inline constexpr std::size_t max_broadcast_data_bytes = 32768; // broadcast data
inline constexpr std::int64_t min_ttl_ms = 100;                // lock ttl_ms accepted by the codec
inline constexpr std::int64_t max_ttl_ms = 3600000;            //   (the server clamps further)
inline constexpr std::int64_t max_grace_ms = 3600000;          // takeover_requested.grace_ms
inline constexpr std::size_t max_list_items = 10000;           // members, nodes, edges, locks...
inline constexpr std::size_t max_metas = 100;                  // connections of one user in a room

}  // namespace tandem::protocol::bounds
