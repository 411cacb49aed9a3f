// lws_sse_transport.cpp — the libwebsockets HTTP client behind tandem::native::LwsSseTransport
// (see lws_sse_transport.h for the behaviour; PROTOCOL.md §5.5 for the wire).
//
// Shape: one lws context per transport (lws_client_context.h); per open() a Session with at most
// two HTTP legs alive: the stream (GET, read until the server ends it) and the POST in flight.
// lws callbacks record what happened (PendingEvent); poll() delivers it after lws_service, so
// handlers may call open/send/close. A leg is found from its wsi's opaque user data; a leg let
// go has that cleared first, so a late callback finds nothing.
#include "lws_sse_transport.h"

#include <libwebsockets.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <utility>

#include "lws_client_context.h"
#include "tandem/fallback_transport.h"  // sse_url_of
#include "tandem/json.h"
#include "ws_url.h"

namespace tandem::native {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

constexpr const char* kProtocolName = "tandem-sse-client";
constexpr int kCloseAbnormal = 1006;
constexpr int kCloseTooBig = 1009;
constexpr int kCloseUnauthorized = 4401;
// POST bodies stay under the server's default sse_max_post_bytes (256 KiB) unless one message
// alone is larger (the server then refuses that message as too big, as on a WebSocket).
constexpr std::size_t kMaxPostBytes = 192 * 1024;
// lws_service rounds per poll() (as LwsTransportSettings::max_service_rounds_per_poll).
constexpr int kMaxServiceRounds = 256;

// Where the stream is read and what POSTs carry, from the session's URL.
struct SseTarget {
  WsUrl address;          // scheme, host, port, Host header; path = the stream's path and query
  std::string post_base;  // the stream's path without its query: POSTs go to post_base + "/" + stream
  std::string token;      // the URL's token= (decoded), the POSTs' bearer
};

std::string url_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1; };
      const int high = hex(text[i + 1]), low = hex(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += text[i] == '+' ? ' ' : text[i];
  }
  return out;
}

// ws(s)://host/prefix/ws?q (the core's sse_url_of maps it) or http(s)://host/prefix/sse?q: the
// stream at /prefix/sse?q.
Result<SseTarget> sse_target(std::string_view url) {
  const std::string http = url.starts_with("ws") ? sse_url_of(url) : std::string(url);
  // parse_ws_url reads the address; http(s) is spelled ws(s) for it.
  const std::string as_ws = http.starts_with("https://") ? "wss://" + http.substr(8)
                            : http.starts_with("http://") ? "ws://" + http.substr(7)
                                                          : http;
  Result<WsUrl> parsed = parse_ws_url(as_ws);
  if (!parsed) return parsed.error();
  SseTarget target{parsed.value(), {}, {}};
  const std::string& path = target.address.path;
  const std::size_t query = path.find('?');
  target.post_base = path.substr(0, query);
  const std::string query_text = query == std::string::npos ? std::string() : path.substr(query);
  // token=... among the query's arguments.
  std::string_view args = query_text.empty() ? std::string_view() : std::string_view(query_text).substr(1);
  while (!args.empty()) {
    const std::string_view arg = args.substr(0, args.find('&'));
    if (arg.starts_with("token=")) target.token = url_decode(arg.substr(6));
    if (arg.size() == args.size()) break;
    args.remove_prefix(arg.size() + 1);
  }
  return target;
}

