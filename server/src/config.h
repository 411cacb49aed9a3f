// server/src/config.h — every setting of tandem-server in one struct, and how it is loaded.
//
// Sections:
//   Settings        one field per bound or knob, each with its default and why
//   describe()      the table behind --help, the config file, env vars and flags
//   load_settings() defaults < config file < environment < command-line flags, then validate
//
// Every setting has the same four spellings, derived from its name:
//   config file  heartbeat_ms = 25000        (--config PATH or TANDEM_CONFIG; `#` comments)
//   environment  TANDEM_HEARTBEAT_MS=25000
//   flag         --heartbeat-ms 25000  or  --heartbeat-ms=25000
//   boolean flag --dev  (alone means true; --dev=false also works)
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "log.h"
#include "tandem/result.h"

#ifndef TANDEM_WWW_DIR
#define TANDEM_WWW_DIR "build/www"
#endif

namespace tandem::server {

struct Settings {
  // ---- network ----
  std::string host = "127.0.0.1";  // loopback by default: exposing the port is a deliberate act
  int port = 8080;
  std::string web_root = TANDEM_WWW_DIR;  // static files; index.html is served for "/"

  // ---- TLS and origins (docs/OPERATIONS.md "TLS and origins") ----
  // TLS on the listening port: https:// and wss:// share it; plain http:// and ws:// clients
  // then get no answer (their bytes fail the TLS handshake and the connection is closed).
  // Both or neither; checked at start.
  std::string tls_cert;  // PEM certificate, leaf first then intermediates; empty: plain http and ws
  std::string tls_key;   // PEM private key of tls_cert
  // Web pages that may open /ws (origin_policy.h): comma-separated origins such as
  // https://app.example.com, "self" for the pages this server serves. Empty: any page may —
  // tokens are bearer credentials, not cookies, so a foreign page gets nowhere without one; set
  // it to keep other sites' pages out altogether. No Origin (non-browser clients): never refused.
  std::string allowed_origins;

  // ---- authentication ----
  std::string jwt_secret;      // HS256 key, at least 32 bytes; required unless dev is on
  int jwt_leeway_s = 30;       // clock skew tolerated on exp/nbf
  bool dev = false;            // dev token endpoint + random secret; never on by default
  int dev_token_ttl_s = 43200; // 12 h: a dev session outlives a working day's morning
  int auth_timeout_ms = 10000; // time to send `auth` when the URL had no token, else 4408
  std::string admin_token;     // bearer token for /api/v1/ws/*; empty: those endpoints answer 403

  // ---- connections (docs/SECURITY.md: what each bound defends) ----
  int max_connections = 20000;         // WebSocket connections on this instance; more: 503 before the upgrade
  int max_connections_per_ip = 1000;   // from one client address; more: 429 before the upgrade
  int max_connections_per_user = 64;   // authenticated as one user (all tabs, all tools); more: 429 / close 4429
  std::string trusted_proxies;         // comma-separated addresses (nginx) whose X-Forwarded-For names the client
  int handshake_timeout_ms = 10000;    // a TCP connection must finish its HTTP request (or upgrade) within this
  std::int64_t max_preauth_bytes = 16384;  // one message before authentication larger than this: close 1009
  int close_linger_ms = 2000;          // after our close frame, input is read and dropped this long (no TCP reset)

  // ---- liveness ----
  int heartbeat_ms = 25000;     // WS ping after this much silence; advertised in `connected`
  int idle_timeout_ms = 60000;  // drop connections silent this long (must exceed heartbeat)
  int session_resume_ms = 60000; // a dropped connection's session can be resumed this long

  // ---- Server-Sent Events fallback (PROTOCOL.md §5.5) ----
  int sse_heartbeat_ms = 15000;              // a comment on a silent event stream this often (proxies time out idle ones)
  int sse_resume_ms = 10000;                 // a broken stream's connection is kept this long for a GET with Last-Event-ID
  std::int64_t sse_replay_bytes = 262144;    // sent events kept per stream to replay after Last-Event-ID
  std::int64_t sse_max_post_bytes = 262144;  // one POST's body; larger: 413

