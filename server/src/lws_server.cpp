// server/src/lws_server.cpp — the edge: libwebsockets in, Hub and HttpApi calls out.
//
// The only file that includes libwebsockets.h. Everything it does is I/O: accept, read
// pieces of messages, write queued frames, close, serve files, tick a timer, catch signals.
// Decisions live in the Hub (hub.h) and HttpApi (http_api.h).
//
// Sections:
//   1. process-wide signal state
//   2. LwsServer: one per process ("vhost-level" state); EdgeConnection: one per WebSocket
//   3. the WebSocket protocol callback (/ws)
//   4. the HTTP protocol callback (/healthz, /api/..., the /admin page; static files are lws's own mount)
//   4b. Server-Sent Events (/sse): the stream (GET) and what the client sends (POST)
//   4a. refusals before a WebSocket upgrade: other paths (404), origins (403), caps (503, 429)
//   5. context setup (TLS when configured), the service loop and graceful shutdown (LWS-NOTES §7)
#include "lws_server.h"

#include <libwebsockets.h>

#include <arpa/inet.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

#include "endpoint.h"
#include "frame_assembler.h"
#include "http_api.h"
#include "hub.h"
#include "ids.h"
#include "log.h"
#include "lws_socket_hooks.h"
#include "origin_policy.h"
#include "page_slots.h"
#include "publish_api.h"
#include "sse_streams.h"
#include "version.h"
#include "webhooks/outbox.h"

namespace tandem::server {

namespace {

// ---- 1. signals -----------------------------------------------------------------------------

std::atomic<int> g_signal_count{0};
std::atomic<bool> g_reload_requested{false};
std::atomic<lws_context*> g_context{nullptr};

// SIGHUP: read the settings again (LwsServer::reload_settings), on the loop.
extern "C" void on_reload_signal(int) {
  g_reload_requested.store(true);
  if (lws_context* context = g_context.load()) lws_cancel_service(context);
}

// Async-signal-safe: an atomic increment, write(2), and lws_cancel_service (which writes to
// the loop's wake-up pipe). The loop notices the count in EVENT_WAIT_CANCELLED.
extern "C" void on_signal(int) {
  if (g_signal_count.fetch_add(1) >= 1) {
    static const char kMessage[] = "second signal: exiting now\n";
    [[maybe_unused]] ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    _exit(1);
  }
  if (lws_context* context = g_context.load()) lws_cancel_service(context);
}

Now clock_now() {
  timespec mono{}, wall{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &wall);
  return Now{Millis(static_cast<std::int64_t>(mono.tv_sec) * 1000 + mono.tv_nsec / 1000000),
             static_cast<UnixMillis>(wall.tv_sec) * 1000 + wall.tv_nsec / 1000000};
}

// How often the hub's tick runs (auth timeouts, shutdown deadline, presence flushes): every
// 250 ms, or every presence_tick_ms when that is shorter, so conflated presence updates leave
// once per presence tick. Auth timeouts are therefore late by at most this much.
constexpr lws_usec_t kMaxTickInterval = 250 * LWS_US_PER_MS;
lws_usec_t tick_interval(const Settings& settings) {
  return std::min<lws_usec_t>(kMaxTickInterval, static_cast<lws_usec_t>(settings.presence_tick_ms) * LWS_US_PER_MS);
}

// Bodies of requests that take none are read and dropped up to this size; larger ones drop the
// connection.
constexpr long long kMaxIgnoredBodyBytes = 64 * 1024;

// One HTTP request on its way through: its body being collected (POST /api/...), then the
// answer waiting for HTTP_WRITEABLE.
struct HttpExchange {
  HttpRequest request;
  std::optional<HttpResponse> reply;  // ready to write
  bool collecting = false;            // HTTP_BODY appends to request.body
  bool body_pending = false;          // until BODY_COMPLETION lws grants no WRITEABLE
  std::uint64_t serial = 0;           // tells a later answer which exchange it is for
  std::size_t body_limit = 0;         // the most HTTP_BODY collects
  bool sse_post = false;              // POST /sse/{stream}: BODY_COMPLETION hands it to the stream
  bool keep_alive = false;            // the body was read whole: the connection may serve another request
};

// A connection the hub abandoned (slow consumer) gets this long to take its close frame before
// lws kills the socket. lws timeouts count whole seconds.
constexpr int kAbandonedCloseSeconds = 1;

// Retry-After of an upgrade refused for a cap (503, 429).
constexpr int kRetryAfterSeconds = 5;

// Longest URL argument we read (a token is at most rules::token.max = 8192 bytes).
constexpr int kMaxArgBytes = 8192 + 16;

// ---- 2. state -------------------------------------------------------------------------------

// One of these per WebSocket connection, beside the Hub's Connection: the socket side.
struct EdgeConnection {
  lws* wsi;
  FrameAssembler assembler;
  int fd = -1;
  std::string client_address;  // counted against max_connections_per_ip
};

// lws per-session data of the WebSocket protocol: zeroed by lws, so id 0 means "never
// established" (CLOSED also fires for connections refused in FILTER, LWS-NOTES §2).
struct WsSession {
  ConnectionId id;
};

class LwsServer;

// The tick timer: the sul must be the first member so the callback can find the server.
struct TickTimer {
  lws_sorted_usec_list_t sul;
  LwsServer* server;
};

class LwsServer final : public EdgeWaker {
 public:
  LwsServer(const Settings& settings, Millis started, store::Store& store, ClusterSeams cluster, SettingsReloader reload,
            std::vector<std::string> webhook_rooms)
      : settings_(settings),
        reload_(std::move(reload)),
        hub_(settings_, ids_, *this, nullptr, &store),
        api_(settings_,
             [this] {
               return HttpApi::ServerState{hub_.stats(), hub_.shutting_down(), &hub_.metrics(), hub_.instance(),
                                           hub_.cluster_reports()};
             },
             started) {
    // Run on the loop thread (HTTP callbacks): they use the hub, and answer once the store has
    // been read or written with a loop pass (HttpExchange: the answer may come later).
    api_.set_publisher([this](std::string_view body, Now now, HttpApi::Respond respond) {
      publish(hub_, body, now, std::move(respond));
    });
    api_.set_changes_reader([this](store::ReadRequest::ChangesPage page, Hub::ChangesPageReader then) {
      hub_.read_changes(std::move(page), std::move(then));
    });
    api_.set_ydoc_lister([this] { return hub_.ydocs().summaries(); });
    if (hub_.webhook_outbox() != nullptr) {
      api_.set_webhook_reporter([this](Now now) { return hub_.webhook_outbox()->report_json(now.mono); });
      // Rooms a stopped server left webhook events undelivered in: loaded with the first pass's
      // reads (the outbox takes their backlog), then let go.
      if (!webhook_rooms.empty()) {
        LOG_INFO("webhooks: %zu room(s) with undelivered events; loading them", webhook_rooms.size());
        hub_.when_rooms_loaded(webhook_rooms, [this, rooms = webhook_rooms](bool readable) {
          if (!readable) return;
          for (const std::string& room : rooms)
            if (hub_.rooms().open(room, clock_now().wall) != nullptr) hub_.rooms().release_if_idle(room);
        });
      }
    }
    api_.set_room_inspector([this](std::string_view room, Now now) { return hub_.room_detail(room, now); });
    if (cluster.directory && cluster.link) {
      hub_.set_cluster_report([this] { return api_.instance_report(clock_now()); });
      hub_.attach_cluster(*cluster.directory, *cluster.link);
      // A publish another instance received for rooms this one runs.
      // A POST to a stream this instance holds that another instance received (PROTOCOL.md §5.5).
      hub_.set_sse_post_runner([this](const cluster::SsePost& post, Hub::PublishAnswer answer) {
        HttpResponse response = run_sse_post(post, clock_now());
        answer(response.status, std::move(response.body));
      });
      hub_.set_publish_runner([this](std::string_view body, Now now, Hub::PublishAnswer answer) {
        publish(hub_, body, now, [answer = std::move(answer)](HttpResponse response) { answer(response.status, std::move(response.body)); },
                /*forwarded=*/true);
      });
    }
  }

  ServeResult run(bool secret_generated);

