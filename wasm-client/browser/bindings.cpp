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
//   setToken(token)   for the next connection attempt (after closed: unauthorized, then start)
//   snapshot(nowMs) -> {state, previous, cause, closeCode, closeReason, retryDelayMs, retryAt,
//                       retryInMs, attempt, queued, pending, connectionId?, user?, heartbeatMs?}
//   send(jsonText) -> {ok, code?, message?}              fire and forget, only while open
//   request(jsonText, done(errorCode, errorMessage, replyJsonText)) -> {ok, status|code, message?}
//   setRoomHandlers(onChange(room, {members, presence, locks, doc, chat, typing, execution,
//                   stream}), onLockLost(obj), onTakeover(obj))
//   join(room, presenceMessageJsonOrEmpty, done(code, message, subscribedJson)) -> {ok, code?, message?}
//   leave(room, done(code, message)) / unlock(room, resource, done(code, message))
//   setPresence(presenceMessageJson) -> {ok, status: sent|throttled|deferred|not_joined}
//   lock(room, resource, ttlMs (<= 0: default), done(code, message, answer))
//   takeover(room, resource, done(code, message, answer))
//        answer = {outcome: granted|denied, fence, expiresAt, holder?: {user, name, color}}
//   roomMembers(room) / roomLocks(room) -> presence_state / lock_state JSON text, or null
//   listMembers(room, afterOrEmpty, limitOrZero, done(code, message, presenceListJson))
//   roomDocument(room) / roomChat(room) -> doc_snapshot / history JSON text, or null
//   roomExecutions(room) / roomStream(room) -> JSON array text of execution_update / stream
//                   messages, or null
//   roomTyping(room) -> [{user, name}], or null
//   broadcast(room, event, dataJsonOrEmpty, self, done(code, message, ack) | null)
//        -> {ok, code?, message?}. Without done: fire and forget (code not_open when offline or
//        the room is not joined yet); with done: acked through the outbox, ack = {type:'ack',
//        duplicate?}. Received broadcasts reach setHandlers' onMessage like every message.
//   delete()  (embind: frees the client; closes the socket)
// and Module.checkConfig(url, token) -> null, or the message saying what is wrong.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tandem/client.h"
#include "tandem/protocol/codec.h"
#include "tandem/protocol/errors.h"
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

const char* to_string(PresenceStatus status) {
  switch (status) {
    case PresenceStatus::Sent: return "sent";
    case PresenceStatus::Throttled: return "throttled";
    case PresenceStatus::Deferred: return "deferred";
    case PresenceStatus::NotJoined: return "not_joined";
  }
  return "unknown";
}

val holder_value(const protocol::LockHolder& holder) {
  val v = val::object();
  v.set("user", holder.user);
  v.set("name", holder.name);
  v.set("color", holder.color);
  return v;
}

// A presence message text -> the PresenceSet it holds (validated by the core's decoder).
Result<protocol::PresenceSet> parse_presence(const std::string& text) {
  auto frame = protocol::decode_client(text);
  if (!frame) return frame.error();
  if (const auto* presence = std::get_if<protocol::PresenceSet>(&frame->message)) return *presence;
  return Error{std::string(protocol::errc::invalid_message), "expected a presence message"};
}

RequestCallback ack_callback(val done) {
  return [done](Result<protocol::ServerFrame> reply) {
    if (done.isUndefined() || done.isNull()) return;
    if (reply) done(val::null(), val::null());
    else done(reply.error().code, reply.error().message);
  };
}

// done(null, null, {type:'ack', duplicate?}) or done(code, message, null), like a request's reply.
AckCallback acked_callback(val done) {
  return [done](Result<Acked> acked) {
    if (!acked) {
      done(acked.error().code, acked.error().message, val::null());
      return;
    }
    val ack = val::object();
    ack.set("type", std::string(protocol::Ack::kType));
    if (acked->duplicate) ack.set("duplicate", true);
    done(val::null(), val::null(), ack);
  };
}

LockCallback lock_callback(val done) {
  return [done](Result<LockAnswer> answer) {
    if (!answer) {
      done(answer.error().code, answer.error().message, val::null());
      return;
    }
    val v = val::object();
    v.set("outcome", std::string(answer->outcome == LockOutcome::Granted ? "granted" : "denied"));
    v.set("fence", static_cast<double>(answer->fence));
    v.set("expiresAt", static_cast<double>(answer->expires_at));
    if (answer->holder) v.set("holder", holder_value(*answer->holder));
    done(val::null(), val::null(), v);
  };
}

