// server/src/webhooks/http_poster.h — the one thing webhooks need from HTTP: POST a body to a
// URL with headers, within a timeout, and say what came back. Behind this interface so the
// outbox and the delivery thread are tested without a network; curl_http_poster.cpp is the
// real one (libcurl).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace tandem::server::webhooks {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::chrono::milliseconds timeout{10000};  // connect and answer, together
};

struct HttpResponse {
  int status = 0;     // the HTTP status; 0 when there was none (connection refused, timeout, ...)
  std::string error;  // why there was no status, or a short note about a non-2xx one
};

class HttpPoster {
 public:
  virtual ~HttpPoster() = default;
  // Blocks until the answer, the timeout, or `cancel` becoming true (then status 0).
  virtual HttpResponse post(const HttpRequest& request, const std::atomic<bool>& cancel) = 0;
};

// libcurl (curl_http_poster.cpp). Call from one thread at a time.
std::unique_ptr<HttpPoster> make_curl_http_poster();

}  // namespace tandem::server::webhooks
