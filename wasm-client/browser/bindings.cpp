// wasm-client/browser/bindings.cpp — the client core as JS sees it (plain C exports), used by
// tandem.mjs.
//
// One BrowserClient = tandem::Client + the browser's transports (the WebSocket, then Server-Sent
// Events, or those tandem.mjs's `transports` names, behind one FallbackTransport) +
// Math.random(). It adds no protocol logic of its own: it converts between JS values and the
// core's types (JSON text in and out, times as performance.now() milliseconds) and remembers
// the last StateChange so JS can read the state at any moment. The JS side drives tick() from
// a timer.
//
// No embind: its runtime was most of the loader's JS and ~8 % of the wasm, for what is here a
// handful of calls with strings. Every export is extern "C" `tandem_<name>`; strings come in
// as (UTF-8 pointer, byte length) in memory JS allocated with malloc and frees after the call;
// values go out as JSON text (a pointer to a NUL-terminated buffer, valid until the next
// call; 0 for null). JS functions are passed as numbers (ids in tandem.mjs's table, 0 for
// none) and called through tandem_js_call: once (a request's `done`, then forgotten) or each
// time (handlers). tandem.mjs's CoreClient wraps these into the object below.
//
//   tandem_client_new(url, token, transports) -> client   tandem_client_delete(client)  (closes the socket)
//        transports: the carriers to try, in order, one letter each: "w" WebSocket, "s" SSE
//   set_handlers(onState(snapshot), onMessage(jsonText), and the room handlers below)
//   tick(nowMs, start = 0) / tick(nowMs, start = 1) starts / stop()
//   set_token(token)   for the next connection attempt (after closed: unauthorized, then start)
//   snapshot(nowMs) -> {state, previous, cause, closeCode, closeReason, retryDelayMs, retryAt,
//                       retryInMs, attempt, queued, pending, connectionId?, user?, heartbeatMs?,
//                       transport?: "websocket" | "sse" while open}
//   send(jsonText) -> {ok, code?, message?}              fire and forget, only while open
//   request(jsonText, room, done(errorCode, errorMessage, replyJsonText)) -> {ok, status|code, message?}
//        room "": through the outbox, the reply as the server sent it; a room: one of its
//        ack-answered requests through Rooms (held and resent when it raced a rejoin), the
//        reply {type:'ack', duplicate?}
//   room handlers: onChange({room, members, presence, locks, doc, chat, typing, execution,
//                  stream}), onLockLost(obj), onTakeover(obj)
//   join(room, presenceMessageJsonOrEmpty, done(code, message, subscribedJson)) -> {ok, code?, message?}
//   leave(room, done(code, message)) / unlock(room, resource, done(code, message))
//   set_presence(presenceMessageJson) -> {ok, status: sent|throttled|deferred|not_joined}
//   lock(room, resource, ttlMs (<= 0: default), takeover = 0, done(code, message, answer))
//   lock(room, resource, 0, takeover = 1, done(code, message, answer))  asks the holder to yield
//        answer = {outcome: granted|denied, fence, expiresAt, holder?: {user, name, color}}
//   room_view(view, room), view = 0..6 (members, locks, document, chat, typing, executions, stream):
//   room_members(room) / room_locks(room) -> presence_state / lock_state message, or null
//   list_members(room, afterOrEmpty, limitOrZero, done(code, message, presenceListJson))
//   room_document(room) / room_chat(room) -> doc_snapshot / history message, or null
//   room_executions(room) / room_stream(room) -> array of execution_update / stream messages,
//                   or null
//   room_typing(room) -> [{user, name}], or null
//   broadcast(room, event, dataJsonOrEmpty, self, done(code, message, ack) | 0)
//        -> {ok, code?, message?}. Without done: fire and forget (code not_open when offline or
//        the room is not joined yet); with done: acked through the outbox, ack = {type:'ack',
//        duplicate?}. Received broadcasts reach onMessage like every message.
// and tandem_check_config(url, token) -> null, or the message saying what is wrong (plain text).
#include <emscripten/em_js.h>
#include <emscripten/emscripten.h>

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "browser_transport.h"
#include "tandem/client.h"
#include "tandem/fallback_transport.h"
#include "tandem/json.h"
#include "tandem/protocol/codec.h"
#include "tandem/protocol/errors.h"

