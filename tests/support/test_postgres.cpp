// tests/support/test_postgres.cpp — see test_postgres.h.
#include "test_postgres.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include "store/postgres_store.h"

namespace tandem::test {

namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

// Runs a shell command; returns its stdout, throws with its output when it fails.
std::string run_command(const std::string& command) {
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run: " + command);
  std::string output;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0) throw std::runtime_error(command + " failed:\n" + output);
  return output;
}

std::string find_url() {
  if (const char* url = std::getenv("TANDEM_TEST_PG_URL"); url != nullptr && *url != '\0') return url;
  if (const char* file = std::getenv("TANDEM_TEST_PG_URL_FILE"); file != nullptr && *file != '\0') {
    std::ifstream in(file);
    std::string url;
    if (!std::getline(in, url) || trimmed(url).empty())
      throw std::runtime_error(std::string("TANDEM_TEST_PG_URL_FILE=") + file +
                               " holds no URL (did the postgres fixture start?)");
    return trimmed(url);
  }
  static PostgresCluster own;  // a test binary run by hand: its own server, stopped at exit
  return own.url();
}

std::string random_suffix() {
  std::random_device device;
  std::uniform_int_distribution<unsigned> hex(0, 15);
  std::string suffix;
  for (int i = 0; i < 12; ++i) suffix += "0123456789abcdef"[hex(device)];
  return suffix;
}

void admin(const std::string& sql) {
  auto ran = server::store::PostgresStore::run_admin_sql(test_postgres_url(), sql);
  if (!ran) throw std::runtime_error(ran.error().message);
}

}  // namespace

PostgresCluster::PostgresCluster() {
  std::string templ = (std::filesystem::temp_directory_path() / "tandem-test-pg-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  std::filesystem::permissions(dir_, std::filesystem::perms::all);  // the postgres user writes here
  run_command(std::string(TANDEM_POSTGRES_CLUSTER_SCRIPT) + " start '" + dir_ + "/pg'");
  std::ifstream in(dir_ + "/pg/url");  // the script's output may hold a first attempt's complaint
  if (!std::getline(in, url_) || trimmed(url_).empty()) throw std::runtime_error("no URL in " + dir_ + "/pg/url");
  url_ = trimmed(url_);
}

PostgresCluster::~PostgresCluster() {
  try {
    run_command(std::string(TANDEM_POSTGRES_CLUSTER_SCRIPT) + " stop '" + dir_ + "/pg'");
  } catch (const std::exception&) {
    // best effort: the folder goes anyway
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void PostgresCluster::restart() { run_command(std::string(TANDEM_POSTGRES_CLUSTER_SCRIPT) + " restart '" + dir_ + "/pg'"); }

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

TestDatabase::TestDatabase() : name_("tandem_test_" + random_suffix()) {
  admin("CREATE DATABASE " + name_);
  url_ = postgres_url_for_database(test_postgres_url(), name_);
}

TestDatabase::~TestDatabase() {
  try {
    admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "test database %s not dropped: %s\n", name_.c_str(), error.what());
  }
}

}  // namespace tandem::test