// Splits an event stream into events (the HTML standard's rules): lines end with CRLF, LF or
// CR; "data" lines join with "\n"; "event" names it; "id" sets the last event id; lines
// starting with ':' are comments; an empty line dispatches.
class EventStreamParser {
 public:
  struct Event {
    std::string name;  // "" for a plain message
    std::string data;
  };
  explicit EventStreamParser(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // Feeds bytes; each complete event goes to `dispatch`. False when an event grew over the bound.
  template <class Dispatch>
  bool feed(std::string_view bytes, Dispatch&& dispatch) {
    for (char c : bytes) {
      if (after_cr_ && c == '\n') {
        after_cr_ = false;
        continue;
      }
      after_cr_ = c == '\r';
      if (c == '\r' || c == '\n') {
        take_line(dispatch);
        continue;
      }
      line_ += c;
      if (line_.size() + data_.size() > max_bytes_) return false;
    }
    return true;
  }
  const std::string& last_event_id() const { return last_id_; }

 private:
  template <class Dispatch>
  void take_line(Dispatch& dispatch) {
    std::string_view line(line_);
    if (line.empty()) {
      if (has_data_) {
        if (!data_.empty() && data_.back() == '\n') data_.pop_back();
        Event event{std::move(name_), std::move(data_)};
        dispatch(event);
      }
      name_.clear();
      data_.clear();
      has_data_ = false;
    } else if (line.front() != ':') {
      const std::size_t colon = line.find(':');
      const std::string_view field = line.substr(0, colon);
      std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
      if (value.starts_with(' ')) value.remove_prefix(1);
      if (field == "data") {
        data_ += value;
        data_ += '\n';
        has_data_ = true;
      } else if (field == "event") {
        name_ = value;
      } else if (field == "id") {
        last_id_ = value;
      }
    }
    line_.clear();
  }

  std::size_t max_bytes_;
  std::string line_, name_, data_, last_id_;
  bool has_data_ = false;
  bool after_cr_ = false;
};

struct CloseNote {
  int code = kCloseAbnormal;
  std::string reason;
};

}  // namespace

// ---- state: one Impl per transport, one Session per open(), one Leg per HTTP request ---------

struct Leg {
  enum class Role { Stream, Post };
  Role role = Role::Stream;
  lws* wsi = nullptr;
  int status = 0;           // the answer's HTTP status once its headers arrived
  std::string body;         // Post: what it carries
  std::string last_event_id;  // Stream, resuming: sent as Last-Event-ID
  bool body_sent = false;
  bool ended = false;
};

struct Session {
  TransportEvents* events = nullptr;
  SseTarget target;
  TransportPhase phase = TransportPhase::Connecting;
  std::unique_ptr<Leg> stream, post;
  EventStreamParser parser{0};
  std::string stream_id;
  Millis resume{0};                    // from the `stream` event
  std::optional<SteadyTime> resume_deadline;  // a resume GET is under way until then
  std::deque<std::string> queued;      // frames not yet in a POST
  std::uint64_t post_n = 0;            // the number of the POST in flight (or the last one)
  int post_attempts = 0;               // sends of the POST in flight so far
  std::optional<CloseNote> close_event;  // the server's `event: close`
  bool closed_reported = false;
};

struct LwsSseTransport::Impl {
  explicit Impl(const LwsSseTransportSettings& s)
      : settings(s), context(protocols, this, s.network_timeout_s, s.ca_file) {}

  LwsSseTransportSettings settings;
  lws_protocols protocols[2]{};
  LwsClientContext context;
  std::unique_ptr<Session> current;
  std::deque<PendingEvent> pending;
  bool activity = false;
  bool destroying = false;

  void record(PendingEvent::Kind kind, Session& s, int code = 0, std::string text = {}) {
    if (!destroying) pending.push_back(PendingEvent{kind, s.events, code, std::move(text)});
  }

