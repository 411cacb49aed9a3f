// lws_transport.cpp — the libwebsockets client behind tandem::native::LwsTransport (WebSocket).
// The browser build never compiles it; lws_sse_transport.cpp is its event-stream sibling, and
// lws_client_context.cpp makes the context both dial from.
//
// Shape: one lws context per transport (no listening socket, made by the first open()), one
// Connection per open().
// lws callbacks never call the app: they record what happened (PendingEvent) and poll()
// delivers the records after lws_service returns, so handlers may freely call open/send/close.
// Writes happen only in CLIENT_WRITEABLE (send() queues a frame with LWS_PRE headroom and asks
// for a writable callback), as lws requires.
#include "lws_transport.h"

#include <libwebsockets.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "lws_client_context.h"
#include "ws_url.h"

namespace tandem::native {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

constexpr const char* kLocalProtocolName = "tandem-client";
// A close frame holds at most 125 payload bytes: 2 for the code, 123 for the reason.
constexpr std::size_t kMaxCloseReasonBytes = 123;
// RFC 6455 codes that are reported but never sent on the wire.
constexpr int kCloseNoStatus = 1005;  // a close frame without a code
constexpr int kCloseAbnormal = 1006;  // the connection died without a close frame
constexpr int kCloseProtocolError = 1002;
constexpr int kCloseRestart = 1012;
constexpr int kCloseTooBig = 1009;

// Cuts `reason` to what a close frame allows without splitting a UTF-8 sequence.
std::string_view fit_close_reason(std::string_view reason) {
  if (reason.size() <= kMaxCloseReasonBytes) return reason;
  std::size_t end = kMaxCloseReasonBytes;
  while (end > 0 && (static_cast<unsigned char>(reason[end]) & 0xC0) == 0x80) --end;
  return reason.substr(0, end);
}

// lws 4.1.6 client quirk (LWS-NOTES §7, verified on this machine): when a server closes with
// 1012 ("service restart"), the lws client reports code 1002 (protocol error) and keeps the
// reason text. tandem-server always sends 1012 with the reason "restart" (graceful shutdown),
// or "restart: " and why (several instances: an instance went away, a room moved), and the
// client core must see 1012 to reconnect promptly instead of backing off, so exactly those
// are mapped back. A genuine 1002 carries a different reason and passes unchanged. This
// mapping lives here and nowhere else.
int undo_lws_restart_quirk(int code, std::string_view reason) {
  if (code == kCloseProtocolError && (reason == "restart" || reason.starts_with("restart: "))) return kCloseRestart;
  return code;
}

int lws_log_mask(LwsLogLevel level) {
  switch (level) {
    case LwsLogLevel::Silent: return 0;
    case LwsLogLevel::Errors: return LLL_ERR | LLL_WARN;
    case LwsLogLevel::Verbose: return LLL_ERR | LLL_WARN | LLL_NOTICE;
  }
  return LLL_ERR | LLL_WARN;
}

}  // namespace

// ---- state: one Impl per transport, one Connection per open() -------------------------------

struct OutgoingFrame {
  std::vector<unsigned char> bytes;  // LWS_PRE bytes of headroom, then the payload
  bool binary = false;
  std::size_t payload_size() const { return bytes.size() - LWS_PRE; }
};

struct CloseRequest {
  int code;
  std::string reason;
};

struct Connection {
  TransportEvents* events = nullptr;
  lws* wsi = nullptr;                        // null once lws is done with it
  TransportPhase phase = TransportPhase::Connecting;
  std::deque<OutgoingFrame> outgoing;
  std::size_t outgoing_bytes = 0;
  std::string incoming;                      // fragments of the message being received
  bool incoming_binary = false;              // ...and its kind (from its first fragment)
  std::optional<CloseRequest> close_request;  // set by close(); carried out in WRITEABLE
  SteadyTime close_deadline{};                // when close_request is set: give up waiting
  std::optional<CloseRequest> peer_close;     // the server's close frame, if one came
  std::optional<CloseRequest> local_failure;  // why we dropped the connection ourselves
  std::optional<std::string> tls_failure;     // why the server's certificate was not trusted
  bool closed_reported = false;
};

struct LwsTransport::Impl {
  explicit Impl(const LwsTransportSettings& s)
      : settings(s), context(protocols, this, s.network_timeout_s, s.ca_file) {}

  LwsTransportSettings settings;
  lws_protocols protocols[2]{};
  LwsClientContext context;  // made by the first open() (ensure_context)
  // The connection of the last open(). A replaced or finished one is detached from its wsi
  // (finish() clears the wsi's opaque user data), so freeing it never leaves lws a dangling
  // pointer: later callbacks for that wsi find nothing and are ignored.
  std::unique_ptr<Connection> current;
  std::deque<PendingEvent> pending;
  bool activity = false;      // set by callbacks during one lws_service round
  bool destroying = false;    // the destructor runs; callbacks must not record anything

