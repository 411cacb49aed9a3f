// server/src/lws_server.h — runs tandem-server on libwebsockets (the only file that includes
// libwebsockets.h is lws_server.cpp).
#pragma once

#include <functional>

#include "config.h"
#include "tandem/result.h"
#include "engine/cluster.h"
#include "store/store.h"

namespace tandem::server {

// How run_server() ended; the process exit code.
enum class ServeResult : int {
  Clean = 0,       // a signal arrived and every client was closed (or shutdown_timeout passed)
  StartFailed = 1, // could not listen (port in use, bad host, ...) or open the store: logged
  StoreFailed = 3, // the store failed kStoreRetries commits in a row: clients closed 1011, logged
};

// Listens on settings.host:port, prints "listening on http://host:port" on stdout once ready
// ("https://" with tls_cert: then https and wss share the port), and serves until SIGTERM or SIGINT. Then it stops accepting, closes every WebSocket with
// 1012 "restart" and returns within shutdown_timeout_ms. A second signal exits at once
// (status 1). Durable state goes to `store`, committed once per loop iteration.
// With a directory and a link (--engine redis), the rooms are shared with the other instances
// (Hub::attach_cluster).
struct ClusterSeams {
  RoomDirectory* directory = nullptr;
  ClusterLink* link = nullptr;
};
// SIGHUP reads the settings again through `reload` (the same sources as at start: flags,
// environment, config file) and applies what can change while running — log_level and
// log_format — logging every other setting that changed as waiting for a restart. A reload that
// fails (a bad value) changes nothing and says why. Without `reload`, SIGHUP is ignored.
using SettingsReloader = std::function<Result<Settings>()>;
// `webhook_rooms`: rooms to load at start so their webhook backlog goes out (SqliteStore::
// webhook_rooms_behind); each is loaded once, without members, and let go when idle.
ServeResult run_server(const Settings& settings, bool secret_generated, store::Store& store, ClusterSeams cluster = {},
                       SettingsReloader reload = {}, std::vector<std::string> webhook_rooms = {});

// Wakes the loop from any thread (a pass runs soon): for other threads with news for it, such
// as the Redis subscriber. Does nothing before the loop runs.
void wake_loop();

}  // namespace tandem::server