  // Lets a leg go: lws forgets it (its callbacks find nothing) and drops its socket.
  static void drop(std::unique_ptr<Leg>& leg) {
    if (!leg) return;
    if (leg->wsi != nullptr) {
      lws_set_opaque_user_data(leg->wsi, nullptr);
      lws_set_timeout(leg->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    leg.reset();
  }

  // Ends the session once: both legs dropped, on_closed recorded.
  void finish(Session& s, int code, std::string reason) {
    if (s.closed_reported) return;
    s.closed_reported = true;
    s.phase = TransportPhase::Idle;
    s.queued.clear();
    drop(s.stream);
    drop(s.post);
    record(PendingEvent::Kind::Closed, s, code, std::move(reason));
  }

  // Starts `leg` (stored in `slot` first, where callbacks look for it). False when lws could
  // not even start it; the leg may also have ended inside the call (then `slot` moved on).
  bool dial(Session& s, std::unique_ptr<Leg>& slot, std::unique_ptr<Leg> leg, const std::string& path, const char* method) {
    slot = std::move(leg);
    lws_client_connect_info info;
    std::memset(&info, 0, sizeof info);
    info.context = context.get();
    info.address = s.target.address.host.c_str();
    info.port = s.target.address.port;
    info.ssl_connection = s.target.address.scheme == WsScheme::Secure ? LCCSCF_USE_SSL : 0;
    info.path = path.c_str();
    info.host = s.target.address.host_header.c_str();
    info.origin = nullptr;
    info.method = method;
    info.protocol = kProtocolName;
    info.local_protocol_name = kProtocolName;
    info.alpn = "http/1.1";
    Leg* started = slot.get();
    info.opaque_user_data = started;
    lws* wsi = lws_client_connect_via_info(&info);
    // The dial may have failed inside the call (CONNECTION_ERROR has then ended the leg).
    if (slot.get() == started) {
      started->wsi = wsi;
      if (wsi == nullptr) slot.reset();
    }
    return wsi != nullptr;
  }

  // Sends the queued frames in one POST when none is in flight.
  void pump_posts(Session& s) {
    if (s.closed_reported || s.phase != TransportPhase::Open || s.post || s.queued.empty()) return;
    std::string body;
    while (!s.queued.empty() && (body.empty() || body.size() + 1 + s.queued.front().size() <= kMaxPostBytes)) {
      if (!body.empty()) body += '\n';
      body += s.queued.front();
      s.queued.pop_front();
    }
    ++s.post_n;
    s.post_attempts = 0;
    send_post(s, std::move(body));
  }

  // The body rides on the leg; a retry makes a new leg with the same body and number.
  void send_post(Session& s, std::string body) {
    ++s.post_attempts;
    const std::string path = s.target.post_base + "/" + s.stream_id + "?n=" + std::to_string(s.post_n);
    auto leg = std::make_unique<Leg>();
    leg->role = Leg::Role::Post;
    leg->body = std::move(body);
    if (!dial(s, s.post, std::move(leg), path, "POST") && !s.closed_reported && !s.post)
      finish(s, kCloseAbnormal, "POST failed: could not start the connection");
  }

  void dial_stream(Session& s, std::string last_event_id) {
    auto leg = std::make_unique<Leg>();
    leg->role = Leg::Role::Stream;
    leg->last_event_id = std::move(last_event_id);
    if (!dial(s, s.stream, std::move(leg), s.target.address.path, "GET") && !s.closed_reported && !s.stream)
      finish(s, kCloseAbnormal, "connect failed: could not start the connection");
  }

  void post_ended(Session& s, Leg& leg) {
    const int status = leg.status;
    std::string body = std::move(leg.body);
    drop(s.post);
    if (status == 204 || status == 409) {  // taken (409: taken before, by the attempt whose answer was lost)
      pump_posts(s);
      return;
    }
    if (status == 401 || status == 403) {
      finish(s, kCloseUnauthorized, "POST refused: HTTP " + std::to_string(status));
      return;
    }
    if (status == 404) {
      finish(s, kCloseAbnormal, "the server no longer holds this stream");
      return;
    }
    const bool retry = status == 0 || status >= 500;
    if (retry && s.post_attempts < settings.post_attempts) {
      send_post(s, std::move(body));
      return;
    }
    finish(s, kCloseAbnormal, "POST failed: " + (status == 0 ? std::string("no answer") : "HTTP " + std::to_string(status)));
  }

  void stream_ended(Session& s, Leg& leg) {
    const int status = leg.status;
    drop(s.stream);
    if (s.close_event) {
      finish(s, s.close_event->code, s.close_event->reason);
      return;
    }
    if (s.phase == TransportPhase::Open && !s.resume_deadline && s.resume.count() > 0 &&
        !s.parser.last_event_id().empty()) {
      // Broken without `close`: take it up again where it broke.
      s.resume_deadline = std::chrono::steady_clock::now() + s.resume;
      dial_stream(s, s.parser.last_event_id());
      return;
    }
    finish(s, kCloseAbnormal, status != 0 && status != 200 ? "stream refused: HTTP " + std::to_string(status)
                                                           : std::string("stream lost"));
  }

  void on_event(Session& s, EventStreamParser::Event& event) {
    if (event.name.empty()) {
      if (s.phase == TransportPhase::Open) record(PendingEvent::Kind::Message, s, 0, std::move(event.data));
      return;
    }
    if (event.name == "stream") {
      Result<json::JsonPtr> doc = json::parse_json(event.data);
      std::string id;
      std::int64_t resume_ms = 0;
      bool ok = doc.ok();
      if (ok) {
        json::Fields fields(doc.value().get(), "stream");
        ok = fields.str("stream", id, {}) && fields.int64("resume_ms", resume_ms, 0, 86400000);
      }
      if (!ok) {
        finish(s, kCloseAbnormal, "malformed stream event");
        return;
      }
      s.stream_id = std::move(id);
      s.resume = Millis(resume_ms);
      if (s.phase == TransportPhase::Connecting) {
        s.phase = TransportPhase::Open;
        record(PendingEvent::Kind::Open, s);
      }
      return;
    }
    if (event.name == "close") {
      Result<json::JsonPtr> doc = json::parse_json(event.data);
      CloseNote note;
      if (doc.ok()) {
        json::Fields fields(doc.value().get(), "close");
        std::int64_t code = kCloseAbnormal;
        if (fields.int64("code", code, 1000, 4999)) note.code = static_cast<int>(code);
        fields.str("reason", note.reason, {});
      }
      s.close_event = std::move(note);
      s.phase = TransportPhase::Closing;
    }
  }

  int callback(lws* wsi, lws_callback_reasons reason, void* in, std::size_t len) {
    auto* leg = static_cast<Leg*>(lws_get_opaque_user_data(wsi));
    if (leg == nullptr || destroying || !current) return 0;
    Session& s = *current;
    if (leg != s.stream.get() && leg != s.post.get()) return 0;
    leg->wsi = wsi;
    activity = true;
    switch (reason) {
      case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        auto** p = static_cast<unsigned char**>(in);
        unsigned char* end = *p + len;
        auto add = [&](const char* name, std::string_view value) {
          return lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(name),
                                             reinterpret_cast<const unsigned char*>(value.data()),
                                             static_cast<int>(value.size()), p, end) == 0;
        };
        if (leg->role == Leg::Role::Stream) {
          if (!add("accept:", "text/event-stream")) return -1;
          if (!leg->last_event_id.empty() && !add("last-event-id:", leg->last_event_id)) return -1;
          return 0;
        }
        if (!add("content-type:", "text/plain; charset=utf-8") ||
            !add("content-length:", std::to_string(leg->body.size())) ||
            !add("authorization:", "Bearer " + s.target.token))
          return -1;
        lws_client_http_body_pending(wsi, 1);
        lws_callback_on_writable(wsi);
        return 0;
      }

      case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
        if (leg->role != Leg::Role::Post || leg->body_sent) return 0;
        leg->body_sent = true;
        std::vector<unsigned char> buffer(LWS_PRE + leg->body.size());
        std::memcpy(buffer.data() + LWS_PRE, leg->body.data(), leg->body.size());
        lws_client_http_body_pending(wsi, 0);
        if (lws_write(wsi, buffer.data() + LWS_PRE, leg->body.size(), LWS_WRITE_HTTP_FINAL) <
            static_cast<int>(leg->body.size()))
          return -1;
        return 0;
      }

      case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        leg->status = static_cast<int>(lws_http_client_http_response(wsi));
        return 0;

      case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buffer[LWS_PRE + 4096];
        char* start = buffer + LWS_PRE;
        int length = static_cast<int>(sizeof buffer - LWS_PRE);
        return lws_http_client_read(wsi, &start, &length) < 0 ? -1 : 0;
      }

