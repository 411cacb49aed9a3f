// server/src/jwt.h — HS256 JSON Web Tokens: verify what clients present, mint what the dev
// endpoint and `tandem-server mint-token` hand out.
//
// Only HS256 exists here. The header's alg must be exactly "HS256": "none", RS256 and a missing
// alg are refused, so a token cannot choose a weaker check for itself. The signature is
// compared in constant time (CRYPTO_memcmp). exp is required; nbf and iat are optional; exp and
// nbf are checked with a leeway for clock skew. Claims: sub (required), name, color, rooms,
// perms (permissions beyond joining rooms, e.g. "chat:clear"; PROTOCOL.md §5.1), read_only
// (room patterns this token may read but not change: Yjs documents, PROTOCOL.md §Yjs).
//
// No libwebsockets and no clock here: callers pass `now`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/result.h"

namespace tandem::server::jwt {

using UnixSeconds = std::int64_t;

struct Claims {
  std::string sub;                 // user id (rules::user_id)
  std::optional<std::string> name;   // display name; the hub shows sub when absent
  std::optional<std::string> color;  // "#rrggbb"; the hub derives one from the name when absent
  std::vector<std::string> rooms;  // patterns: "*", "workflow:*", "chat:lobby"
  std::vector<std::string> perms;  // permissions: "chat:clear" (kPermChatClear); absent = none
  std::vector<std::string> read_only;  // patterns of rooms it may only read ("doc:handbook"); absent = none
  UnixSeconds exp = 0;
  std::optional<UnixSeconds> nbf;
  std::optional<UnixSeconds> iat;
  bool operator==(const Claims&) const = default;
};

struct VerifyOptions {
  std::string_view secret;
  UnixSeconds now = 0;
  std::int64_t leeway_s = 30;
};

// The permission that lets a user `clear` a chat room's history (PROTOCOL.md §10).
inline constexpr std::string_view kPermChatClear = "chat:clear";
// The permission that lets a user turn chat bots on and off (`bot_toggle`, PROTOCOL.md "Chat bots").
inline constexpr std::string_view kPermChatBots = "chat:bots";
// A token whose perms hold kPermBotPrefix + X belongs to the worker of bot X (tandem-bot).
inline constexpr std::string_view kPermBotPrefix = "bot:";

// Returns the claims of a valid token, or an Error with code "unauthorized" and a message
// fit for a close reason: "token expired", "bad signature", "unsupported alg \"RS256\"
// (only HS256)", "malformed token: ...", "token has no sub", ...
Result<Claims> verify(std::string_view token, const VerifyOptions& options);

// Signs `claims` (exp must be set). Absent optional claims are left out of the payload.
std::string mint(const Claims& claims, std::string_view secret);

// base64url without padding (RFC 7515 §2). decode is strict: no padding, no other alphabet,
// no stray bits in the last character.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// True for "#rrggbb" (hex digits, either case).
bool is_hex_color(std::string_view text);

// True for a rooms claim entry: "*", or 1..128 of [A-Za-z0-9_:.@/-] with '*' allowed only as
// the last character ("workflow:*"; '/' for Yjs documents' folders, "doc:notes/*").
bool is_room_pattern(std::string_view text);

}  // namespace tandem::server::jwt