// Calls JS function `id` of tandem.mjs's table (Module.tandemCall) with up to three strings
// (NULL -> null); `once`: the table forgets it afterwards.
EM_JS(void, tandem_js_call, (int id, int once, const char* a, const char* b, const char* c), {
  Module.tandemCall(id, once, a ? UTF8ToString(a) : null, b ? UTF8ToString(b) : null, c ? UTF8ToString(c) : null);
});

namespace tandem::browser {
namespace {

using json::JsonWriter;

// A JS function handed over by id (0: none).
struct JsFunction {
  int id = 0;
  explicit operator bool() const { return id != 0; }
  // A handler: called with one JSON text each time.
  void emit(const std::string& text) const {
    if (id) tandem_js_call(id, 0, text.c_str(), nullptr, nullptr);
  }
  // A one-shot `done(code, message, value)`: (null, null, value) or (code, message, null).
  void done(const char* value) const {
    if (id) tandem_js_call(id, 1, nullptr, nullptr, value);
  }
  void fail(const Error& error) const {
    if (id) tandem_js_call(id, 1, error.code.c_str(), error.message.c_str(), nullptr);
  }
};

// The text a call returns to JS: kept here until the next call returns another.
std::string returned;
const char* give(std::string text) {
  returned = std::move(text);
  return returned.c_str();
}

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

const char* outcome_ok(const char* status = nullptr) {
  JsonWriter outcome;
  outcome.boolean("ok", true);
  if (status) outcome.str("status", status);
  return give(outcome.finish());
}

const char* outcome_error(std::string_view code, std::string_view message) {
  return give(JsonWriter().boolean("ok", false).str("code", code).str("message", message).finish());
}
const char* outcome_error(const Error& error) { return outcome_error(error.code, error.message); }

const char* to_string(PresenceStatus status) {
  switch (status) {
    case PresenceStatus::Sent: return "sent";
    case PresenceStatus::Throttled: return "throttled";
    case PresenceStatus::Deferred: return "deferred";
    case PresenceStatus::NotJoined: return "not_joined";
  }
  return "unknown";
}

JsonWriter holder_value(const protocol::LockHolder& holder) {
  JsonWriter v;
  v.str("user", holder.user).str("name", holder.name).str("color", holder.color);
  return v;
}

// A presence message text -> the PresenceSet it holds (validated by the core's decoder).
Result<protocol::PresenceSet> parse_presence(const std::string& text) {
  auto frame = protocol::decode_client(text);
  if (!frame) return frame.error();
  if (const auto* presence = std::get_if<protocol::PresenceSet>(&frame->message)) return *presence;
  return Error{std::string(protocol::errc::invalid_message), "expected a presence message"};
}

// done(null, null, server message text) or done(code, message, null).
template <class Message>
auto reply_callback(JsFunction done) {
  return [done](Result<Message> reply) {
    if (reply) done.done(protocol::encode_server(*reply).c_str());
    else done.fail(reply.error());
  };
}

RequestCallback ack_callback(JsFunction done) {
  return [done](Result<protocol::ServerFrame> reply) {
    if (reply) done.done(nullptr);
    else done.fail(reply.error());
  };
}

// done(null, null, {type:'ack', duplicate?}) or done(code, message, null), like a request's reply.
AckCallback acked_callback(JsFunction done) {
  return [done](Result<Acked> acked) {
    if (!acked) return done.fail(acked.error());
    JsonWriter ack(protocol::Ack::kType);
    if (acked->duplicate) ack.boolean("duplicate", true);
    done.done(ack.finish().c_str());
  };
}

LockCallback lock_callback(JsFunction done) {
  return [done](Result<LockAnswer> answer) {
    if (!answer) return done.fail(answer.error());
    JsonWriter v;
    v.str("outcome", answer->outcome == LockOutcome::Granted ? "granted" : "denied")
        .int64("fence", answer->fence)
        .int64("expiresAt", answer->expires_at);
    if (answer->holder) v.child("holder", holder_value(*answer->holder));
    done.done(v.finish().c_str());
  };
}

// The reconnect jitter's randomness: the page's Math.random() (emscripten_random), rather than
// a Mersenne twister seeded from crypto — the same job in the browser without the engine's
// code in the wasm (issue 15). Nothing here needs more than uniform doubles.
class BrowserRng final : public Rng {
 public:
  double uniform01() override { return emscripten_random(); }
};

std::int64_t seq_of(const RoomReplica& replica) {
  return replica.position() ? replica.position()->seq : 0;
}

// Server messages as one JSON array text: "[{...},{...}]".
template <class Message>
std::string json_array(const std::vector<const Message*>& messages) {
  std::string text = "[";
  for (const Message* message : messages) {
    if (text.size() > 1) text += ',';
    text += protocol::encode_server(*message);
  }
  text += ']';
  return text;
}

// The transports tandem.mjs asked for, in its order: "w" the WebSocket, "s" the event stream
// (which maps the WebSocket URL to its own, sse_socket.js); the WebSocket when none.
FallbackTransport fallback_of(std::string_view order, Transport& websocket, Transport& stream) {
  TransportOption options[2] = {{"websocket", &websocket}};
  std::size_t count = 0;
  for (const char carrier : order.substr(0, 2))
    options[count++] = carrier == 'w' ? TransportOption{"websocket", &websocket} : TransportOption{"sse", &stream};
  return FallbackTransport(std::span<const TransportOption>(options, count ? count : 1));
}

class BrowserClient {
 public:
  BrowserClient(std::string url, std::string token, std::string_view transports)
      : transport_(fallback_of(transports, websocket_, stream_)),
        client_(ClientConfig{.session = SessionConfig{.url = std::move(url), .token = std::move(token)}},
                transport_, rng_) {
    client_.on_state = [this](const StateChange& change) {
      last_change_ = change;
      on_state_.emit(snapshot_at(now_));
    };
    client_.on_message = [this](const protocol::ServerFrame& frame) {
      if (on_message_) on_message_.emit(protocol::encode(frame));
    };
    client_.rooms().on_change = [this](const std::string& room, RoomChanges what) {
      if (!on_room_change_) return;
      on_room_change_.emit(JsonWriter()
                               .str("room", room)
                               .boolean("members", what.has(RoomChange::Members))
                               .boolean("presence", what.has(RoomChange::Presence))
                               .boolean("locks", what.has(RoomChange::Locks))
                               .boolean("doc", what.has(RoomChange::Doc))
                               .boolean("chat", what.has(RoomChange::Chat))
                               .boolean("typing", what.has(RoomChange::Typing))
                               .boolean("execution", what.has(RoomChange::Execution))
                               .boolean("stream", what.has(RoomChange::Stream))
                               .finish());
    };
    client_.rooms().on_lock_lost = [this](const LockLost& lost) {
      if (!on_lock_lost_) return;
      JsonWriter v;
      v.str("room", lost.room)
          .str("resource", lost.resource)
          .str("reason", to_string(lost.reason))
          .int64("fence", lost.fence);
      if (lost.holder) v.child("holder", holder_value(*lost.holder));
      if (lost.error) v.str("code", lost.error->code).str("message", lost.error->message);
      on_lock_lost_.emit(v.finish());
    };
    client_.rooms().on_takeover_requested = [this](const protocol::TakeoverRequested& request) {
      if (!on_takeover_) return;
      on_takeover_.emit(JsonWriter()
                            .str("room", request.room)
                            .str("resource", request.resource)
                            .child("by", holder_value(request.by))
                            .int64("graceMs", request.grace_ms)
                            .finish());
    };
  }

