// tests/support/scripted_server.cpp — see scripted_server.h.
#include "scripted_server.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

namespace tandem::test {

namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

// The first line of `path`, trimmed; empty when there is none.
std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return trimmed(line);
}

}  // namespace

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

std::string random_hex(std::size_t digits) {
  std::random_device device;
  std::uniform_int_distribution<unsigned> hex(0, 15);
  std::string text;
  for (std::size_t i = 0; i < digits; ++i) text += "0123456789abcdef"[hex(device)];
  return text;
}

ScriptedServer::ScriptedServer(std::string script, std::string_view name) : script_(std::move(script)) {
  std::string templ = (std::filesystem::temp_directory_path() / ("tandem-test-" + std::string(name) + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  // A server may run as another user (PostgreSQL as `postgres` when we are root): it writes here.
  std::filesystem::permissions(dir_, std::filesystem::perms::all);
  run_command(script_ + " start '" + dir_ + "/server'");
  url_ = first_line(dir_ + "/server/url");  // the output may hold a first attempt's complaint
  if (url_.empty()) throw std::runtime_error("no URL in " + dir_ + "/server/url");
}

ScriptedServer::~ScriptedServer() {
  try {
    run_command(script_ + " stop '" + dir_ + "/server'");
  } catch (const std::exception&) {
    // best effort: the folder goes anyway
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void ScriptedServer::restart() { run_command(script_ + " restart '" + dir_ + "/server'"); }

std::string find_server_url(const char* url_variable, const char* file_variable, const char* service,
                            const std::function<std::string()>& own) {
  if (const char* url = std::getenv(url_variable); url != nullptr && *url != '\0') return url;
  auto read_url = [](const std::string& variable, const std::string& file) {
    std::string url = first_line(file);
    if (url.empty())
      throw std::runtime_error(variable + " names " + file + ", which holds no URL (did the ctest fixture start?)");
    return url;
  };
  if (const char* file = std::getenv(file_variable); file != nullptr && *file != '\0')
    return read_url(file_variable, file);
  if (const char* dir = std::getenv(kServicesDirVariable); dir != nullptr && *dir != '\0')
    return read_url(kServicesDirVariable, std::string(dir) + "/" + service + "/url");
  return own();
}

}  // namespace tandem::test