  // EdgeWaker: the hub has frames or a close for `id`.
  void wake(ConnectionId id) override {
    auto it = edges_.find(id);
    if (it != edges_.end()) {
      lws_callback_on_writable(it->second.wsi);
    } else if (SseStreams::Stream* stream = sse_.by_id(id); stream && stream->response) {
      lws_callback_on_writable(static_cast<lws*>(stream->response));
    }
  }

  // EdgeWaker: run() commits after every lws_service() pass, covering every event that pass
  // handled. Work that appears during the commit itself (input resumed after the pass's
  // reads) needs another pass at once, not after the next event or tick.
  void commit_soon() override {
    if (between_passes_ && context_) lws_cancel_service(context_);
  }

  // EdgeWaker, from the commit thread: a commit returned; the next pass's hub_.commit(now)
  // collects it and sends what waited for it. lws_cancel_service is safe from any thread.
  void commit_finished() override {
    if (lws_context* context = g_context.load()) lws_cancel_service(context);
  }

  // EdgeWaker: the hub gave up on `id`. If the socket takes the close frame soon, WRITEABLE
  // sends it with the hub's code; a peer that stopped reading never makes the socket writable,
  // so lws kills the connection after kAbandonedCloseSeconds whatever happens.
  void abandon(ConnectionId id) override {
    lws* wsi = nullptr;
    if (auto it = edges_.find(id); it != edges_.end()) {
      wsi = it->second.wsi;
    } else if (SseStreams::Stream* stream = sse_.by_id(id)) {
      wsi = static_cast<lws*>(stream->response);
    }
    if (!wsi) return;  // a detached stream: its close is executed by the tick
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, kAbandonedCloseSeconds);
    lws_callback_on_writable(wsi);
  }

  int on_ws(lws* wsi, lws_callback_reasons reason, WsSession* session, void* in, std::size_t len);
  int admit_upgrade(lws* wsi);
  void after_pass(Now now);
  int on_http(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len);
  void on_tick();

 private:
  void begin_shutdown();
  void reload_settings();
  void return_memory_after_a_burst();
  int write_frames(lws* wsi, ConnectionId id);
  int write_http_reply(lws* wsi);
  int serve_admin_page(lws* wsi);
  // 4b: Server-Sent Events.
  int on_sse_request(lws* wsi, HttpExchange& exchange, long long length);
  int start_sse_stream(lws* wsi, HttpExchange& exchange);
  void answer_sse_post(lws* wsi, HttpExchange& exchange);
  HttpResponse run_sse_post(const cluster::SsePost& post, Now now);
  int write_sse(lws* wsi, SseStreams::Stream& stream);
  void sse_response_closed(lws* wsi);
  void sse_tick(Now now);
  void end_sse_connection(ConnectionId id);
  void release_address(const std::string& address);
  // Where the API's answer to exchange `serial` on `wsi` goes: at once or from a later loop
  // pass; dropped when that connection went away meanwhile.
  HttpApi::Respond responder(lws* wsi, std::uint64_t serial) {
    return [this, wsi, serial](HttpResponse response) {
      auto it = http_.find(wsi);
      if (it == http_.end() || it->second.serial != serial) return;
      it->second.reply = std::move(response);
      if (!it->second.body_pending) lws_callback_on_writable(wsi);
    };
  }

  Settings settings_;
  SettingsReloader reload_;
  OriginPolicy origins_;  // parsed from settings_.allowed_origins by run()
  RandomIds ids_;
  Hub hub_;
  HttpApi api_;
  lws_context* context_ = nullptr;
  std::unordered_map<ConnectionId, EdgeConnection> edges_;
  SseStreams sse_{settings_};                                // event streams (4b): connections without a WebSocket
  std::unordered_map<int, ConnectionId> by_fd_;                // socket -> connection, for the socket hooks
  std::unordered_map<std::string, int> per_address_;         // open connections per client address
  std::vector<std::string> trusted_proxies_;                 // settings_.trusted_proxies, split
  std::unordered_map<lws*, HttpExchange> http_;          // requests being read or answered
  std::uint64_t http_serial_ = 0;                        // the last HttpExchange::serial given
  bool between_passes_ = false;                          // run() is committing after lws_service
  std::vector<unsigned char> write_buffer_;              // LWS_PRE + frame, reused for every write
  TickTimer tick_{};
  bool shutdown_started_ = false;
  std::size_t connections_peak_ = 0;  // most connections since memory was last given back
  Millis shutdown_deadline_{0};
};

LwsServer* server_of(lws* wsi) { return static_cast<LwsServer*>(lws_context_user(lws_get_context(wsi))); }

std::string peer_of(lws* wsi) {
  char address[64] = "";
  lws_get_peer_simple(wsi, address, sizeof address);
  return address;
}

// The client's address: the peer's, or, when the peer is a trusted proxy, the last address of
// its X-Forwarded-For (the one that proxy appended).
std::string client_address(lws* wsi, const std::vector<std::string>& trusted_proxies) {
  std::string peer = peer_of(wsi);
  if (std::find(trusted_proxies.begin(), trusted_proxies.end(), peer) == trusted_proxies.end()) return peer;
  const int length = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
  if (length <= 0) return peer;
  std::string forwarded(static_cast<std::size_t>(length) + 1, '\0');
  if (lws_hdr_copy(wsi, forwarded.data(), length + 1, WSI_TOKEN_X_FORWARDED_FOR) < 0) return peer;
  forwarded.resize(std::strlen(forwarded.c_str()));
  std::string last = forwarded.substr(forwarded.rfind(',') == std::string::npos ? 0 : forwarded.rfind(',') + 1);
  last.erase(0, last.find_first_not_of(" \t"));
  last.erase(last.find_last_not_of(" \t") + 1);
  return last.empty() ? peer : last;
}

std::optional<std::string> url_arg(lws* wsi, const char* name_with_equals) {
  std::vector<char> buffer(kMaxArgBytes);
  const char* value = lws_get_urlarg_by_name(wsi, name_with_equals, buffer.data(), static_cast<int>(buffer.size()));
  if (!value || !*value) return std::nullopt;  // "?token=" alone counts as no token
  return std::string(value);
}

// A request header as text; nothing when the request has none.
std::optional<std::string> header_of(lws* wsi, lws_token_indexes token) {
  const int length = lws_hdr_total_length(wsi, token);
  if (length <= 0) return std::nullopt;
  std::string value(static_cast<std::size_t>(length) + 1, '\0');
  if (lws_hdr_copy(wsi, value.data(), length + 1, token) < 0) return std::nullopt;
  value.resize(std::strlen(value.c_str()));
  return value;
}

// ---- 3. WebSocket (/ws) ---------------------------------------------------------------------

int LwsServer::on_ws(lws* wsi, lws_callback_reasons reason, WsSession* session, void* in, std::size_t len) {
  switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
      // Every upgrade lands here (pvo "default"), whatever its path: only /ws and /yjs are ours.
      // CONFIRM_UPGRADE answered every refusal already (section 4a); this is the last guard.
      if (!endpoint_of(header_of(wsi, WSI_TOKEN_GET_URI).value_or(""))) return 1;
      if (shutdown_started_) return 1;  // draining: new clients go to another instance
      return 0;

    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:  // every upgrade request, before any answer (section 4a)
      return admit_upgrade(wsi);

    case LWS_CALLBACK_ESTABLISHED: {
      OpenRequest request;
      request.token = url_arg(wsi, "token=");
      request.session = url_arg(wsi, "session=");
      request.peer = peer_of(wsi);
      if (auto endpoint = endpoint_of(header_of(wsi, WSI_TOKEN_GET_URI).value_or(""))) {
        request.wire = endpoint->wire;
        request.ydoc = std::move(endpoint->ydoc);
      }
      const ConnectionId id = hub_.open(request, clock_now());
      session->id = id;
      const int fd = lws_get_socket_fd(wsi);
      std::string address = client_address(wsi, trusted_proxies_);
      ++per_address_[address];
      by_fd_[fd] = id;
      edges_.emplace(id, EdgeConnection{wsi,
                                        FrameAssembler(static_cast<std::size_t>(settings_.max_frame_bytes),
                                                       static_cast<std::size_t>(settings_.hard_frame_bytes),
                                                       request.wire == Wire::Tandem ? Accepts::TextAndBinary
                                                                                    : Accepts::Binary),
                                        fd, std::move(address)});
      // open() may have queued `connected` or a close before the edge knew this wsi.
      lws_callback_on_writable(wsi);
      return 0;
    }

    case LWS_CALLBACK_RECEIVE: {
      auto it = edges_.find(session->id);
      if (it == edges_.end()) return 0;
      const Now now = clock_now();
      auto outcome = it->second.assembler.feed(std::string_view(static_cast<const char*>(in), len),
                                               lws_is_first_fragment(wsi), lws_is_final_fragment(wsi),
                                               lws_frame_is_binary(wsi));
      // Before authentication a client may send little (an `auth` message).
      if (outcome.bytes > static_cast<std::size_t>(settings_.max_preauth_bytes) && !hub_.authenticated(session->id)) {
        hub_.refuse(session->id, FrameProblem::OverPreAuthLimit, outcome.bytes, now);
        return 0;
      }
      // RECEIVE never writes: the hub queues, wakes us, and WRITEABLE does the I/O.
      switch (outcome.status) {
        case FrameAssembler::Status::Partial: break;
        case FrameAssembler::Status::Complete: hub_.receive(session->id, outcome.message, now, outcome.kind); break;
        case FrameAssembler::Status::TooBig: hub_.refuse(session->id, FrameProblem::TooBig, outcome.bytes, now); break;
        case FrameAssembler::Status::OverHardLimit:
          hub_.refuse(session->id, FrameProblem::OverHardLimit, outcome.bytes, now);
          break;
        case FrameAssembler::Status::WrongKind:
          hub_.refuse(session->id, FrameProblem::WrongKind, outcome.bytes, now);
          break;
      }
      return 0;
    }

    case LWS_CALLBACK_SERVER_WRITEABLE:
      if (!session->id) return 0;
      return write_frames(wsi, session->id);

    case LWS_CALLBACK_CLOSED:
      if (!session->id) return 0;  // refused in FILTER: never reached the hub
      hub_.closed(session->id);
      if (auto edge = edges_.find(session->id); edge != edges_.end()) {
        by_fd_.erase(edge->second.fd);
        release_address(edge->second.client_address);
        edges_.erase(edge);
      }
      session->id = 0;
      return 0;

    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      // Fires for our signal kick, but also spuriously (about once per accept, LWS-NOTES §6):
      // it means "look at your flags", never "one event happened".
      if (g_signal_count.load() > 0 && !shutdown_started_) begin_shutdown();
      if (g_reload_requested.exchange(false)) reload_settings();
      return 0;

    default:
      return 0;
  }
}

