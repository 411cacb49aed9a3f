// server/src/webhooks/webhook_config.cpp — see webhook_config.h.
#include "webhooks/webhook_config.h"

#include <algorithm>
#include <array>

#include "config.h"
#include "rooms/room_access.h"
#include "tandem/protocol/errors.h"

namespace tandem::server::webhooks {

namespace {

constexpr std::array<std::string_view, kEventKinds> kKindNames{"documents", "chat", "executions",
                                                              "locks",     "streams", "other"};

Error bad(std::string message) { return Error{std::string(protocol::errc::invalid_message), std::move(message)}; }

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxWebhookNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
  });
}

std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r')) ++at;
    std::size_t end = at;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '\n' && text[end] != '\r') ++end;
    if (end > at) words.push_back(text.substr(at, end - at));
    at = end;
  }
  return words;
}

}  // namespace

EventKind kind_of_event(std::string_view type) {
  if (type.starts_with("node_") || type.starts_with("edge_")) return EventKind::Documents;
  if (type == "chat" || type == "cleared") return EventKind::Chat;
  if (type == "execution_update") return EventKind::Executions;
  if (type == "locked" || type == "unlocked") return EventKind::Locks;
  if (type == "stream" || type == "stream_control") return EventKind::Streams;
  return EventKind::Other;
}

std::string_view to_string(EventKind kind) { return kKindNames[static_cast<std::size_t>(kind)]; }

bool WebhookEndpoint::follows(std::string_view room) const {
  return std::any_of(rooms.begin(), rooms.end(), [&](const std::string& pattern) { return room_matches(pattern, room); });
}

std::vector<std::string> WebhookEndpoint::kind_names() const {
  std::vector<std::string> names;
  for (std::size_t k = 0; k < kEventKinds; ++k)
    if (wants(static_cast<EventKind>(k))) names.emplace_back(kKindNames[k]);
  return names;
}

Result<std::vector<WebhookEndpoint>> parse_webhooks(std::string_view spec) {
  std::vector<WebhookEndpoint> endpoints;
  std::size_t item_start = 0;
  for (std::size_t index = 1; item_start <= spec.size(); ++index) {
    std::size_t item_end = spec.find(';', item_start);
    if (item_end == std::string_view::npos) item_end = spec.size();
    const std::vector<std::string_view> words = words_of(spec.substr(item_start, item_end - item_start));
    item_start = item_end + 1;
    if (words.empty()) continue;
    const std::string which = "webhook endpoint " + std::to_string(index);
    if (words.size() < 2) return bad(which + ": expected NAME URL rooms=... secret=...");
    WebhookEndpoint endpoint;
    if (!valid_name(words[0]))
      return bad(which + ": the name must be 1-64 of A-Z a-z 0-9 _ -, got \"" + std::string(words[0]) + "\"");
    endpoint.name = words[0];
    const std::string named = "webhook endpoint " + endpoint.name;
    for (const WebhookEndpoint& earlier : endpoints)
      if (earlier.name == endpoint.name) return bad(named + ": the name is used twice");
    if (!words[1].starts_with("http://") && !words[1].starts_with("https://"))
      return bad(named + ": the URL must start with http:// or https://");
    const std::size_t scheme = words[1].starts_with("https://") ? 8 : 7;
    if (words[1].size() == scheme || words[1][scheme] == '/') return bad(named + ": the URL names no host");
    endpoint.url = words[1];
    bool kinds_given = false;
    for (std::size_t w = 2; w < words.size(); ++w) {
      const std::string_view word = words[w];
      const std::size_t equals = word.find('=');
      if (equals == std::string_view::npos)
        // The word itself is not repeated: a mistyped secret (secret:...) would land in the log.
        return bad(named + ": word " + std::to_string(w + 1) + " is not key=value (rooms=, events=, secret=)");
      const std::string_view key = word.substr(0, equals), value = word.substr(equals + 1);
      if (key == "rooms") {
        endpoint.rooms = split_list(value);
      } else if (key == "events") {
        kinds_given = true;
        for (const std::string& kind : split_list(value)) {
          const auto at = std::find(kKindNames.begin(), kKindNames.end(), kind);
          if (at == kKindNames.end())
            return bad(named + ": unknown event kind \"" + kind +
                       "\" (documents, chat, executions, locks, streams, other)");
          endpoint.kinds |= 1u << static_cast<unsigned>(at - kKindNames.begin());
        }
      } else if (key == "secret") {
        endpoint.secret = value;
      } else {
        return bad(named + ": unknown key \"" + std::string(key) + "\" (rooms, events, secret)");
      }
    }
    if (endpoint.rooms.empty()) return bad(named + ": rooms=PATTERN[,PATTERN...] is required");
    if (kinds_given && endpoint.kinds == 0) return bad(named + ": events= names no kind");
    if (!kinds_given) endpoint.kinds = (1u << kEventKinds) - 1;
    if (endpoint.secret.size() < kMinWebhookSecretBytes)
      return bad(named + ": secret= is required, at least " + std::to_string(kMinWebhookSecretBytes) + " bytes");
    endpoints.push_back(std::move(endpoint));
  }
  return endpoints;
}

std::string shown_url(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url.substr(0, url.find('?')));
  const std::size_t host_start = scheme_end + 3;
  const std::size_t path_start = std::min(url.find('/', host_start), url.find('?', host_start));
  std::string_view authority = url.substr(host_start, path_start == std::string_view::npos ? url.npos : path_start - host_start);
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string shown(url.substr(0, host_start));
  shown += authority;
  if (path_start != std::string_view::npos) {
    const std::string_view rest = url.substr(path_start);
    shown += rest.substr(0, rest.find('?'));
    if (rest.find('?') != std::string_view::npos) shown += "?…";
  }
  return shown;
}

std::vector<std::string> endpoints_following(const std::vector<WebhookEndpoint>& endpoints, std::string_view room) {
  std::vector<std::string> names;
  for (const WebhookEndpoint& endpoint : endpoints)
    if (endpoint.follows(room)) names.push_back(endpoint.name);
  return names;
}

}  // namespace tandem::server::webhooks
