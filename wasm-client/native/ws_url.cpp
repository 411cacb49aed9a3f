// ws_url.cpp — WebSocket URL parsing for the native transport (see ws_url.h).
#include "ws_url.h"

#include <charconv>

namespace tandem::native {
namespace {

constexpr int kDefaultPlainPort = 80;
constexpr int kDefaultSecurePort = 443;
constexpr int kMaxPort = 65535;

Error invalid(std::string message) { return Error{"invalid_url", std::move(message)}; }

// A request line carries the path verbatim, so anything that would break it is refused here
// rather than producing a malformed handshake.
bool is_request_line_safe(std::string_view text) {
  for (unsigned char c : text)
    if (c <= 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

Result<WsUrl> parse_ws_url(std::string_view url) {
  WsUrl out;
  std::string_view rest;
  if (url.starts_with("ws://")) {
    out.scheme = WsScheme::Plain;
    rest = url.substr(5);
  } else if (url.starts_with("wss://")) {
    out.scheme = WsScheme::Secure;
    rest = url.substr(6);
  } else {
    return invalid("URL must start with ws:// or wss://");
  }
  if (!is_request_line_safe(rest)) return invalid("URL contains spaces or control characters");
  if (rest.find('#') != std::string_view::npos) return invalid("URL must not have a #fragment");

  const std::size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return invalid("URL must not carry user info");

  std::string_view port_text;
  if (authority.starts_with('[')) {  // IPv6 literal: [::1]:8080
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid("unterminated IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return invalid("unexpected text after IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return invalid("empty port");
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return invalid("empty port");
    }
  }
  if (out.host.empty()) return invalid("URL has no host");

  if (port_text.empty()) {
    out.port = out.scheme == WsScheme::Secure ? kDefaultSecurePort : kDefaultPlainPort;
    out.host_header = authority.starts_with('[') ? "[" + out.host + "]" : out.host;
  } else {
    int port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port < 1 || port > kMaxPort)
      return invalid("port must be a number in 1..65535");
    out.port = port;
    out.host_header = std::string(authority);
  }

  if (path.empty()) out.path = "/";
  else if (path.starts_with('?')) out.path = "/" + std::string(path);
  else out.path = std::string(path);
  return out;
}

}  // namespace tandem::native