      case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ: {
        if (leg->role != Leg::Role::Stream || leg->status != 200) return 0;
        if (s.resume_deadline) s.resume_deadline.reset();  // the resumed stream answers
        const bool fits = s.parser.feed(std::string_view(static_cast<const char*>(in), len),
                                        [&](EventStreamParser::Event& event) { on_event(s, event); });
        if (!fits) {
          finish(s, kCloseTooBig, "message too big");
          return -1;
        }
        if (s.close_event) {
          Leg ended_leg = std::move(*s.stream);
          stream_ended(s, ended_leg);
          return -1;
        }
        return 0;
      }

      case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
      case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
      case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
      case LWS_CALLBACK_WSI_DESTROY: {
        if (leg->ended) return 0;
        leg->ended = true;
        lws_set_opaque_user_data(wsi, nullptr);
        leg->wsi = nullptr;
        // A completed answer leaves the connection idle for reuse; each leg dials its own, so
        // it is closed (returning -1 from COMPLETED does not do it in 4.1.6: the sockets piled up).
        if (reason == LWS_CALLBACK_COMPLETED_CLIENT_HTTP) lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        Leg ended_leg = std::move(*leg);
        if (ended_leg.role == Leg::Role::Stream) {
          stream_ended(s, ended_leg);
        } else {
          post_ended(s, ended_leg);
        }
        return 0;
      }