// Writes queued frames until the queue is empty or the socket is choked, then executes a
// requested close. Returning -1 tells lws to close (with the reason set by lws_close_reason).
int LwsServer::write_frames(lws* wsi, ConnectionId id) {
  MessageKind kind = MessageKind::Text;
  while (Bytes frame = hub_.next_frame(id, kind)) {
    write_buffer_.resize(LWS_PRE + frame->size());
    std::memcpy(write_buffer_.data() + LWS_PRE, frame->data(), frame->size());
    const int written = lws_write(wsi, write_buffer_.data() + LWS_PRE, frame->size(),
                                  kind == MessageKind::Binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    if (written < static_cast<int>(frame->size())) {
      LOG_DEBUG("write failed, dropping connection");
      return -1;
    }
    // lws keeps what the kernel did not take; continue when writable. (Not
    // lws_send_pipe_choked(): it costs a poll() syscall per frame, as many as the sends.)
    if (lws_partial_buffered(wsi)) {
      lws_callback_on_writable(wsi);
      return 0;
    }
  }
  if (const CloseRequest* close = hub_.close_request(id)) {
    lws_close_reason(wsi, static_cast<lws_close_status>(close->code),
                     reinterpret_cast<unsigned char*>(const_cast<char*>(close->reason.data())), close->reason.size());
    return -1;
  }
  return 0;
}

// ---- 4. HTTP (/healthz, /api) ---------------------------------------------------------------

HttpRequest read_http_request(lws* wsi) {
  HttpRequest request;
  struct MethodToken {
    lws_token_indexes token;
    const char* method;
  };
  static constexpr MethodToken kMethods[] = {{WSI_TOKEN_GET_URI, "GET"},
                                             {WSI_TOKEN_POST_URI, "POST"},
                                             {WSI_TOKEN_PUT_URI, "PUT"},
                                             {WSI_TOKEN_DELETE_URI, "DELETE"},
                                             {WSI_TOKEN_PATCH_URI, "PATCH"},
                                             {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
                                             {WSI_TOKEN_HEAD_URI, "HEAD"}};
  request.method = "OTHER";
  for (const MethodToken& m : kMethods) {
    const int length = lws_hdr_total_length(wsi, m.token);
    if (length <= 0) continue;
    request.method = m.method;
    request.path.resize(static_cast<std::size_t>(length) + 1);
    if (lws_hdr_copy(wsi, request.path.data(), length + 1, m.token) < 0) request.path.clear();
    request.path.resize(std::strlen(request.path.c_str()));
    break;
  }
  const int auth_length = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
  if (auth_length > 0) {
    request.authorization.resize(static_cast<std::size_t>(auth_length) + 1);
    if (lws_hdr_copy(wsi, request.authorization.data(), auth_length + 1, WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
      request.authorization.clear();
    request.authorization.resize(std::strlen(request.authorization.c_str()));
  }
  // Each query argument is one urldecoded fragment "name=value" (LWS-NOTES §2).
  std::vector<char> buffer(kMaxArgBytes);
  for (int index = 0;; ++index) {
    const int n = lws_hdr_copy_fragment(wsi, buffer.data(), static_cast<int>(buffer.size()), WSI_TOKEN_HTTP_URI_ARGS, index);
    if (n < 0) break;
    std::string_view arg(buffer.data(), static_cast<std::size_t>(n));
    const auto eq = arg.find('=');
    if (eq == std::string_view::npos) {
      request.query.emplace_back(std::string(arg), "");
    } else {
      request.query.emplace_back(std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1)));
    }
  }
  return request;
}

// After every loop pass: connections the socket hooks caught sending unmasked frames are
// closed (1002), and lingering sockets are drained.
void LwsServer::after_pass(Now now) {
  for (const socket_hooks::FrameRefusal& refused : socket_hooks::take_frame_refusals()) {
    auto it = by_fd_.find(refused.fd);
    if (it == by_fd_.end()) {
      socket_hooks::end_connection(refused.fd);
      continue;
    }
    LOG_INFO("closing a connection from %s: %s", edges_.at(it->second).client_address.c_str(), refused.refusal.message.c_str());
    hub_.refuse(it->second, FrameProblem::Unmasked, 0, now);
  }
  socket_hooks::drain_lingering();
}

int LwsServer::on_http(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len) {
  switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
      // A client connection was just accepted (`in` is its descriptor): its bytes and its close
      // go through the socket hooks from the first byte.
      // With TLS the bytes under lws are ciphertext (OpenSSL reads them itself): only the
      // linger applies (LWS-NOTES §13).
      socket_hooks::watch(static_cast<int>(reinterpret_cast<std::intptr_t>(in)),
                          /*check_bytes=*/settings_.tls_cert.empty());
      return 0;
    case LWS_CALLBACK_HTTP: {
      // Callback mounts (/healthz, /api) and files missing under "/" get here.
      HttpExchange& exchange = http_[wsi];
      exchange = HttpExchange{read_http_request(wsi), std::nullopt, false, false, ++http_serial_};
      long long length = -1;
      char length_text[24] = "";
      if (lws_hdr_copy(wsi, length_text, sizeof length_text, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
        length = std::atoll(length_text);
      exchange.body_pending = length > 0;
      exchange.body_limit = static_cast<std::size_t>(settings_.max_frame_bytes);
      if (exchange.request.path == "/sse" || exchange.request.path.starts_with("/sse/"))
        return on_sse_request(wsi, exchange, length);
      // The admin page (a request with a body goes on to the 404 below: lws writes no answer
      // while a body is pending).
      if ((exchange.request.path == "/admin" || exchange.request.path == "/admin.html") &&
          (exchange.request.method == "GET" || exchange.request.method == "HEAD") && length <= 0)
        return serve_admin_page(wsi);
      if (exchange.request.method == "POST" && exchange.request.path.starts_with("/api/")) {
        // Endpoints that read a body. lws does not de-chunk request bodies (LWS-NOTES §1):
        // Content-Length is required. Bodies are bounded like WebSocket messages.
        if (length < 0 || lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
          exchange.body_pending = false;
          exchange.reply = json_error(411, "length_required", "send the body with Content-Length (no chunked bodies)");
          lws_callback_on_writable(wsi);
          return 0;
        }
        if (length > settings_.max_frame_bytes) {
          // Too big: 413 once the body has been read (and dropped); lws grants no WRITEABLE
          // while a body is pending. Far too big: not worth reading, drop the connection.
          if (length > settings_.hard_frame_bytes) return -1;
          exchange.reply = json_error(413, "too_big", "body of " + std::to_string(length) + " bytes exceeds max_frame_bytes " +
                                                          std::to_string(settings_.max_frame_bytes));
          return 0;
        }
        if (length > 0) {
          exchange.collecting = true;
          exchange.request.body.reserve(static_cast<std::size_t>(length));
          return 0;  // handled at BODY_COMPLETION
        }
        api_.handle(exchange.request, clock_now(), responder(wsi, exchange.serial));
        return 0;
      }
      // With a Content-Length body pending, lws grants no WRITEABLE until the body is read
      // (a POST hung otherwise): the answer is written after BODY_COMPLETION. These endpoints
      // read no body, so a large one is refused by dropping the connection rather than reading it.
      if (length > kMaxIgnoredBodyBytes) return -1;
      api_.handle(exchange.request, clock_now(), responder(wsi, exchange.serial));
      return 0;
    }
    case LWS_CALLBACK_HTTP_BODY: {
      auto it = http_.find(wsi);
      if (it == http_.end() || !it->second.collecting) return 0;  // a body we do not read
      HttpExchange& exchange = it->second;
      if (exchange.request.body.size() + len > exchange.body_limit) {
        // More than Content-Length announced.
        exchange.collecting = false;
        exchange.request.body.clear();
        exchange.reply = json_error(413, "too_big", "body exceeds " + std::to_string(exchange.body_limit) + " bytes");
        return 0;
      }
      exchange.request.body.append(static_cast<const char*>(in), len);
      return 0;
    }
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
      auto it = http_.find(wsi);
      if (it == http_.end()) return 0;
      HttpExchange& exchange = it->second;
      exchange.body_pending = false;
      if (exchange.collecting && exchange.sse_post) {
        exchange.collecting = false;
        answer_sse_post(wsi, exchange);
      } else if (exchange.collecting) {
        exchange.collecting = false;
        api_.handle(exchange.request, clock_now(), responder(wsi, exchange.serial));
      } else if (exchange.reply) {
        lws_callback_on_writable(wsi);
      }
      return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
      if (SseStreams::Stream* stream = sse_.by_response(wsi)) return write_sse(wsi, *stream);
      auto it = http_.find(wsi);
      if (it != http_.end() && it->second.reply) return write_http_reply(wsi);
      break;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
      http_.erase(wsi);
      sse_response_closed(wsi);
      break;
    default:
      break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

int LwsServer::write_http_reply(lws* wsi) {
  auto node = http_.extract(wsi);
  const HttpResponse& reply = *node.mapped().reply;
  // HEAD: the headers of the GET answer (its Content-Length included), no body.
  const std::size_t body_size = node.mapped().request.method == "HEAD" ? 0 : reply.body.size();
  std::vector<unsigned char> buffer(LWS_PRE + 1024 + reply.body.size());
  unsigned char* start = buffer.data() + LWS_PRE;
  unsigned char* p = start;
  unsigned char* end = buffer.data() + buffer.size() - reply.body.size();
  static constexpr char kNoStore[] = "no-store";
  if (lws_add_http_common_headers(wsi, static_cast<unsigned int>(reply.status), reply.content_type.c_str(),
                                  reply.body.size(), &p, end) ||
      lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>("cache-control:"),
                                  reinterpret_cast<const unsigned char*>(kNoStore), sizeof kNoStore - 1, &p, end) ||
      lws_finalize_write_http_header(wsi, start, &p, end))
    return -1;
  std::memcpy(start, reply.body.data(), body_size);
  if (lws_write(wsi, start, body_size, LWS_WRITE_HTTP_FINAL) < static_cast<int>(body_size)) return -1;
  // Only GETs keep the connection, and requests whose body was read whole (SSE POSTs): after a
  // request with a body left unread close it.
  if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0 && !node.mapped().keep_alive) return -1;
  if (lws_http_transaction_completed(wsi)) return -1;
  return 0;
}

// GET /admin: the admin page, web_root/admin.html (its script reads the admin API with the token
// the operator types). Served at exactly /admin, without a redirect, so its relative links
// (admin.js, style.css, api/v1/...) resolve to the web root and the API, also behind a proxy
// under a prefix; with headers of its own that keep it out of frames and other origins' code,
// and its address out of referrers. Without the file (an older web root) it is an unknown
// path: 404.
int LwsServer::serve_admin_page(lws* wsi) {
  const std::string page = settings_.web_root + "/admin.html";
  struct stat page_stat {};
  if (stat(page.c_str(), &page_stat) != 0 || !S_ISREG(page_stat.st_mode)) {
    HttpExchange& exchange = http_[wsi];
    api_.handle(exchange.request, clock_now(), responder(wsi, exchange.serial));
    return 0;
  }
  http_.erase(wsi);
  unsigned char headers[1024];
  unsigned char* p = headers;
  unsigned char* end = headers + sizeof headers;
  auto header = [&](const char* name, std::string_view value) {
    return lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(name),
                                       reinterpret_cast<const unsigned char*>(value.data()),
                                       static_cast<int>(value.size()), &p, end) == 0;
  };
  if (!header("cache-control:", "no-store") ||
      !header("content-security-policy:",
              "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
              "frame-ancestors 'none'; form-action 'none'") ||
      !header("referrer-policy:", "no-referrer") || !header("x-content-type-options:", "nosniff"))
    return -1;
  const int sent = lws_serve_http_file(wsi, page.c_str(), "text/html; charset=utf-8", reinterpret_cast<const char*>(headers),
                                       static_cast<int>(p - headers));
  if (sent < 0 || (sent > 0 && lws_http_transaction_completed(wsi))) return -1;
  return 0;
}

// ---- 4b. Server-Sent Events (/sse) ----------------------------------------------------------
//
// PROTOCOL.md §5.5; the rules are in sse_streams.h. A stream is a hub connection like a
// WebSocket's: its frames go out as events on a response that never ends (lws_http_mark_sse),
// its input comes in POSTs. A response that breaks leaves the connection waiting sse_resume_ms
// for a GET with Last-Event-ID (sse_tick closes it after that).

// A custom request header (lws lower-cases names); nothing when absent.
std::optional<std::string> custom_header(lws* wsi, std::string_view name_with_colon) {
  const int name_length = static_cast<int>(name_with_colon.size());
  const int length = lws_hdr_custom_length(wsi, name_with_colon.data(), name_length);
  if (length <= 0) return std::nullopt;
  std::string value(static_cast<std::size_t>(length) + 1, '\0');
  if (lws_hdr_custom_copy(wsi, value.data(), length + 1, name_with_colon.data(), name_length) < 0) return std::nullopt;
  value.resize(static_cast<std::size_t>(length));
  return value;
}

// Writes `bytes` on an SSE response; false when the connection is gone.
bool write_sse_bytes(lws* wsi, std::vector<unsigned char>& buffer, std::string_view bytes) {
  buffer.resize(LWS_PRE + bytes.size());
  std::memcpy(buffer.data() + LWS_PRE, bytes.data(), bytes.size());
  return lws_write(wsi, buffer.data() + LWS_PRE, bytes.size(), LWS_WRITE_HTTP) >= static_cast<int>(bytes.size());
}

// The headers of an event stream, written at once; the response then stays open (no length).
bool begin_event_stream(lws* wsi) {
  unsigned char buffer[LWS_PRE + 512];
  unsigned char* start = buffer + LWS_PRE;
  unsigned char* p = start;
  unsigned char* end = buffer + sizeof buffer;
  auto header = [&](const char* name, std::string_view value) {
    return lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(name),
                                       reinterpret_cast<const unsigned char*>(value.data()),
                                       static_cast<int>(value.size()), &p, end) == 0;
  };
  if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/event-stream", LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
      !header("cache-control:", "no-store") || !header("x-accel-buffering:", "no") ||
      lws_finalize_write_http_header(wsi, start, &p, end))
    return false;
  // The request's headers go back to lws's small pool (a stream holding them for hours would
  // starve new requests), and no timeout applies to the response: it lasts. (lws_http_mark_sse
  // does both but logs an error on HTTP/1.1, where it has nothing else to do.)
  lws_http_headers_detach(wsi);
  lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
  return true;
}

