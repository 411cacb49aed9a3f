// bench/src/peer_protocol.h — the race's room protocol as bench/peers/ws-peer.mjs speaks it, for
// the C++ floors (tandem-floor, tandem-lws-floor): a client sends {"type":"join","room":R},
// answered {"type":"joined","room":R}; then each {"type":"msg","room":R,...} goes, as the same
// text, to every member of R, the sender included. No JSON parsing: the type is found by its
// prefix and the room by its key (tandem-race writes both that way).
#pragma once

#include <string>
#include <string_view>

namespace tandem::bench {

inline bool is_join(std::string_view text) { return text.starts_with("{\"type\":\"join\""); }
inline bool is_msg(std::string_view text) { return text.starts_with("{\"type\":\"msg\""); }

// The value of the first "room" key; empty when there is none.
inline std::string_view room_of(std::string_view text) {
  const std::size_t at = text.find("\"room\":\"");
  if (at == std::string_view::npos) return {};
  const std::size_t start = at + 8, end = text.find('"', start);
  return end == std::string_view::npos ? std::string_view{} : text.substr(start, end - start);
}

inline std::string joined(std::string_view room) {
  return "{\"type\":\"joined\",\"room\":\"" + std::string(room) + "\"}";
}

}  // namespace tandem::bench