  void set_handlers(JsFunction on_state, JsFunction on_message) {
    on_state_ = on_state;
    on_message_ = on_message;
  }

  void start(double now_ms) {
    advance(now_ms);
    client_.start(now_);
  }
  void stop() { client_.stop(); }
  void set_token(const std::string& token) { client_.set_token(token); }
  void tick(double now_ms) {
    advance(now_ms);
    client_.tick(now_);
  }

  std::string snapshot(double now_ms) {
    advance(now_ms);
    return snapshot_at(now_);
  }

  const char* send(const std::string& json_text) {
    auto frame = protocol::decode_client(json_text);
    if (!frame) return outcome_error(frame.error());
    if (client_.send(frame->message) != SendStatus::Sent)
      return outcome_error(kNotOpen, std::string("not connected (state ") + to_string(client_.state()) + ")");
    return outcome_ok();
  }

  // The request's own "id", if the text has one, is replaced: the core numbers requests.
  const char* request(const std::string& json_text, const std::string& room, JsFunction done) {
    auto frame = protocol::decode_client(json_text);
    if (!frame) return outcome_error(frame.error());
    if (!room.empty()) {
      client_.rooms().submit_acked(room, std::move(frame->message), acked_callback(done));
      return outcome_ok();
    }
    const RequestStatus status = client_.request(frame->message, [done](Result<protocol::ServerFrame> reply) {
      if (reply) done.done(protocol::encode(*reply).c_str());
      else done.fail(reply.error());
    });
    // QueueFull: `done` already ran with errc::queue_full, so the outcome itself is fine.
    return outcome_ok(to_string(status));
  }