      default:
        return 0;
    }
  }

  static int lws_callback(lws* wsi, lws_callback_reasons reason, void* /*user*/, void* in, std::size_t len) {
    lws_context* ctx = lws_get_context(wsi);
    auto* self = ctx != nullptr ? static_cast<Impl*>(lws_context_user(ctx)) : nullptr;
    return self == nullptr ? 0 : self->callback(wsi, reason, in, len);
  }

};

// ---- public API ------------------------------------------------------------------------------

LwsSseTransport::LwsSseTransport(LwsSseTransportSettings settings) : impl_(std::make_unique<Impl>(settings)) {
  impl_->protocols[0].name = kProtocolName;
  impl_->protocols[0].callback = &Impl::lws_callback;
}

LwsSseTransport::~LwsSseTransport() {
  impl_->destroying = true;
  impl_->context.destroy();
}

void LwsSseTransport::open(const std::string& url, TransportEvents& events) {
  Impl& t = *impl_;
  if (t.current && !t.current->closed_reported) t.finish(*t.current, kCloseAbnormal, "replaced by a new connection");
  t.current = std::make_unique<Session>();
  Session& s = *t.current;
  s.events = &events;
  s.parser = EventStreamParser(t.settings.max_message_bytes);
  Result<SseTarget> target = sse_target(url);
  if (!target) {
    t.finish(s, kCloseAbnormal, target.error().message);
    return;
  }
  s.target = std::move(target).value();
  std::string why;
  t.destroying = true;  // a replaced context's teardown must not record events
  const bool ready = t.context.ensure(s.target.address.scheme == WsScheme::Secure, why);
  t.destroying = false;
  if (!ready) {
    t.finish(s, kCloseAbnormal, why);
    return;
  }
  t.dial_stream(s, {});
}

SendStatus LwsSseTransport::send(std::string_view frame) {
  Session* s = impl_->current.get();
  if (s == nullptr || s->closed_reported || s->phase != TransportPhase::Open) return SendStatus::NotOpen;
  s->queued.emplace_back(frame);
  impl_->pump_posts(*s);
  return SendStatus::Sent;
}

void LwsSseTransport::close(int code, std::string_view reason) {
  Session* s = impl_->current.get();
  if (s == nullptr || s->closed_reported) return;
  impl_->finish(*s, code, std::string(reason));
}

std::size_t LwsSseTransport::poll(Millis wait) {
  Impl& t = *impl_;
  if (t.context.get() != nullptr) {
    t.context.service(t.pending.empty() ? wait : Millis{0}, kMaxServiceRounds, t.activity);
    if (Session* s = t.current.get();
        s != nullptr && s->resume_deadline && std::chrono::steady_clock::now() >= *s->resume_deadline)
      t.finish(*s, kCloseAbnormal, "stream lost (resume timed out)");
  }
  return deliver(t.pending);
}

void LwsSseTransport::wake() {
  if (lws_context* context = impl_->context.get()) lws_cancel_service(context);
}

TransportPhase LwsSseTransport::phase() const {
  const Session* s = impl_->current.get();
  return s == nullptr ? TransportPhase::Idle : s->phase;
}

const std::string& LwsSseTransport::stream_id() const {
  static const std::string kNone;
  return impl_->current ? impl_->current->stream_id : kNone;
}

}  // namespace tandem::native
