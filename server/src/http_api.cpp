// server/src/http_api.cpp — /healthz, the dev token endpoint, /metrics and the admin stats
// endpoints (see http_api.h).
#include "http_api.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <cctype>
#include <limits>
#include <map>
#include <optional>

#include "jwt.h"
#include "log.h"
#include "tandem/json.h"
#include "tandem/protocol/rules.h"
#include "version.h"

namespace tandem::server {

HttpResponse json_error(int status, std::string_view code, std::string_view message) {
  json::JsonWriter body;
  body.str("error", code).str("message", message);
  return HttpResponse{status, "application/json", body.finish()};
}

namespace {

// GET, or HEAD: the same answer whose body the server does not send (load balancers' checks).
bool is_read(const HttpRequest& request) { return request.method == "GET" || request.method == "HEAD"; }

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

// `encoded` with each %XX replaced by its byte ("%3A" -> ':').
std::string percent_decoded(std::string_view encoded) {
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%' && i + 2 < encoded.size() && std::isxdigit(static_cast<unsigned char>(encoded[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(encoded[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(encoded.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(encoded[i]);
    }
  }
  return out;
}

// The {room} of "/api/v1/rooms/{room}/changes" (percent-decoded), if the path has that shape.
std::optional<std::string> changes_room(std::string_view path) {
  constexpr std::string_view kPrefix = "/api/v1/rooms/";
  constexpr std::string_view kSuffix = "/changes";
  if (!path.starts_with(kPrefix) || !path.ends_with(kSuffix) || path.size() <= kPrefix.size() + kSuffix.size())
    return std::nullopt;
  return percent_decoded(path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
}

// The {room} of "/api/v1/ws/rooms/{room}" (percent-decoded), if the path has that shape.
std::optional<std::string> detail_room(std::string_view path) {
  constexpr std::string_view kPrefix = "/api/v1/ws/rooms/";
  if (!path.starts_with(kPrefix) || path.size() == kPrefix.size() || path.find('/', kPrefix.size()) != std::string_view::npos)
    return std::nullopt;
  return percent_decoded(path.substr(kPrefix.size()));
}

// Whether `room` is a room name the protocol accepts (workflow:42, chat:lobby, user:ana...).
bool valid_room_name(std::string_view room) {
  bool valid = room.size() >= protocol::rules::room.min && room.size() <= protocol::rules::room.max &&
               protocol::rules::valid_room_shape(room);
  for (char c : room) valid = valid && json::is_identifier_char(c);
  return valid;
}

// A positive integer query argument: the default when absent, nullopt when malformed.
std::optional<std::int64_t> positive_query(const HttpRequest& request, std::string_view name, std::int64_t fallback) {
  const std::string* text = query_value(request, name);
  if (!text) return fallback;
  if (text->empty() || text->size() > 16) return std::nullopt;
  std::int64_t value = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < 1) return std::nullopt;
  return value;
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

bool bearer_matches(std::string_view authorization, std::string_view expected) {
  constexpr std::string_view kScheme = "Bearer ";
  if (expected.empty() || authorization.size() <= kScheme.size()) return false;
  // The scheme is case-insensitive (RFC 7235 §2.1); it is no secret, so compare it plainly.
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != std::tolower(static_cast<unsigned char>(kScheme[i])))
      return false;
  const std::string_view presented = authorization.substr(kScheme.size());
  std::array<unsigned char, SHA256_DIGEST_LENGTH> presented_hash{}, expected_hash{};
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), presented_hash.data());
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), expected_hash.data());
  return CRYPTO_memcmp(presented_hash.data(), expected_hash.data(), presented_hash.size()) == 0;
}

void HttpApi::handle(const HttpRequest& request, Now now, Respond respond) const {
  if (request.path == "/api/v1/publish" && publisher_) {
    if (request.method != "POST") return respond(json_error(405, "method_not_allowed", "use POST"));
    if (auto refusal = refuse_publisher(request)) return respond(*refusal);
    return publisher_(request.body, now, std::move(respond));
  }
  if (auto room = changes_room(request.path)) {
    if (!is_read(request)) return respond(json_error(405, "method_not_allowed", "use GET (or HEAD)"));
    if (auto refusal = refuse_admin(request)) return respond(*refusal);
    return room_changes(request, *room, std::move(respond));
  }
  respond(answer(request, now));
}