  // ---- rooms, presence, locks (tandem/rooms.h); JSON text in and out ----

  void set_room_handlers(JsFunction on_change, JsFunction on_lock_lost, JsFunction on_takeover) {
    on_room_change_ = on_change;
    on_lock_lost_ = on_lock_lost;
    on_takeover_ = on_takeover;
  }

  // presence_text: "" or a whole presence message {"type":"presence","room","state"} (the JS
  // side builds it, so the core's decoder validates the state). done(code, message, subscribedJson).
  const char* join(const std::string& room, const std::string& presence_text, JsFunction done) {
    std::optional<protocol::Presence> presence;
    if (!presence_text.empty()) {
      auto parsed = parse_presence(presence_text);
      if (!parsed) return outcome_error(parsed.error());
      presence = parsed->state;
    }
    client_.rooms().join(room, std::move(presence), reply_callback<protocol::Subscribed>(done));
    return outcome_ok();
  }

  void leave(const std::string& room, JsFunction done) { client_.rooms().leave(room, ack_callback(done)); }

  // presence_text: a whole presence message (see join). -> {ok, status} or {ok:false, code, message}
  const char* set_presence(const std::string& presence_text) {
    auto parsed = parse_presence(presence_text);
    if (!parsed) return outcome_error(parsed.error());
    return outcome_ok(to_string(client_.rooms().set_presence(parsed->room, parsed->state)));
  }

  // ttl_ms <= 0: the default lease. done(code, message, {outcome, fence, expiresAt, holder?}).
  void lock(const std::string& room, const std::string& resource, double ttl_ms, JsFunction done) {
    std::optional<std::int64_t> ttl;
    if (ttl_ms > 0) ttl = static_cast<std::int64_t>(ttl_ms);
    client_.rooms().lock(room, resource, ttl, lock_callback(done));
  }
  void takeover(const std::string& room, const std::string& resource, JsFunction done) {
    client_.rooms().request_takeover(room, resource, lock_callback(done));
  }
  void unlock(const std::string& room, const std::string& resource, JsFunction done) {
    client_.rooms().unlock(room, resource, ack_callback(done));
  }

  // data_text: JSON text of the data, "" for none (the core checks it and the event name).
  const char* broadcast(const std::string& room, const std::string& event, const std::string& data_text, bool self,
                        JsFunction done) {
    std::optional<std::string> data;
    if (!data_text.empty()) data = data_text;
    if (done) {
      client_.rooms().broadcast(room, event, std::move(data), self, acked_callback(done));
      return outcome_ok();
    }
    const Result<SendStatus> sent = client_.rooms().broadcast(room, event, std::move(data), self);
    if (!sent) return outcome_error(sent.error());
    if (sent.value() != SendStatus::Sent)
      return outcome_error(kNotOpen, std::string("not sent: not connected or ") + room + " not joined yet (state " +
                                         to_string(client_.state()) + ")");
    return outcome_ok();
  }

  // One page of the member list (PROTOCOL.md §7 presence_list); after "" = from the start,
  // limit <= 0 = the server's page size. done(code, message, presence_list JSON text).
  void list_members(const std::string& room, const std::string& after, double limit, JsFunction done) {
    std::optional<std::string> from;
    if (!after.empty()) from = after;
    std::optional<std::int64_t> count;
    if (limit > 0) count = static_cast<std::int64_t>(limit);
    client_.rooms().list_members(room, std::move(from), count, reply_callback<protocol::PresenceListPage>(done));
  }

