// nginx_proxy.cpp — nginx for the integration tests (see nginx_proxy.h).
#include "nginx_proxy.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#ifndef TANDEM_NGINX_SCRIPT
#error "TANDEM_NGINX_SCRIPT must name tests/support/nginx.sh (set by CMake)"
#endif

namespace tandem::integration {
namespace {

// Runs a shell command; its output (stdout and stderr) without the last line break, and its
// exit status in `status` when given.
std::string run(const std::string& command, int* status = nullptr) {
  std::string output;
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int ended = ::pclose(pipe);
  if (status) *status = WIFEXITED(ended) ? WEXITSTATUS(ended) : -1;
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  return output;
}

std::string tls_arguments(const std::string& cert, const std::string& key) {
  return cert.empty() ? std::string() : " --tls " + cert + " " + key;
}

}  // namespace

NginxProxy::NginxProxy(const std::vector<int>& instance_ports) : NginxProxy(instance_ports, "", "") {}

NginxProxy::NginxProxy(const std::vector<int>& instance_ports, const std::string& cert, const std::string& key,
                       bool refuse_upgrades)
    : tls_(!cert.empty()) {
  char pattern[] = "/tmp/tandem-nginx-test.XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  std::string command = std::string(TANDEM_NGINX_SCRIPT) + " start" + tls_arguments(cert, key) +
                        (refuse_upgrades ? " --refuse-upgrades" : "") + " " + dir_ + "/nginx";
  for (int port : instance_ports) command += " " + std::to_string(port);
  const std::string output = run(command);
  const auto colon = output.rfind(':');
  if (output.rfind(tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:", 0) != 0 || colon == std::string::npos) {
    run(std::string(TANDEM_NGINX_SCRIPT) + " stop " + dir_ + "/nginx");
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw std::runtime_error("nginx did not start:\n" + output);
  }
  port_ = std::stoi(output.substr(colon + 1));
}

std::pair<int, std::string> NginxProxy::check(const std::vector<int>& instance_ports, const std::string& cert,
                                              const std::string& key) {
  char pattern[] = "/tmp/tandem-nginx-check.XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return {-1, "mkdtemp failed"};
  const std::string dir = pattern;
  std::string command = std::string(TANDEM_NGINX_SCRIPT) + " check" + tls_arguments(cert, key) + " " + dir + "/nginx";
  for (int port : instance_ports) command += " " + std::to_string(port);
  int status = -1;
  std::string output = run(command, &status);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return {status, std::move(output)};
}

NginxProxy::~NginxProxy() {
  run(std::string(TANDEM_NGINX_SCRIPT) + " stop " + dir_ + "/nginx");
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace tandem::integration
