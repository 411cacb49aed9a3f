// lws_client_context.h — what the native transports (lws_transport.cpp: WebSocket;
// lws_sse_transport.cpp: event stream and POSTs) share: the libwebsockets client context they
// dial from, with its TLS settings (no listening socket, made on demand, TLS only once a secure
// URL asks for it) and its servicing; and the events their lws callbacks record for poll() to
// deliver. libwebsockets.h stays out of this header.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>

#include "tandem/clock.h"
#include "tandem/transport.h"

struct lws_context;
struct lws_protocols;
struct ssl_ctx_st;

namespace tandem::native {

// What a transport's lws callbacks record; its poll() delivers them after lws_service returns,
// so handlers may call the transport again.
struct PendingEvent {
  enum class Kind { Open, Message, BinaryMessage, Closed };
  Kind kind;
  TransportEvents* target;
  int code = 0;
  std::string text;  // a message or a close reason
};
// Delivers every event of `pending`, oldest first; returns how many.
std::size_t deliver(std::deque<PendingEvent>& pending);

class LwsClientContext {
 public:
  // `protocols` (lws's terminated array) and `user` (lws_context_user) must outlive the context.
  LwsClientContext(const lws_protocols* protocols, void* user, int network_timeout_s, std::string ca_file)
      ;
  ~LwsClientContext();
  LwsClientContext(const LwsClientContext&) = delete;
  LwsClientContext& operator=(const LwsClientContext&) = delete;

  // Makes sure a context exists that can dial with TLS when `tls`; false with `why` when it
  // cannot. TLS is set up only when asked: LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT costs every
  // context the system CA store (~700 KB). A plain context asked for TLS is replaced — callers
  // ask only when no connection of theirs is alive. lws checks the server's certificate against
  // the URL's host on every dial.
  bool ensure(bool tls, std::string& why);
  // Destroys the context (its connections' final callbacks run inside) and the TLS settings.
  void destroy();

  lws_context* get() const { return context_; }

  // Services the context: first blocks up to `wait` for network activity (lws_service ignores
  // its own timeout: LWS-NOTES §8, so a timer of ours bounds it), then runs non-blocking rounds
  // until one does nothing (`activity`, set by the owner's callbacks, stays false) or
  // `max_rounds` ran — one round reads only about 4 KiB.
  void service(Millis wait, int max_rounds, bool& activity);

 private:
  ssl_ctx_st* make_tls_client(std::string& why) const;

  const lws_protocols* protocols_;
  void* user_;
  int network_timeout_s_;
  std::string ca_file_;
  lws_context* context_ = nullptr;
  bool has_tls_ = false;
  ssl_ctx_st* tls_client_ = nullptr;  // ours, freed after the context (lws leaves a provided one alone)
  struct WakeTimer;
  std::unique_ptr<WakeTimer> wake_timer_;  // bounds service()'s wait (an lws sorted-usec list entry)
};

}  // namespace tandem::native
