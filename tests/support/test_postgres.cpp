// tests/support/test_postgres.cpp — see test_postgres.h.
#include "test_postgres.h"

#include <cstdio>
#include <stdexcept>
#include <utility>

#include "store/postgres_store.h"

namespace tandem::test {

namespace {

std::string find_url() {
  return find_server_url("TANDEM_TEST_PG_URL", "TANDEM_TEST_PG_URL_FILE", "postgres", [] {
    static PostgresCluster own;  // a test binary run by hand: its own server, stopped at exit
    return own.url();
  });
}

void admin(const std::string& server_url, const std::string& sql) {
  auto ran = server::store::PostgresStore::run_admin_sql(server_url, sql);
  if (!ran) throw std::runtime_error(ran.error().message);
}

}  // namespace

PostgresCluster::PostgresCluster() : server_(TANDEM_POSTGRES_CLUSTER_SCRIPT, "pg") {}

const std::string& test_postgres_url() {
  static const std::string url = find_url();
  return url;
}

std::string postgres_url_for_database(const std::string& url, const std::string& database) {
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const auto query = url.find('?', slash == std::string::npos ? 0 : slash);
  std::string base = slash == std::string::npos ? url : url.substr(0, slash);
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + database + rest;
}

TestDatabase::TestDatabase(std::string server_url) : server_url_(std::move(server_url)), name_("tandem_test_" + random_hex(12)) {
  admin(server_url_, "CREATE DATABASE " + name_);
  url_ = postgres_url_for_database(server_url_, name_);
}

TestDatabase::~TestDatabase() {
  try {
    admin(server_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "test database %s not dropped: %s\n", name_.c_str(), error.what());
  }
}

}  // namespace tandem::test