  // Queues one message of the current connection for the socket (send, send_binary).
  SendStatus queue(std::string_view frame, bool binary);

  void record(PendingEvent::Kind kind, Connection& c, int code = 0, std::string text = {}) {
    if (destroying) return;
    pending.push_back(PendingEvent{kind, c.events, code, std::move(text)});
  }

  // Reports the end of `c` exactly once and detaches it from its wsi.
  void finish(Connection& c, int code, std::string reason) {
    if (c.closed_reported) return;
    c.closed_reported = true;
    c.phase = TransportPhase::Idle;
    c.outgoing.clear();
    c.outgoing_bytes = 0;
    c.incoming.clear();
    if (c.wsi != nullptr) lws_set_opaque_user_data(c.wsi, nullptr);
    c.wsi = nullptr;
    record(PendingEvent::Kind::Closed, c, code, std::move(reason));
  }

  // Starts closing `c` with `code`: politely (a close frame from WRITEABLE) when open, by
  // abandoning the dial when still connecting. close_deadline bounds the wait for the server.
  void request_close(Connection& c, int code, std::string_view reason) {
    c.close_request = CloseRequest{code, std::string(fit_close_reason(reason))};
    c.close_deadline = std::chrono::steady_clock::now() + settings.close_timeout;
    const TransportPhase was = c.phase;
    c.phase = TransportPhase::Closing;
    if (was == TransportPhase::Connecting) drop_socket(c);  // no handshake yet: nothing to close politely
    else if (c.wsi != nullptr) lws_callback_on_writable(c.wsi);
  }

  // The server did not answer our close frame in time: report the close as requested.
  void expire_close(Connection& c, SteadyTime now) {
    if (c.closed_reported || !c.close_request || now < c.close_deadline) return;
    drop_socket(c);
    finish(c, c.close_request->code, c.close_request->reason);
  }

  // Tells lws to drop `c`'s socket without a close handshake. The final callback comes later
  // from lws_service and finds `c` through the wsi's opaque user data.
  static void drop_socket(Connection& c) {
    if (c.wsi != nullptr) lws_set_timeout(c.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
  }

  void on_receive(Connection& c, lws* wsi, const char* data, std::size_t len) {
    if (c.phase != TransportPhase::Open) return;  // after close(): dropped, as browsers do
    if (c.incoming.size() + len > settings.max_message_bytes) {
      // Stop reading and close; the bytes received so far are useless.
      c.incoming.clear();
      request_close(c, kCloseTooBig, "message too big");
      return;
    }
    if (c.incoming.empty() && lws_is_first_fragment(wsi)) c.incoming_binary = lws_frame_is_binary(wsi) != 0;
    c.incoming.append(data, len);
    // A message is complete at the end of its final frame; one frame may arrive in several
    // callbacks (lws hands over at most its rx buffer at a time), hence the remaining check.
    if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
      record(c.incoming_binary ? PendingEvent::Kind::BinaryMessage : PendingEvent::Kind::Message, c, 0,
             std::move(c.incoming));
      c.incoming.clear();
    }
  }