HttpResponse HttpApi::answer(const HttpRequest& request, Now now) const {
  if (request.path == "/healthz") {
    if (!is_read(request)) return json_error(405, "method_not_allowed", "use GET (or HEAD)");
    return healthz(now);
  }
  if (request.path == "/metrics") {
    if (!is_read(request)) return json_error(405, "method_not_allowed", "use GET (or HEAD)");
    return metrics(now);
  }
  if (request.path == "/api/v1/ws/stats" || request.path == "/api/v1/ws/rooms") {
    if (!is_read(request)) return json_error(405, "method_not_allowed", "use GET (or HEAD)");
    if (auto refusal = refuse_admin(request)) return *refusal;
    return request.path == "/api/v1/ws/stats" ? ws_stats(now) : ws_rooms(request);
  }
  if (auto room = detail_room(request.path)) {
    if (!is_read(request)) return json_error(405, "method_not_allowed", "use GET (or HEAD)");
    if (auto refusal = refuse_admin(request)) return *refusal;
    return ws_room(*room, now);
  }
  if (request.path == "/api/v1/ws/webhooks") {
    if (!is_read(request)) return json_error(405, "method_not_allowed", "use GET (or HEAD)");
    if (auto refusal = refuse_admin(request)) return *refusal;
    return HttpResponse{200, "application/json",
                        webhook_reporter_ ? webhook_reporter_(now)
                                          : std::string(R"({"endpoints":[],"queues":[],"dead_letters":[]})")};
  }
  if (request.path == "/api/v1/ydocs") {
    if (!is_read(request)) return json_error(405, "method_not_allowed", "use GET (or HEAD)");
    if (auto refusal = refuse_admin(request)) return *refusal;
    return ydocs(request);
  }
  if (request.path == "/api/v1/dev/token" && settings_.dev) {
    if (!is_read(request)) return json_error(405, "method_not_allowed", "use GET (or HEAD)");
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
  // No NUL: JSON strings cannot carry one (the token's name would end there, or be empty and
  // refused by the server that minted it). libwebsockets 4.1.6 drops a request whose URI has
  // "%00" before it gets here; this does not rely on it.
  if (name->size() > protocol::rules::display_name.max || !json::is_valid_utf8(*name) ||
      name->find('\0') != std::string::npos)
    return json_error(400, "invalid_request", "name must be 1..64 bytes of UTF-8, without NUL");

  jwt::Claims claims;
  if (const std::string* id = query_value(request, "id")) {
    claims.sub = *id;
    bool ok = !id->empty() && id->size() <= protocol::rules::user_id.max;
    for (char c : *id)
      ok = ok && json::is_identifier_char(c);
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
  if (const std::string* perms = query_value(request, "perms")) {
    claims.perms = split_commas(*perms);
    for (const std::string& perm : claims.perms) {
      bool ok = perm.size() <= 64;
      for (char c : perm) ok = ok && json::is_identifier_char(c);
      if (!ok) return json_error(400, "invalid_request", "perms must be comma-separated names like chat:clear");
    }
  }
  const jwt::UnixSeconds issued = now.wall / 1000;
  claims.iat = issued;
  claims.exp = issued + settings_.dev_token_ttl_s;
  LOG_INFO_CTX(log::Fields{.user = claims.sub}, "dev token minted for %s", claims.sub.c_str());

  json::JsonWriter user;
  user.str("id", claims.sub).str("name", *claims.name).str("color", *claims.color);
  json::JsonWriter body;
  body.str("token", jwt::mint(claims, settings_.jwt_secret))
      .child("user", std::move(user))
      .int64("expires_at", claims.exp * 1000);
  return HttpResponse{200, "application/json", body.finish()};
}

}  // namespace tandem::server

namespace tandem::server {

std::optional<HttpResponse> HttpApi::refuse_admin(const HttpRequest& request) const {
  if (settings_.admin_token.empty())
    return json_error(403, "forbidden", "admin endpoints are off: set admin_token (TANDEM_ADMIN_TOKEN) to use them");
  if (request.authorization.empty())
    return json_error(401, "unauthorized", "send Authorization: Bearer <admin_token>");
  if (!bearer_matches(request.authorization, settings_.admin_token))
    return json_error(403, "forbidden", "wrong admin token");
  return std::nullopt;
}

std::optional<HttpResponse> HttpApi::refuse_publisher(const HttpRequest& request) const {
  if (settings_.publish_api_key.empty())
    return json_error(403, "forbidden", "publishing is off: set publish_api_key (TANDEM_PUBLISH_API_KEY) to use it");
  if (request.authorization.empty())
    return json_error(401, "unauthorized", "send Authorization: Bearer <publish_api_key>");
  if (!bearer_matches(request.authorization, settings_.publish_api_key))
    return json_error(403, "forbidden", "wrong publish API key");
  return std::nullopt;
}

MetricsSnapshot HttpApi::snapshot(const ServerState& state, Now now) const {
  const std::int64_t uptime_s = (now.mono - started_).count() / 1000;
  if (!state.metrics) {
    MetricsSnapshot empty;
    empty.connections = state.hub.connections;
    empty.uptime_s = uptime_s;
    return empty;
  }
  return state.metrics->snapshot(state.hub.connections, uptime_s);
}

HttpResponse HttpApi::metrics(Now now) const {
  return HttpResponse{200, std::string(kPrometheusContentType), prometheus_text(snapshot(state_(), now))};
}

namespace {

// The figures ws/stats adds up over instances, in its order.
constexpr std::array<const char*, 8> kSummedFigures{"connections", "users",       "rooms",    "messages_in",
                                                    "messages_out", "frames_out", "bytes_in", "bytes_out"};

struct InstanceFigures {
  std::string instance;
  std::map<std::string, std::int64_t> figures;  // kSummedFigures and uptime_s
  std::vector<RoomSummary> rooms;
};

InstanceFigures figures_of(const std::string& instance, const MetricsSnapshot& s, std::vector<RoomSummary> rooms) {
  auto count = [](std::uint64_t n) { return static_cast<std::int64_t>(n); };
  return InstanceFigures{instance,
                         {{"connections", count(s.connections)},
                          {"users", count(s.users)},
                          {"rooms", count(s.rooms)},
                          {"messages_in", count(s.messages_in)},
                          {"messages_out", count(s.messages_out)},
                          {"frames_out", count(s.frames_out)},
                          {"bytes_in", count(s.bytes_in)},
                          {"bytes_out", count(s.bytes_out)},
                          {"uptime_s", s.uptime_s}},
                         std::move(rooms)};
}

// Another instance's report (instance_report); nullopt for one this version cannot read.
std::optional<InstanceFigures> read_report(const std::string& report) {
  auto root = json::parse_json(report);
  if (!root) return std::nullopt;
  json::Fields f(root.value().get(), "report");
  InstanceFigures figures;
  f.str("instance", figures.instance, {1, 256, false});
  for (const char* name : kSummedFigures) f.int64(name, figures.figures[name], 0, std::numeric_limits<std::int64_t>::max());
  f.int64("uptime_s", figures.figures["uptime_s"], 0, std::numeric_limits<std::int64_t>::max());
  f.each("room_list", true, std::numeric_limits<std::size_t>::max(), [&](json::Fields& room) {
    RoomSummary summary;
    std::int64_t members = 0, connections = 0;
    room.str("room", summary.room, {1, 256, false});
    room.int64("members", members, 0, std::numeric_limits<std::int64_t>::max());
    room.int64("connections", connections, 0, std::numeric_limits<std::int64_t>::max());
    summary.members = static_cast<std::size_t>(members);
    summary.connections = static_cast<std::size_t>(connections);
    figures.rooms.push_back(std::move(summary));
  });
  if (!f.ok()) return std::nullopt;
  return figures;
}

json::JsonWriter rooms_json(const std::vector<RoomSummary>& rooms) {
  json::JsonWriter list = json::JsonWriter::array();
  for (const RoomSummary& room : rooms) {
    json::JsonWriter entry;
    entry.str("room", room.room)
        .int64("members", static_cast<std::int64_t>(room.members))
        .int64("connections", static_cast<std::int64_t>(room.connections));
    list.push(std::move(entry));
  }
  return list;
}

// This instance (live figures) and, with several, every other live one (their reports),
// sorted by instance.
std::vector<InstanceFigures> every_instance(const HttpApi::ServerState& state, const MetricsSnapshot& own) {
  std::vector<InstanceFigures> all;
  all.push_back(figures_of(state.instance, own, state.metrics ? state.metrics->rooms() : std::vector<RoomSummary>{}));
  if (state.cluster_reports)
    for (const std::string& report : *state.cluster_reports)
      if (auto figures = read_report(report)) all.push_back(std::move(*figures));
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.instance < b.instance; });
  return all;
}

}  // namespace