// An answer that is a whole event stream of one `close` event (EventSource reads it, then the
// client reconnects as after a WebSocket close).
HttpResponse close_event_answer(int code, std::string_view reason) {
  return HttpResponse{200, "text/event-stream", sse_close_event(code, reason)};
}

int LwsServer::on_sse_request(lws* wsi, HttpExchange& exchange, long long length) {
  const HttpRequest& request = exchange.request;
  const bool stream_path = request.path == "/sse";
  if (stream_path && request.method == "GET") return start_sse_stream(wsi, exchange);
  // Answers once any body has been read (lws grants no WRITEABLE before); bodies too large to
  // be worth reading drop the connection.
  auto answer = [&](HttpResponse reply) {
    exchange.reply = std::move(reply);
    if (!exchange.body_pending) lws_callback_on_writable(wsi);
    return length > kMaxIgnoredBodyBytes ? -1 : 0;
  };
  const std::string_view key = stream_path ? std::string_view() : std::string_view(request.path).substr(5);
  if (request.method != "POST" || key.empty() || key.find('/') != std::string_view::npos)
    return answer(json_error(405, "method_not_allowed", "GET /sse opens an event stream; POST /sse/{stream} sends to it"));
  if (length < 0 || lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
    exchange.body_pending = false;
    return answer(json_error(411, "length_required", "send the body with Content-Length (no chunked bodies)"));
  }
  if (!sse_post_content_type_ok(header_of(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE).value_or("")))
    return answer(json_error(415, "unsupported_media_type",
                             "send messages as text/plain or application/json, one per line (binary needs a WebSocket)"));
  if (length > settings_.sse_max_post_bytes) {
    if (length > settings_.hard_frame_bytes) return -1;
    exchange.reply = json_error(413, "too_big", "body of " + std::to_string(length) + " bytes exceeds sse_max_post_bytes " +
                                                    std::to_string(settings_.sse_max_post_bytes));
    return 0;
  }
  exchange.sse_post = true;
  exchange.body_limit = static_cast<std::size_t>(length);
  if (length == 0) {
    answer_sse_post(wsi, exchange);
    return 0;
  }
  exchange.collecting = true;
  exchange.request.body.reserve(static_cast<std::size_t>(length));
  return 0;
}

