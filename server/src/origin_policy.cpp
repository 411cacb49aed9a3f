// server/src/origin_policy.cpp — the allowed_origins check (see origin_policy.h).
#include "origin_policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tandem::server {
namespace {

constexpr int kMaxPort = 65535;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// ":443" for https, ":80" for http: the port a browser leaves out of an Origin.
std::string_view default_port_suffix(std::string_view scheme) {
  if (scheme == "https") return ":443";
  if (scheme == "http") return ":80";
  return {};
}

// `authority` ("host", "host:port", "[v6]:port") lower-cased, without the scheme's default port.
std::string without_default_port(std::string authority, std::string_view scheme) {
  const std::string_view suffix = default_port_suffix(scheme);
  if (!suffix.empty() && authority.size() > suffix.size() && authority.ends_with(suffix))
    authority.resize(authority.size() - suffix.size());
  return authority;
}

bool valid_port(std::string_view text) {
  int port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc{} && end == text.data() + text.size() && port >= 1 && port <= kMaxPort;
}

// An origin as browsers serialize it, normalized for comparison: "scheme://host[:port]" in lower
// case without the default port, or "null". Nothing for anything else (a path, user info, a
// bad port, spaces).
std::optional<std::string> normalize_origin(std::string_view text) {
  const std::string origin = lower(text);
  if (origin == "null") return origin;
  const std::size_t separator = origin.find("://");
  if (separator == std::string::npos || separator == 0) return std::nullopt;
  const std::string scheme = origin.substr(0, separator);
  if (!std::isalpha(static_cast<unsigned char>(scheme[0]))) return std::nullopt;
  for (unsigned char c : scheme)
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return std::nullopt;

  const std::string authority = origin.substr(separator + 3);
  if (authority.empty()) return std::nullopt;
  for (unsigned char c : authority)
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '@' || c == '\\') return std::nullopt;
  std::size_t host_end = authority.size();
  if (authority.front() == '[') {  // IPv6 literal
    host_end = authority.find(']');
    if (host_end == std::string::npos || host_end == 1) return std::nullopt;
    ++host_end;
  } else {
    host_end = std::min(authority.find(':'), authority.size());
    if (host_end == 0) return std::nullopt;
  }
  if (host_end < authority.size()) {
    if (authority[host_end] != ':' || !valid_port(std::string_view(authority).substr(host_end + 1))) return std::nullopt;
  }
  return scheme + "://" + without_default_port(authority, scheme);
}

}  // namespace

Result<OriginPolicy> OriginPolicy::parse(std::string_view setting) {
  OriginPolicy policy;
  std::string_view rest = setting;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view entry = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (entry.empty()) continue;  // "a,,b" and a trailing comma are harmless
    if (lower(entry) == "self") {
      policy.self_ = true;
      continue;
    }
    auto origin = normalize_origin(entry);
    if (!origin)
      return Error{"config", "\"" + std::string(entry) +
                                 "\" is not an origin (scheme://host[:port] with no path or trailing slash, "
                                 "e.g. https://app.example.com; or self, or null)"};
    policy.origins_.push_back(std::move(*origin));
  }
  return policy;
}

bool OriginPolicy::allows(std::optional<std::string_view> origin, std::string_view host) const {
  if (!restricts() || !origin) return true;  // no list, or not a browser
  const auto normalized = normalize_origin(trim(*origin));
  if (!normalized) return false;
  if (std::find(origins_.begin(), origins_.end(), *normalized) != origins_.end()) return true;
  if (!self_ || *normalized == "null") return false;
  const std::size_t separator = normalized->find("://");
  const std::string_view scheme = std::string_view(*normalized).substr(0, separator);
  const std::string_view authority = std::string_view(*normalized).substr(separator + 3);
  const std::string own = without_default_port(lower(trim(host)), scheme);
  return !own.empty() && own == authority;
}

}  // namespace tandem::server