std::string HttpApi::instance_report(Now now) const {
  const ServerState state = state_();
  const InstanceFigures own = figures_of(state.instance, snapshot(state, now),
                                         state.metrics ? state.metrics->rooms() : std::vector<RoomSummary>{});
  json::JsonWriter report;
  report.str("instance", own.instance);
  for (const auto& [name, value] : own.figures) report.int64(name.c_str(), value);
  report.child("room_list", rooms_json(own.rooms));
  return report.finish();
}

HttpResponse HttpApi::ws_stats(Now now) const {
  const ServerState state = state_();
  const std::vector<InstanceFigures> all = every_instance(state, snapshot(state, now));
  json::JsonWriter body;
  for (const char* name : kSummedFigures) {
    std::int64_t total = 0;
    for (const InstanceFigures& one : all) total += one.figures.at(name);
    body.int64(name, total);
    if (std::string_view(name) == "rooms") body.int64("uptime_s", snapshot(state, now).uptime_s);  // this instance's
  }
  if (state.cluster_reports) {  // several: each one's own figures too
    json::JsonWriter instances = json::JsonWriter::array();
    for (const InstanceFigures& one : all) {
      json::JsonWriter entry;
      entry.str("instance", one.instance);
      for (const char* name : {"connections", "users", "rooms", "uptime_s"}) entry.int64(name, one.figures.at(name));
      instances.push(std::move(entry));
    }
    body.child("instances", std::move(instances));
  }
  return HttpResponse{200, "application/json", body.finish()};
}

