// server/src/endpoint.cpp — see endpoint.h.
#include "endpoint.h"

namespace tandem::server {

bool is_ydoc_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxYDocName) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':' ||
                    c == '.' || c == '@' || c == '/' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string ydoc_room(std::string_view name) { return "doc:" + std::string(name); }

std::string_view ydoc_of_room(std::string_view room) {
  constexpr std::string_view kPrefix = "doc:";
  if (!room.starts_with(kPrefix) || !is_ydoc_name(room.substr(kPrefix.size()))) return {};
  return room.substr(kPrefix.size());
}

std::optional<Endpoint> endpoint_of(std::string_view path) {
  if (path == "/ws") return Endpoint{Wire::Tandem, {}};
  if (path == "/yjs" || path == "/yjs/") return Endpoint{Wire::Hocuspocus, {}};
  constexpr std::string_view kYjs = "/yjs/";
  if (path.starts_with(kYjs) && is_ydoc_name(path.substr(kYjs.size())))
    return Endpoint{Wire::YWebsocket, std::string(path.substr(kYjs.size()))};
  return std::nullopt;
}

}  // namespace tandem::server