  // Returns -1 to make lws close the connection (after a close frame when one was set).
  int on_writeable(Connection& c, lws* wsi) {
    while (!c.outgoing.empty()) {
      OutgoingFrame& frame = c.outgoing.front();
      const std::size_t size = frame.payload_size();
      const int written =
          lws_write(wsi, frame.bytes.data() + LWS_PRE, size, frame.binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
      if (written < 0 || static_cast<std::size_t>(written) < size) {
        c.local_failure = CloseRequest{kCloseAbnormal, "write failed"};
        return -1;
      }
      c.outgoing_bytes -= size;
      c.outgoing.pop_front();
      // lws buffers what the kernel did not take and reports the pipe as choked (LWS-NOTES §4).
      if (lws_send_pipe_choked(wsi)) break;
    }
    if (!c.outgoing.empty()) {
      lws_callback_on_writable(wsi);
      return 0;
    }
    if (c.close_request) {
      // lws_close_reason takes a mutable buffer; hand it a copy.
      std::string reason(fit_close_reason(c.close_request->reason));
      lws_close_reason(wsi, static_cast<lws_close_status>(c.close_request->code),
                       reinterpret_cast<unsigned char*>(reason.data()), reason.size());
      return -1;
    }
    return 0;
  }

  // How a connection that reached its final callback ended, in priority order: the server's
  // close frame, our own close() or failure, else an abnormal closure.
  static CloseRequest final_close(const Connection& c, std::string fallback) {
    if (c.peer_close) return *c.peer_close;
    if (c.local_failure) return *c.local_failure;
    if (c.close_request) return *c.close_request;
    return CloseRequest{kCloseAbnormal, std::move(fallback)};
  }

  int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len) {
    auto* c = static_cast<Connection*>(lws_get_opaque_user_data(wsi));
    if (c == nullptr || destroying) return 0;
    switch (reason) {
      case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        // OpenSSL checks each certificate of the server's chain; `len` is its verdict and
        // `user` the X509_STORE_CTX. When it fails, lws 4.1.6 reports only "connect SSL err 1:
        // error:00000001:lib(0)::reason(1)", so the reason is kept here for the on_closed text.
        // Returning 0 leaves OpenSSL's verdict as it is.
        if (len == 0 && !c->tls_failure) {
          const int error = X509_STORE_CTX_get_error(static_cast<X509_STORE_CTX*>(user));
          c->tls_failure = std::string("TLS: server certificate not trusted (") + X509_verify_cert_error_string(error) +
                           ")";
        }
        return 0;

      case LWS_CALLBACK_CLIENT_ESTABLISHED:
        activity = true;
        c->wsi = wsi;
        if (c->phase == TransportPhase::Connecting) {
          c->phase = TransportPhase::Open;
          record(PendingEvent::Kind::Open, *c);
        }
        // Frames queued or a close() requested while the connection was racing to open.
        if (!c->outgoing.empty() || c->close_request) lws_callback_on_writable(wsi);
        return 0;

      case LWS_CALLBACK_CLIENT_RECEIVE:
        activity = true;
        on_receive(*c, wsi, static_cast<const char*>(in), len);
        return 0;

      case LWS_CALLBACK_CLIENT_WRITEABLE:
        activity = true;
        return on_writeable(*c, wsi);

      case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
        activity = true;
        const auto* bytes = static_cast<const unsigned char*>(in);
        int code = kCloseNoStatus;
        std::string text;
        if (bytes != nullptr && len >= 2) {
          code = (bytes[0] << 8) | bytes[1];
          text.assign(reinterpret_cast<const char*>(bytes + 2), len - 2);
        }
        code = undo_lws_restart_quirk(code, text);
        c->peer_close = CloseRequest{code, std::move(text)};
        c->phase = TransportPhase::Closing;
        return 0;  // lws echoes the close frame, then CLIENT_CLOSED follows
      }

      case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        activity = true;
        // `in` is lws's error text (NUL-terminated; `len` is not reliable for it).
        std::string why = "connect failed";
        if (c->tls_failure) why += ": " + *c->tls_failure;
        else if (in != nullptr) why += ": " + std::string(static_cast<const char*>(in));
        CloseRequest end = c->close_request ? *c->close_request : CloseRequest{kCloseAbnormal, std::move(why)};
        finish(*c, end.code, std::move(end.reason));
        return 0;
      }

      case LWS_CALLBACK_CLIENT_CLOSED: {
        activity = true;
        CloseRequest end = final_close(*c, "connection lost");
        finish(*c, end.code, std::move(end.reason));
        return 0;
      }

      case LWS_CALLBACK_WSI_DESTROY: {
        // The catch-all end. A dial abandoned during the upgrade (close() while connecting)
        // gets neither CONNECTION_ERROR nor CLIENT_CLOSED in 4.1.6 — only CLOSED_CLIENT_HTTP
        // and this — so the connection is finished here unless an earlier callback did it.
        activity = true;
        CloseRequest end = final_close(*c, "connection lost");
        finish(*c, end.code, std::move(end.reason));
        return 0;
      }

      default:
        return 0;
    }
  }

  static int lws_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len) {
    lws_context* ctx = lws_get_context(wsi);
    auto* self = ctx != nullptr ? static_cast<Impl*>(lws_context_user(ctx)) : nullptr;
    if (self == nullptr) return 0;
    return self->callback(wsi, reason, user, in, len);
  }

  // A context that can dial `scheme` (lws_client_context.h); a ws:// one asked for wss:// is
  // replaced (no connection is alive then: open() has finished the previous one).
  bool ensure_context(WsScheme scheme, std::string& why) {
    const bool was_destroying = destroying;
    destroying = true;  // callbacks fired by a replaced context's teardown must not record events
    const bool ok = context.ensure(scheme == WsScheme::Secure, why);
    destroying = was_destroying;
    return ok;
  }
};

// ---- public API ------------------------------------------------------------------------------

