// ws_url.h — splits a WebSocket URL (ws://host:port/path?query) into what a socket dialer
// needs. Pure C++ so it is unit-tested without a network; the lws transport is its user.
#pragma once

#include <string>
#include <string_view>

#include "tandem/result.h"

namespace tandem::native {

enum class WsScheme {
  Plain,   // ws://  — TCP
  Secure,  // wss:// — TLS
};

struct WsUrl {
  WsScheme scheme = WsScheme::Plain;
  std::string host;       // name or address as written; IPv6 without the brackets
  int port = 0;           // explicit, or 80 (ws) / 443 (wss)
  std::string path;       // always starts with '/'; includes the query ("/ws?token=...")
  std::string host_header;  // "host" or "host:port" as it should appear in the Host header
  bool operator==(const WsUrl&) const = default;
};

// Parses `url`. Fails with code "invalid_url" and a message naming the problem for: another
// scheme, an empty host, a port outside 1..65535, user info ("user@host"), a fragment, or
// bytes that cannot appear in a request line (spaces, control characters).
Result<WsUrl> parse_ws_url(std::string_view url);

}  // namespace tandem::native
