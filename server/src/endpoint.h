// server/src/endpoint.h — which WebSocket endpoint an upgrade's path names.
//
//   /ws          Tandem's JSON protocol (docs/PROTOCOL.md)
//   /yjs/{doc}   the y-websocket protocol for the Yjs document {doc} (a y-websocket client's
//                serverUrl is ws://host:port/yjs, its room name the document)
//   /yjs         @hocuspocus/provider's protocol: each message names its document
//
// A document name is 1..kMaxYDocName bytes of [A-Za-z0-9_:.@/-]: with "doc:" in front it is the
// room a token's `rooms` patterns allow ("doc:*", "doc:notes/*"). Nothing else upgrades.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "hub.h"  // Wire

namespace tandem::server {

inline constexpr std::size_t kMaxYDocName = 120;  // "doc:" + name stays within a room name's 128 bytes

struct Endpoint {
  Wire wire = Wire::Tandem;
  std::string ydoc;  // Wire::YWebsocket: the document
};

// The endpoint at `path` (no query); nullopt when there is none.
std::optional<Endpoint> endpoint_of(std::string_view path);

// True for a Yjs document name (see above).
bool is_ydoc_name(std::string_view name);

// The room whose patterns decide who may open the document: "doc:" + name.
std::string ydoc_room(std::string_view name);
// Its inverse: the document a room names ("doc:" + a document name), else empty.
std::string_view ydoc_of_room(std::string_view room);

}  // namespace tandem::server