int LwsServer::start_sse_stream(lws* wsi, HttpExchange& exchange) {
  const Now now = clock_now();
  auto answer = [&](HttpResponse reply) {
    exchange.reply = std::move(reply);
    lws_callback_on_writable(wsi);
    return 0;
  };
  if (shutdown_started_) return answer(json_error(503, "unavailable", "shutting down"));
  if (!origins_.allows(header_of(wsi, WSI_TOKEN_ORIGIN), header_of(wsi, WSI_TOKEN_HOST).value_or("")))
    return answer(json_error(403, "forbidden", "origin not allowed"));

  const std::optional<std::string> token = url_arg(wsi, "token=");
  if (!token) return answer(close_event_answer(protocol::close::unauthorized.code, "an event stream needs ?token="));
  auto claims = jwt::verify(*token, {settings_.jwt_secret, now.wall / 1000, settings_.jwt_leeway_s});
  if (!claims) return answer(close_event_answer(protocol::close::unauthorized.code, claims.error().message));

  // A broken stream coming back: the same connection, the events it missed first. Only its own
  // user's token takes it up (a stream id alone does not).
  if (auto last_event_id = custom_header(wsi, "last-event-id:")) {
    auto last = parse_last_event_id(*last_event_id);
    const SseStreams::Stream* stream = last ? sse_.by_key(last->stream) : nullptr;
    void* previous = nullptr;
    if (!stream || stream->user != claims->sub ||
        sse_.attach(*last, wsi, now.mono, &previous) != SseStreams::Resume::Resumed)
      return answer(close_event_answer(protocol::close::restart.code, "restart: stream not resumable"));
    http_.erase(wsi);
    // The older response (a proxy may keep a dead one open) ends; its close finds no stream.
    if (previous) lws_set_timeout(static_cast<lws*>(previous), PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    if (!begin_event_stream(wsi)) return -1;
    hub_.metrics().sse_resumed();
    lws_callback_on_writable(wsi);
    return 0;
  }

  std::string address = client_address(wsi, trusted_proxies_);
  if (auto count = per_address_.find(address);
      count != per_address_.end() && count->second >= settings_.max_connections_per_ip)
    return answer(json_error(429, "too_many_connections", "too many connections from " + address +
                                                              " (max_connections_per_ip " +
                                                              std::to_string(settings_.max_connections_per_ip) + ")"));
  if (auto refusal = hub_.check_upgrade(token, now))
    return answer(json_error(refusal->status, refusal->status == 503 ? "unavailable" : "too_many_connections",
                             refusal->message));

  OpenRequest request;
  request.token = token;
  request.session = url_arg(wsi, "session=");
  request.peer = peer_of(wsi);
  http_.erase(wsi);
  if (!begin_event_stream(wsi)) return -1;
  const ConnectionId id = hub_.open(request, now);
  ++per_address_[address];
  sse_.open(id, hub_.instance(), random_hex(16), claims->sub, std::move(address), wsi, now.mono);
  hub_.metrics().set_sse_streams(sse_.size());
  lws_callback_on_writable(wsi);
  return 0;
}

void LwsServer::answer_sse_post(lws* wsi, HttpExchange& exchange) {
  const Now now = clock_now();
  const HttpRequest& request = exchange.request;
  exchange.keep_alive = true;  // the body was read whole
  const std::string_view key = std::string_view(request.path).substr(5);
  // The bearer is checked where the POST arrives (every instance has the secret).
  std::optional<std::string> user;
  std::string bearer_error = "send Authorization: Bearer <token>";
  if (request.authorization.starts_with("Bearer ")) {
    auto claims = jwt::verify(std::string_view(request.authorization).substr(7),
                              {settings_.jwt_secret, now.wall / 1000, settings_.jwt_leeway_s});
    if (claims) {
      user = claims->sub;
    } else {
      bearer_error = claims.error().message;
    }
  }
  if (!user) {
    exchange.reply = json_error(401, "unauthorized", bearer_error);
    lws_callback_on_writable(wsi);
    return;
  }
  cluster::SsePost post;
  post.stream = std::string(key);
  for (const auto& [name, value] : request.query)
    if (name == "n") post.n = value;
  post.user = std::move(*user);
  post.body = request.body;
  // A stream another instance holds (its name is in the stream id): the POST is applied there.
  const std::string_view holder = sse_stream_instance(key);
  if (!holder.empty() && holder != hub_.instance()) {
    HttpApi::Respond respond = responder(wsi, exchange.serial);
    hub_.metrics().sse_post_forwarded();
    hub_.forward_sse_post(std::string(holder), std::move(post),
                          [respond](int status, std::string body) { respond(HttpResponse{status, "application/json", std::move(body)}); });
    return;
  }
  exchange.reply = run_sse_post(post, now);
  lws_callback_on_writable(wsi);
}

// Applies a POST to a stream this instance holds (§5.5's table): each line is what one WebSocket
// message would be, with the same bounds.
HttpResponse LwsServer::run_sse_post(const cluster::SsePost& post, Now now) {
  const SseStreams::PostVerdict verdict =
      sse_.admit_post(post.stream, post.n.empty() ? std::nullopt : std::optional<std::string_view>(post.n), post.user);
  if (verdict.status != 204) return json_error(verdict.status, verdict.code, verdict.message);
  const ConnectionId id = sse_.by_key(post.stream)->id;
  hub_.metrics().sse_post_applied();
  const auto max_frame = static_cast<std::size_t>(settings_.max_frame_bytes);
  for_each_sse_line(post.body, [&](std::string_view line) {
    if (line.size() > static_cast<std::size_t>(settings_.max_preauth_bytes) && !hub_.authenticated(id)) {
      hub_.refuse(id, FrameProblem::OverPreAuthLimit, line.size(), now);
    } else if (line.size() > max_frame) {
      hub_.refuse(id, FrameProblem::TooBig, line.size(), now);
    } else {
      hub_.receive(id, line, now);
    }
  });
  return HttpResponse{204, "application/json", ""};
}

// Writes what the stream has: its pending bytes (first event, replays, heartbeat), then the
// hub's frames as events, then the close the hub asked for as a `close` event; the response
// ends on the next WRITEABLE, once that event is out.
int LwsServer::write_sse(lws* wsi, SseStreams::Stream& stream) {
  if (stream.ending) return -1;
  const Millis now = clock_now().mono;
  if (!stream.pending.empty()) {
    const std::string pending = std::move(stream.pending);
    stream.pending.clear();
    if (!write_sse_bytes(wsi, write_buffer_, pending)) return -1;
    stream.last_write = now;
    if (lws_partial_buffered(wsi)) {
      lws_callback_on_writable(wsi);
      return 0;
    }
  }
  MessageKind kind = MessageKind::Text;
  while (Bytes frame = hub_.next_frame(stream.id, kind)) {
    if (kind == MessageKind::Binary) continue;  // Yjs documents need a WebSocket: none reach a stream
    if (!write_sse_bytes(wsi, write_buffer_, sse_.next_event(stream, *frame))) return -1;
    stream.last_write = now;
    if (lws_partial_buffered(wsi)) {
      lws_callback_on_writable(wsi);
      return 0;
    }
  }
  if (const CloseRequest* close = hub_.close_request(stream.id)) {
    if (!write_sse_bytes(wsi, write_buffer_, sse_close_event(close->code, close->reason))) return -1;
    stream.ending = true;
    lws_callback_on_writable(wsi);
  }
  return 0;
}

// An SSE response is gone: the connection ends with it when it was ending (or the server is
// shutting down); otherwise it waits for a resume.
void LwsServer::sse_response_closed(lws* wsi) {
  SseStreams::Stream* stream = sse_.by_response(wsi);
  if (!stream) return;
  if (stream->ending || shutdown_started_ || settings_.sse_resume_ms == 0) {
    end_sse_connection(stream->id);
    return;
  }
  sse_.detach(*stream, clock_now().mono);
}

// From the tick: heartbeats on silent streams; detached streams whose resume time ran out, or
// whose connection the hub closed meanwhile, are closed.
void LwsServer::sse_tick(Now now) {
  std::vector<ConnectionId> closed;
  sse_.for_each([&](SseStreams::Stream& stream) {
    if (!stream.response) {
      if (hub_.close_request(stream.id) || shutdown_started_) closed.push_back(stream.id);
      return;
    }
    if (now.mono - stream.last_write >= Millis(settings_.sse_heartbeat_ms) && stream.pending.empty()) {
      stream.pending = kSseHeartbeat;
      stream.last_write = now.mono;
      lws_callback_on_writable(static_cast<lws*>(stream.response));
    }
  });
  for (ConnectionId id : closed) end_sse_connection(id);
  for (const SseStreams::Stream& stream : sse_.expired(now.mono)) {
    hub_.closed(stream.id);
    release_address(stream.client_address);
  }
  hub_.metrics().set_sse_streams(sse_.size());
}

void LwsServer::end_sse_connection(ConnectionId id) {
  SseStreams::Stream* stream = sse_.by_id(id);
  if (!stream) return;
  hub_.closed(id);
  release_address(stream->client_address);
  sse_.forget(id);
  hub_.metrics().set_sse_streams(sse_.size());
}

void LwsServer::release_address(const std::string& address) {
  if (auto count = per_address_.find(address); count != per_address_.end() && --count->second <= 0)
    per_address_.erase(count);
}

// ---- 4a. refusals before a WebSocket upgrade -------------------------------------------------
//
// LWS_CALLBACK_HTTP_CONFIRM_UPGRADE comes with the request headers still readable, to the
// protocol the connection is bound to: the vhost's default one, which is the WebSocket
// protocol here (pvo "default", section 5), not "http" (docs/LWS-NOTES.md §10). Returning >0
// after writing an answer refuses the upgrade with that answer (lws then completes the HTTP
// transaction); returning nonzero from FILTER_PROTOCOL_CONNECTION instead would drop TCP with
// no status (LWS-NOTES §2), which a browser reports as a bare error.

// Answers an upgrade request with `status` and a JSON error body (`code`, `message`) instead of
// upgrading it, through lws so that it works with TLS too; caps add Retry-After. Returns what
// CONFIRM_UPGRADE must return: 1 (answered; lws then closes the connection, LWS-NOTES §10), or
// -1 (could not write: hang up).
int refuse_upgrade(lws* wsi, unsigned int status, std::string_view code, std::string_view message,
                   bool retry_later = false) {
  const HttpResponse reply = json_error(static_cast<int>(status), code, message);
  std::vector<unsigned char> buffer(LWS_PRE + 512 + reply.body.size());
  unsigned char* start = buffer.data() + LWS_PRE;
  unsigned char* p = start;
  unsigned char* end = buffer.data() + buffer.size() - reply.body.size();
  const std::string retry_after = std::to_string(kRetryAfterSeconds);
  if (lws_add_http_common_headers(wsi, status, reply.content_type.c_str(), reply.body.size(), &p, end) ||
      (retry_later && lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>("retry-after:"),
                                                  reinterpret_cast<const unsigned char*>(retry_after.data()),
                                                  static_cast<int>(retry_after.size()), &p, end)) ||
      lws_finalize_write_http_header(wsi, start, &p, end))
    return -1;
  std::memcpy(start, reply.body.data(), reply.body.size());
  if (lws_write(wsi, start, reply.body.size(), LWS_WRITE_HTTP_FINAL) < static_cast<int>(reply.body.size())) return -1;
  return 1;
}

