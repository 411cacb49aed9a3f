// server/src/http_api.cpp — /healthz and the dev token endpoint (see http_api.h).
#include "http_api.h"

#include <cctype>

#include "jwt.h"
#include "log.h"
#include "tandem/json.h"
#include "tandem/protocol/rules.h"
#include "version.h"

namespace tandem::server {

namespace {

HttpResponse json_error(int status, std::string_view code, std::string_view message) {
  json::JsonWriter body;
  body.str("error", code).str("message", message);
  return HttpResponse{status, "application/json", body.finish()};
}

const std::string* query_value(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.query)
    if (key == name) return &value;
  return nullptr;
}

std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    if (comma > start) out.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::string dev_user_id(std::string_view name) {
  std::string id = "dev:";
  for (unsigned char c : name) {
    char lower = static_cast<char>(std::tolower(c));
    bool keep = std::isalnum(static_cast<unsigned char>(lower)) || lower == '_' || lower == '.' || lower == '@' || lower == '-';
    id.push_back(keep && c < 0x80 ? lower : '-');
  }
  return id.substr(0, protocol::rules::user_id.max);
}

HttpResponse HttpApi::handle(const HttpRequest& request, Now now) const {
  if (request.path == "/healthz") {
    if (request.method != "GET") return json_error(405, "method_not_allowed", "use GET");
    return healthz(now);
  }
  if (request.path == "/api/v1/dev/token" && settings_.dev) {
    if (request.method != "GET") return json_error(405, "method_not_allowed", "use GET");
    return dev_token(request, now);
  }
  return json_error(404, "not_found", "no such endpoint");
}

HttpResponse HttpApi::healthz(Now now) const {
  const ServerState state = state_();
  json::JsonWriter body;
  body.str("status", state.shutting_down ? "shutting_down" : "ok")
      .str("version", kServerVersion)
      .int64("uptime_s", (now.mono - started_).count() / 1000)
      .int64("connections", static_cast<std::int64_t>(state.hub.connections));
  // 503 while draining, so a load balancer stops sending new clients here.
  return HttpResponse{state.shutting_down ? 503 : 200, "application/json", body.finish()};
}

HttpResponse HttpApi::dev_token(const HttpRequest& request, Now now) const {
  const std::string* name = query_value(request, "name");
  if (!name || name->empty()) return json_error(400, "invalid_request", "?name= is required");
  if (name->size() > protocol::rules::display_name.max || !json::is_valid_utf8(*name))
    return json_error(400, "invalid_request", "name must be 1..64 bytes of UTF-8");

  jwt::Claims claims;
  if (const std::string* id = query_value(request, "id")) {
    claims.sub = *id;
    bool ok = !id->empty() && id->size() <= protocol::rules::user_id.max;
    for (char c : *id)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' || c == '.' || c == '@' || c == '-');
    if (!ok) return json_error(400, "invalid_request", "id must be 1..128 of [A-Za-z0-9_:.@-]");
  } else {
    claims.sub = dev_user_id(*name);
  }
  claims.name = *name;
  claims.color = color_for(*name);
  claims.rooms = {"*"};
  if (const std::string* rooms = query_value(request, "rooms")) {
    claims.rooms = split_commas(*rooms);
    for (const std::string& room : claims.rooms)
      if (!jwt::is_room_pattern(room))
        return json_error(400, "invalid_request", "rooms must be comma-separated patterns like workflow:*,chat:lobby");
    if (claims.rooms.empty()) return json_error(400, "invalid_request", "rooms is empty");
  }
  const jwt::UnixSeconds issued = now.wall / 1000;
  claims.iat = issued;
  claims.exp = issued + settings_.dev_token_ttl_s;
  LOG_INFO("dev token minted for %s", claims.sub.c_str());

  json::JsonWriter user;
  user.str("id", claims.sub).str("name", *claims.name).str("color", *claims.color);
  json::JsonWriter body;
  body.str("token", jwt::mint(claims, settings_.jwt_secret))
      .child("user", std::move(user))
      .int64("expires_at", claims.exp * 1000);
  return HttpResponse{200, "application/json", body.finish()};
}

}  // namespace tandem::server