  // The replica as protocol JSON text (JS parses it): a presence_state / lock_state message,
  // or null when the room is not joined. The presence_state always carries the user count
  // (the server's in a crowd), and `partial` in a crowd.
  const char* room_members(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return nullptr;
    protocol::PresenceSnapshot snapshot{room, {}, replica->member_count(), replica->members_partial()};
    for (const auto& [id, member] : replica->members())
      snapshot.members.push_back(protocol::PresenceMember{member.user, member.metas});
    return give(protocol::encode_server(snapshot));
  }
  const char* room_locks(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return nullptr;
    protocol::LockState state{room, seq_of(*replica), {}};
    for (const auto& [resource, info] : replica->locks()) state.locks.push_back(info);
    return give(protocol::encode_server(state));
  }
  const char* room_document(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return nullptr;
    const WorkflowDocument& document = replica->document();
    return give(protocol::encode_server(
        protocol::DocSnapshot{room, seq_of(*replica), document.nodes(), document.edges()}));
  }
  const char* room_chat(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return nullptr;
    return give(protocol::encode_server(protocol::ChatHistory{
        room, seq_of(*replica), {replica->chat().begin(), replica->chat().end()}}));
  }
  const char* room_typing(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return nullptr;
    JsonWriter typing = JsonWriter::array();
    for (const auto& [user, name] : replica->typing()) {
      JsonWriter entry;
      entry.str("user", user).str("name", name);
      typing.push(std::move(entry));
    }
    return give(typing.finish());
  }
  const char* room_executions(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return nullptr;
    std::vector<const protocol::ExecutionUpdate*> updates;
    for (const auto& [execution, update] : replica->executions()) updates.push_back(&update);
    return give(json_array(updates));
  }
  const char* room_stream(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return nullptr;
    std::vector<const protocol::StreamEvent*> events;
    for (const auto& event : replica->stream()) events.push_back(&event);
    return give(json_array(events));
  }

 private:
  void advance(double now_ms) {
    const Millis now = to_millis(now_ms);
    if (now > now_) now_ = now;
  }

  std::string snapshot_at(Millis now) const {
    JsonWriter s;
    s.str("state", to_string(client_.state()))
        .str("previous", to_string(last_change_.previous))
        .str("cause", to_string(last_change_.cause))
        .int64("closeCode", last_change_.close_code)
        .str("closeReason", last_change_.close_reason)
        .int64("attempt", last_change_.attempt)
        .int64("queued", static_cast<std::int64_t>(client_.queued_count()))
        .int64("pending", static_cast<std::int64_t>(client_.pending_count()));
    if (client_.state() == State::Reconnecting) {
      const Millis left = last_change_.retry_at > now ? last_change_.retry_at - now : Millis(0);
      s.int64("retryDelayMs", last_change_.retry_delay.count())
          .int64("retryAt", last_change_.retry_at.count())
          .int64("retryInMs", left.count());
    }
    if (const auto& connected = client_.connected()) {
      JsonWriter user;
      user.str("id", connected->user.id).str("name", connected->user.name).str("color", connected->user.color);
      s.str("connectionId", connected->connection_id)
          .int64("heartbeatMs", connected->heartbeat_ms)
          .str("serverVersion", connected->server_version)
          .child("user", std::move(user));
    }
    if (client_.state() == State::Open) s.str("transport", transport_.active());
    return s.finish();
  }

  // Declaration order is construction order: the client uses the transports and the rng, and
  // is destroyed before them.
  BrowserTransport websocket_{Carrier::WebSocket};
  BrowserTransport stream_{Carrier::EventStream};
  FallbackTransport transport_;
  BrowserRng rng_;
  Client client_;
  StateChange last_change_;
  Millis now_{0};  // the latest time JS gave us (the core's clock never goes back)
  JsFunction on_state_;
  JsFunction on_message_;
  JsFunction on_room_change_;
  JsFunction on_lock_lost_;
  JsFunction on_takeover_;
};

std::string text(const char* data, std::size_t size) { return std::string(data, size); }

}  // namespace
}  // namespace tandem::browser

// ---- the exports (see the top of this file) ----------------------------------------------------
// Each string argument is a (pointer, byte length) pair; JS functions are ids.
using tandem::browser::BrowserClient;
using tandem::browser::JsFunction;
using tandem::browser::text;
using Str = const char*;
using Len = std::size_t;

#define TANDEM_EXPORT extern "C" EMSCRIPTEN_KEEPALIVE