LwsTransport::LwsTransport(LwsTransportSettings settings) : impl_(std::make_unique<Impl>(settings)) {
  lws_set_log_level(lws_log_mask(settings.log_level), nullptr);

  impl_->protocols[0].name = kLocalProtocolName;
  impl_->protocols[0].callback = &Impl::lws_callback;
  impl_->protocols[0].per_session_data_size = 0;  // per-connection state is our Connection
  impl_->protocols[0].rx_buffer_size = 0;        // lws default (4 KiB); messages are reassembled
  // The lws context is made by the first open(), once the URL says whether TLS is needed.
}

LwsTransport::~LwsTransport() {
  impl_->destroying = true;
  impl_->context.destroy();
}

void LwsTransport::open(const std::string& url, TransportEvents& events) {
  Impl& s = *impl_;
  if (s.current && !s.current->closed_reported) {
    Connection& old = *s.current;
    Impl::drop_socket(old);
    s.finish(old, kCloseAbnormal, "replaced by a new connection");
  }
  s.current = std::make_unique<Connection>();
  Connection& c = *s.current;
  c.events = &events;

  Result<WsUrl> parsed = parse_ws_url(url);
  if (!parsed) {
    s.finish(c, kCloseAbnormal, parsed.error().message);
    return;
  }
  const WsUrl& target = parsed.value();
  if (std::string why; !s.ensure_context(target.scheme, why)) {
    s.finish(c, kCloseAbnormal, why);
    return;
  }

  lws_client_connect_info info;
  std::memset(&info, 0, sizeof info);
  info.context = s.context.get();
  info.address = target.host.c_str();
  info.port = target.port;
  info.ssl_connection = target.scheme == WsScheme::Secure ? LCCSCF_USE_SSL : 0;
  info.path = target.path.c_str();
  info.host = target.host_header.c_str();
  // No Origin header: it is a browser's statement of which page opens the socket, and servers
  // with an origin allow-list let clients without one through (lws would send "http://" + host,
  // wrong for wss:// and refused by such a list).
  info.origin = nullptr;
  info.protocol = nullptr;  // no Sec-WebSocket-Protocol: the server binds /ws to its default
  info.local_protocol_name = kLocalProtocolName;
  info.opaque_user_data = &c;
  info.pwsi = &c.wsi;
  // The dial may fail inside this call (CLIENT_CONNECTION_ERROR, then NULL) — finish() has then
  // recorded on_closed already — or return NULL without any callback.
  lws* wsi = lws_client_connect_via_info(&info);
  if (wsi == nullptr) {
    c.wsi = nullptr;
    s.finish(c, kCloseAbnormal, "connect failed: could not start the connection");
  }
}

SendStatus LwsTransport::send(std::string_view frame) { return impl_->queue(frame, false); }
SendStatus LwsTransport::send_binary(std::string_view message) { return impl_->queue(message, true); }

SendStatus LwsTransport::Impl::queue(std::string_view frame, bool binary) {
  Connection* c = current.get();
  if (c == nullptr || c->phase != TransportPhase::Open || c->wsi == nullptr) return SendStatus::NotOpen;
  OutgoingFrame out;
  out.binary = binary;
  out.bytes.resize(LWS_PRE + frame.size());
  std::copy(frame.begin(), frame.end(), out.bytes.begin() + LWS_PRE);
  c->outgoing_bytes += frame.size();
  c->outgoing.push_back(std::move(out));
  lws_callback_on_writable(c->wsi);
  return SendStatus::Sent;
}

void LwsTransport::close(int code, std::string_view reason) {
  Connection* c = impl_->current.get();
  if (c == nullptr || c->closed_reported || c->close_request) return;
  impl_->request_close(*c, code, reason);
}

std::size_t LwsTransport::poll(Millis wait) {
  Impl& s = *impl_;
  if (s.context.get() != nullptr) {
    Connection* c = s.current.get();
    if (c != nullptr && c->close_request && !c->closed_reported) {
      // Never wait past the close deadline: on_closed is due then.
      const auto left = std::chrono::ceil<Millis>(c->close_deadline - std::chrono::steady_clock::now());
      wait = std::clamp(left, Millis{0}, wait);
    }
    s.context.service(s.pending.empty() ? wait : Millis{0}, s.settings.max_service_rounds_per_poll, s.activity);
    if (s.current) s.expire_close(*s.current, std::chrono::steady_clock::now());
  }
  return deliver(s.pending);
}

void LwsTransport::wake() {
  if (lws_context* context = impl_->context.get()) lws_cancel_service(context);
}

TransportPhase LwsTransport::phase() const {
  const Connection* c = impl_->current.get();
  return c == nullptr ? TransportPhase::Idle : c->phase;
}

std::size_t LwsTransport::queued_bytes() const {
  const Connection* c = impl_->current.get();
  return c == nullptr ? 0 : c->outgoing_bytes;
}

}  // namespace tandem::native
