// tests/support/scripted_server.h — what the tests' throw-away servers have in common
// (test_postgres.h: PostgreSQL, test_redis.h: Redis): a script that starts one into a folder
// and writes its URL there (postgres-cluster.sh, redis-server.sh: `start|stop|restart DIR`),
// and how a test binary finds the server that a whole ctest run shares.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace tandem::test {

// Runs a shell command; returns its output (stdout and stderr), throws std::runtime_error
// with it when the command fails.
std::string run_command(const std::string& command);

// `digits` random hexadecimal digits: names (databases, key prefixes) that test processes
// running at once never share.
std::string random_hex(std::size_t digits);

// A server of the caller's own: started by `script` in a fresh temp folder on construction,
// stopped and deleted on destruction. Throws std::runtime_error with the script's output when
// it does not start.
class ScriptedServer {
 public:
  // `name` tells the temp folders apart (tandem-test-<name>-XXXXXX).
  ScriptedServer(std::string script, std::string_view name);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  const std::string& url() const { return url_; }
  // The script's `restart`: the server stops (connections cut) and starts again on the same port.
  void restart();

 private:
  std::string script_;
  std::string dir_;  // the temp folder; the script's DIR is dir_/server
  std::string url_;
};

// The folder of the servers that run together (tests/support/services.sh: DIR/postgres,
// DIR/redis), as the ctest fixture "services" names it to its tests.
inline constexpr const char* kServicesDirVariable = "TANDEM_TEST_SERVICES_DIR";

// The URL of the server a test binary uses, first match wins: the environment variable
// `url_variable`; a file named by the variable `file_variable` (a ctest fixture writes one, so
// every test process of a run shares one server); the file `service`/url in the folder named
// by TANDEM_TEST_SERVICES_DIR (the fixture that runs PostgreSQL and Redis together);
// otherwise `own()`, a server of the binary's own (a test binary run by hand). Throws
// std::runtime_error when the file holds no URL.
std::string find_server_url(const char* url_variable, const char* file_variable, const char* service,
                            const std::function<std::string()>& own);

}  // namespace tandem::test