// Every WebSocket upgrade, before lws answers 101: only /ws and /yjs (endpoint.h), /yjs only
// with one instance; a browser page whose origin allowed_origins does not list gets 403
// (origin_policy.h); then the caps: this instance's connections (503), the client address's
// and, with a token in the URL, the user's (429).
int LwsServer::admit_upgrade(lws* wsi) {
  const std::string path = header_of(wsi, WSI_TOKEN_GET_URI).value_or("");
  const std::optional<Endpoint> endpoint = endpoint_of(path);
  if (!endpoint) {
    LOG_DEBUG("refused WebSocket upgrade for path %.200s", path.c_str());
    return refuse_upgrade(wsi, HTTP_STATUS_NOT_FOUND, "not_found",
                          "no WebSocket endpoint here: connect to /ws (Tandem), /yjs/{doc} (y-websocket) or /yjs "
                          "(Hocuspocus); a document name is 1-120 of [A-Za-z0-9_:.@/-]");
  }
  if (origins_.restricts()) {
    const std::optional<std::string> origin = header_of(wsi, WSI_TOKEN_ORIGIN);
    if (!origins_.allows(origin, header_of(wsi, WSI_TOKEN_HOST).value_or(""))) {
      LOG_INFO("refused WebSocket upgrade from %s: origin %.200s is not in allowed_origins", peer_of(wsi).c_str(),
               origin.value_or("").c_str());
      return refuse_upgrade(wsi, HTTP_STATUS_FORBIDDEN, "forbidden", "origin not allowed");
    }
  }
  std::optional<UpgradeRefusal> refusal;
  const std::string address = client_address(wsi, trusted_proxies_);
  if (auto count = per_address_.find(address);
      count != per_address_.end() && count->second >= settings_.max_connections_per_ip)
    refusal = UpgradeRefusal{429, "too many connections from " + address + " (max_connections_per_ip " +
                                      std::to_string(settings_.max_connections_per_ip) + ")"};
  else
    refusal = hub_.check_upgrade(url_arg(wsi, "token="), clock_now());
  if (!refusal) return 0;
  LOG_INFO("refused a WebSocket upgrade from %s: %d %s", address.c_str(), refusal->status, refusal->message.c_str());
  return refuse_upgrade(wsi, static_cast<unsigned int>(refusal->status),
                        refusal->status == 503 ? "unavailable" : "too_many_connections", refusal->message,
                        /*retry_later=*/true);
}

extern "C" int callback_ws(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len) {
  LwsServer* server = server_of(wsi);
  if (!server) return 0;
  return server->on_ws(wsi, reason, static_cast<WsSession*>(user), in, len);
}