  // ---- frames and queues ----
  std::int64_t max_frame_bytes = 65536;     // larger messages: error too_big, bytes discarded
  std::int64_t hard_frame_bytes = 1048576;  // one message over this: close 1009
  int max_bad_frames = 20;                  // errors tolerated per minute before close 4400
  std::int64_t max_outbound_bytes = 4194304;  // queued for one slow client before close 4508
  std::int64_t max_batch_bytes = 65536;     // pending messages joined into one frame up to this
  // lws receive buffer per connection, and the most lws reads from a socket per loop pass (at
  // 256 a busy sender got 1-2 messages through per pass: fan-out 1,000 190k msg/s vs 1.3M at
  // 4096). The buffers come from page slots (page_slots.h): an idle connection's costs nothing.
  int rx_buffer_size = 4096;

  // ---- advertised limits (enforced by the room and rate features of issue 3) ----
  int max_rooms = 64;      // rooms one connection may join
  int rate_per_sec = 100;  // messages per second one connection may send (PROTOCOL.md §17)
  int rate_burst = 200;    // messages one connection may send at once before rate_per_sec applies
  int max_rate_violations = 100;  // refused (rate_limited) messages tolerated per minute before close 4429

  // ---- presence ----
  int presence_tick_ms = 50;  // presence updates are conflated per user over this period
  // A room with more users than this is a crowd: joiners get the count, not the member list;
  // joins and leaves are counted (presence_count per tick), not sent as diffs. 0: never.
  int presence_crowd_users = 100;
  int presence_list_max = 500;  // users in one presence_list page

  // ---- locks (PROTOCOL.md §8) ----
  int lock_ttl_ms = 30000;      // lease when a `lock` names no ttl_ms
  int lock_ttl_min_ms = 1000;   // requested leases are raised to at least this
  int lock_ttl_max_ms = 120000; // and cut to at most this: a crashed editor blocks others 2 min at most
  int lock_grace_ms = 5000;     // a dropped holder keeps its locks this long; a takeover waits this long
  int max_locks_per_user = 32;  // held (or awaited by takeover) per user, else limit_exceeded

  // ---- store (durable state: rooms, documents, chat, fences, sessions) ----
  int recovery_history = 1000;  // events kept per room for `subscribe {since}`; older: recovered:false
  std::string store = "sqlite";  // the durable store's engine: sqlite (embedded) or postgres
  std::string store_path = "data/tandem.db";  // SQLite file, its folder created; ":memory:" keeps nothing
  std::string store_url;        // postgres: a libpq URL, postgres://user:password@host:5432/db
  int store_timeout_ms = 5000;  // postgres: the longest one call (connect, read, commit) may wait
  int store_give_up_ms = 30000; // a store failing every commit this long: clients 1011, exit 3
  bool store_full_sync = false;  // fsync every commit (survives power loss); off: survives kill -9
  bool store_commit_thread = true;  // commits run on a thread of their own while the loop goes on
  int dedup_window = 1024;      // request ids remembered per session: a resend of one is acked, not applied again

  // ---- several instances (docs/SCALING.md) ----
  std::string engine = "local";  // local (one process) or redis: instances share rooms through --redis-url
  std::string redis_url;         // redis: redis://[user:password@]host[:port][/db]
  std::string redis_prefix = "tandem:";  // redis: every key and channel starts with this
  std::string instance_id;       // redis: this instance's name among the others; empty: <hostname>-<pid>
  int room_lease_ms = 10000;     // a room's owner renews its lease every third of this; a paused owner's rooms free up within it
  int instance_ttl_ms = 10000;   // heartbeat every third of this; a dead instance's rooms, members and clients are let go within it

  // ---- documents (workflow:{id} rooms, PROTOCOL.md §9) ----
  int max_nodes = 5000;                 // nodes per document, else limit_exceeded
  int max_edges = 20000;                // edges per document, else limit_exceeded
  std::int64_t max_doc_bytes = 1048576; // encoded document (its doc_snapshot), else limit_exceeded

  // ---- Yjs documents (/yjs, ydocs/ydocs.h, PROTOCOL.md §Yjs) ----
  std::int64_t max_ydoc_bytes = 16777216;  // a document's stored update log; an update past it: close 4413
  int ydoc_compact_after = 500;  // log entries before a writer is asked for its whole state to replace them
  int max_awareness_clients = 8;  // awareness client ids one connection may announce per document

  // ---- chat (PROTOCOL.md §10) ----
  int chat_history = 256;         // messages kept per room and sent on join
  int typing_timeout_ms = 5000;   // a typing indicator clears itself after this much quiet

