// tls_support.cpp — test certificates and HTTPS GET for the integration tests (see tls_support.h).
#include "tls_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "child_process.h"

#ifndef TANDEM_OPENSSL_BINARY
#error "TANDEM_OPENSSL_BINARY must name the openssl executable (set by CMake)"
#endif

namespace tandem::integration {
namespace {

// Generating a P-256 key takes milliseconds; this bounds a stuck openssl on a loaded machine.
constexpr milliseconds kOpensslDeadline{20000};

// A connected blocking loopback socket whose reads and writes give up after `timeout`.
int connect_with_timeouts(int port, milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const timeval limit{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True once `response` holds its head and the body its Content-Length announces (a server may
// keep the connection open despite Connection: close).
bool complete(const std::string& response) {
  const std::size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  std::string head = response.substr(0, head_end);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::size_t length = head.find("content-length:");
  return length != std::string::npos &&
         response.size() - head_end - 4 >= std::strtoul(head.c_str() + length + 15, nullptr, 10);
}

// The status and body of a complete HTTP/1.x answer; status 0 when it is not one.
HttpReply parse_reply(const std::string& response) {
  HttpReply reply;
  const std::size_t head_end = response.find("\r\n\r\n");
  if (!response.starts_with("HTTP/1.") || head_end == std::string::npos) return reply;
  reply.status = std::atoi(response.c_str() + response.find(' ') + 1);
  reply.body = response.substr(head_end + 4);
  return reply;
}

}  // namespace

TestCertificate::TestCertificate() {
  std::string pattern = (std::filesystem::temp_directory_path() / "tandem-tls-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  ChildProcess openssl({TANDEM_OPENSSL_BINARY, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key(), "-out", cert()});
  std::optional<int> status;
  pump_until([&] { return (status = openssl.exit_status()).has_value(); },
             [] { std::this_thread::sleep_for(milliseconds{10}); },  // polling the exit, under the deadline
             kOpensslDeadline);
  if (status != 0 || !std::filesystem::exists(cert()) || !std::filesystem::exists(key())) {
    openssl.kill_now();
    const std::string output = openssl.output();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw std::runtime_error("openssl could not make a test certificate:\n" + output);
  }
}

TestCertificate::~TestCertificate() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

HttpReply https_get(int port, std::string_view path, const std::string& ca_file, milliseconds timeout) {
  const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!context || SSL_CTX_load_verify_locations(context.get(), ca_file.c_str(), nullptr) != 1) return {};
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  const std::unique_ptr<SSL, decltype(&SSL_free)> tls(SSL_new(context.get()), SSL_free);
  if (!tls || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls.get()), "127.0.0.1") != 1) return {};

  const int fd = connect_with_timeouts(port, timeout);
  if (fd < 0) return {};
  std::string response;
  SSL_set_fd(tls.get(), fd);
  if (SSL_connect(tls.get()) == 1) {
    const std::string request = "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                "\r\nConnection: close\r\n\r\n";
    if (SSL_write(tls.get(), request.data(), static_cast<int>(request.size())) == static_cast<int>(request.size())) {
      char buffer[4096];
      for (int n; !complete(response) && (n = SSL_read(tls.get(), buffer, sizeof buffer)) > 0;)
        response.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ERR_clear_error();  // this thread's OpenSSL error queue: nothing later should see our failures
  ::close(fd);
  return parse_reply(response);
}

}  // namespace tandem::integration
