// nginx_proxy.h — Debian's nginx in front of test servers, for as long as the object lives:
// tests/support/nginx.sh configures it with the nginx block of docs/OPERATIONS.md as written
// (only the listen port and the upstream's server lines change), so clients reach the
// instances round robin, as operators run them. Used by nginx_test and server_cluster.h.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace tandem::integration {

class NginxProxy {
 public:
  // Starts nginx proxying to 127.0.0.1:<port> for each of `instance_ports`. Throws
  // std::runtime_error with the script's output when it does not start.
  explicit NginxProxy(const std::vector<int>& instance_ports);
  // The same with the documented TLS termination, on `cert` and `key` (https:// and wss://;
  // empty: plain), and with `refuse_upgrades` answering every WebSocket upgrade 403 (a proxy
  // that lets only plain HTTP through, what the SSE fallback is for).
  NginxProxy(const std::vector<int>& instance_ports, const std::string& cert, const std::string& key,
             bool refuse_upgrades = false);
  // Stops nginx and deletes its folder.
  ~NginxProxy();
  NginxProxy(const NginxProxy&) = delete;
  NginxProxy& operator=(const NginxProxy&) = delete;

  int port() const { return port_; }
  std::string ws_url() const { return (tls_ ? "wss://127.0.0.1:" : "ws://127.0.0.1:") + std::to_string(port_) + "/ws"; }

  // `nginx -t` on the configuration these arguments give (without starting anything): its
  // exit status and output.
  static std::pair<int, std::string> check(const std::vector<int>& instance_ports, const std::string& cert,
                                           const std::string& key);

 private:
  std::string dir_;  // temp: the script's DIR is dir_/nginx (config, pid, error.log)
  int port_ = 0;
  bool tls_ = false;
};

}  // namespace tandem::integration
