// tls_support.h — TLS for the integration tests: a self-signed certificate for localhost and
// 127.0.0.1 made with the openssl CLI in a temporary folder (the recipe docs/OPERATIONS.md
// gives), and a blocking HTTPS GET that trusts exactly the certificate it is given.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "server_process.h"
#include "wait.h"

namespace tandem::integration {

// A fresh EC (P-256) key and a certificate for CN=localhost with subjectAltName
// DNS:localhost and IP:127.0.0.1, valid for 2 days; the folder goes away with the object.
class TestCertificate {
 public:
  // Runs `openssl req -x509 ...`; throws std::runtime_error with openssl's output on failure.
  TestCertificate();
  ~TestCertificate();
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  std::string cert() const { return (dir_ / "cert.pem").string(); }  // also what clients trust
  std::string key() const { return (dir_ / "key.pem").string(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

// GET https://127.0.0.1:<port><path> with Connection: close, trusting only `ca_file` and
// checking that the certificate names 127.0.0.1. Status 0: no answer (refused, timeout, TLS
// handshake or certificate failure). Never throws.
HttpReply https_get(int port, std::string_view path, const std::string& ca_file,
                    milliseconds timeout = milliseconds{1000});

}  // namespace tandem::integration
