// tandem/protocol/errors.h — the names of every wire error code and close code (PROTOCOL.md
// §Errors and §Close codes). Programs compare against these; humans read the messages.
#pragma once

#include <string_view>

namespace tandem::protocol {

// Error codes carried by {"type":"error","code":...}. The connection stays open after each.
namespace errc {
inline constexpr std::string_view bad_json = "bad_json";              // not JSON / not UTF-8
inline constexpr std::string_view invalid_message = "invalid_message";  // a field is missing or wrong
inline constexpr std::string_view unknown_type = "unknown_type";      // "type" names no message
inline constexpr std::string_view too_big = "too_big";                // a field or value over its bound
inline constexpr std::string_view unauthorized = "unauthorized";      // bad/expired token; on the WS only as close 4401
inline constexpr std::string_view forbidden = "forbidden";            // room outside the token's rooms
inline constexpr std::string_view not_subscribed = "not_subscribed";  // request for a room not joined
inline constexpr std::string_view not_found = "not_found";            // node, edge, lock, peer absent
inline constexpr std::string_view conflict = "conflict";              // id already exists
inline constexpr std::string_view locked = "locked";                  // resource locked by another user
inline constexpr std::string_view stale_fence = "stale_fence";        // fence older than the current one
inline constexpr std::string_view limit_exceeded = "limit_exceeded";  // rooms/locks per user, etc.
inline constexpr std::string_view rate_limited = "rate_limited";      // too many messages (warning)
inline constexpr std::string_view internal = "internal";              // server fault; safe to retry
// Client-side only (never sent by the server): reported by the client core to the app.
inline constexpr std::string_view queue_full = "queue_full";          // offline queue bound reached
inline constexpr std::string_view timeout = "timeout";                // no ack within the deadline
inline constexpr std::string_view closed = "closed";                  // the client was stopped
}  // namespace errc

// WebSocket close codes the server uses, and whether a client should reconnect after each.
struct CloseCode {
  int code;
  std::string_view reason;
  bool reconnect;  // false: reconnecting would fail the same way (the app must act)
  bool prompt;     // true: reconnect at once instead of waiting out the backoff
};

namespace close {
inline constexpr CloseCode normal{1000, "normal", false, false};
inline constexpr CloseCode going_away{1001, "going away", true, true};
inline constexpr CloseCode websocket_protocol_error{1002, "protocol error", false, false};
inline constexpr CloseCode too_big{1009, "message too big", true, false};
inline constexpr CloseCode internal_error{1011, "internal error", true, false};
inline constexpr CloseCode restart{1012, "restart", true, true};
inline constexpr CloseCode protocol_violation{4400, "protocol violation", false, false};
inline constexpr CloseCode unauthorized{4401, "unauthorized", false, false};
inline constexpr CloseCode auth_timeout{4408, "auth timeout", true, false};
inline constexpr CloseCode session_replaced{4409, "session resumed elsewhere", false, false};
inline constexpr CloseCode rate_limited{4429, "rate limited", true, false};
inline constexpr CloseCode slow_consumer{4508, "slow consumer", true, false};
// Not sent on the wire: a transport that died without a close frame (TCP reset, silent peer).
inline constexpr CloseCode abnormal{1006, "abnormal closure", true, false};

// Looks a code up; unknown codes reconnect with backoff (1006 semantics).
constexpr CloseCode lookup(int code) {
  for (const CloseCode& c : {normal, going_away, websocket_protocol_error, too_big, internal_error, restart, protocol_violation,
                             unauthorized, auth_timeout, session_replaced, rate_limited, slow_consumer, abnormal})
    if (c.code == code) return c;
  return CloseCode{code, "unknown", true, false};
}
}  // namespace close

}  // namespace tandem::protocol
