// nginx_proxy.cpp — nginx for the integration tests (see nginx_proxy.h).
#include "nginx_proxy.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#ifndef TANDEM_NGINX_SCRIPT
#error "TANDEM_NGINX_SCRIPT must name tests/support/nginx.sh (set by CMake)"
#endif

namespace tandem::integration {
namespace {

// Runs a shell command; its output (stdout and stderr) without the last line break.
std::string run(const std::string& command) {
  std::string output;
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  ::pclose(pipe);
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  return output;
}

}  // namespace

NginxProxy::NginxProxy(const std::vector<int>& instance_ports) {
  char pattern[] = "/tmp/tandem-nginx-test.XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  std::string command = std::string(TANDEM_NGINX_SCRIPT) + " start " + dir_ + "/nginx";
  for (int port : instance_ports) command += " " + std::to_string(port);
  const std::string output = run(command);
  const auto colon = output.rfind(':');
  if (output.rfind("http://127.0.0.1:", 0) != 0 || colon == std::string::npos) {
    run(std::string(TANDEM_NGINX_SCRIPT) + " stop " + dir_ + "/nginx");
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw std::runtime_error("nginx did not start:\n" + output);
  }
  port_ = std::stoi(output.substr(colon + 1));
}

NginxProxy::~NginxProxy() {
  run(std::string(TANDEM_NGINX_SCRIPT) + " stop " + dir_ + "/nginx");
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace tandem::integration