  // ---- chat bots (PROTOCOL.md "Chat bots", handlers/bots.cpp) ----
  std::string bots;               // bot ids members may turn on, comma-separated ("helper,pirate"); empty: no bots
  int bot_partial_ms = 100;       // at most one chat_partial per reply this often (the newest text wins)
  int bot_max_replies = 4;        // replies growing at once in one room; one more ai_request: limit_exceeded
  int bot_reply_timeout_ms = 120000;  // a reply still growing this long after its request ends as interrupted

  // ---- backend publish (PROTOCOL.md §13) ----
  std::string publish_api_key;  // bearer key for POST /api/v1/publish, at least 16 bytes; empty: publish is off (403)

  // ---- webhooks (docs/OPERATIONS.md "Webhooks", PROTOCOL.md "Webhooks") ----
  // Endpoints, `;`-separated: NAME URL rooms=PATTERNS [events=KINDS] secret=SECRET
  // (webhooks/webhook_config.h). Empty: no webhooks. Secret: it holds the HMAC keys.
  std::string webhooks;
  int webhook_batch_max = 100;          // room events per POST
  int webhook_max_attempts = 5;         // attempts of a batch answered 4xx (not 408/429) before it is a dead letter
  int webhook_retry_initial_ms = 500;   // the first retry's delay; doubles per failed attempt (with jitter)
  int webhook_retry_max_ms = 30000;     // the longest delay between attempts
  int webhook_timeout_ms = 10000;       // one POST, connect to answer; longer: a failed attempt
  // Events waiting per (endpoint, room), in memory and held back from the store's trim; past
  // it the oldest are given up (a dead letter). At least recovery_history.
  std::int64_t webhook_max_backlog = 100000;

  // ---- process ----
  int shutdown_timeout_ms = 5000;  // SIGTERM: time to close clients with 1012 before exiting
  log::Level log_level = log::Level::Info;
  log::Format log_format = log::Format::Text;  // json: one object per line with conn/room/user fields, for log shippers
};

// One row of the settings table.
struct SettingInfo {
  std::string name;         // config-file key, e.g. "heartbeat_ms"
  std::string flag;         // "--heartbeat-ms"
  std::string env;          // "TANDEM_HEARTBEAT_MS"
  std::string help;         // one line for --help
  bool is_switch = false;   // a boolean: the flag alone means true
  bool secret = false;      // never printed (its default is shown as "(none)")
  // Parses `text` into the field; returns an error message (without the setting's name) or
  // nothing on success.
  std::function<std::optional<std::string>(Settings&, std::string_view text)> parse;
  std::function<std::string(const Settings&)> show;  // current value as text
};

const std::vector<SettingInfo>& describe();

// Where settings come from, so tests can supply each source.
struct SettingSources {
  std::vector<std::string> args;  // command-line arguments after the subcommand
  std::function<std::optional<std::string>(const std::string& name)> env;  // getenv
};

// What load_settings() found besides settings.
struct LoadedSettings {
  Settings settings;
  std::optional<std::string> config_path;  // the file that was read, if any
  bool secret_generated = false;           // dev mode made up a random secret
};

// Loads and validates. Errors name the source and the setting, e.g.
// "--port: must be an integer in 1..65535, got \"80a\"" or
// "/etc/tandem.conf:3: unknown setting \"prot\"". `random_secret` supplies the dev secret.
Result<LoadedSettings> load_settings(const SettingSources& sources,
                                     const std::function<std::string()>& random_secret);

// Checks cross-field rules (secret present and long enough, idle > heartbeat, ...). Called by
// load_settings(); exposed for tests.
std::optional<std::string> validate(const Settings& settings);

// The items of a comma-separated list setting ("a, b,c" -> {"a","b","c"}), blanks trimmed,
// empty items dropped.
std::vector<std::string> split_list(std::string_view list);

// The --help text: usage, subcommands, then every setting with its flag, env var and default.
std::string usage_text(std::string_view program);

// Minimum HS256 key length: RFC 7518 §3.2 asks for a key at least as long as the hash.
inline constexpr std::size_t kMinSecretBytes = 32;

// Minimum admin token length: long enough that guessing over HTTP is hopeless.
inline constexpr std::size_t kMinAdminTokenBytes = 16;

}  // namespace tandem::server
