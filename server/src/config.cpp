// server/src/config.cpp — the settings table and the loader (defaults < file < env < flags).
#include "config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "origin_policy.h"
#include "webhooks/webhook_config.h"

namespace tandem::server {

namespace {

// Built by appending: GCC 12 at -O3 (CMAKE_BUILD_TYPE=Release) reports a false -Wrestrict for
// "\"" + std::string(text).
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

template <class Int>
std::optional<Int> parse_int(std::string_view text) {
  Int value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "1" || lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "0" || lower == "false" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

// The three derived spellings of a setting name.
std::string flag_of(std::string_view name) {
  std::string flag = "--" + std::string(name);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}
std::string env_of(std::string_view name) {
  std::string env = "TANDEM_" + std::string(name);
  std::transform(env.begin(), env.end(), env.begin(), [](unsigned char c) { return std::toupper(c); });
  return env;
}

SettingInfo row(std::string name, std::string help) {
  SettingInfo info;
  info.flag = flag_of(name);
  info.env = env_of(name);
  info.name = std::move(name);
  info.help = std::move(help);
  return info;
}

template <class Int>
SettingInfo integer(std::string name, Int Settings::*field, Int min, Int max, std::string help) {
  SettingInfo info = row(std::move(name), std::move(help));
  info.parse = [field, min, max](Settings& s, std::string_view text) -> std::optional<std::string> {
    auto value = parse_int<Int>(text);
    if (!value || *value < min || *value > max)
      return "must be an integer in " + std::to_string(min) + ".." + std::to_string(max) + ", got " + quoted(text);
    s.*field = *value;
    return std::nullopt;
  };
  info.show = [field](const Settings& s) { return std::to_string(s.*field); };
  return info;
}

SettingInfo text(std::string name, std::string Settings::*field, std::string help) {
  SettingInfo info = row(std::move(name), std::move(help));
  info.parse = [field](Settings& s, std::string_view value) -> std::optional<std::string> {
    s.*field = std::string(value);
    return std::nullopt;
  };
  info.show = [field](const Settings& s) { return s.*field; };
  return info;
}

SettingInfo boolean(std::string name, bool Settings::*field, std::string help) {
  SettingInfo info = row(std::move(name), std::move(help));
  info.is_switch = true;
  info.parse = [field](Settings& s, std::string_view text) -> std::optional<std::string> {
    auto value = parse_bool(text);
    if (!value) return "must be true or false (also 1/0, yes/no, on/off), got " + quoted(text);
    s.*field = *value;
    return std::nullopt;
  };
  info.show = [field](const Settings& s) { return std::string(s.*field ? "true" : "false"); };
  return info;
}

std::vector<SettingInfo> build_table() {
  constexpr int kMaxMs = 24 * 3600 * 1000;
  constexpr std::int64_t kGiB = 1024LL * 1024 * 1024;
  std::vector<SettingInfo> t;
  t.push_back(text("host", &Settings::host, "address to listen on (0.0.0.0 for every interface)"));
  t.push_back(integer("port", &Settings::port, 1, 65535, "TCP port for HTTP and WebSocket"));
  t.push_back(text("web_root", &Settings::web_root, "directory of static files served at /"));

  t.push_back(text("tls_cert", &Settings::tls_cert,
                   "PEM certificate (chain): https and wss on --port instead of http and ws (needs --tls-key)"));
  t.push_back(text("tls_key", &Settings::tls_key, "PEM private key of --tls-cert"));
  SettingInfo origins = text("allowed_origins", &Settings::allowed_origins,
                             "web pages that may open /ws, comma-separated: https://app.example.com, self (this "
                             "server's pages), null; others get 403 (unset: any; no Origin header: always allowed)");
  origins.parse = [](Settings& s, std::string_view value) -> std::optional<std::string> {
    auto policy = OriginPolicy::parse(value);
    if (!policy) return policy.error().message;
    s.allowed_origins = std::string(value);
    return std::nullopt;
  };
  t.push_back(std::move(origins));

  SettingInfo secret = text("jwt_secret", &Settings::jwt_secret,
                            "HS256 key for tokens, at least 32 bytes (generate: openssl rand -hex 32)");
  secret.secret = true;
  t.push_back(std::move(secret));
  t.push_back(integer("jwt_leeway_s", &Settings::jwt_leeway_s, 0, 3600, "clock skew tolerated on token exp/nbf, seconds"));
  t.push_back(boolean("dev", &Settings::dev,
                      "development mode: GET /api/v1/dev/token mints tokens for anyone; random secret if none"));
  t.push_back(integer("dev_token_ttl_s", &Settings::dev_token_ttl_s, 60, 30 * 24 * 3600, "lifetime of dev tokens, seconds"));
  SettingInfo admin = text("admin_token", &Settings::admin_token,
                           "bearer token for GET /api/v1/ws/stats and /rooms, at least 16 bytes (unset: they answer 403)");
  admin.secret = true;
  t.push_back(std::move(admin));
  t.push_back(integer("auth_timeout_ms", &Settings::auth_timeout_ms, 100, kMaxMs,
                      "time to authenticate after connecting without ?token=, else close 4408"));

  t.push_back(integer("max_connections", &Settings::max_connections, 1, 10000000,
                      "WebSocket connections this instance accepts; more are refused with 503 before the upgrade"));
  t.push_back(integer("max_connections_per_ip", &Settings::max_connections_per_ip, 1, 10000000,
                      "WebSocket connections from one client address; more are refused with 429 before the upgrade"));
  t.push_back(integer("max_connections_per_user", &Settings::max_connections_per_user, 1, 10000000,
                      "connections authenticated as one user; more: 429 before the upgrade (token in the URL) or close 4429"));
  t.push_back(text("trusted_proxies", &Settings::trusted_proxies,
                   "comma-separated proxy addresses (e.g. nginx's) whose X-Forwarded-For names the client for the per-address cap"));
  t.push_back(integer("handshake_timeout_ms", &Settings::handshake_timeout_ms, 1000, 600000,
                      "a connection must complete its HTTP request or WebSocket upgrade within this (slow handshakes are cut)"));
  t.push_back(integer<std::int64_t>("max_preauth_bytes", &Settings::max_preauth_bytes, 256, 64 * 1024 * 1024,
                                    "largest message accepted before authentication; larger: close 1009"));
  t.push_back(integer("close_linger_ms", &Settings::close_linger_ms, 0, 60000,
                      "after the server's close frame, the client's input is read and dropped this long so the close code arrives"));

  t.push_back(integer("heartbeat_ms", &Settings::heartbeat_ms, 1000, kMaxMs,
                      "WS ping after this much silence; clients are told to expect traffic this often"));
  t.push_back(integer("idle_timeout_ms", &Settings::idle_timeout_ms, 2000, kMaxMs,
                      "close connections silent this long (must exceed heartbeat_ms)"));
  t.push_back(integer("session_resume_ms", &Settings::session_resume_ms, 0, kMaxMs,
                      "a reconnecting client presenting its session within this long resumes it (locks in grace move back)"));

  t.push_back(integer("sse_heartbeat_ms", &Settings::sse_heartbeat_ms, 1000, kMaxMs,
                      "SSE fallback: a comment on a silent event stream this often, so proxies keep it open"));
  t.push_back(integer("sse_resume_ms", &Settings::sse_resume_ms, 0, kMaxMs,
                      "SSE fallback: a broken event stream's connection waits this long for a GET with Last-Event-ID"));
  t.push_back(integer<std::int64_t>("sse_replay_bytes", &Settings::sse_replay_bytes, 0, kGiB,
                                    "SSE fallback: sent events kept per stream to replay after Last-Event-ID"));
  t.push_back(integer<std::int64_t>("sse_max_post_bytes", &Settings::sse_max_post_bytes, 1024, kGiB,
                                    "SSE fallback: largest POST body (messages the client sends, one per line); larger: 413"));

  t.push_back(integer<std::int64_t>("max_frame_bytes", &Settings::max_frame_bytes, 256, 64 * 1024 * 1024,
                                    "largest message accepted; larger ones get error too_big"));
  t.push_back(integer<std::int64_t>("hard_frame_bytes", &Settings::hard_frame_bytes, 256, kGiB,
                                    "one message over this closes the connection with 1009"));
  t.push_back(integer("max_bad_frames", &Settings::max_bad_frames, 1, 100000,
                      "malformed messages tolerated per minute before close 4400"));
  t.push_back(integer<std::int64_t>("max_outbound_bytes", &Settings::max_outbound_bytes, 4096, kGiB,
                                    "bytes queued for one client before it is closed as a slow consumer (4508)"));
  t.push_back(integer<std::int64_t>("max_batch_bytes", &Settings::max_batch_bytes, 1024, 64 * 1024 * 1024,
                                    "pending messages for one client are joined into one frame up to this size"));
  t.push_back(integer("rx_buffer_size", &Settings::rx_buffer_size, 0, 1 << 20,
                      "libwebsockets receive buffer per connection and most read per loop pass (smaller saves memory, slows busy senders)"));

  t.push_back(integer("max_rooms", &Settings::max_rooms, 1, 100000, "rooms one connection may join (advertised)"));
  t.push_back(integer("rate_per_sec", &Settings::rate_per_sec, 1, 1000000,
                      "messages per second one connection may send (token bucket); more: error rate_limited, dropped"));
  t.push_back(integer("rate_burst", &Settings::rate_burst, 1, 1000000,
                      "messages one connection may send at once (the token bucket's size)"));
  t.push_back(integer("max_rate_violations", &Settings::max_rate_violations, 1, 1000000,
                      "rate_limited messages tolerated per minute before the connection is closed (4429)"));
  t.push_back(integer("presence_tick_ms", &Settings::presence_tick_ms, 10, 10000,
                      "presence updates are conflated per user over this period; at most one update per user per tick"));
  t.push_back(integer("presence_crowd_users", &Settings::presence_crowd_users, 0, 1000000,
                      "a room with more users is a crowd: joiners get a count, joins and leaves are counted, not sent (0: never)"));
  t.push_back(integer("presence_list_max", &Settings::presence_list_max, 1, 10000, "users in one presence_list page"));

  t.push_back(integer("lock_ttl_ms", &Settings::lock_ttl_ms, 1, kMaxMs, "lock lease when the request names no ttl_ms"));
  t.push_back(integer("lock_ttl_min_ms", &Settings::lock_ttl_min_ms, 1, kMaxMs, "shortest lock lease; shorter requests are raised"));
  t.push_back(integer("lock_ttl_max_ms", &Settings::lock_ttl_max_ms, 1, kMaxMs, "longest lock lease; longer requests are cut"));
  t.push_back(integer("lock_grace_ms", &Settings::lock_grace_ms, 0, kMaxMs,
                      "a disconnected holder keeps its locks this long; a takeover waits this long for the holder"));
  t.push_back(integer("max_locks_per_user", &Settings::max_locks_per_user, 1, 100000,
                      "locks one user may hold at once (all rooms, all tabs), else limit_exceeded"));

  t.push_back(integer("shutdown_timeout_ms", &Settings::shutdown_timeout_ms, 0, kMaxMs,
                      "on SIGTERM/SIGINT, time to close clients with 1012 before exiting anyway"));

  t.push_back(integer("recovery_history", &Settings::recovery_history, 1, 1000000,
                      "room events kept per room so a reconnecting client gets what it missed (older: a fresh snapshot)"));
  SettingInfo store = row("store", "where durable state lives: sqlite (one file, one process) or postgres (--store-url)");
  store.parse = [](Settings& s, std::string_view value) -> std::optional<std::string> {
    if (value != "sqlite" && value != "postgres") return "must be sqlite or postgres, got " + quoted(value);
    s.store = std::string(value);
    return std::nullopt;
  };
  store.show = [](const Settings& s) { return s.store; };
  t.push_back(std::move(store));
  t.push_back(text("store_path", &Settings::store_path,
                   "SQLite database file for durable state (folder created if missing; \":memory:\" keeps nothing)"));
  SettingInfo store_url = text("store_url", &Settings::store_url,
                               "PostgreSQL URL for --store postgres: postgres://user:password@host:5432/db");
  store_url.secret = true;  // it may hold a password
  t.push_back(std::move(store_url));
  t.push_back(integer("store_timeout_ms", &Settings::store_timeout_ms, 100, kMaxMs,
                      "postgres: the longest one call to the database (connect, read, commit) may wait"));
  t.push_back(integer("store_give_up_ms", &Settings::store_give_up_ms, 0, kMaxMs,
                      "a store whose commits all fail this long (retried meanwhile) stops the server: clients 1011, exit 3"));
  SettingInfo engine = row("engine", "local (one process) or redis: several instances share rooms through --redis-url (needs --store postgres)");
  engine.parse = [](Settings& s, std::string_view value) -> std::optional<std::string> {
    if (value != "local" && value != "redis") return "must be local or redis, got " + quoted(value);
    s.engine = std::string(value);
    return std::nullopt;
  };
  engine.show = [](const Settings& s) { return s.engine; };
  t.push_back(std::move(engine));
  SettingInfo redis_url = text("redis_url", &Settings::redis_url,
                               "Redis URL for --engine redis: redis://[user:password@]host[:port][/db]");
  redis_url.secret = true;  // it may hold a password
  t.push_back(std::move(redis_url));
  t.push_back(text("redis_prefix", &Settings::redis_prefix,
                   "--engine redis: the prefix of every key and channel (instances sharing rooms use the same)"));
  t.push_back(text("instance_id", &Settings::instance_id,
                   "--engine redis: this instance's unique name among the others (default <hostname>-<pid>)"));
  t.push_back(integer("room_lease_ms", &Settings::room_lease_ms, 1000, kMaxMs,
                      "several instances: a room's owner renews its lease every third of this; a paused owner's rooms free up within it"));
  t.push_back(integer("instance_ttl_ms", &Settings::instance_ttl_ms, 1000, kMaxMs,
                      "several instances: heartbeat every third of this; a dead instance's rooms, members and clients are let go within it"));
  t.push_back(boolean("store_full_sync", &Settings::store_full_sync,
                   "fsync every commit: survives power loss, fewer commits/s (off: survives a process crash)"));
  t.push_back(boolean("store_commit_thread", &Settings::store_commit_thread,
                      "group commits run on a thread of their own while the loop handles the next pass (=false: the loop waits for each)"));
  t.push_back(integer("dedup_window", &Settings::dedup_window, 1, 1000000,
                      "request ids remembered per session; a resend of one of them is acked again, not applied twice"));

  t.push_back(integer("max_nodes", &Settings::max_nodes, 1, 10000, "nodes per workflow document, else limit_exceeded"));
  t.push_back(integer("max_edges", &Settings::max_edges, 1, 20000, "edges per workflow document, else limit_exceeded"));
  t.push_back(integer<std::int64_t>("max_doc_bytes", &Settings::max_doc_bytes, 1024, kGiB,
                                    "largest workflow document (its encoded snapshot), else limit_exceeded"));

  t.push_back(integer<std::int64_t>("max_ydoc_bytes", &Settings::max_ydoc_bytes, 1024, kGiB,
                                    "largest Yjs document (its stored update log); an update past it closes the sender (4413)"));
  t.push_back(integer("ydoc_compact_after", &Settings::ydoc_compact_after, 2, 1000000,
                      "a Yjs document's log is compacted (a writer's whole state replaces it) once it holds this many updates"));
  t.push_back(integer("max_awareness_clients", &Settings::max_awareness_clients, 1, 1000,
                      "awareness states (Yjs client ids) one connection may announce per document; more are ignored"));

  t.push_back(integer("chat_history", &Settings::chat_history, 1, 10000,
                      "chat messages kept per room and sent to a joining client"));
  t.push_back(integer("typing_timeout_ms", &Settings::typing_timeout_ms, 100, kMaxMs,
                      "a typing indicator clears itself after this long without a new `typing`"));

  t.push_back(text("bots", &Settings::bots,
                   "chat bots members may turn on, comma-separated ids (helper,pirate); a worker serves bot X with "
                   "\"bot:X\" in its token's perms (unset: no bots)"));
  t.push_back(integer("bot_partial_ms", &Settings::bot_partial_ms, 10, 10000,
                      "a growing bot reply reaches members at most this often (the newest text wins)"));
  t.push_back(integer("bot_max_replies", &Settings::bot_max_replies, 1, 1000,
                      "bot replies growing at once in one room; one more ai_request is refused limit_exceeded"));
  t.push_back(integer("bot_reply_timeout_ms", &Settings::bot_reply_timeout_ms, 100, 3600000,
                      "a bot reply still growing this long after its request ends as an interrupted chat message "
                      "(its worker is asked to cancel it)"));

  SettingInfo publish_key = text("publish_api_key", &Settings::publish_api_key,
                                 "bearer key for POST /api/v1/publish, at least 16 bytes (unset: publish answers 403)");
  publish_key.secret = true;
  t.push_back(std::move(publish_key));

  SettingInfo hooks = text("webhooks", &Settings::webhooks,
                           "webhook endpoints, `;`-separated: NAME URL rooms=PATTERNS [events=KINDS] secret=SECRET "
                           "(docs/OPERATIONS.md \"Webhooks\"; unset: none)");
  hooks.secret = true;
  t.push_back(std::move(hooks));
  t.push_back(integer("webhook_batch_max", &Settings::webhook_batch_max, 1, 10000, "room events per webhook POST"));
  t.push_back(integer("webhook_max_attempts", &Settings::webhook_max_attempts, 1, 1000,
                      "attempts of a webhook batch answered 4xx (not 408/429) before it becomes a dead letter"));
  t.push_back(integer("webhook_retry_initial_ms", &Settings::webhook_retry_initial_ms, 10, kMaxMs,
                      "delay before a failed webhook POST's first retry; doubles per attempt, with jitter"));
  t.push_back(integer("webhook_retry_max_ms", &Settings::webhook_retry_max_ms, 10, kMaxMs,
                      "longest delay between attempts of a webhook POST"));
  t.push_back(integer("webhook_timeout_ms", &Settings::webhook_timeout_ms, 100, kMaxMs,
                      "one webhook POST, connect to answer; longer is a failed attempt"));
  t.push_back(integer<std::int64_t>("webhook_max_backlog", &Settings::webhook_max_backlog, 1, 100000000,
                                    "room events waiting per webhook endpoint and room (kept from the store's trim); "
                                    "past it the oldest become a dead letter"));

  SettingInfo level = row("log_level", "error, warn, info or debug (debug logs every connect/disconnect)");
  level.parse = [](Settings& s, std::string_view value) -> std::optional<std::string> {
    auto parsed = log::parse_level(value);
    if (!parsed) return "must be one of error, warn, info, debug, got " + quoted(value);
    s.log_level = *parsed;
    return std::nullopt;
  };
  level.show = [](const Settings& s) { return std::string(log::level_name(s.log_level)); };
  t.push_back(std::move(level));
  SettingInfo format = row("log_format",
                           "text (readable lines) or json (one JSON object per line, with conn, room and user fields)");
  format.parse = [](Settings& s, std::string_view value) -> std::optional<std::string> {
    auto parsed = log::parse_format(value);
    if (!parsed) return "must be text or json, got " + quoted(value);
    s.log_format = *parsed;
    return std::nullopt;
  };
  format.show = [](const Settings& s) { return std::string(log::format_name(s.log_format)); };
  t.push_back(std::move(format));
  return t;
}

const SettingInfo* find_by_name(std::string_view name) {
  for (const SettingInfo& info : describe())
    if (info.name == name) return &info;
  return nullptr;
}

const SettingInfo* find_by_flag(std::string_view flag) {
  for (const SettingInfo& info : describe())
    if (info.flag == flag) return &info;
  return nullptr;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Applies `key = value` lines. Only whole-line comments: a value may contain '#' (secrets do).
std::optional<std::string> apply_file(Settings& settings, const std::string& path) {
  std::ifstream file(path);
  if (!file) return path + ": cannot open config file";
  std::string line;
  int number = 0;
  while (std::getline(file, line)) {
    ++number;
    std::string where = path + ":" + std::to_string(number) + ": ";
    std::string_view content = trim(line);
    if (content.empty() || content.front() == '#') continue;
    auto eq = content.find('=');
    if (eq == std::string_view::npos) return where + "expected `key = value`, got " + quoted(content);
    std::string key(trim(content.substr(0, eq)));
    std::replace(key.begin(), key.end(), '-', '_');
    std::string_view value = trim(content.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    const SettingInfo* info = find_by_name(key);
    if (!info) return where + "unknown setting " + quoted(key) + " (see --help)";
    if (auto error = info->parse(settings, value)) return where + key + ": " + *error;
  }
  return std::nullopt;
}

// Checks that `path` (the value of setting `name`) can be read and holds a PEM block whose
// BEGIN line ends in `label`, so a wrong file is named here rather than by lws's OpenSSL errors.
// `label` is "CERTIFICATE" or "PRIVATE KEY" (which also matches "EC PRIVATE KEY" and the like).
std::optional<std::string> check_pem_file(std::string_view name, const std::string& path, std::string_view label) {
  std::ifstream file(path);
  if (!file) return std::string(name) + " " + path + ": cannot read it (" + std::strerror(errno) + ")";
  std::string line;
  while (std::getline(file, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.starts_with("-----BEGIN ") && line.ends_with(std::string(label) + "-----")) return std::nullopt;
  }
  return std::string(name) + " " + path + ": no PEM " + std::string(label) + " in it (expected a line -----BEGIN " +
         std::string(label) + "-----)";
}

// A flag and its value, split from "--name=value" or "--name value".
struct ParsedFlag {
  std::string flag;
  std::optional<std::string> value;
};

}  // namespace

const std::vector<SettingInfo>& describe() {
  static const std::vector<SettingInfo> table = build_table();
  return table;
}

std::optional<std::string> validate(const Settings& s) {
  if (!s.dev && s.jwt_secret.empty())
    return "no JWT secret: set --jwt-secret or TANDEM_JWT_SECRET (at least 32 bytes, e.g. `openssl rand -hex 32`), "
           "or run with --dev for local development";
  if (!s.jwt_secret.empty() && s.jwt_secret.size() < kMinSecretBytes)
    return "jwt_secret is " + std::to_string(s.jwt_secret.size()) + " bytes; HS256 needs at least " +
           std::to_string(kMinSecretBytes) + " (generate one: openssl rand -hex 32)";
  if (!s.admin_token.empty() && s.admin_token.size() < kMinAdminTokenBytes)
    return "admin_token is " + std::to_string(s.admin_token.size()) + " bytes; use at least " +
           std::to_string(kMinAdminTokenBytes) + " (generate one: openssl rand -hex 32)";
  if (!s.publish_api_key.empty() && s.publish_api_key.size() < kMinAdminTokenBytes)
    return "publish_api_key is " + std::to_string(s.publish_api_key.size()) + " bytes; use at least " +
           std::to_string(kMinAdminTokenBytes) + " (generate one: openssl rand -hex 32)";
  if (auto hooks = webhooks::parse_webhooks(s.webhooks); !hooks) return "webhooks: " + hooks.error().message;
  if (s.webhook_max_backlog < s.recovery_history)
    return "webhook_max_backlog (" + std::to_string(s.webhook_max_backlog) + ") must be at least recovery_history (" +
           std::to_string(s.recovery_history) + ")";
  if (s.webhook_retry_max_ms < s.webhook_retry_initial_ms)
    return "webhook_retry_max_ms must be at least webhook_retry_initial_ms";
  if (s.idle_timeout_ms <= s.heartbeat_ms)
    return "idle_timeout_ms (" + std::to_string(s.idle_timeout_ms) + ") must exceed heartbeat_ms (" +
           std::to_string(s.heartbeat_ms) + "), or every idle client would be dropped before its ping";
  if (s.hard_frame_bytes < s.max_frame_bytes)
    return "hard_frame_bytes (" + std::to_string(s.hard_frame_bytes) + ") must be at least max_frame_bytes (" +
           std::to_string(s.max_frame_bytes) + ")";
  if (s.max_batch_bytes > s.max_outbound_bytes)
    return "max_batch_bytes must not exceed max_outbound_bytes";
  if (s.tls_cert.empty() != s.tls_key.empty())
    return std::string(s.tls_cert.empty() ? "tls_key is set but tls_cert is not" : "tls_cert is set but tls_key is not") +
           ": TLS needs both (--tls-cert CERT.pem --tls-key KEY.pem)";
  if (!s.tls_cert.empty()) {
    if (auto error = check_pem_file("tls_cert", s.tls_cert, "CERTIFICATE")) return error;
    if (auto error = check_pem_file("tls_key", s.tls_key, "PRIVATE KEY")) return error;
  }
  if (auto origins = OriginPolicy::parse(s.allowed_origins); !origins) return "allowed_origins: " + origins.error().message;
  if (s.host.empty()) return "host must not be empty";
  if (s.web_root.empty()) return "web_root must not be empty";
  if (s.store == "sqlite" && s.store_path.empty()) return "store_path must not be empty (\":memory:\" keeps nothing)";
  if (s.store == "postgres" && s.store_url.empty())
    return "--store postgres needs --store-url (or TANDEM_STORE_URL): postgres://user:password@host:5432/db";
  if (s.engine == "redis") {
    if (s.redis_url.empty()) return "--engine redis needs --redis-url (or TANDEM_REDIS_URL): redis://host:6379";
    if (s.store != "postgres")
      return "--engine redis needs --store postgres: instances share durable state through one PostgreSQL";
    if (s.redis_prefix.empty()) return "redis_prefix must not be empty";
    for (char ch : s.instance_id)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.')
        return "instance_id may hold letters, digits, '-', '_' and '.', got " + quoted(s.instance_id);
  }
  if (s.bots.size() > 4096)
    return "bots is " + std::to_string(s.bots.size()) + " bytes; at most 4096 (the history snapshot lists them)";
  if (const auto count = static_cast<int>(split_list(s.bots).size()); count > std::max(1, s.recovery_history / 2))
    return "bots lists " + std::to_string(count) + " bots; recovery_history (" + std::to_string(s.recovery_history) +
           ") must be at least twice that, so the server can restate them before they fall out of a room's log";
  for (const std::string& bot : split_list(s.bots)) {
    const bool valid = !bot.empty() && bot.size() <= 64 && std::all_of(bot.begin(), bot.end(), [](unsigned char ch) {
      return std::isalnum(ch) || ch == '_' || ch == ':' || ch == '.' || ch == '@' || ch == '-';
    });
    if (!valid) return "bots holds " + quoted(bot) + "; a bot id is 1-64 of A-Z a-z 0-9 _ : . @ -";
  }
  for (const std::string& proxy : split_list(s.trusted_proxies)) {
    in6_addr address{};
    if (inet_pton(AF_INET, proxy.c_str(), &address) != 1 && inet_pton(AF_INET6, proxy.c_str(), &address) != 1)
      return "trusted_proxies holds " + quoted(proxy) + ", which is not an IPv4 or IPv6 address";
  }
  if (s.lock_ttl_min_ms > s.lock_ttl_ms || s.lock_ttl_ms > s.lock_ttl_max_ms)
    return "lock ttls must satisfy lock_ttl_min_ms (" + std::to_string(s.lock_ttl_min_ms) + ") <= lock_ttl_ms (" +
           std::to_string(s.lock_ttl_ms) + ") <= lock_ttl_max_ms (" + std::to_string(s.lock_ttl_max_ms) + ")";
  return std::nullopt;
}

std::vector<std::string> split_list(std::string_view list) {
  std::vector<std::string> items;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
    if (!item.empty()) items.emplace_back(item);
  }
  return items;
}

Result<LoadedSettings> load_settings(const SettingSources& sources,
                                     const std::function<std::string()>& random_secret) {
  auto fail = [](std::string message) { return Error{"config", std::move(message)}; };

  // 1. Split the flags, so --config is known before the file is read.
  std::vector<ParsedFlag> flags;
  for (std::size_t i = 0; i < sources.args.size(); ++i) {
    const std::string& arg = sources.args[i];
    if (arg.rfind("--", 0) != 0) return fail("unexpected argument " + quoted(arg) + " (see --help)");
    ParsedFlag parsed;
    auto eq = arg.find('=');
    parsed.flag = arg.substr(0, eq);
    if (eq != std::string::npos) parsed.value = arg.substr(eq + 1);
    const SettingInfo* info = find_by_flag(parsed.flag);
    bool is_config = parsed.flag == "--config";
    if (!info && !is_config) return fail("unknown flag " + quoted(parsed.flag) + " (see --help)");
    bool is_switch = info && info->is_switch;
    if (!parsed.value && !is_switch) {
      if (i + 1 >= sources.args.size()) return fail(parsed.flag + ": needs a value");
      parsed.value = sources.args[++i];
    }
    flags.push_back(std::move(parsed));
  }

  LoadedSettings loaded;
  Settings& settings = loaded.settings;

  // 2. Config file: the last --config flag wins over TANDEM_CONFIG.
  std::optional<std::string> config_path;
  if (auto from_env = sources.env("TANDEM_CONFIG"); from_env && !from_env->empty()) config_path = from_env;
  for (const ParsedFlag& f : flags)
    if (f.flag == "--config") config_path = f.value;
  if (config_path) {
    if (auto error = apply_file(settings, *config_path)) return fail(*error);
    loaded.config_path = config_path;
  }

  // 3. Environment. An empty variable counts as unset (compose files often declare blanks).
  for (const SettingInfo& info : describe()) {
    auto value = sources.env(info.env);
    if (!value || value->empty()) continue;
    if (auto error = info.parse(settings, *value)) return fail(info.env + ": " + *error);
  }

  // 4. Flags, in order (a repeated flag: the last one wins).
  for (const ParsedFlag& f : flags) {
    if (f.flag == "--config") continue;
    const SettingInfo* info = find_by_flag(f.flag);
    if (auto error = info->parse(settings, f.value.value_or("true"))) return fail(f.flag + ": " + *error);
  }

  // 5. Dev mode without a secret: make one up. Tokens then die with the process, which is
  // what a development server wants.
  if (settings.dev && settings.jwt_secret.empty()) {
    settings.jwt_secret = random_secret();
    loaded.secret_generated = true;
  }
  if (auto error = validate(settings)) return fail(*error);
  return loaded;
}

std::string usage_text(std::string_view program) {
  std::ostringstream out;
  out << "tandem-server — real-time collaboration server (WebSocket + HTTP on one port)\n\n"
      << "Usage:\n"
      << "  " << program << " [serve] [flags]      run the server (the default)\n"
      << "  " << program << " mint-token --secret S --sub ID [--name N] [--color #rrggbb]\n"
      << "        [--rooms 'workflow:*,chat:lobby'] [--ttl 3600]   print a signed HS256 token\n"
      << "  " << program << " migrate --from STORE --to STORE [--batch 1000]\n"
      << "        copy a store into an empty one (STORE: sqlite:PATH or postgres://...; see migrate --help)\n"
      << "  " << program << " --help | --version\n\n"
      << "Settings (precedence: defaults < config file < environment < flags):\n"
      << "  --config PATH  (env TANDEM_CONFIG)\n"
      << "      file of `key = value` lines, `#` starts a comment line; keys are the names below\n";
  const Settings defaults;
  for (const SettingInfo& info : describe()) {
    out << "  " << info.flag << (info.is_switch ? "" : " VALUE") << "  (env " << info.env << ", file "
        << info.name << ")\n"
        << "      " << info.help << "\n"
        << "      default: " << (info.secret ? std::string("(none)") : info.show(defaults)) << "\n";
  }
  out << "\nEndpoints: /ws (WebSocket, ?token=JWT), /healthz, /api/v1/dev/token?name=N (dev only),\n"
      << "static files from web_root. On SIGTERM/SIGINT clients are closed with 1012 \"restart\".\n";
  return out.str();
}

}  // namespace tandem::server
