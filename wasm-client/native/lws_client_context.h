// lws_client_context.h — the libwebsockets client context the native transports dial from
// (lws_transport.cpp: WebSocket; lws_sse_transport.cpp: event stream and POSTs), with its TLS
// settings: no listening socket, made on demand, TLS only once a secure URL asks for it.
// libwebsockets.h stays out of this header.
#pragma once

#include <string>

struct lws_context;
struct lws_protocols;
struct ssl_ctx_st;

namespace tandem::native {

class LwsClientContext {
 public:
  // `protocols` (lws's terminated array) and `user` (lws_context_user) must outlive the context.
  LwsClientContext(const lws_protocols* protocols, void* user, int network_timeout_s, std::string ca_file)
      : protocols_(protocols), user_(user), network_timeout_s_(network_timeout_s), ca_file_(std::move(ca_file)) {}
  ~LwsClientContext() { destroy(); }
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

 private:
  ssl_ctx_st* make_tls_client(std::string& why) const;

  const lws_protocols* protocols_;
  void* user_;
  int network_timeout_s_;
  std::string ca_file_;
  lws_context* context_ = nullptr;
  bool has_tls_ = false;
  ssl_ctx_st* tls_client_ = nullptr;  // ours, freed after the context (lws leaves a provided one alone)
};

}  // namespace tandem::native
