// server/src/main.cpp — tandem-server's command line: serve (default), mint-token, --help,
// --version.
//
//   tandem-server [serve] [flags]            see --help for every flag
//   tandem-server mint-token --secret S --sub ID [--name N] [--color C] [--rooms a,b] [--perms chat:clear] [--ttl 3600]
//   tandem-server migrate --from sqlite:PATH --to postgres://...   (store/migrate.h)
#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

#include "config.h"
#include "engine/redis_cluster.h"
#include "ids.h"
#include "jwt.h"
#include "log.h"
#include "lws_server.h"
#include "store/migrate.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"
#include "webhooks/webhook_config.h"
#include "version.h"

namespace {

using namespace tandem::server;

constexpr int kExitUsage = 2;  // bad flags or settings: like most Unix tools

std::optional<std::string> getenv_string(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (!value) return std::nullopt;
  return std::string(value);
}

bool wants(const std::vector<std::string>& args, std::string_view flag) {
  for (const std::string& arg : args)
    if (arg == flag) return true;
  return false;
}

// <hostname>-<pid>: unique among instances on different hosts, and on one host while they run.
std::string default_instance_id() {
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "tandem");
  std::string id;
  for (const char* p = host; *p != '\0'; ++p)
    id += std::isalnum(static_cast<unsigned char>(*p)) || *p == '-' || *p == '_' || *p == '.' ? *p : '_';
  return id + "-" + std::to_string(getpid());
}

store::Retention retention_of(const Settings& settings) {
  store::Retention retention;
  retention.history = static_cast<std::size_t>(settings.recovery_history);
  retention.chat = static_cast<std::size_t>(settings.chat_history);
  retention.requests_per_session = static_cast<std::size_t>(settings.dedup_window);
  // Webhooks: the events an endpoint has not acknowledged stay (up to the backlog bound).
  auto endpoints = webhooks::parse_webhooks(settings.webhooks);  // validated by load_settings
  if (endpoints && !endpoints.value().empty())
    retention.webhook_endpoints = [endpoints = std::move(endpoints).value()](std::string_view room) {
      return webhooks::endpoints_following(endpoints, room);
    };
  retention.webhook_max_backlog = static_cast<std::size_t>(settings.webhook_max_backlog);
  return retention;
}

// The durable store the settings name (--store), opened and migrated, or why it could not be.
tandem::Result<std::unique_ptr<store::Store>> open_engine(const Settings& settings) {
  if (settings.store == "postgres") {
    store::PostgresOptions options;
    options.url = settings.store_url;
    options.retention = retention_of(settings);
    options.timeout = std::chrono::milliseconds(settings.store_timeout_ms);
    auto opened = store::PostgresStore::open(options);
    if (!opened) return opened.error();
    LOG_INFO("store: %s (PostgreSQL, schema version %d)", store::redact_postgres_url(settings.store_url).c_str(),
             opened.value()->schema_version());
    return std::unique_ptr<store::Store>(std::move(opened).value());
  }
  store::SqliteOptions options;
  options.path = settings.store_path;
  options.synchronous = settings.store_full_sync ? store::Synchronous::Full : store::Synchronous::Normal;
  options.retention = retention_of(settings);
  auto opened = store::SqliteStore::open(options);
  if (!opened) return opened.error();
  LOG_INFO("store: %s (SQLite, %s)", settings.store_path.c_str(),
           settings.store_full_sync ? "full sync: every commit fsynced" : "WAL, survives a process crash");
  return std::unique_ptr<store::Store>(std::move(opened).value());
}

// open_engine, and in `webhook_rooms` the rooms whose webhook events a stopped server left
// undelivered (Store::webhook_rooms_behind), for the server to load at start — one process
// only: with several instances (--engine redis) each room's owner delivers its backlog when it
// loads the room.
tandem::Result<std::unique_ptr<store::Store>> open_store(const Settings& settings, std::vector<std::string>& webhook_rooms) {
  auto opened = open_engine(settings);
  if (!opened || settings.engine == "redis" || !retention_of(settings).webhook_endpoints) return opened;
  auto behind = opened.value()->webhook_rooms_behind();
  if (!behind) return behind.error();
  webhook_rooms = std::move(behind).value();
  return opened;
}