extern "C" int callback_http(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len) {
  LwsServer* server = server_of(wsi);
  if (!server) return lws_callback_http_dummy(wsi, reason, user, in, len);
  return server->on_http(wsi, reason, user, in, len);
}

extern "C" void on_tick_timer(lws_sorted_usec_list_t* sul) {
  reinterpret_cast<TickTimer*>(sul)->server->on_tick();
}

// ---- 5. setup, loop, shutdown ---------------------------------------------------------------

void LwsServer::on_tick() {
  // A signal that arrived before the loop could be kicked (during start-up) is seen here.
  if (g_signal_count.load() > 0 && !shutdown_started_) begin_shutdown();
  if (g_reload_requested.exchange(false)) reload_settings();
  hub_.tick(clock_now());
  sse_tick(clock_now());
  socket_hooks::drain_lingering();
  return_memory_after_a_burst();
  lws_sul_schedule(context_, 0, &tick_.sul, on_tick_timer, tick_interval(settings_));
}

// After a burst of connections has gone (a reconnect storm, a hostile wave), malloc keeps the
// freed memory in its arenas; give it back to the system once at least half of the peak and
// 500 connections are gone. Cheap (a few ms over ~100 MB) and rare.
void LwsServer::return_memory_after_a_burst() {
  const std::size_t now_open = hub_.stats().connections + socket_hooks::lingering();
  connections_peak_ = std::max(connections_peak_, now_open);
  if (connections_peak_ < now_open + 500 || now_open > connections_peak_ / 2) return;
  malloc_trim(0);
  connections_peak_ = now_open;
}

void LwsServer::reload_settings() {
  if (!reload_) return;
  auto loaded = reload_();
  if (!loaded) {
    LOG_WARN("reload (SIGHUP): settings not changed: %s", loaded.error().message.c_str());
    return;
  }
  const Settings& next = loaded.value();
  int changed = 0;
  for (const SettingInfo& setting : describe()) {
    const std::string before = setting.show(settings_), after = setting.show(next);
    if (before == after) continue;
    ++changed;
    const std::string_view name = setting.name;
    const bool secret = name.find("secret") != std::string_view::npos || name.find("token") != std::string_view::npos ||
                        name.find("key") != std::string_view::npos || name == "store_url" || name == "redis_url";
    if (name == "log_level" || name == "log_format") {
      LOG_INFO("reload (SIGHUP): %s %s -> %s", setting.name.c_str(), before.c_str(), after.c_str());
      continue;
    }
    if (secret) {
      LOG_WARN("reload (SIGHUP): %s changed; it takes effect at the next restart", setting.name.c_str());
    } else {
      LOG_WARN("reload (SIGHUP): %s changed (%s -> %s); it takes effect at the next restart", setting.name.c_str(),
               before.c_str(), after.c_str());
    }
  }
  log::set_level(next.log_level);
  log::set_format(next.log_format);
  settings_.log_level = next.log_level;
  settings_.log_format = next.log_format;
  if (changed == 0) LOG_INFO("reload (SIGHUP): no setting changed");
}

void LwsServer::begin_shutdown() {
  shutdown_started_ = true;
  shutdown_deadline_ = clock_now().mono + Millis(settings_.shutdown_timeout_ms);
  LOG_INFO("shutting down: closing %zu connection(s) with 1012 restart", hub_.stats().connections);
  hub_.shutdown();  // wakes every connection; WRITEABLE sends 1012 and returns -1
  sse_tick(clock_now());  // streams waiting for a resume have nobody to tell: closed at once
}

// Routes lws's own log lines into ours (errors and warnings only; its notices are chatty).
// libwebsockets' allocator (lws_set_allocator): its per-connection receive buffers ("rx_ubuf",
// rx_buffer_size + LWS_PRE + 4 bytes, allocated at every upgrade) come from page slots that
// cost memory only once data arrives (page_slots.h); everything else from the heap, as lws's
// own allocator does. Made by the first run() and kept for the process (never freed: lws may
// free a buffer from it at any time, as late as exit).
PageSlots* g_rx_slots = nullptr;

void* lws_allocate(void* ptr, std::size_t size, const char* reason) {
  PageSlots* slots = g_rx_slots;
  if (ptr && slots && slots->owns(ptr)) {
    if (size == 0) {  // lws_free
      slots->release(ptr);
      return nullptr;
    }
    if (size <= slots->slot_bytes()) return ptr;
    void* moved = std::malloc(size);  // never done by lws 4.1.6 to rx_ubuf, but a realloc must work
    if (moved) {
      std::memcpy(moved, ptr, slots->slot_bytes());
      slots->release(ptr);
    }
    return moved;
  }
  if (!ptr && size && slots && reason && std::strcmp(reason, "rx_ubuf") == 0)
    if (void* slot = slots->allocate(size)) return slot;
  if (size == 0) {
    std::free(ptr);
    return nullptr;
  }
  return std::realloc(ptr, size);
}

extern "C" void lws_log_emit(int level, const char* line) {
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (level & LLL_ERR) {
    LOG_ERROR("lws: %s", text.c_str());
  } else {
    LOG_WARN("lws: %s", text.c_str());
  }
}