HttpResponse HttpApi::ws_rooms(const HttpRequest& request) const {
  const ServerState state = state_();
  const std::string* prefix = query_value(request, "prefix");
  std::vector<RoomSummary> rooms;
  // Each room is in its owner's list only (an instance lists the rooms it runs).
  for (InstanceFigures& one : every_instance(state, MetricsSnapshot{}))
    for (RoomSummary& room : one.rooms)
      if (!prefix || room.room.starts_with(*prefix)) rooms.push_back(std::move(room));
  std::sort(rooms.begin(), rooms.end(), [](const auto& a, const auto& b) { return a.room < b.room; });
  json::JsonWriter body;
  body.child("rooms", rooms_json(rooms));
  return HttpResponse{200, "application/json", body.finish()};
}

HttpResponse HttpApi::ws_room(std::string_view room, Now now) const {
  if (!valid_room_name(room)) return json_error(400, "invalid_request", "the room must be a room name like workflow:42");
  const std::optional<RoomDetail> detail = room_inspector_ ? room_inspector_(room, now) : std::nullopt;
  if (!detail) {
    // Several instances: the room may run on another one, which answers for it (each instance
    // knows the members and locks of its own rooms only). Its last report names it.
    const ServerState state = state_();
    if (state.cluster_reports)
      for (const std::string& report : *state.cluster_reports)
        if (auto other = read_report(report))
          for (const RoomSummary& listed : other->rooms)
            if (listed.room == room) {
              json::JsonWriter body;
              body.str("error", "not_found")
                  .str("message", "room " + std::string(room) + " runs on instance " + other->instance +
                                      ": ask that instance")
                  .str("instance", other->instance);
              return HttpResponse{404, "application/json", body.finish()};
            }
    return json_error(404, "not_found", "no room " + std::string(room) + " here (nobody is in it)");
  }
  json::JsonWriter members = json::JsonWriter::array();
  for (const RoomDetail::Member& member : detail->members) {
    json::JsonWriter entry;
    entry.str("user", member.user.id)
        .str("name", member.user.name)
        .str("color", member.user.color)
        .int64("connections", static_cast<std::int64_t>(member.connections));
    members.push(std::move(entry));
  }
  json::JsonWriter locks = json::JsonWriter::array();
  for (const RoomDetail::Lock& lock : detail->locks) {
    json::JsonWriter holder;
    holder.str("user", lock.holder.user).str("name", lock.holder.name).str("color", lock.holder.color);
    json::JsonWriter entry;
    entry.str("resource", lock.resource)
        .child("holder", std::move(holder))
        .int64("fence", lock.fence)
        .int64("expires_at", lock.expires_at)
        .int64("expires_in_ms", lock.expires_in.count());
    locks.push(std::move(entry));
  }
  json::JsonWriter body;
  body.str("room", detail->room).child("members", std::move(members)).child("locks", std::move(locks));
  return HttpResponse{200, "application/json", body.finish()};
}

