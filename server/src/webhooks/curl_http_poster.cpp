// server/src/webhooks/curl_http_poster.cpp — HttpPoster on libcurl (Debian libcurl4-openssl-dev):
// the only file that includes curl/curl.h. One easy handle, reused (its connections are kept
// alive between posts to the same backend); no redirects followed (a 3xx is an answer); no
// signals (CURLOPT_NOSIGNAL: it runs on a thread of its own); cancellation through the
// progress callback.
#include <curl/curl.h>

#include <mutex>

#include "webhooks/http_poster.h"

namespace tandem::server::webhooks {

namespace {

// curl_global_init once per process, before the first handle (it is not thread-safe). There is
// deliberately no curl_global_cleanup: the process's global state lives until exit (other
// threads, e.g. the PostgreSQL client's OpenSSL use, may still need it; exit frees it).
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The answer's body is not used: reading it keeps the connection reusable.
std::size_t discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

int check_cancel(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
}

class CurlHttpPoster final : public HttpPoster {
 public:
  CurlHttpPoster() {
    init_curl_once();
    easy_ = curl_easy_init();
  }
  ~CurlHttpPoster() override {
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
  }
  CurlHttpPoster(const CurlHttpPoster&) = delete;
  CurlHttpPoster& operator=(const CurlHttpPoster&) = delete;

  HttpResponse post(const HttpRequest& request, const std::atomic<bool>& cancel) override {
    if (easy_ == nullptr) return {0, "libcurl could not make a handle"};
    curl_easy_reset(easy_);
    curl_slist* headers = nullptr;
    for (const std::string& header : request.headers) headers = curl_slist_append(headers, header.c_str());
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    error_[0] = '\0';
    curl_easy_setopt(easy_, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy_, CURLOPT_POST, 1L);
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy_, CURLOPT_XFERINFOFUNCTION, check_cancel);
    curl_easy_setopt(easy_, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(&cancel));
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "tandem-webhooks");
    const CURLcode code = curl_easy_perform(easy_);
    // Nothing the handle keeps may point at this call's locals or the request once it returns.
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(easy_, CURLOPT_XFERINFODATA, nullptr);
    curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 1L);
    curl_slist_free_all(headers);
    HttpResponse response;
    if (code != CURLE_OK) {
      response.error = error_[0] != '\0' ? error_ : curl_easy_strerror(code);
      return response;
    }
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  CURL* easy_ = nullptr;
  char error_[CURL_ERROR_SIZE] = {0};  // CURLOPT_ERRORBUFFER, set only during curl_easy_perform
};

}  // namespace

std::unique_ptr<HttpPoster> make_curl_http_poster() { return std::make_unique<CurlHttpPoster>(); }

}  // namespace tandem::server::webhooks