ServeResult LwsServer::run(bool secret_generated) {
  // lws is told about the protocols, mounts and options in structs that must outlive the
  // context; they live in this frame, which outlives the loop.
  const lws_protocols protocols[] = {
      {"http", callback_http, 0, 0, 0, nullptr, 0},
      {"tandem", callback_ws, sizeof(WsSession), static_cast<std::size_t>(settings_.rx_buffer_size), 0, nullptr, 0},
      {nullptr, nullptr, 0, 0, 0, nullptr, 0}};  // terminator

  // Upgrades without Sec-WebSocket-Protocol bind to the vhost's default protocol. A /ws mount
  // naming the protocol was unreliable in 4.1.6; "default" on the protocol works (LWS-NOTES §1).
  lws_protocol_vhost_options pvo_default{nullptr, nullptr, "default", "1"};
  lws_protocol_vhost_options pvo{nullptr, &pvo_default, "tandem", ""};

  // lws 4.1.6 knows neither .wasm nor .mjs; browsers insist on these types for both.
  lws_protocol_vhost_options mime_map{nullptr, nullptr, ".map", "application/json"};
  lws_protocol_vhost_options mime_mjs{&mime_map, nullptr, ".mjs", "text/javascript"};
  lws_protocol_vhost_options mime_wasm{&mime_mjs, nullptr, ".wasm", "application/wasm"};

  // Mounts: longest prefix wins, so /healthz, /metrics, /api and /admin.html beat the file mount at "/".
  lws_http_mount mount_metrics{};
  mount_metrics.mountpoint = "/metrics";
  mount_metrics.protocol = "http";
  mount_metrics.origin_protocol = LWSMPRO_CALLBACK;
  mount_metrics.mountpoint_len = 8;
  lws_http_mount mount_api{};
  mount_api.mount_next = &mount_metrics;
  mount_api.mountpoint = "/api";
  mount_api.protocol = "http";
  mount_api.origin_protocol = LWSMPRO_CALLBACK;
  mount_api.mountpoint_len = 4;
  lws_http_mount mount_health{};
  mount_health.mount_next = &mount_api;
  mount_health.mountpoint = "/healthz";
  mount_health.protocol = "http";
  mount_health.origin_protocol = LWSMPRO_CALLBACK;
  mount_health.mountpoint_len = 8;
  // The admin page's file under its own name gets its headers too (serve_admin_page), not the
  // file mount's.
  lws_http_mount mount_admin_file{};
  mount_admin_file.mount_next = &mount_health;
  mount_admin_file.mountpoint = "/admin.html";
  mount_admin_file.protocol = "http";
  mount_admin_file.origin_protocol = LWSMPRO_CALLBACK;
  mount_admin_file.mountpoint_len = 11;
  lws_http_mount mount_files{};
  mount_files.mount_next = &mount_admin_file;
  mount_files.mountpoint = "/";
  mount_files.origin = settings_.web_root.c_str();
  mount_files.def = "index.html";
  // A missing file falls through to LWS_CALLBACK_HTTP of this protocol (lws_http_action),
  // which answers 404 itself; without it 4.1.6 just closed the connection.
  mount_files.protocol = "http";
  mount_files.extra_mimetypes = &mime_wasm;
  mount_files.origin_protocol = LWSMPRO_FILE;
  mount_files.mountpoint_len = 1;

  // WS ping after heartbeat of silence, hang up after idle_timeout (LWS-NOTES §5). lws counts
  // whole seconds in 16 bits; settings are milliseconds.
  auto to_secs = [](int ms) { return static_cast<std::uint16_t>(std::min(65535, (ms + 999) / 1000)); };
  lws_retry_bo_t liveness{};
  liveness.secs_since_valid_ping = to_secs(settings_.heartbeat_ms);
  liveness.secs_since_valid_hangup = to_secs(settings_.idle_timeout_ms);

  // lws 4.1.6 pitfall (read in lws_interface_to_sa, seen with ss): with IPv6 on, an IPv4
  // literal such as "127.0.0.1" is written into the wrong sockaddr and the socket binds to
  // every interface ("*:port"). For IPv4 hosts, turn IPv6 off so the IPv4 path binds exactly.
  const std::string host = settings_.host == "localhost" ? std::string("127.0.0.1") : settings_.host;
  in_addr ipv4{};
  const bool ipv4_host = inet_pton(AF_INET, host.c_str(), &ipv4) == 1;

  lws_context_creation_info info{};
  const bool tls = !settings_.tls_cert.empty();  // config.cpp checked that the key comes with it
  if (tls) {
    // https and wss on the one port. ALPN offers only http/1.1: with h2 (which this lws has)
    // browsers would multiplex, and h2 allows one write per WRITEABLE where write_frames and
    // write_http_reply make several (LWS-NOTES §4).
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.ssl_cert_filepath = settings_.tls_cert.c_str();
    info.ssl_private_key_filepath = settings_.tls_key.c_str();
    info.alpn = "http/1.1";
  }
  info.port = settings_.port;
  info.iface = host.c_str();
  if (ipv4_host) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
  info.protocols = protocols;
  info.pvo = &pvo;
  info.mounts = &mount_files;
  info.vhost_name = "tandem";
  info.retry_and_idle_policy = &liveness;
  // Room for ?token= with a large rooms claim, and more than the wire guard's 431 bound
  // (WireGuard::kMaxHeadBytes), so an oversize head gets that answer, not a dropped connection.
  info.max_http_header_data = 12 * 1024 + 512;
  // lws's own deadline for a connection's handshake (HTTP request, upgrade): slowloris.
  info.timeout_secs = static_cast<unsigned int>((settings_.handshake_timeout_ms + 999) / 1000);
  info.timeout_secs_ah_idle = info.timeout_secs;  // the request head's own deadline (lws default 10 s)
  info.gid = -1;
  info.uid = -1;
  info.user = this;

  auto origins = OriginPolicy::parse(settings_.allowed_origins);
  if (!origins) {
    LOG_ERROR("allowed_origins: %s", origins.error().message.c_str());
    return ServeResult::StartFailed;
  }
  origins_ = std::move(origins).value();
  trusted_proxies_ = split_list(settings_.trusted_proxies);
  socket_hooks::enable(settings_.close_linger_ms);
  // One receive-buffer slot per connection allowed, and a few more (a client context in the
  // same process takes its buffers from them too). Made once and kept for the process: a
  // buffer from a slot may be freed by lws at any time, even after this context is gone.
  if (!g_rx_slots) {
    const auto rx_bytes = static_cast<std::size_t>(settings_.rx_buffer_size > 0 ? settings_.rx_buffer_size : 4096);
    g_rx_slots = new PageSlots(rx_bytes + LWS_PRE + 4, static_cast<std::size_t>(settings_.max_connections) + 64);
    lws_set_allocator(lws_allocate);
  }
  context_ = lws_create_context(&info);
  if (!context_) {
    if (tls) {
      LOG_ERROR("cannot listen on %s:%d (port in use, host not a local address, or the TLS certificate and key were "
                "refused: see the lws errors above)", settings_.host.c_str(), settings_.port);
    } else {
      LOG_ERROR("cannot listen on %s:%d (port in use, or host not a local address?)", settings_.host.c_str(),
                settings_.port);
    }
    return ServeResult::StartFailed;
  }
  g_context.store(context_);
  tick_.server = this;
  lws_sul_schedule(context_, 0, &tick_.sul, on_tick_timer, tick_interval(settings_));

  if (settings_.dev) {
    LOG_WARN("*****************************************************************************");
    LOG_WARN("DEVELOPMENT MODE: anyone who can reach this port can mint tokens");
    LOG_WARN("  GET /api/v1/dev/token?name=... is open; %s", secret_generated
                                                                 ? "the JWT secret is random (tokens die with the process)"
                                                                 : "it signs with the configured JWT secret");
    LOG_WARN("*****************************************************************************");
  }
  struct stat index_stat {};
  const std::string index_path = settings_.web_root + "/index.html";
  if (stat(index_path.c_str(), &index_stat) != 0)
    LOG_WARN("web root has no index.html (%s): \"/\" will answer 404; build the web assets or pass --web-root",
             index_path.c_str());
  LOG_INFO("tandem-server %s: WebSocket %s://%s:%d/ws, web root %s", kServerVersion, tls ? "wss" : "ws",
           settings_.host.c_str(), settings_.port, settings_.web_root.c_str());
  if (origins_.restricts()) LOG_INFO("WebSocket upgrades only from origins %s", settings_.allowed_origins.c_str());
  // The line tests and scripts wait for; IPv6 hosts in brackets as URLs need them.
  const bool ipv6_host = settings_.host.find(':') != std::string::npos;
  std::printf("listening on %s://%s%s%s:%d\n", tls ? "https" : "http", ipv6_host ? "[" : "", settings_.host.c_str(),
              ipv6_host ? "]" : "", settings_.port);
  std::fflush(stdout);

  // lws_service(ctx, 0) sleeps until the next event; the tick timer bounds that to 250 ms (less with a short presence tick), so
  // the shutdown checks below run at least that often.
  while (lws_service(context_, 0) >= 0) {
    // Group commit: the writes of every event this pass handled, then their acks; then the
    // pass's store reads and the input that waited for them.
    between_passes_ = true;
    after_pass(clock_now());
    hub_.commit(clock_now().mono);
    between_passes_ = false;
    if (hub_.store_failed() && !shutdown_started_) {
      LOG_ERROR("the store keeps failing: stopping (clients were closed with 1011 and will reconnect elsewhere)");
      begin_shutdown();
    }
    if (!shutdown_started_) continue;
    const std::size_t open = hub_.stats().connections;
    if (open == 0) {
      LOG_INFO("all connections closed");
      break;
    }
    if (clock_now().mono >= shutdown_deadline_) {
      LOG_WARN("shutdown_timeout_ms passed with %zu connection(s) still open; dropping them", open);
      break;
    }
  }
  // The webhook thread wakes the loop through g_context: it is stopped and joined before the
  // context goes, and the cursors its last answers moved are in this last commit.
  hub_.stop_webhooks();
  hub_.commit();
  const bool store_failed = hub_.store_failed();
  lws_sul_cancel(&tick_.sul);
  g_context.store(nullptr);
  lws_context_destroy(context_);
  context_ = nullptr;
  socket_hooks::close_lingering();
  LOG_INFO("stopped");
  return store_failed ? ServeResult::StoreFailed : ServeResult::Clean;
}

}  // namespace

void wake_loop() {
  if (lws_context* context = g_context.load()) lws_cancel_service(context);
}

ServeResult run_server(const Settings& settings, bool secret_generated, store::Store& store, ClusterSeams cluster,
                       SettingsReloader reload, std::vector<std::string> webhook_rooms) {
  // lws logs only errors and warnings, through our logger.
  lws_set_log_level(LLL_ERR | (log::enabled(log::Level::Warn) ? LLL_WARN : 0), lws_log_emit);

  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  struct sigaction reload_action {};
  reload_action.sa_handler = reload ? on_reload_signal : SIG_IGN;
  sigemptyset(&reload_action.sa_mask);
  sigaction(SIGHUP, &reload_action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a peer vanishing mid-write is an error return, not a kill

  LwsServer server(settings, clock_now().mono, store, cluster, std::move(reload), std::move(webhook_rooms));
  return server.run(secret_generated);
}

}  // namespace tandem::server