HttpResponse HttpApi::ydocs(const HttpRequest& request) const {
  const std::string* prefix = query_value(request, "prefix");
  std::vector<YDocSummary> docs = ydoc_lister_ ? ydoc_lister_() : std::vector<YDocSummary>{};
  std::sort(docs.begin(), docs.end(), [](const auto& a, const auto& b) { return a.doc < b.doc; });
  json::JsonWriter list = json::JsonWriter::array();
  for (const YDocSummary& d : docs) {
    if (prefix && !d.doc.starts_with(*prefix)) continue;
    json::JsonWriter one;
    one.str("doc", d.doc)
        .int64("connections", static_cast<std::int64_t>(d.connections))
        .int64("updates", static_cast<std::int64_t>(d.updates))
        .int64("bytes", static_cast<std::int64_t>(d.bytes))
        .int64("last_seq", d.last_seq);
    list.push(std::move(one));
  }
  json::JsonWriter body;
  body.child("ydocs", std::move(list));
  return HttpResponse{200, "application/json", body.finish()};
}

void HttpApi::room_changes(const HttpRequest& request, std::string_view room, Respond respond) const {
  constexpr std::int64_t kDefaultLimit = 50;
  constexpr std::int64_t kMaxLimit = 500;
  if (!valid_room_name(room)) return respond(json_error(400, "invalid_request", "the room must be a room name like workflow:42"));
  if (protocol::rules::room_kind(room) != protocol::rules::RoomKind::Workflow)
    return respond(json_error(400, "invalid_request", "change history is kept for workflow: rooms only"));
  const auto before = positive_query(request, "before", 0);
  if (!before) return respond(json_error(400, "invalid_request", "before must be a seq (a positive integer)"));
  const auto limit = positive_query(request, "limit", kDefaultLimit);
  if (!limit || *limit > kMaxLimit) return respond(json_error(400, "invalid_request", "limit must be 1..500"));
  if (!changes_reader_) return respond(json_error(503, "internal", "this server keeps no change history (no store)"));

  // One more than asked: whether another page follows.
  const auto wanted = static_cast<std::size_t>(*limit);
  changes_reader_({std::string(room), *before, wanted + 1},
                  [room = std::string(room), wanted, respond = std::move(respond)](
                      Result<std::vector<store::StoredChange>> page) {
                    if (!page) {
                      LOG_ERROR_CTX(log::Fields{.room = room}, "change history of %s: %s", room.c_str(),
                                    page.error().message.c_str());
                      return respond(json_error(500, "internal", "the change history could not be read"));
                    }
                    const bool more = page->size() > wanted;
                    json::JsonWriter list = json::JsonWriter::array();
                    for (std::size_t i = 0; i < page->size() && i < wanted; ++i) {
                      const store::StoredChange& change = (*page)[i];
                      json::JsonWriter entry;
                      entry.int64("seq", change.seq).str("user", change.user).int64("ts", change.ts).raw("event", change.json);
                      list.push(std::move(entry));
                    }
                    json::JsonWriter body;
                    body.str("room", room).child("changes", std::move(list));
                    if (more) {
                      body.int64("next_before", (*page)[wanted - 1].seq);
                    } else {
                      body.raw("next_before", "null");
                    }
                    respond(HttpResponse{200, "application/json", body.finish()});
                  });
}

}  // namespace tandem::server
