// tests/support/test_postgres.h — a real PostgreSQL server for the tests, and a fresh database
// on it per test (no mocks: Debian's postgresql, started by tests/support/postgres-cluster.sh).
//
// Where the server comes from, first match wins:
//   TANDEM_TEST_PG_URL        a server URL whose user may CREATE DATABASE (an existing server);
//   TANDEM_TEST_PG_URL_FILE   a file holding that URL (ctest's postgres fixture writes one, so
//                             every test process of a run shares one server);
//   TANDEM_TEST_SERVICES_DIR  a folder whose postgres/url holds it (ctest's services fixture:
//                             PostgreSQL and Redis together, tests/support/services.sh);
//   otherwise                 this process starts its own with the script into a temp folder
//                             and stops it at exit (a test binary run by hand).
#pragma once

#include <string>

#include "scripted_server.h"

namespace tandem::test {

// The server's URL (its maintenance database, "postgres"). Throws std::runtime_error when no
// server can be had, saying why.
const std::string& test_postgres_url();

// A PostgreSQL server of the caller's own, for a test that restarts or stops it (never the
// shared one, which other tests use at the same time): started in a temp folder on
// construction, stopped and deleted on destruction. Throws std::runtime_error with the
// script's output when it does not start.
class PostgresCluster {
 public:
  PostgresCluster();

  const std::string& url() const { return server_.url(); }  // the maintenance database
  // Stops the server (fast: sessions are cut, as a restart or failover does) and starts it
  // again on the same port with the same data. Blocks until it accepts connections.
  void restart() { server_.restart(); }

 private:
  ScriptedServer server_;
};

// `url` with its database name replaced by `database`.
std::string postgres_url_for_database(const std::string& url, const std::string& database);

// A database of its own for one test: created empty on construction, dropped (connections cut)
// on destruction.
class TestDatabase {
 public:
  TestDatabase() : TestDatabase(test_postgres_url()) {}
  // On the server at `server_url` (a PostgresCluster of the caller's own).
  explicit TestDatabase(std::string server_url);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  std::string server_url_;
  std::string name_;
  std::string url_;
};

}  // namespace tandem::test
