// server/src/webhooks/webhook_config.h — the webhook endpoints an operator configures (the
// `webhooks` setting, docs/OPERATIONS.md "Webhooks"), parsed and validated, and which room
// events each one wants.
//
// One endpoint per `;`-separated item, its words separated by blanks:
//   NAME URL rooms=PATTERN[,PATTERN...] [events=KIND[,KIND...]] secret=SECRET
// e.g.  orders https://backend.example/hooks/tandem rooms=workflow:*,chat:* events=documents,chat secret=...
// NAME: 1-64 of [A-Za-z0-9_-], unique (it names the endpoint in requests, cursors and metrics);
// URL: http:// or https://; rooms: patterns as in tokens (exact, "prefix*", "*"; rooms/room_access.h);
// events: kinds (below), default all; secret: at least kMinWebhookSecretBytes bytes (HMAC key).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/result.h"

namespace tandem::server::webhooks {

// The kinds of room events an endpoint may ask for (the room log's event types, grouped).
enum class EventKind : std::uint8_t {
  Documents,   // node_created, node_updated, node_deleted, edge_created, edge_deleted
  Chat,        // chat, cleared
  Executions,  // execution_update
  Locks,       // locked, unlocked
  Streams,     // stream, stream_control
  Other,       // any other event of the room log (broadcast, ...)
};
inline constexpr std::size_t kEventKinds = 6;

// The kind of a room event by its `type`.
EventKind kind_of_event(std::string_view type);
std::string_view to_string(EventKind kind);

inline constexpr std::size_t kMinWebhookSecretBytes = 16;
inline constexpr std::size_t kMaxWebhookNameBytes = 64;

struct WebhookEndpoint {
  std::string name;
  std::string url;
  std::string secret;
  std::vector<std::string> rooms;  // patterns
  std::uint32_t kinds = 0;         // bit (1 << EventKind) per kind wanted

  bool follows(std::string_view room) const;
  bool wants(EventKind kind) const { return (kinds & (1u << static_cast<unsigned>(kind))) != 0; }
  std::vector<std::string> kind_names() const;
};

// Parses the `webhooks` setting; empty text: no endpoints. Errors name the endpoint and word.
Result<std::vector<WebhookEndpoint>> parse_webhooks(std::string_view spec);

// `url` as logs and the admin API show it: scheme, host, port and path, without credentials
// (user:password@) or query (tokens some backends take there).
std::string shown_url(std::string_view url);

// The names of the endpoints that follow `room`, in configuration order.
std::vector<std::string> endpoints_following(const std::vector<WebhookEndpoint>& endpoints, std::string_view room);

}  // namespace tandem::server::webhooks