int serve(const std::vector<std::string>& args) {
  auto loaded = load_settings({args, getenv_string}, [] { return random_hex(32); });
  if (!loaded) {
    std::fprintf(stderr, "tandem-server: %s\n", loaded.error().message.c_str());
    return kExitUsage;
  }
  const Settings& settings = loaded->settings;
  log::set_level(settings.log_level);
  log::set_format(settings.log_format);
  if (loaded->config_path) LOG_INFO("settings read from %s", loaded->config_path->c_str());
  if (settings.host != "127.0.0.1" && settings.host != "localhost" && settings.host != "::1" && settings.dev)
    LOG_WARN("dev mode on a non-loopback host (%s): anyone on the network can mint tokens", settings.host.c_str());
  std::vector<std::string> webhook_rooms;
  auto opened = open_store(settings, webhook_rooms);
  if (!opened) {
    LOG_ERROR("cannot open the store: %s", opened.error().message.c_str());
    return static_cast<int>(ServeResult::StartFailed);
  }
  // SIGHUP: the same sources again; a dev secret made up at start stays (tokens keep working).
  const std::string secret = settings.jwt_secret;
  const SettingsReloader reload = [args, secret]() -> tandem::Result<Settings> {
    auto again = load_settings({args, getenv_string}, [secret] { return secret; });
    if (!again) return again.error();
    return std::move(again).value().settings;
  };
  if (settings.engine != "redis")
    return static_cast<int>(
        run_server(settings, loaded->secret_generated, *opened.value(), {}, reload, std::move(webhook_rooms)));

  // Several instances (docs/SCALING.md): room leases, heartbeats and messages through Redis.
  const std::string instance = settings.instance_id.empty() ? default_instance_id() : settings.instance_id;
  const RedisOptions redis_options{settings.redis_url, std::chrono::milliseconds(settings.store_timeout_ms)};
  auto redis = RedisConnection::open(redis_options);
  if (!redis) {
    LOG_ERROR("cannot reach Redis: %s", redis.error().message.c_str());
    return static_cast<int>(ServeResult::StartFailed);
  }
  RedisSubscriber subscriber(redis_options, wake_loop);
  RedisRoomDirectory directory(*redis.value(), instance, std::chrono::milliseconds(settings.room_lease_ms),
                               std::chrono::milliseconds(settings.instance_ttl_ms), settings.redis_prefix);
  RedisClusterLink link(*redis.value(), subscriber, instance, settings.redis_prefix);
  // A loop blocked in a store call is not dead; one stuck past store_give_up_ms is.
  RedisKeepalive keepalive(redis_options, directory, std::chrono::milliseconds(settings.store_give_up_ms));
  // Serve only once this instance's inbox is confirmed: a message sent to it before would be
  // lost without anyone noticing (later losses show as gaps: cluster.h).
  const auto listen_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(settings.store_timeout_ms);
  while (!link.listening()) {
    if (std::chrono::steady_clock::now() >= listen_deadline) {
      LOG_ERROR("Redis did not confirm this instance's channel within %d ms: %s", settings.store_timeout_ms,
                subscriber.last_failure().c_str());
      return static_cast<int>(ServeResult::StartFailed);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the subscriber thread confirms it
  }
  LOG_INFO("engine: redis %s, instance %s, keys under \"%s\"", redact_redis_url(settings.redis_url).c_str(),
           instance.c_str(), settings.redis_prefix.c_str());
  return static_cast<int>(run_server(settings, loaded->secret_generated, *opened.value(), {&directory, &link}, reload));
}

const char* kMintUsage =
    "usage: tandem-server mint-token --secret S --sub ID [--name N] [--color #rrggbb]\n"
    "                                [--rooms 'workflow:*,chat:lobby'] [--perms chat:clear] [--ttl SECONDS]\n"
    "  --secret defaults to $TANDEM_JWT_SECRET; --rooms defaults to '*'; --perms to none; --ttl to 3600.\n"
    "  Prints the HS256 token on stdout.\n";

int mint_token(const std::vector<std::string>& args) {
  jwt::Claims claims;
  std::string secret = getenv_string("TANDEM_JWT_SECRET").value_or("");
  std::string rooms = "*";
  long long ttl = 3600;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (flag != "--help" && i + 1 < args.size()) {
      value = args[++i];
    }
    if (flag == "--help") {
      std::fputs(kMintUsage, stdout);
      return 0;
    }
    if (!value) {
      std::fprintf(stderr, "mint-token: %s needs a value\n%s", flag.c_str(), kMintUsage);
      return kExitUsage;
    }
    if (flag == "--secret") secret = *value;
    else if (flag == "--sub") claims.sub = *value;
    else if (flag == "--name") claims.name = *value;
    else if (flag == "--color") claims.color = *value;
    else if (flag == "--rooms") rooms = *value;
    else if (flag == "--perms") {
      for (std::size_t start = 0; start <= value->size();) {
        const std::size_t comma = std::min(value->find(',', start), value->size());
        if (comma > start) claims.perms.push_back(value->substr(start, comma - start));
        start = comma + 1;
      }
    } else if (flag == "--ttl") {
      char* end = nullptr;
      ttl = std::strtoll(value->c_str(), &end, 10);
      if (*end != '\0' || ttl <= 0) {
        std::fprintf(stderr, "mint-token: --ttl must be a positive number of seconds\n");
        return kExitUsage;
      }
    } else {
      std::fprintf(stderr, "mint-token: unknown flag %s\n%s", flag.c_str(), kMintUsage);
      return kExitUsage;
    }
  }
  if (secret.size() < kMinSecretBytes) {
    std::fprintf(stderr, "mint-token: --secret (or TANDEM_JWT_SECRET) must be at least %zu bytes\n", kMinSecretBytes);
    return kExitUsage;
  }
  if (claims.sub.empty()) {
    std::fprintf(stderr, "mint-token: --sub is required\n%s", kMintUsage);
    return kExitUsage;
  }
  if (claims.color && !jwt::is_hex_color(*claims.color)) {
    std::fprintf(stderr, "mint-token: --color must look like #rrggbb\n");
    return kExitUsage;
  }
  std::size_t start = 0;
  while (start <= rooms.size()) {
    std::size_t comma = rooms.find(',', start);
    if (comma == std::string::npos) comma = rooms.size();
    std::string room = rooms.substr(start, comma - start);
    if (!room.empty()) {
      if (!jwt::is_room_pattern(room)) {
        std::fprintf(stderr, "mint-token: %s is not a room pattern (e.g. workflow:*, chat:lobby, *)\n", room.c_str());
        return kExitUsage;
      }
      claims.rooms.push_back(room);
    }
    start = comma + 1;
  }
  const jwt::UnixSeconds now = std::time(nullptr);
  claims.iat = now;
  claims.exp = now + ttl;
  // Round-trip through verify so a token this command prints is one the server accepts.
  const std::string token = jwt::mint(claims, secret);
  auto check = jwt::verify(token, {secret, now, 0});
  if (!check) {
    std::fprintf(stderr, "mint-token: %s\n", check.error().message.c_str());
    return kExitUsage;
  }
  std::printf("%s\n", token.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string program = "tandem-server";

  if (!args.empty() && args.front() == "mint-token") return mint_token({args.begin() + 1, args.end()});
  if (!args.empty() && args.front() == "migrate") return store::run_migrate({args.begin() + 1, args.end()});
  if (!args.empty() && args.front() == "serve") args.erase(args.begin());
  if (wants(args, "--help") || wants(args, "-h")) {
    std::fputs(usage_text(program).c_str(), stdout);
    return 0;
  }
  if (wants(args, "--version")) {
    std::printf("tandem-server %s\n", kServerVersion);
    return 0;
  }
  return serve(args);
}