std::uint64_t random_seed() {
  // In the browser std::random_device reads crypto.getRandomValues.
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) | device();
}

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
    client_.rooms().on_change = [this](const std::string& room, RoomChanges what) {
      if (on_room_change_.isNull()) return;
      val v = val::object();
      v.set("members", what.has(RoomChange::Members));
      v.set("presence", what.has(RoomChange::Presence));
      v.set("locks", what.has(RoomChange::Locks));
      v.set("doc", what.has(RoomChange::Doc));
      v.set("chat", what.has(RoomChange::Chat));
      v.set("typing", what.has(RoomChange::Typing));
      v.set("execution", what.has(RoomChange::Execution));
      v.set("stream", what.has(RoomChange::Stream));
      on_room_change_(room, v);
    };
    client_.rooms().on_lock_lost = [this](const LockLost& lost) {
      if (on_lock_lost_.isNull()) return;
      val v = val::object();
      v.set("room", lost.room);
      v.set("resource", lost.resource);
      v.set("reason", std::string(to_string(lost.reason)));
      v.set("fence", static_cast<double>(lost.fence));
      if (lost.holder) v.set("holder", holder_value(*lost.holder));
      if (lost.error) {
        v.set("code", lost.error->code);
        v.set("message", lost.error->message);
      }
      on_lock_lost_(v);
    };
    client_.rooms().on_takeover_requested = [this](const protocol::TakeoverRequested& request) {
      if (on_takeover_.isNull()) return;
      val v = val::object();
      v.set("room", request.room);
      v.set("resource", request.resource);
      v.set("by", holder_value(request.by));
      v.set("graceMs", static_cast<double>(request.grace_ms));
      on_takeover_(v);
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
  void set_token(const std::string& token) { client_.set_token(token); }
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

  // ---- rooms, presence, locks (tandem/rooms.h); JSON text in, JS objects or JSON text out ----

  // onChange(room, {members, presence, locks}), onLockLost({room, resource, reason, fence,
  // holder?, code?, message?}), onTakeover({room, resource, by: {user, name, color}, graceMs}).
  void set_room_handlers(val on_change, val on_lock_lost, val on_takeover) {
    on_room_change_ = std::move(on_change);
    on_lock_lost_ = std::move(on_lock_lost);
    on_takeover_ = std::move(on_takeover);
  }

  // presence_text: "" or a whole presence message {"type":"presence","room","state"} (the JS
  // side builds it, so the core's decoder validates the state). done(code, message, subscribedJson).
  val join(const std::string& room, const std::string& presence_text, val done) {
    std::optional<protocol::Presence> presence;
    if (!presence_text.empty()) {
      auto parsed = parse_presence(presence_text);
      if (!parsed) return outcome_error(parsed.error().code, parsed.error().message);
      presence = parsed->state;
    }
    client_.rooms().join(room, std::move(presence), [done](Result<protocol::Subscribed> answer) {
      if (answer) done(val::null(), val::null(), protocol::encode_server(*answer));
      else done(answer.error().code, answer.error().message, val::null());
    });
    return outcome_ok();
  }

  void leave(const std::string& room, val done) {
    client_.rooms().leave(room, ack_callback(std::move(done)));
  }

  // presence_text: a whole presence message (see join). -> {ok, status} or {ok:false, code, message}
  val set_presence(const std::string& presence_text) {
    auto parsed = parse_presence(presence_text);
    if (!parsed) return outcome_error(parsed.error().code, parsed.error().message);
    val outcome = outcome_ok();
    outcome.set("status", std::string(to_string(client_.rooms().set_presence(parsed->room, parsed->state))));
    return outcome;
  }

  // ttl_ms <= 0: the default lease. done(code, message, {outcome, fence, expiresAt, holder?}).
  void lock(const std::string& room, const std::string& resource, double ttl_ms, val done) {
    std::optional<std::int64_t> ttl;
    if (ttl_ms > 0) ttl = static_cast<std::int64_t>(ttl_ms);
    client_.rooms().lock(room, resource, ttl, lock_callback(std::move(done)));
  }
  void takeover(const std::string& room, const std::string& resource, val done) {
    client_.rooms().request_takeover(room, resource, lock_callback(std::move(done)));
  }
  void unlock(const std::string& room, const std::string& resource, val done) {
    client_.rooms().unlock(room, resource, ack_callback(std::move(done)));
  }

  // data_text: JSON text of the data, "" for none (the core checks it and the event name).
  val broadcast(const std::string& room, const std::string& event, const std::string& data_text, bool self, val done) {
    std::optional<std::string> data;
    if (!data_text.empty()) data = data_text;
    if (!done.isNull() && !done.isUndefined()) {
      client_.rooms().broadcast(room, event, std::move(data), self, acked_callback(std::move(done)));
      return outcome_ok();
    }
    const Result<SendStatus> sent = client_.rooms().broadcast(room, event, std::move(data), self);
    if (!sent) return outcome_error(sent.error().code, sent.error().message);
    if (sent.value() != SendStatus::Sent)
      return outcome_error(kNotOpen, std::string("not sent: not connected or ") + room + " not joined yet (state " +
                                         to_string(client_.state()) + ")");
    return outcome_ok();
  }

  // One page of the member list (PROTOCOL.md §7 presence_list); after "" = from the start,
  // limit <= 0 = the server's page size. done(code, message, presence_list JSON text).
  void list_members(const std::string& room, const std::string& after, double limit, val done) {
    std::optional<std::string> from;
    if (!after.empty()) from = after;
    std::optional<std::int64_t> count;
    if (limit > 0) count = static_cast<std::int64_t>(limit);
    client_.rooms().list_members(room, std::move(from), count, [done](Result<protocol::PresenceListPage> page) {
      if (page) done(val::null(), val::null(), protocol::encode_server(*page));
      else done(page.error().code, page.error().message, val::null());
    });
  }

  // The replica as protocol JSON text (JS parses it): a presence_state / lock_state message,
  // or null when the room is not joined. The presence_state always carries the user count
  // (the server's in a crowd), and `partial` in a crowd.
  val room_members(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return val::null();
    protocol::PresenceSnapshot snapshot{room, {}, replica->member_count(), replica->members_partial()};
    for (const auto& [id, member] : replica->members())
      snapshot.members.push_back(protocol::PresenceMember{member.user, member.metas});
    return val(protocol::encode_server(snapshot));
  }
  val room_locks(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return val::null();
    protocol::LockState state{room, seq_of(*replica), {}};
    for (const auto& [resource, info] : replica->locks()) state.locks.push_back(info);
    return val(protocol::encode_server(state));
  }
  val room_document(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return val::null();
    const WorkflowDocument& document = replica->document();
    return val(protocol::encode_server(
        protocol::DocSnapshot{room, seq_of(*replica), document.nodes(), document.edges()}));
  }
  val room_chat(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return val::null();
    return val(protocol::encode_server(protocol::ChatHistory{
        room, seq_of(*replica), {replica->chat().begin(), replica->chat().end()}}));
  }
  val room_typing(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return val::null();
    val typing = val::array();
    for (const auto& [user, name] : replica->typing()) {
      val entry = val::object();
      entry.set("user", user);
      entry.set("name", name);
      typing.call<void>("push", entry);
    }
    return typing;
  }
  val room_executions(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return val::null();
    std::vector<const protocol::ExecutionUpdate*> updates;
    for (const auto& [execution, update] : replica->executions()) updates.push_back(&update);
    return val(json_array(updates));
  }
  val room_stream(const std::string& room) const {
    const RoomReplica* replica = client_.rooms().replica(room);
    if (!replica) return val::null();
    std::vector<const protocol::StreamEvent*> events;
    for (const auto& event : replica->stream()) events.push_back(&event);
    return val(json_array(events));
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
  val on_room_change_ = val::null();
  val on_lock_lost_ = val::null();
  val on_takeover_ = val::null();
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
      .function("setToken", &BrowserClient::set_token)
      .function("tick", &BrowserClient::tick)
      .function("snapshot", &BrowserClient::snapshot)
      .function("send", &BrowserClient::send)
      .function("request", &BrowserClient::request)
      .function("setRoomHandlers", &BrowserClient::set_room_handlers)
      .function("join", &BrowserClient::join)
      .function("leave", &BrowserClient::leave)
      .function("setPresence", &BrowserClient::set_presence)
      .function("lock", &BrowserClient::lock)
      .function("takeover", &BrowserClient::takeover)
      .function("unlock", &BrowserClient::unlock)
      .function("broadcast", &BrowserClient::broadcast)
      .function("roomMembers", &BrowserClient::room_members)
      .function("listMembers", &BrowserClient::list_members)
      .function("roomLocks", &BrowserClient::room_locks)
      .function("roomDocument", &BrowserClient::room_document)
      .function("roomChat", &BrowserClient::room_chat)
      .function("roomTyping", &BrowserClient::room_typing)
      .function("roomExecutions", &BrowserClient::room_executions)
      .function("roomStream", &BrowserClient::room_stream);
}
