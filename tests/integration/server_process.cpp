// server_process.cpp — runs tandem-server for the integration tests (see server_process.h).
#include "server_process.h"

#include "test_postgres.h"
#include "tls_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef TANDEM_SERVER_BINARY
#error "TANDEM_SERVER_BINARY must name the tandem-server executable (set by CMake)"
#endif

extern char** environ;

namespace tandem::integration {
namespace {

// How often readiness and exit are checked while waiting for them.
constexpr milliseconds kPollInterval{20};
// The first start retries with a fresh port this many times: another process may take the
// port between our probe and the server's bind.
constexpr int kPortAttempts = 3;

int connect_loopback(int port, Clock::time_point deadline) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      ::close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    int err = 0;
    socklen_t len = sizeof err;
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

// Asks the kernel for a port that is free right now.
int pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("could not find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Sends a whole HTTP/1.1 request on a fresh loopback connection and reads the answer until the
// server closes or the body announced by Content-Length is complete (a server may keep the
// connection open despite Connection: close). The server may answer (413) before reading the
// whole request, so a failed send is no failure yet.
HttpReply exchange(int port, const std::string& request, Clock::time_point deadline) {
  const int fd = connect_loopback(port, deadline);
  if (fd < 0) return {};
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string response;
  bool ok = true;
  while (ok) {
    const std::size_t head_end = response.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::string head = response.substr(0, head_end);
      for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::size_t cl = head.find("content-length:");
      if (cl != std::string::npos &&
          response.size() - head_end - 4 >= std::strtoul(head.c_str() + cl + 15, nullptr, 10))
        break;
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) {
      ok = false;
      break;
    }
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  HttpReply reply;
  const std::size_t head_end = response.find("\r\n\r\n");
  if (!ok || !response.starts_with("HTTP/1.") || head_end == std::string::npos) return reply;
  reply.status = std::atoi(response.c_str() + response.find(' ') + 1);
  reply.body = response.substr(head_end + 4);
  return reply;
}

}  // namespace

HttpReply http_get(int port, std::string_view path, milliseconds timeout, std::string_view extra_headers) {
  return exchange(port,
                  "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                      "\r\nConnection: close\r\n" + std::string(extra_headers) + "\r\n",
                  Clock::now() + timeout);
}

HttpReply http_head(int port, std::string_view path, milliseconds timeout) {
  return exchange(port,
                  "HEAD " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                      "\r\nConnection: close\r\n\r\n",
                  Clock::now() + timeout);
}

HttpReply http_post(int port, std::string_view path, std::string_view body, std::string_view extra_headers,
                    milliseconds timeout) {
  return exchange(port,
                  "POST " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                      "\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n" + std::string(extra_headers) + "\r\n" + std::string(body),
                  Clock::now() + timeout);
}

bool testing_on_postgres() {
  for (const char* name : {"TANDEM_TEST_PG_URL", "TANDEM_TEST_PG_URL_FILE"})
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return true;
  return false;
}

ServerProcess::ServerProcess(std::vector<std::string> extra_args) : ServerProcess(SharedStore{}, std::move(extra_args)) {
  if (testing_on_postgres()) database_ = std::make_unique<tandem::test::TestDatabase>();
}

ServerProcess::ServerProcess(SharedStore store, std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)), shared_store_url_(std::move(store.url)) {
  std::string templ = (std::filesystem::temp_directory_path() / "tandem-integ-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  std::filesystem::create_directory(dir_ / "www");
  std::ofstream(dir_ / "www" / "index.html") << "<!doctype html><title>integration</title>\n";
}

ServerProcess::~ServerProcess() {
  kill_now();
  database_.reset();  // dropped once the server is gone
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string ServerProcess::ws_url() const {
  return (tls_cert_.empty() ? "ws://127.0.0.1:" : "wss://127.0.0.1:") + std::to_string(port_) + "/ws";
}

HttpReply ServerProcess::get(std::string_view path) const {
  return tls_cert_.empty() ? http_get(port_, path) : https_get(port_, path, tls_cert_);
}

void ServerProcess::use_tls(std::string cert, std::string key) {
  tls_cert_ = std::move(cert);
  tls_key_ = std::move(key);
}

std::string ServerProcess::output() const {
  std::ifstream in(dir_ / "server.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int ServerProcess::connections() const {
  const HttpReply reply = get("/healthz");
  const std::string key = "\"connections\":";
  const auto at = reply.body.find(key);
  if (reply.status != 200 || at == std::string::npos) return -1;
  return std::atoi(reply.body.c_str() + at + key.size());
}

void ServerProcess::start(milliseconds timeout) {
  if (running()) throw std::runtime_error("server already running");
  const bool first = port_ == 0;
  for (int attempt = 0; attempt < (first ? kPortAttempts : 1); ++attempt) {
    if (first) port_ = pick_free_port();
    if (try_start(timeout)) return;
  }
  throw std::runtime_error("tandem-server did not become healthy on port " + std::to_string(port_) +
                           "; its output:\n" + output());
}

bool ServerProcess::try_start(milliseconds timeout) {
  std::vector<std::string> args = {TANDEM_SERVER_BINARY, "--host", "127.0.0.1", "--port", std::to_string(port_),
                                   "--web-root", (dir_ / "www").string(), "--jwt-secret", std::string(kTestSecret),
                                   "--store-timeout-ms", "10000"};
  // One store per ServerProcess, kept across its restarts (or the one it shares).
  if (!shared_store_url_.empty()) {
    args.insert(args.end(), {"--store", "postgres", "--store-url", shared_store_url_});
  } else if (database_) {
    args.insert(args.end(), {"--store", "postgres", "--store-url", database_->url()});
  } else {
    args.insert(args.end(), {"--store-path", (dir_ / "tandem.db").string()});
  }
  if (!tls_cert_.empty()) args.insert(args.end(), {"--tls-cert", tls_cert_, "--tls-key", tls_key_});
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The caller's TANDEM_* variables would override defaults the tests rely on.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "TANDEM_", 7) != 0) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  const std::string log_path = (dir_ / "server.log").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  // Nothing else of the test process: a socket it holds (a listener, a peer's end) would stay
  // open in the child and outlive the test's own close.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("could not run " + std::string(TANDEM_SERVER_BINARY) + ": " + std::strerror(rc));
  }

  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // it gave up (port taken, bad flag, ...)
      pid_ = -1;
      return false;
    }
    const HttpReply health = tls_cert_.empty() ? http_get(port_, "/healthz", kPollInterval * 10)
                                               : https_get(port_, "/healthz", tls_cert_, kPollInterval * 10);
    if (health.status == 200) return true;
    std::this_thread::sleep_for(kPollInterval);  // between readiness checks, under the deadline
  }
  kill_now();
  return false;
}

StopResult ServerProcess::stop(milliseconds timeout) {
  StopResult result;
  if (!running()) return result;
  const auto started = Clock::now();
  ::kill(pid_, SIGTERM);
  const auto deadline = started + timeout;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) break;
    if (Clock::now() >= deadline) {
      kill_now();
      result.outcome = StopOutcome::KilledLate;
      result.took = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
      return result;
    }
    std::this_thread::sleep_for(milliseconds{5});  // between exit checks, under the deadline
  }
  pid_ = -1;
  result.took = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
  if (WIFEXITED(status)) {
    result.outcome = StopOutcome::Exited;
    result.exit_code = WEXITSTATUS(status);
  } else {
    result.outcome = StopOutcome::Signalled;
    result.exit_code = WIFSIGNALED(status) ? WTERMSIG(status) : -1;
  }
  return result;
}

void ServerProcess::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace tandem::integration
