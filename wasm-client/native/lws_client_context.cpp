// lws_client_context.cpp — see lws_client_context.h.
#include "lws_client_context.h"

#include <libwebsockets.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace tandem::native {

namespace {
// A stream, a POST and one closing, plus lws's internal event pipe and room to spare. Keeping this
// small keeps lws from sizing its fd tables to the process ulimit (tens of thousands of entries
// per context); lws then looks fds up by a short scan, which costs nothing with few connections.
constexpr unsigned kFdsPerContext = 16;
}  // namespace

struct LwsClientContext::WakeTimer {
  lws_sorted_usec_list_t sul{};
  static void fired(lws_sorted_usec_list_t* /*sul*/) {}  // its firing ends the wait
};

LwsClientContext::LwsClientContext(const lws_protocols* protocols, void* user, int network_timeout_s, std::string ca_file)
    : protocols_(protocols),
      user_(user),
      network_timeout_s_(network_timeout_s),
      ca_file_(std::move(ca_file)),
      wake_timer_(std::make_unique<WakeTimer>()) {}

LwsClientContext::~LwsClientContext() { destroy(); }

std::size_t deliver(std::deque<PendingEvent>& pending) {
  std::size_t delivered = 0;
  while (!pending.empty()) {
    PendingEvent event = std::move(pending.front());
    pending.pop_front();
    ++delivered;
    switch (event.kind) {
      case PendingEvent::Kind::Open: event.target->on_open(); break;
      case PendingEvent::Kind::Message: event.target->on_message(event.text); break;
      case PendingEvent::Kind::BinaryMessage: event.target->on_binary(event.text); break;
      case PendingEvent::Kind::Closed: event.target->on_closed(event.code, event.text); break;
    }
  }
  return delivered;
}

void LwsClientContext::service(Millis wait, int max_rounds, bool& activity) {
  if (context_ == nullptr) return;
  if (wait.count() > 0) {
    lws_sul_schedule(context_, 0, &wake_timer_->sul, &WakeTimer::fired, static_cast<lws_usec_t>(wait.count()) * LWS_US_PER_MS);
    lws_service(context_, 0);
    lws_sul_cancel(&wake_timer_->sul);
  }
  for (int round = 0; round < max_rounds; ++round) {
    activity = false;
    if (lws_service(context_, -1) < 0 || !activity) break;
  }
}

// The OpenSSL client settings a TLS context dials with: the system store, plus ca_file. Made
// here rather than by lws (client_ssl_ca_filepath): lws 4.1.6 frees the SSL_CTX it makes through
// an ex_data index that every later context with LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT replaces,
// so with two TLS transports alive at once the older one's (with the system store, ~700 KB) was
// never freed (LeakSanitizer; docs/LWS-NOTES.md §11). One we provide, lws leaves alone. Nothing
// (and `why` set) when ca_file cannot be used: lws would only log that, and every dial would
// then fail as untrusted.
SSL_CTX* LwsClientContext::make_tls_client(std::string& why) const {
  if (!ca_file_.empty() && ::access(ca_file_.c_str(), R_OK) != 0) {
    why = "ca_file " + ca_file_ + ": cannot read it (" + std::strerror(errno) + ")";
    return nullptr;
  }
  SSL_CTX* tls = SSL_CTX_new(TLS_client_method());
  if (tls == nullptr) {
    why = "TLS: OpenSSL could not make a client context";
    return nullptr;
  }
  // As lws sets up its own: lws may retry a write from another buffer address.
  SSL_CTX_set_options(tls, SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(tls, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_default_verify_paths(tls);  // the system store (/etc/ssl/certs)
  if (!ca_file_.empty() && SSL_CTX_load_verify_locations(tls, ca_file_.c_str(), nullptr) != 1) {
    ERR_clear_error();
    SSL_CTX_free(tls);
    why = "ca_file " + ca_file_ + ": no PEM certificate could be read from it";
    return nullptr;
  }
  return tls;
}

bool LwsClientContext::ensure(bool tls, std::string& why) {
  if (context_ != nullptr && (has_tls_ || !tls)) return true;
  destroy();
  if (tls && (tls_client_ = make_tls_client(why)) == nullptr) return false;
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols_;
  info.user = user_;
  info.timeout_secs = static_cast<unsigned>(network_timeout_s_);
  info.fd_limit_per_thread = kFdsPerContext;
  info.options = tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
  info.provided_client_ssl_ctx = tls_client_;
  context_ = lws_create_context(&info);
  has_tls_ = tls && context_ != nullptr;
  if (context_ == nullptr) {
    destroy();  // frees tls_client_
    why = "libwebsockets context could not be created";
    return false;
  }
  return true;
}

void LwsClientContext::destroy() {
  if (context_ != nullptr) {
    lws_context_destroy(context_);
    context_ = nullptr;
    has_tls_ = false;
  }
  SSL_CTX_free(tls_client_);  // after the context: its connections used it
  tls_client_ = nullptr;
}

}  // namespace tandem::native