// Validates what a Client would be built from, so JS can refuse it with a clear message:
// null, or the message (plain text, not JSON).
TANDEM_EXPORT const char* tandem_check_config(Str url, Len url_len, Str token, Len token_len) {
  const auto problem = tandem::validate(tandem::SessionConfig{.url = text(url, url_len), .token = text(token, token_len)});
  return problem ? tandem::browser::give(problem->message) : nullptr;
}
TANDEM_EXPORT BrowserClient* tandem_client_new(Str url, Len url_len, Str token, Len token_len, Str transports,
                                               Len transports_len) {
  return new BrowserClient(text(url, url_len), text(token, token_len), std::string_view(transports, transports_len));
}
TANDEM_EXPORT void tandem_client_delete(BrowserClient* c) { delete c; }
TANDEM_EXPORT void tandem_set_handlers(BrowserClient* c, int on_state, int on_message, int on_room_change,
                                       int on_lock_lost, int on_takeover) {
  c->set_handlers(JsFunction{on_state}, JsFunction{on_message});
  c->set_room_handlers(JsFunction{on_room_change}, JsFunction{on_lock_lost}, JsFunction{on_takeover});
}
// tick(), or start() when `start` is non-zero.
TANDEM_EXPORT void tandem_tick(BrowserClient* c, double now_ms, int start) {
  if (start) c->start(now_ms);
  else c->tick(now_ms);
}
TANDEM_EXPORT void tandem_stop(BrowserClient* c) { c->stop(); }
TANDEM_EXPORT void tandem_set_token(BrowserClient* c, Str token, Len len) { c->set_token(text(token, len)); }
TANDEM_EXPORT const char* tandem_snapshot(BrowserClient* c, double now_ms) {
  return tandem::browser::give(c->snapshot(now_ms));
}
TANDEM_EXPORT const char* tandem_send(BrowserClient* c, Str json, Len len) { return c->send(text(json, len)); }
TANDEM_EXPORT const char* tandem_request(BrowserClient* c, Str json, Len len, Str room, Len room_len, int done) {
  return c->request(text(json, len), text(room, room_len), JsFunction{done});
}
TANDEM_EXPORT const char* tandem_join(BrowserClient* c, Str room, Len room_len, Str presence, Len presence_len, int done) {
  return c->join(text(room, room_len), text(presence, presence_len), JsFunction{done});
}
TANDEM_EXPORT void tandem_leave(BrowserClient* c, Str room, Len room_len, int done) {
  c->leave(text(room, room_len), JsFunction{done});
}
TANDEM_EXPORT const char* tandem_set_presence(BrowserClient* c, Str json, Len len) {
  return c->set_presence(text(json, len));
}
// lock(), or takeover() when `takeover` is non-zero (ttl_ms is then unused).
TANDEM_EXPORT void tandem_lock(BrowserClient* c, Str room, Len room_len, Str resource, Len resource_len, double ttl_ms,
                               int takeover, int done) {
  if (takeover) c->takeover(text(room, room_len), text(resource, resource_len), JsFunction{done});
  else c->lock(text(room, room_len), text(resource, resource_len), ttl_ms, JsFunction{done});
}
TANDEM_EXPORT void tandem_unlock(BrowserClient* c, Str room, Len room_len, Str resource, Len resource_len, int done) {
  c->unlock(text(room, room_len), text(resource, resource_len), JsFunction{done});
}
TANDEM_EXPORT const char* tandem_broadcast(BrowserClient* c, Str room, Len room_len, Str event, Len event_len, Str data,
                                           Len data_len, int self, int done) {
  return c->broadcast(text(room, room_len), text(event, event_len), text(data, data_len), self != 0, JsFunction{done});
}
TANDEM_EXPORT void tandem_list_members(BrowserClient* c, Str room, Len room_len, Str after, Len after_len, double limit,
                                       int done) {
  c->list_members(text(room, room_len), text(after, after_len), limit, JsFunction{done});
}
// One export for the replica views (each export costs the loader a wrapper): `view` is 0
// members, 1 locks, 2 document, 3 chat, 4 typing, 5 executions, 6 stream (tandem.mjs: CoreClient).
TANDEM_EXPORT const char* tandem_room_view(BrowserClient* c, int view, Str room_text, Len len) {
  const std::string room = text(room_text, len);
  switch (view) {
    case 0: return c->room_members(room);
    case 1: return c->room_locks(room);
    case 2: return c->room_document(room);
    case 3: return c->room_chat(room);
    case 4: return c->room_typing(room);
    case 5: return c->room_executions(room);
    case 6: return c->room_stream(room);
    default: return nullptr;
  }
}
