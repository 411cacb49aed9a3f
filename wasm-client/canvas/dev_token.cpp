// wasm-client/canvas/dev_token.cpp — blocking GET /api/v1/dev/token for the desktop build
// (dev_token.h). HTTP/1.0 so the server closes the connection after its answer and the body
// is simply everything up to that close: no chunking, no keep-alive to handle.
#include "dev_token.h"

#include <cJSON.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "ws_url.h"

namespace canvas {
namespace {

// A development server answers in milliseconds; this only stops a wrong --url from hanging.
constexpr int kTimeoutSeconds = 5;
// The answer is a token plus a little JSON; anything much larger is not that endpoint.
constexpr std::size_t kMaxResponseBytes = 64 * 1024;

tandem::Error failure(std::string message) { return {"dev_token", std::move(message)}; }

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
                            (byte >= '0' && byte <= '9') || c == '-' || c == '_' || c == '.' ||
                            c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    }
  }
  return out;
}

// Owns one socket descriptor.
struct Socket {
  int fd = -1;
  Socket() = default;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

// Connects `out` to host:port (the first address that accepts), with send/receive timeouts.
std::optional<tandem::Error> dial(const std::string& host, int port, Socket& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int error = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); error != 0) {
    return failure(host + ": " + ::gai_strerror(error));
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
  const timeval timeout{kTimeoutSeconds, 0};
  for (const addrinfo* a = addresses.get(); a != nullptr; a = a->ai_next) {
    Socket candidate;
    candidate.fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (candidate.fd < 0) continue;
    ::setsockopt(candidate.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(candidate.fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(candidate.fd, a->ai_addr, a->ai_addrlen) == 0) {
      std::swap(out.fd, candidate.fd);
      return std::nullopt;
    }
  }
  return failure("cannot connect to " + host + ":" + service);
}

}  // namespace

tandem::Result<std::string> fetch_dev_token(const std::string& ws_url, const std::string& name) {
  auto url = tandem::native::parse_ws_url(ws_url);
  if (!url) return failure(url.error().message);
  if (url->scheme != tandem::native::WsScheme::Plain) {
    return failure("--dev-name needs a ws:// URL (development servers do not use TLS)");
  }

  Socket socket;
  if (auto error = dial(url->host, url->port, socket)) return *std::move(error);
  const std::string request = "GET /api/v1/dev/token?name=" + percent_encode(name) +
                              " HTTP/1.0\r\nHost: " + url->host_header + "\r\n\r\n";
  if (::send(socket.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return failure("could not send the request");
  }

  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(socket.fd, buffer, sizeof buffer, 0)) > 0;) {
    response.append(buffer, static_cast<std::size_t>(n));
    if (response.size() > kMaxResponseBytes) return failure("answer larger than expected");
  }

  int status = 0;
  if (std::sscanf(response.c_str(), "HTTP/%*d.%*d %d", &status) != 1) {
    return failure("no HTTP answer from " + url->host_header);
  }
  if (status != 200) {
    return failure("GET /api/v1/dev/token answered " + std::to_string(status) +
                   " (is the server running with --dev?)");
  }
  const auto body_start = response.find("\r\n\r\n");
  if (body_start == std::string::npos) return failure("answer without a body");
  const std::string body = response.substr(body_start + 4);

  const std::unique_ptr<cJSON, decltype(&cJSON_Delete)> json(cJSON_Parse(body.c_str()), cJSON_Delete);
  const cJSON* token = cJSON_GetObjectItemCaseSensitive(json.get(), "token");
  if (!cJSON_IsString(token) || token->valuestring[0] == '\0') {
    return failure("answer has no \"token\" string");
  }
  return std::string(token->valuestring);
}

}  // namespace canvas
