// server_process.h — the real tandem-server binary as a child process of a test: started on a
// free port with a temporary web root and a known JWT secret, ready once /healthz answers,
// stopped with SIGTERM (graceful, clients see 1012), restartable on the same port, and killed
// when the test ends however it ends; over TLS when asked (use_tls). Its store is its own (SQLite, or a PostgreSQL database of
// its own) or one given (several instances on one database: server_cluster.h). Also a tiny
// blocking HTTP GET for /healthz and friends.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "wait.h"

namespace tandem::test {
class TestDatabase;
}

namespace tandem::integration {

// The store test servers run on: SQLite (a file in the server's temp folder) unless the test
// process is given a PostgreSQL server (TANDEM_TEST_PG_URL or TANDEM_TEST_PG_URL_FILE:
// tests/support/test_postgres.h), then PostgreSQL, a database of its own per ServerProcess.
// ctest runs the durability tests both ways (tests/integration/CMakeLists.txt: pg.*).
bool testing_on_postgres();

// Every test server uses this secret (at least 32 bytes, as the server demands).
inline constexpr std::string_view kTestSecret = "integration-tests-secret-0123456789abcdef";

struct HttpReply {
  int status = 0;  // 0: no answer (connection refused, timeout, garbage)
  std::string body;
};

// GET http://127.0.0.1:<port><path> with Connection: close. Never throws. `extra_headers` are
// whole header lines, each ending in \r\n (e.g. "Authorization: Bearer x\r\n").
HttpReply http_get(int port, std::string_view path, milliseconds timeout = milliseconds{1000},
                   std::string_view extra_headers = {});

// HEAD http://127.0.0.1:<port><path> with Connection: close: the status, and the body (which
// must be empty) read until the server closes. Never throws.
HttpReply http_head(int port, std::string_view path, milliseconds timeout = milliseconds{1000});

// POST http://127.0.0.1:<port><path> with `body` (Content-Length, Connection: close) and the
// given header lines (each ending in \r\n). Never throws.
HttpReply http_post(int port, std::string_view path, std::string_view body, std::string_view extra_headers = {},
                    milliseconds timeout = milliseconds{5000});

// How stop() ended.
enum class StopOutcome {
  Exited,      // the process exited on its own; exit_code is valid
  Signalled,   // it died from a signal (a crash)
  KilledLate,  // it did not exit in time and was killed with SIGKILL
};

struct StopResult {
  StopOutcome outcome = StopOutcome::Exited;
  int exit_code = 0;
  milliseconds took{0};  // from SIGTERM to exit
};

// A PostgreSQL database the server runs on without owning it: other servers may share it, and
// whoever made it drops it (after the servers are gone).
struct SharedStore {
  std::string url;  // postgres://...
};

class ServerProcess {
 public:
  // `extra_args` are appended to the command line (e.g. {"--auth-timeout-ms", "300"}).
  explicit ServerProcess(std::vector<std::string> extra_args = {});
  // On the given database (--store postgres --store-url), never one of its own.
  ServerProcess(SharedStore store, std::vector<std::string> extra_args);
  // Kills the process if it still runs and removes the temporary directory.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server and returns once /healthz answers 200. The first start picks a free
  // port (retrying with another if the server could not listen); later starts reuse it.
  // Throws std::runtime_error with the server's output when it does not come up in time.
  void start(milliseconds timeout = milliseconds{10000});
  // SIGTERM, then waits up to `timeout` for the exit; SIGKILL after that.
  StopResult stop(milliseconds timeout = milliseconds{10000});
  bool running() const { return pid_ > 0; }
  // SIGKILL and wait: a crash, with no shutdown of any kind. start() brings it back on the same
  // port with the same store.
  void kill_now();
  // From the next start() on: https and wss with this PEM certificate and key (--tls-cert,
  // --tls-key; tls_support.h makes a pair). Readiness, get(), connections() and ws_url()
  // follow, trusting exactly `cert`; post() stays plain HTTP.
  void use_tls(std::string cert, std::string key);

  int port() const { return port_; }
  std::filesystem::path web_root() const { return dir_ / "www"; }  // served at "/"
  std::string ws_url() const;  // ws://127.0.0.1:<port>/ws, or wss:// after use_tls()
  HttpReply get(std::string_view path) const;  // GET over http, or https after use_tls()
  HttpReply post(std::string_view path, std::string_view body, std::string_view extra_headers = {}) const {
    return http_post(port_, path, body, extra_headers);
  }
  std::string output() const;  // everything the server printed so far (stdout + stderr)
  // The "connections" of its /healthz (its own clients' sockets); -1 when it does not answer.
  int connections() const;

 private:
  bool try_start(milliseconds timeout);  // false: the process exited before becoming healthy

  std::vector<std::string> extra_args_;
  std::filesystem::path dir_;  // temp: web root, log and the SQLite store
  std::unique_ptr<tandem::test::TestDatabase> database_;  // on PostgreSQL: this server's database
  std::string shared_store_url_;                          // or the database it shares with others
  std::string tls_cert_, tls_key_;                        // use_tls(); empty: plain http and ws
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace tandem::integration
