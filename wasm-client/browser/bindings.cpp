// wasm-client/browser/bindings.cpp — the client core as JS sees it (embind), used by tandem.mjs.
//
// One BrowserClient = tandem::Client + the browser WebSocket transport + a seeded Rng. It adds
// no protocol logic of its own: it converts between JS values and the core's types (JSON text
// in and out, times as performance.now() milliseconds) and remembers the last StateChange so
// JS can read the state at any moment. The JS side drives tick() from a timer.
//
// Exposed as Module.Client:
//   new Client(url, token)
//   setHandlers(onState(snapshot), onMessage(jsonText))
//   start(nowMs) / stop() / tick(nowMs)
//   snapshot(nowMs) -> {state, previous, cause, closeCode, closeReason, retryDelayMs, retryAt,
//                       retryInMs, attempt, queued, pending, connectionId?, user?, heartbeatMs?}
//   send(jsonText) -> {ok, code?, message?}              fire and forget, only while open
//   request(jsonText, done(errorCode, errorMessage, replyJsonText)) -> {ok, status|code, message?}
//   delete()  (embind: frees the client; closes the socket)
// and Module.checkConfig(url, token) -> null, or the message saying what is wrong.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include "tandem/client.h"
#include "tandem/protocol/codec.h"
#include "ws_transport.h"

namespace tandem::browser {
namespace {

using emscripten::val;

// JS passes performance.now() (fractional ms since page load); the core counts whole ms.
Millis to_millis(double now_ms) { return Millis(static_cast<Millis::rep>(std::floor(now_ms))); }

// Client-side failure codes that are not wire errors.
constexpr const char* kNotOpen = "not_open";  // send() while the connection is not open

const char* to_string(RequestStatus status) {
  switch (status) {
    case RequestStatus::Sent: return "sent";
    case RequestStatus::Queued: return "queued";
    case RequestStatus::QueueFull: return "queue_full";
  }
  return "unknown";
}

val outcome_ok() {
  val outcome = val::object();
  outcome.set("ok", true);
  return outcome;
}

val outcome_error(std::string_view code, std::string_view message) {
  val outcome = val::object();
  outcome.set("ok", false);
  outcome.set("code", std::string(code));
  outcome.set("message", std::string(message));
  return outcome;
}

std::uint64_t random_seed() {
  // In the browser std::random_device reads crypto.getRandomValues.
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) | device();
}

class BrowserClient {
 public:
  BrowserClient(std::string url, std::string token)
      : rng_(random_seed()),
        client_(ClientConfig{.session = SessionConfig{.url = std::move(url), .token = std::move(token)}},
                transport_, rng_) {
    client_.on_state = [this](const StateChange& change) {
      last_change_ = change;
      if (!on_state_.isNull()) on_state_(snapshot_at(now_));
    };
    client_.on_message = [this](const protocol::ServerFrame& frame) {
      if (!on_message_.isNull()) on_message_(protocol::encode(frame));
    };
  }

  void set_handlers(val on_state, val on_message) {
    on_state_ = std::move(on_state);
    on_message_ = std::move(on_message);
  }

  void start(double now_ms) {
    advance(now_ms);
    client_.start(now_);
  }
  void stop() { client_.stop(); }
  void tick(double now_ms) {
    advance(now_ms);
    client_.tick(now_);
  }

  val snapshot(double now_ms) {
    advance(now_ms);
    return snapshot_at(now_);
  }

  val send(const std::string& json_text) {
    auto frame = protocol::decode_client(json_text);
    if (!frame) return outcome_error(frame.error().code, frame.error().message);
    if (client_.send(frame->message) != SendStatus::Sent)
      return outcome_error(kNotOpen, std::string("not connected (state ") + to_string(client_.state()) + ")");
    return outcome_ok();
  }

  // The request's own "id", if the text has one, is replaced: the core numbers requests.
  val request(const std::string& json_text, val done) {
    auto frame = protocol::decode_client(json_text);
    if (!frame) return outcome_error(frame.error().code, frame.error().message);
    const RequestStatus status = client_.request(frame->message, [done](Result<protocol::ServerFrame> reply) {
      if (reply) done(val::null(), val::null(), protocol::encode(*reply));
      else done(reply.error().code, reply.error().message, val::null());
    });
    // QueueFull: `done` already ran with errc::queue_full, so the outcome itself is fine.
    val outcome = outcome_ok();
    outcome.set("status", std::string(to_string(status)));
    return outcome;
  }

 private:
  void advance(double now_ms) {
    const Millis now = to_millis(now_ms);
    if (now > now_) now_ = now;
  }

  val snapshot_at(Millis now) const {
    val s = val::object();
    s.set("state", std::string(to_string(client_.state())));
    s.set("previous", std::string(to_string(last_change_.previous)));
    s.set("cause", std::string(to_string(last_change_.cause)));
    s.set("closeCode", last_change_.close_code);
    s.set("closeReason", last_change_.close_reason);
    s.set("attempt", last_change_.attempt);
    s.set("queued", static_cast<double>(client_.queued_count()));
    s.set("pending", static_cast<double>(client_.pending_count()));
    if (client_.state() == State::Reconnecting) {
      s.set("retryDelayMs", static_cast<double>(last_change_.retry_delay.count()));
      s.set("retryAt", static_cast<double>(last_change_.retry_at.count()));
      const Millis left = last_change_.retry_at > now ? last_change_.retry_at - now : Millis(0);
      s.set("retryInMs", static_cast<double>(left.count()));
    }
    if (const auto& connected = client_.connected()) {
      s.set("connectionId", connected->connection_id);
      s.set("heartbeatMs", static_cast<double>(connected->heartbeat_ms));
      s.set("serverVersion", connected->server_version);
      val user = val::object();
      user.set("id", connected->user.id);
      user.set("name", connected->user.name);
      user.set("color", connected->user.color);
      s.set("user", user);
    }
    return s;
  }

  // Declaration order is construction order: the client uses the transport and the rng, and
  // is destroyed before them.
  WebSocketTransport transport_;
  SeededRng rng_;
  Client client_;
  StateChange last_change_;
  Millis now_{0};  // the latest time JS gave us (the core's clock never goes back)
  val on_state_ = val::null();
  val on_message_ = val::null();
};

// Validates what a Client would be built from, so JS can refuse it with a clear message.
val check_config(std::string url, std::string token) {
  const auto problem = validate(SessionConfig{.url = std::move(url), .token = std::move(token)});
  return problem ? val(problem->message) : val::null();
}

}  // namespace
}  // namespace tandem::browser

EMSCRIPTEN_BINDINGS(tandem_browser) {
  using tandem::browser::BrowserClient;
  emscripten::function("checkConfig", &tandem::browser::check_config);
  emscripten::class_<BrowserClient>("Client")
      .constructor<std::string, std::string>()
      .function("setHandlers", &BrowserClient::set_handlers)
      .function("start", &BrowserClient::start)
      .function("stop", &BrowserClient::stop)
      .function("tick", &BrowserClient::tick)
      .function("snapshot", &BrowserClient::snapshot)
      .function("send", &BrowserClient::send)
      .function("request", &BrowserClient::request);
}
