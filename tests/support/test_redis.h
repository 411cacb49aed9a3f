// tests/support/test_redis.h — a real Redis server for the tests (no mocks: Debian's
// redis-server, started by tests/support/redis-server.sh, with a password).
//
// Where the server comes from, first match wins:
//   TANDEM_TEST_REDIS_URL        a server URL (redis://:password@host:port);
//   TANDEM_TEST_REDIS_URL_FILE   a file holding that URL (ctest's redis fixture writes one, so
//                                every test process of a run shares one server);
//   TANDEM_TEST_SERVICES_DIR     a folder whose redis/url holds it (ctest's services fixture:
//                                PostgreSQL and Redis together, tests/support/services.sh);
//   otherwise                    this process starts its own with the script into a temp
//                                folder and stops it at exit (a test binary run by hand).
//
// Sharing: test processes use the shared server at the same time (ctest -j2), so each test
// names its keys and channels under a prefix of its own (redis_test_prefix()) and never
// flushes, pauses, reconfigures or restarts the shared server: a test that must do one of
// those uses a RedisServer of its own.
#pragma once

#include <string>

#include "scripted_server.h"

namespace tandem::test {

// The shared server's URL. Throws std::runtime_error when no server can be had, saying why.
const std::string& test_redis_url();

// "tandem-test:<random>:" — a prefix no other test process uses, for keys and channels.
std::string redis_test_prefix();

// A Redis server of the caller's own, for a test that restarts or pauses it: started in a temp
// folder on construction, stopped and deleted on destruction. Throws std::runtime_error with
// the script's output when it does not start.
class RedisServer {
 public:
  RedisServer();

  const std::string& url() const { return server_.url(); }
  // Stops the server (its connections cut, as a crash or failover does) and starts it again,
  // empty, on the same port. Blocks until it answers.
  void restart() { server_.restart(); }

 private:
  ScriptedServer server_;
};

}  // namespace tandem::test
