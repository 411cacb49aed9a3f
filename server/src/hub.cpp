// server/src/hub.cpp — connection registry, auth gate, dispatch, outbound queues (see hub.h).
#include "hub.h"

#include "tandem/json.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <unordered_set>
#include <utility>
#include <vector>

#include "endpoint.h"
#include "engine/cluster_message.h"
#include "engine/local_broker.h"
#include "handlers/handlers.h"
#include "locks/lock_table.h"
#include "log.h"
#include "presence/presence_book.h"
#include "rooms/room_access.h"
#include "version.h"
#include "webhooks/delivery_thread.h"
#include "webhooks/outbox.h"
#include "ydocs/ydocs.h"

namespace tandem::server {

namespace {
constexpr std::size_t kMaxCloseReasonBytes = 123;  // RFC 6455 §5.5: 125-byte control payload - code

// An HTTP API error body (as http_api.h's json_error writes it).
std::string json_error_body(std::string_view code, std::string_view message) {
  json::JsonWriter body;
  body.str("error", code).str("message", message);
  return body.finish();
}

// The room a client message is about; null for those about none (auth, ping).
const std::string* room_named_by(const protocol::ClientMessage& message) {
  return std::visit(
      [](const auto& m) -> const std::string* {
        if constexpr (requires { m.room.size(); }) {
          return &m.room;
        } else {
          return nullptr;
        }
      },
      message);
}

// What one loop pass ships to a remote member's instance at most per take (everything queued).
constexpr std::size_t kShipBudget = std::size_t{1} << 30;

template <class... Ts>
struct Overloaded : Ts... { using Ts::operator()...; };
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;
}

std::string close_reason(std::string_view reason) {
  // Keep the longest prefix that is valid UTF-8 and fits the 123 bytes a close frame allows:
  // reasons may quote client input (a token's alg), and a peer must fail a connection whose
  // close reason is not UTF-8 (RFC 6455 §8.1), turning a 4401 into a retrying 1006.
  std::size_t keep = 0;
  while (keep < reason.size()) {
    const auto lead = static_cast<unsigned char>(reason[keep]);
    const std::size_t len = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || keep + len > kMaxCloseReasonBytes || keep + len > reason.size()) break;
    if (!json::is_valid_utf8(reason.substr(keep, len))) break;
    keep += len;
  }
  return std::string(reason.substr(0, keep));
}

// ---- HandlerContext / HandlerRegistry -------------------------------------------------------

void HandlerContext::reply(protocol::ServerMessage message) {
  hub.send(connection, protocol::ServerFrame{frame.id, std::move(message)});
}

bool HandlerContext::require_member(const std::string& room) {
  if (hub.rooms().is_member(connection.id, room)) return true;
  error(protocol::errc::not_subscribed, "not subscribed to \"" + room + "\"");
  return false;
}

void HandlerContext::reply_after_commit(protocol::ServerMessage message) {
  hub.send_after_commit(connection, protocol::ServerFrame{frame.id, std::move(message)});
}

void HandlerContext::ack() {
  if (!frame.id) return;
  hub.remember_applied(connection, *frame.id, false);
  reply(protocol::Ack{});
}

void HandlerContext::ack_after_commit() {
  if (!frame.id) return;
  hub.remember_applied(connection, *frame.id, true);
  reply_after_commit(protocol::Ack{});
}

void HandlerContext::error(std::string_view code, std::string message) {
  hub.protocol_error(connection, Error{std::string(code), std::move(message)}, frame.id, now);
}

const HandlerRegistry::Handler* HandlerRegistry::find(std::string_view type) const {
  auto it = handlers_.find(std::string(type));
  return it == handlers_.end() ? nullptr : &it->second;
}

// ---- Hub ------------------------------------------------------------------------------------

namespace {

locks::LockSettings lock_settings(const Settings& s, store::Store* store) {
  locks::LockSettings ls;
  ls.ttl = Millis(s.lock_ttl_ms);
  ls.ttl_min = Millis(s.lock_ttl_min_ms);
  ls.ttl_max = Millis(s.lock_ttl_max_ms);
  ls.grace = Millis(s.lock_grace_ms);
  ls.max_locks_per_user = static_cast<std::size_t>(s.max_locks_per_user);
  // Fences keep growing across restarts: start after the highest one ever handed out.
  if (store) {
    auto high = store->fence_high_water();
    if (high) {
      ls.fences_after = *high;
    } else {
      LOG_ERROR("locks: cannot read the fence high-water mark (%s); fences restart at 1", high.error().message.c_str());
    }
  }
  return ls;
}

}  // namespace

Hub::Hub(const Settings& settings, IdSource& ids, EdgeWaker& waker, const Registration& registration,
         store::Store* store)
    : settings_(settings),
      ids_(ids),
      waker_(waker),
      rooms_(static_cast<std::size_t>(settings.max_rooms)),
      store_(store),
      locks_(std::make_unique<locks::LockTable>(lock_settings(settings, store))),
      presence_(std::make_unique<PresenceBook>()),
      broker_(std::make_unique<LocalBroker>(*this)),
      ydocs_(std::make_unique<YDocs>(*this)),
      sessions_(Millis(settings.session_resume_ms), static_cast<std::size_t>(settings.dedup_window)) {
  if (registration) {
    registration(handlers_);
  } else {
    handlers::register_all(handlers_);
  }
  rooms_.attach_store(store_, [this]() -> store::WriteBatch& { return writes(); },
                      static_cast<std::size_t>(settings.recovery_history),
                      [this] { settle_commit(last_now_.mono); });
  rooms_.set_known_bots(split_list(settings.bots));
  if (store_)
    committer_ = std::make_unique<store::CommitThread>(*store_, settings.store_commit_thread,
                                                       [this] { waker_.commit_finished(); });
  if (auto endpoints = webhooks::parse_webhooks(settings.webhooks); store_ && endpoints && !endpoints.value().empty()) {
    webhooks::OutboxSettings hooks;
    hooks.batch_max = static_cast<std::size_t>(settings.webhook_batch_max);
    hooks.max_attempts = settings.webhook_max_attempts;
    hooks.retry_initial = Millis(settings.webhook_retry_initial_ms);
    hooks.retry_max = Millis(settings.webhook_retry_max_ms);
    hooks.max_backlog = static_cast<std::size_t>(settings.webhook_max_backlog);
    hooks.timeout = Millis(settings.webhook_timeout_ms);
    auto jitter = [random = std::minstd_rand(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(0.0, 1.0)(random);
    };
    outbox_ = std::make_unique<webhooks::Outbox>(std::move(endpoints).value(), hooks, std::move(jitter),
                                                 [] {
                                                   return std::chrono::duration_cast<std::chrono::milliseconds>(
                                                              std::chrono::system_clock::now().time_since_epoch())
                                                       .count();
                                                 });
    // What earlier processes gave up, for the admin API (the loop does not run yet: the store is ours).
    if (auto letters = store_->webhook_dead_letters(hooks.dead_letters_kept); letters) {
      outbox_->remember_dead_letters(std::move(letters).value());
    } else {
      LOG_ERROR("webhooks: cannot read the dead letters: %s", letters.error().message.c_str());
    }
    deliveries_ = std::make_unique<webhooks::DeliveryThread>(webhooks::make_curl_http_poster(),
                                                             [this] { waker_.deliveries_answered(); });
    rooms_.set_on_webhooks_read([this](const std::string& room, const store::RoomRecord& record) {
      outbox_->loaded(room, record.seq, record.webhook_cursors, record.webhook_backlog);
    });
    metrics_.set_webhook_source([this] {
      const webhooks::OutboxCounters& c = outbox_->counters();
      return WebhookFigures{c.posts_ok,        c.posts_failed,         c.events_delivered, c.dead_letters,
                            c.events_given_up, c.latency_ms_sum,       outbox_->backlog()};
    });
    for (const webhooks::WebhookEndpoint& endpoint : outbox_->endpoints())
      LOG_INFO("webhooks: endpoint %s -> %s (%zu room pattern(s))", endpoint.name.c_str(),
               webhooks::shown_url(endpoint.url).c_str(), endpoint.rooms.size());
  }
  // A room whose members all left stays live while it has locks: their release is a room event too.
  rooms_.set_keep_alive([this](const std::string& room) { return locks_->has_locks_in(room); });
  rooms_.set_on_fences_read([this](std::int64_t high_water) { locks_->fences_after(high_water); });
  // The rooms gauge and the admin room list read the registry as it is when asked.
  metrics_.set_room_lister([this] {
    std::vector<RoomSummary> rooms;
    rooms_.for_each_room([&](const Room& room) {
      std::unordered_set<std::string_view> users;
      for (ConnectionId member : room.members)
        if (const Connection* c = find(member)) users.insert(c->user.id);
      rooms.push_back(RoomSummary{room.name, users.size(), room.members.size()});
    });
    return rooms;
  });
}

Hub::~Hub() = default;

ConnectionId Hub::open(const OpenRequest& request, Now now) {
  last_now_ = now;
  const ConnectionId id = next_id_++;
  Connection& c = connections_[id];
  c.id = id;
  c.wire = request.wire;
  c.ydoc = request.ydoc;
  c.wire_id = "c" + std::to_string(id) + wire_suffix_;
  c.peer = request.peer;
  c.presented_session = request.session;
  c.opened_at = now.mono;
  LOG_DEBUG_CTX(c.log_fields(), "%s: connected from %s", c.wire_id.c_str(), c.peer.c_str());

  if (shutting_down_) {
    close(c, protocol::close::restart, "restart");
  } else if (c.wire != Wire::Tandem) {
    ydocs_->opened(c, request, now);
    if (c.auth == AuthState::Pending && !c.close)
      auth_deadlines_.emplace_back(now.mono + Millis(settings_.auth_timeout_ms), id);
  } else if (request.token) {
    if (needs_reads_to_authenticate(*request.token, request.session, now)) {
      park(c, {*request.token, Connection::ParkedInput::Kind::TokenAtUpgrade});
    } else {
      authenticate(c, *request.token, request.session, now);
    }
  } else {
    auth_deadlines_.emplace_back(now.mono + Millis(settings_.auth_timeout_ms), id);
  }
  return id;
}

void Hub::receive(ConnectionId id, std::string_view text, Now now, MessageKind kind) {
  Connection* c = find(id);
  last_now_ = now;
  if (!c || c->close) return;  // closing: the rest of its input no longer matters
  if (!c->remote) metrics_.message_in(text.size());  // a forwarded frame was counted where it arrived
  if (c->wire != Wire::Tandem) return receive_yjs(*c, text, now);
  if (kind == MessageKind::Binary) {
    // Yjs documents over the Tandem connection (ydocs/): only once it is authenticated.
    if (c->auth == AuthState::Pending) return close(*c, protocol::close::unauthorized, "authenticate first");
    return receive_yjs(*c, text, now);
  }

  if (text.size() > static_cast<std::size_t>(settings_.max_frame_bytes)) {
    refuse(id, FrameProblem::TooBig, text.size(), now);
    return;
  }
  // The rate limit, at the edge: a frame forwarded from another instance was counted there.
  if (!c->remote && c->auth == AuthState::Authenticated &&
      !c->rate.take(now.mono, settings_.rate_per_sec, settings_.rate_burst)) {
    rate_limited(*c, text, now);
    return;
  }
  if (!c->parked.empty()) {
    // Behind input waiting for the store: it waits too. What it will need is read with the
    // rest of this pass's reads, so everything parked now resumes together.
    if (auto frame = protocol::decode_client(text)) needs_reads(*c, frame.value(), now);
    park(*c, {std::string(text)});
    return;
  }
  if (!handle(*c, text, now)) park(*c, {std::string(text)});
}

// A Yjs connection's binary message: the same bounds as a Tandem message (max_frame_bytes, the
// rate limit), answered by a close instead of an error (the Yjs protocols have none). A message
// over the rate closes at once (4429): a dropped update would be lost to the others until the
// client's next sync, which its reconnect makes at once (its answer to our empty step 1 carries
// all it has).
void Hub::receive_yjs(Connection& c, std::string_view bytes, Now now) {
  if (bytes.size() > static_cast<std::size_t>(settings_.max_frame_bytes)) return refuse(c.id, FrameProblem::TooBig, bytes.size(), now);
  // A message forwarded from another instance was counted there.
  if (!c.remote && c.auth == AuthState::Authenticated &&
      !c.rate.take(now.mono, settings_.rate_per_sec, settings_.rate_burst)) {
    metrics_.protocol_error(protocol::errc::rate_limited);
    close(c, protocol::close::rate_limited,
          "over " + std::to_string(settings_.rate_per_sec) + " messages per second (rate_per_sec)");
    return;
  }
  if (!c.parked.empty() || !ydocs_->receive(c, bytes, now))
    park(c, {std::string(bytes), Connection::ParkedInput::Kind::YjsMessage});
}

bool Hub::handle(Connection& c, std::string_view text, Now now) {
  std::optional<std::string> request_id;
  auto frame = protocol::decode_client(text, &request_id);

  // The auth gate: before authentication only a well-formed `auth` passes. Anything else from
  // an unauthenticated peer ends the connection rather than earning it error replies.
  if (c.auth == AuthState::Pending) {
    if (!frame) {
      close(c, protocol::close::unauthorized, "authenticate first: " + frame.error().message);
      return true;
    }
    if (!std::holds_alternative<protocol::Auth>(frame->message)) {
      close(c, protocol::close::unauthorized, "authenticate first");
      return true;
    }
  }
  if (!frame) {
    protocol_error(c, frame.error(), request_id, now);
    return true;
  }
  const char* type = protocol::type_of(frame->message);
  const HandlerRegistry::Handler* handler = handlers_.find(type);
  if (!handler) {
    // The codec knows the type but this server has no feature for it (yet).
    protocol_error(c, Error{std::string(protocol::errc::unknown_type),
                            "message type \"" + std::string(type) + "\" is not handled by this server"},
                   request_id, now);
    return true;
  }
  if (directory_ && c.auth == AuthState::Authenticated) {
    if (const std::string* room = room_named_by(frame->message)) {
      switch (route(c, *room, frame->message, text, request_id, now)) {
        case Route::Here: break;
        case Route::Elsewhere: return true;
        case Route::Wait: return false;
      }
    }
  }
  if (needs_reads(c, frame.value(), now)) return false;
  if (request_id && sessions_.was_applied(c.session, *request_id)) {
    // A resend (after a reconnect) of a request this session already applied: answered again,
    // not applied twice. Held like any durable answer: the original may not be stored yet.
    send_after_commit(c, protocol::ServerFrame{request_id, protocol::Ack{true}});
    return true;
  }
  HandlerContext ctx{*this, c, frame.value(), now};
  (*handler)(ctx);
  return true;
}

void Hub::refuse(ConnectionId id, FrameProblem problem, std::size_t bytes, Now now) {
  Connection* c = find(id);
  if (!c || c->close) return;
  switch (problem) {
    case FrameProblem::OverHardLimit:
      close(*c, protocol::close::too_big,
            "message over " + std::to_string(settings_.hard_frame_bytes) + " bytes");
      return;
    case FrameProblem::OverPreAuthLimit:
      close(*c, protocol::close::too_big,
            "message over " + std::to_string(settings_.max_preauth_bytes) + " bytes before authentication");
      return;
    case FrameProblem::Unmasked:
      close(*c, protocol::close::websocket_protocol_error, "unmasked frame: clients must mask every frame");
      return;
    case FrameProblem::TooBig:
      if (c->wire != Wire::Tandem) {
        close(*c, protocol::close::too_big,
              "message of " + std::to_string(bytes) + " bytes exceeds max_frame_bytes " +
                  std::to_string(settings_.max_frame_bytes));
        return;
      }
      if (c->auth == AuthState::Pending) {
        close(*c, protocol::close::unauthorized, "authenticate first");
        return;
      }
      protocol_error(*c,
                     Error{std::string(protocol::errc::too_big),
                           "message of " + std::to_string(bytes) + " bytes exceeds max_frame_bytes " +
                               std::to_string(settings_.max_frame_bytes)},
                     std::nullopt, now);
      return;
    case FrameProblem::WrongKind:
      if (c->wire != Wire::Tandem) {
        close(*c, kYjsTextRefused, "text messages are not part of the Yjs protocols: send binary");
        return;
      }
      if (c->auth == AuthState::Pending) {
        close(*c, protocol::close::unauthorized, "authenticate first");
        return;
      }
      protocol_error(*c, Error{std::string(protocol::errc::invalid_message), "binary frames are not supported; send JSON text"},
                     std::nullopt, now);
      return;
  }
}

void Hub::closed(ConnectionId id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  const char* who = c.auth == AuthState::Authenticated ? c.user.id.c_str() : "unauthenticated";
  if (c.close) {
    LOG_DEBUG_CTX(c.log_fields(), "%s: disconnected (%s): closed by the server, %d", c.wire_id.c_str(), who, c.close->code);
  } else {
    LOG_DEBUG_CTX(c.log_fields(), "%s: disconnected (%s): closed by the peer or the network", c.wire_id.c_str(), who);
  }
  if (!c.close) c.close = CloseRequest{protocol::close::abnormal.code, "gone", QueuedFrames::Drop};  // no more sends
  const bool tandem = c.wire == Wire::Tandem;  // a Yjs connection has no rooms or session: its documents only
  if (tandem)
    for (const auto& hook : handlers_.disconnect_hooks()) hook(*this, c);
  ydocs_->closed(c);  // a Tandem connection may have Yjs documents too
  for (const std::string& owner : c.attached_to)  // its remote memberships end too
    link_->send(owner, cluster::encode(cluster::Detach{directory_->instance(), c.id}));
  if (c.remote) {  // not one of this instance's sockets: not counted, its session lives there
    remote_members_.erase({c.remote->instance, c.remote->connection});
    remote_wire_ids_.erase(c.wire_id);
    if (tandem) sessions_.detach(c.session, c.id, last_now_.mono);
  } else if (c.auth == AuthState::Authenticated) {
    --authenticated_;
    metrics_.user_disconnected(c.user.id);
    if (tandem) sessions_.detach(c.session, c.id, last_now_.mono);
  }
  connections_.erase(it);
}

void Hub::tick(Now now) {
  last_now_ = now;
  sessions_.expire(now.mono);
  while (!auth_deadlines_.empty() && auth_deadlines_.front().first <= now.mono) {
    ConnectionId id = auth_deadlines_.front().second;
    auth_deadlines_.pop_front();
    Connection* c = find(id);
    if (c && c->auth == AuthState::Pending && !c->close)
      close(*c, protocol::close::auth_timeout,
            "no auth within " + std::to_string(settings_.auth_timeout_ms) + " ms");
  }
  touch_live_sessions(now);
  beat(now);
  renew_rooms(now);
  expire_forwarded_publishes(now);
  for (const auto& hook : handlers_.tick_hooks()) hook(*this, now);
  ydocs_->tick(now);
}

void Hub::touch_live_sessions(Now now) {
  if (!store_) return;
  if (sessions_touched_at_ && now.mono - *sessions_touched_at_ < kLiveSessionTouchInterval) return;
  sessions_touched_at_ = now.mono;
  for (const auto& [id, c] : connections_)
    if (c.auth == AuthState::Authenticated && !c.session.empty())
      writes().add(store::WriteBatch::PutSession{{c.session, c.user.id}});
}

store::WriteBatch& Hub::writes() {
  expect_pass();
  return batch_;
}

void Hub::hold(Connection& c, HeldFrame frame) {
  expect_pass();
  ++c.held_frames;
  held_.push_back(std::move(frame));
}

void Hub::send_after_commit(Connection& c, protocol::ServerFrame frame) {
  if (!store_) return send(c, frame);  // nothing to wait for
  if (c.close) return;
  std::optional<std::string> id = frame.id;
  hold(c, HeldFrame{c.id, std::make_shared<const std::string>(protocol::encode(frame)), std::move(id), true});
}

void Hub::send_after_commit(Connection& c, Bytes frame, MessageKind kind) {
  if (!store_) return kind == MessageKind::Binary ? send_binary(c, std::move(frame)) : send(c, std::move(frame));
  if (c.close) return;
  hold(c, HeldFrame{c.id, std::move(frame), std::nullopt, false, kind});
}

bool Hub::has_work() const {
  return !batch_.empty() || !held_.empty() || !commit_waiters_.empty() || in_flight_ || !stored_.empty() ||
         failure_ || !reads_.empty() || !read_waiters_.empty() || !parked_connections_.empty();
}

void Hub::expect_pass() {
  if (!has_work()) waker_.commit_soon();
}

void Hub::commit() {
  // Input resumed after a read may write and read again: repeat while commits succeed (a
  // bounded number of rounds: each resumes everything that waited).
  constexpr int kMaxRounds = 16;
  receive_from_cluster();
  for (int round = 0; round < kMaxRounds && has_work() && !store_failed_; ++round) {
    commit_at(last_now_.mono, false);
    settle_commit(last_now_.mono);  // what it started, written before the next round
    act_on_outcome(last_now_.mono);
    if (failed_commits_ > 0) break;
  }
  flush_to_cluster();
}

void Hub::commit(Millis now) {
  receive_from_cluster();
  pump_webhooks(now);
  commit_at(now, true);
  flush_to_cluster();
}

void Hub::after_commit(std::function<void(bool stored)> then) {
  if (!store_) return then(true);
  if (store_failed_) return then(false);
  expect_pass();
  commit_waiters_.push_back(std::move(then));
}

void Hub::commit_at(Millis now, bool paced) {
  // Given up: the server is stopping. What handlers still write (disconnects) is not stored.
  if (store_failed_) {
    batch_.clear();
    return;
  }
  collect_finished_commit(now);
  if (!has_work() || store_failed_) return;
  // At most one store round trip per pass, so the loop goes back to every socket in between:
  // the commit when there are writes, else the reads; reads that waited behind a commit go
  // first in the next pass, which the edge runs at once. Reads wait for a commit under way
  // (the store is its thread's meanwhile): its end wakes the loop and defers them to the front.
  if (has_reads() && (batch_.empty() || reads_deferred_)) {
    if (in_flight_) return;
    reads_deferred_ = false;
    read_and_resume();
    if (has_work()) waker_.commit_soon();
    return;
  }
  // One commit at a time: the next batch gathers meanwhile, and the end of this one wakes the
  // loop (EdgeWaker::commit_finished), whose pass starts it.
  if (in_flight_) return;
  if (store_ && !batch_.empty()) {
    if (paced && retry_at_ && now < *retry_at_) return;  // failing: not yet
    in_flight_ = CommitInFlight{std::exchange(held_, {}), std::exchange(commit_waiters_, {}), {}};
    if (outbox_)
      for (const auto& write : batch_.writes())
        if (const auto* event = std::get_if<store::WriteBatch::AppendEvent>(&write); event && outbox_->follows(event->room))
          in_flight_->hooked.push_back({event->room, event->seq, event->json});
    const std::size_t writes = batch_.writes().size();
    committer_->start(std::exchange(batch_, {}));
    // The next pass gathers as much again: room for it now, not by doubling as it comes.
    held_.reserve(in_flight_->held.size());
    batch_.reserve(writes);
    collect_finished_commit(now);  // inline: already written, its answers go in this pass
    return;
  }
  // Nothing to write and nothing under way: what waited behind the last commit goes now.
  release_held(true);
  for (auto& then : std::exchange(commit_waiters_, {})) then(true);
  rooms_.forget_idle();  // safe now: a reload reads a store that is not behind memory
  ydocs_->forget_idle();  // what they held goes (its lease too)
}

void Hub::collect_finished_commit(Millis now) {
  if (committer_ && committer_->finished()) take_outcome(committer_->collect(), now);
  act_on_outcome(now);
}

void Hub::take_outcome(store::CommitThread::Outcome outcome, Millis now) {
  CommitInFlight done = std::move(*in_flight_);
  in_flight_.reset();
  metrics_.store_commit(outcome.writes, outcome.result.ok());
  if (outcome.result) {
    if (failed_commits_ > 0) LOG_INFO("store: commits succeed again after %d failure(s)", failed_commits_);
    failed_commits_ = 0;
    first_failure_at_.reset();
    retry_at_.reset();
    stored_.push_back(std::move(done));
    return;
  }
  // Memory has moved on (seqs, fences, the lock table): dropping the writes would let the
  // store fall behind for good. Take them back, with everything held for them, in front of
  // what came since, and try again.
  outcome.batch.append(std::exchange(batch_, {}));
  batch_ = std::move(outcome.batch);
  held_.insert(held_.begin(), std::make_move_iterator(done.held.begin()), std::make_move_iterator(done.held.end()));
  commit_waiters_.insert(commit_waiters_.begin(), std::make_move_iterator(done.waiters.begin()),
                         std::make_move_iterator(done.waiters.end()));
  ++failed_commits_;
  if (!first_failure_at_) first_failure_at_ = now;
  retry_at_ = now + kStoreRetryDelay;
  LOG_ERROR("store commit of %zu write(s) failed (%d in a row, for %lld ms): %s", outcome.writes, failed_commits_,
            static_cast<long long>((now - *first_failure_at_).count()), outcome.result.error().message.c_str());
  failure_ = outcome.result.error();
}

void Hub::act_on_outcome(Millis now) {
  const bool stored_some = !stored_.empty();
  for (CommitInFlight& done : std::exchange(stored_, {})) {
    release_frames(std::move(done.held), true);
    for (auto& then : done.waiters) then(true);
    for (const HookedEvent& event : done.hooked) outbox_->stored(event.room, event.seq, event.json);
    if (!done.hooked.empty()) waker_.commit_soon();  // their POSTs start in the next pass
  }
  if (failure_) {
    const Error error = std::move(*failure_);
    failure_.reset();
    if (directory_ && error.message.find("room_claimed_by_another_writer") != std::string::npos) {
      // Several instances: another instance has taken a room this batch writes (this one was
      // paused past its lease, or the directory lost its leases). Retrying cannot succeed.
      std::vector<std::string> written;
      for (const auto& write : batch_.writes())
        if (std::string name = store::claimed_name(write); !name.empty()) written.push_back(std::move(name));
      lose_rooms(written, "moved to another instance");
      return;
    }
    const Millis failing_for = now - first_failure_at_.value_or(now);
    if (failed_commits_ < kStoreRetries || failing_for < Millis(settings_.store_give_up_ms)) return;
    LOG_ERROR("store: giving up after %d failed commits over %lld ms; closing every connection", failed_commits_,
              static_cast<long long>(failing_for.count()));
    store_failed_ = true;
    batch_.clear();
    release_held(false);
    give_up_waiters();
    for (auto& [id, c] : connections_) close(c, protocol::close::internal_error, "store failure");
    return;
  }
  if (!stored_some || failed_commits_ > 0) return;
  // Idle rooms go, but those the next batch writes: the store is behind memory there until
  // that batch is stored.
  std::unordered_set<std::string_view> written;
  for (const auto& write : batch_.writes())
    if (const std::string_view room = store::room_of(write); !room.empty()) written.insert(room);
  rooms_.forget_idle([&](const std::string& room) { return written.contains(room); });
  ydocs_->forget_idle();  // a document with unstored updates stays (YDocs counts them)
  if (has_reads() && !in_flight_) {
    reads_deferred_ = true;
    waker_.commit_soon();
  }
}

void Hub::pump_webhooks(Millis now) {
  if (!outbox_ || store_failed_) return;
  for (const webhooks::DeliveryOutcome& outcome : deliveries_->take_outcomes()) outbox_->answered(outcome, now);
  const bool had_writes = !batch_.empty();
  deliveries_->send(outbox_->pump(now, batch_));
  if (!had_writes && !batch_.empty()) waker_.commit_soon();
}

void Hub::stop_webhooks() {
  if (!outbox_) return;
  deliveries_->stop();  // no post under way after this, and no wake-ups from its thread
  if (store_failed_) return;
  for (const webhooks::DeliveryOutcome& outcome : deliveries_->take_outcomes())
    outbox_->answered(outcome, last_now_.mono);
  // The cursors the answers moved and the dead letters, for the last commit; no new jobs.
  outbox_->pump(last_now_.mono, batch_, /*make_jobs=*/false);
}

void Hub::settle_commit(Millis now) {
  if (committer_ && committer_->busy()) take_outcome(committer_->collect(), now);
}

bool Hub::has_reads() const {
  return !reads_.empty() || !read_waiters_.empty() || !parked_connections_.empty() || !owners_needed_.empty();
}

// ---- store reads ------------------------------------------------------------------------------

bool Hub::needs_reads(const Connection& c, const protocol::ClientFrame& frame, Now now) {
  if (const auto* auth = std::get_if<protocol::Auth>(&frame.message)) {
    if (c.auth == AuthState::Authenticated) return false;  // refused by the handler
    return needs_reads_to_authenticate(auth->token, auth->session ? auth->session : c.presented_session, now);
  }
  if (!store_) return false;
  if (const auto* subscribe = std::get_if<protocol::Subscribe>(&frame.message)) {
    // Only rooms the token allows are read: a refused subscribe must not load (and claim) a room.
    if (c.auth != AuthState::Authenticated || room_access(c.rooms, c.user.id, subscribe->room) == RoomAccess::Forbidden)
      return false;
    if (!rooms_.needs_load(subscribe->room)) return false;
    // Several instances: loading a room claims it in the store, so only its owner may. A
    // subscribe whose owner is not known yet (parked behind other input) is routed when it
    // resumes (route: the owner is learned first).
    if (directory_ && !c.remote) {
      auto owner = owners_.find(subscribe->room);
      if (owner == owners_.end() || owner->second != directory_->instance()) return false;
    }
    need_room(subscribe->room);
    return true;
  }
  return false;
}

bool Hub::needs_reads_to_authenticate(std::string_view token, const std::optional<std::string>& session, Now now) {
  if (!store_ && !directory_) return false;
  auto claims = jwt::verify(token, {settings_.jwt_secret, now.wall / 1000, settings_.jwt_leeway_s});
  if (!claims) return false;  // authenticate() refuses it
  bool wait = false;
  // Several instances: the session may have applied requests on other instances since this one
  // last saw it (their ids are in the store), so it is read even when known here.
  if (store_ && session && (directory_ || sessions_.needs_lookup(*session, now.mono)) &&
      !looked_up_sessions_.contains(*session)) {
    need_session(*session);
    wait = true;
  }
  // Every connection joins its user's room once authenticated (handlers/rooms.cpp) — where
  // that room runs: with several instances its owner must be known first, and only the owner
  // loads it.
  const std::string room = user_room(claims->sub);
  if (directory_ && !rooms_.find(room)) {
    auto owner = owners_.find(room);
    if (owner == owners_.end()) {
      need_owner(room);
      return true;  // the session (asked above) and the owner come with the same pass
    }
    if (owner->second != directory_->instance()) return wait;
  }
  if (rooms_.needs_load(room)) {
    need_room(room);
    wait = true;
  }
  return wait;
}

void Hub::need_room(const std::string& room) {
  if (std::find(reads_.rooms.begin(), reads_.rooms.end(), room) != reads_.rooms.end()) return;
  expect_pass();
  reads_.rooms.push_back(room);
}

void Hub::need_session(const std::string& session) {
  if (std::find(reads_.sessions.begin(), reads_.sessions.end(), session) != reads_.sessions.end()) return;
  expect_pass();
  reads_.sessions.push_back(session);
}

void Hub::when_rooms_loaded(const std::vector<std::string>& rooms, std::function<void(bool readable)> then) {
  if (store_failed_) return then(false);  // no pass reads anything any more
  bool wait = false;
  for (const std::string& room : rooms) {
    if (!rooms_.needs_load(room)) continue;
    need_room(room);
    wait = true;
  }
  if (!wait) return then(!store_failed_);
  read_waiters_.push_back(std::move(then));
}

void Hub::when_owners_known(const std::vector<std::string>& rooms, OwnersReader then) {
  auto answer = [this, rooms](OwnersReader& reader) {
    std::vector<std::string> owners;
    for (const std::string& room : rooms) {
      if (!directory_ || rooms_.find(room) != nullptr) {
        owners.push_back(directory_ ? directory_->instance() : std::string());
        continue;
      }
      auto owner = owners_.find(room);
      if (owner == owners_.end() || owner->second.empty())
        return reader(Error{std::string(protocol::errc::internal), "the room directory cannot be reached"});
      owners.push_back(owner->second);
    }
    reader(std::move(owners));
  };
  bool wait = false;
  if (directory_)
    for (const std::string& room : rooms)
      if (rooms_.find(room) == nullptr && !owners_.contains(room)) {
        need_owner(room);
        wait = true;
      }
  if (!wait) return answer(then);
  // Runs in the read phase that learned them, while they are still known (read_and_resume).
  read_waiters_.push_back([answer, then = std::move(then)](bool readable) mutable {
    if (!readable) return then(Error{std::string(protocol::errc::internal), "the store is failing"});
    answer(then);
  });
}

const std::string& Hub::instance() const {
  static const std::string kAlone;
  return directory_ ? directory_->instance() : kAlone;
}

void Hub::need_ydoc(const std::string& doc) {
  if (std::find(reads_.ydocs.begin(), reads_.ydocs.end(), doc) != reads_.ydocs.end()) return;
  expect_pass();
  reads_.ydocs.push_back(doc);
}

void Hub::read_changes(store::ReadRequest::ChangesPage page, ChangesPageReader then) {
  if (!store_) return then(Error{std::string(protocol::errc::internal), "no store"});
  if (store_failed_) return then(Error{std::string(protocol::errc::internal), "the store is failing"});
  expect_pass();
  reads_.change_pages.push_back(std::move(page));
  change_page_readers_.push_back(std::move(then));
}

void Hub::park(Connection& c, Connection::ParkedInput input) {
  if (c.parked.empty()) parked_connections_.push_back(c.id);
  c.parked.push_back(std::move(input));
}

void Hub::read_and_resume() {
  learn_owners();
  if (!reads_.empty()) {
    const store::ReadRequest request = std::exchange(reads_, {});
    auto page_readers = std::exchange(change_page_readers_, {});
    store::ReadAnswers answers = store_->read(request);
    metrics_.store_read(request.rooms.size() + request.sessions.size() + request.change_pages.size() +
                        request.ydocs.size());
    for (std::size_t i = 0; i < request.rooms.size(); ++i) rooms_.loaded(request.rooms[i], std::move(answers.rooms[i]));
    for (std::size_t i = 0; i < request.ydocs.size(); ++i) ydocs_->loaded(request.ydocs[i], std::move(answers.ydocs[i]));
    for (std::size_t i = 0; i < request.sessions.size(); ++i) {
      const std::string& id = request.sessions[i];
      looked_up_sessions_.insert(id);
      auto& found = answers.sessions[i];
      if (!found) {
        // Resumed as a new session: the client sees resumed:false and recovers its rooms.
        LOG_ERROR("store: cannot look up session %s: %s", id.c_str(), found.error().message.c_str());
      } else if (found->has_value()) {
        stored_sessions_.insert_or_assign(id, std::move(**found));
      }
    }
    for (std::size_t i = 0; i < page_readers.size(); ++i) page_readers[i](std::move(answers.change_pages[i]));
  }
  for (auto& then : std::exchange(read_waiters_, {})) then(true);
  for (ConnectionId id : std::exchange(parked_connections_, {}))
    if (Connection* c = find(id)) resume(*c);
  // What nobody used (its input went away) is not kept: a later need reads it again. Owners
  // other than this instance are not kept either: each connection remembers where it
  // forwards a room (Connection::forwarded), and a new one asks again (rooms move).
  if (directory_) {
    std::erase_if(owners_, [&](const auto& known) { return known.second != directory_->instance(); });
    // A document taken for input that went away (its connection closed, or it never sent
    // anything) is not kept: its lease would be renewed for nothing.
    for (const std::string& room : std::exchange(ydoc_owners_learned_, {})) forget_owned(room);
  }
  rooms_.forget_loaded();
  stored_sessions_.clear();
  looked_up_sessions_.clear();
}

void Hub::resume(Connection& c) {
  while (!c.parked.empty()) {
    if (c.close) {  // closing: the rest of its input no longer matters
      c.parked.clear();
      return;
    }
    const Connection::ParkedInput input = c.parked.front();  // a copy: handling it may park more
    bool handled = true;
    switch (input.kind) {
      case Connection::ParkedInput::Kind::TokenAtUpgrade:
        handled = !needs_reads_to_authenticate(input.text, c.presented_session, last_now_);
        if (handled) authenticate(c, input.text, c.presented_session, last_now_);
        break;
      case Connection::ParkedInput::Kind::Adopt: {
        auto stored = stored_sessions_.find(c.session);
        sessions_.adopt(c.session, c.user.id, c.id, last_now_.mono,
                        stored == stored_sessions_.end() ? nullptr : &stored->second);
        for (const auto& hook : handlers_.session_continued_hooks()) hook(*this, c, last_now_);
        break;
      }
      case Connection::ParkedInput::Kind::AutomaticJoin:
        handled = join_remote_member(c, input.text);
        break;
      case Connection::ParkedInput::Kind::Message:
        handled = handle(c, input.text, last_now_);
        break;
      case Connection::ParkedInput::Kind::YjsMessage:
        handled = ydocs_->receive(c, input.text, last_now_);
        break;
    }
    if (!handled) {  // needs another read (rare: what it needed changed meanwhile): next pass
      parked_connections_.push_back(c.id);
      return;
    }
    c.parked.pop_front();
  }
}

void Hub::give_up_waiters() {
  for (auto& then : std::exchange(commit_waiters_, {})) then(false);
  for (auto& then : std::exchange(read_waiters_, {})) then(false);
  for (auto& then : std::exchange(change_page_readers_, {}))
    then(Error{std::string(protocol::errc::internal), "the store is failing"});
  reads_ = {};
  for (ConnectionId id : std::exchange(parked_connections_, {}))
    if (Connection* c = find(id)) c->parked.clear();
}

void Hub::release_held(bool stored) { release_frames(std::exchange(held_, {}), stored); }

void Hub::release_frames(std::vector<HeldFrame> held, bool stored) {
  // Counted off first: sends below may close connections. Frames a connection has held for a
  // later commit stay behind these (queue() does not look at held_frames).
  for (const HeldFrame& h : held)
    if (Connection* c = find(h.connection)) --c->held_frames;
  for (HeldFrame& h : held) {
    Connection* c = find(h.connection);
    if (!c) continue;  // gone meanwhile: a resend is answered from what was stored
    if (stored) {
      send_held(*c, std::move(h.frame), h.kind);
    } else if (h.is_reply) {
      send_held(*c, std::make_shared<const std::string>(protocol::encode(protocol::ServerFrame{
                        h.reply_id, protocol::ErrorReply{std::string(protocol::errc::internal),
                                                         "the change could not be stored", std::nullopt}})),
                MessageKind::Text);
    } else if (c->close) {
      wake(*c);  // dropped, but its close may have waited for it (close_request)
    }
  }
}

// A held frame predates any close of its connection (nothing is held once a close is set), so
// a close that flushes its queue (4429 after a flood, 4400) sends it first: the pass applied
// the change, and its ack must not be lost to a close decided later in the same pass.
void Hub::send_held(Connection& c, Bytes frame, MessageKind kind) {
  if (!c.close) return queue(c, std::move(frame), nullptr, kind);
  if (c.close->queued == QueuedFrames::Flush) c.outbound.push(std::move(frame), nullptr, kind);
  wake(c);  // its close may have waited for this frame (close_request)
}

void Hub::shutdown() {
  shutting_down_ = true;
  for (auto& [id, c] : connections_) close(c, protocol::close::restart, "restart");
}

Bytes Hub::next_frame(ConnectionId id, MessageKind& kind) {
  Connection* c = find(id);
  if (!c) return nullptr;
  c->wake_pending = false;  // the edge is draining; new frames after this need a new wake
  if (c->outbound.empty()) return nullptr;

  // Take as many queued messages as fit into one batch frame (at least one).
  kind = c->outbound.take_batch(static_cast<std::size_t>(settings_.max_batch_bytes), batch_parts_);
  const std::size_t count = batch_parts_.size();
  Bytes frame;
  if (count == 1) {
    frame = std::move(batch_parts_[0]);  // no copy: the shared bytes go out as they are
  } else {
    std::vector<std::string_view> parts;
    parts.reserve(count);
    for (const Bytes& part : batch_parts_) parts.emplace_back(*part);
    frame = std::make_shared<const std::string>(protocol::batch(parts));
  }
  batch_parts_.clear();
  metrics_.frame_out(count, frame->size());  // the edge writes every frame it takes
  return frame;
}

const CloseRequest* Hub::close_request(ConnectionId id) const {
  auto it = connections_.find(id);
  if (it == connections_.end() || !it->second.close) return nullptr;
  // A close that flushes waits for the frames held for a commit under way (acks of changes
  // applied before the close was decided): their release wakes the connection again.
  if (it->second.close->queued == QueuedFrames::Flush && it->second.held_frames > 0) return nullptr;
  return &*it->second.close;
}

void Hub::send(Connection& c, Bytes frame, const StateKey& key) {
  if (c.close) return;  // nothing new goes to a connection being closed
  if (c.held_frames > 0) {  // behind frames waiting for the commit: keep the order
    hold(c, HeldFrame{c.id, std::move(frame), std::nullopt, false});
    return;
  }
  queue(c, std::move(frame), key);
}

void Hub::send_binary(Connection& c, Bytes frame) {
  if (c.close) return;
  if (c.held_frames > 0) {
    hold(c, HeldFrame{c.id, std::move(frame), std::nullopt, false, MessageKind::Binary});
    return;
  }
  queue(c, std::move(frame), nullptr, MessageKind::Binary);
}

void Hub::queue(Connection& c, Bytes frame, const StateKey& key, MessageKind kind) {
  // Queue first, then check: a keyed frame may replace an older one and stay within the bound.
  c.outbound.push(std::move(frame), key, kind);
  if (c.outbound.bytes() > static_cast<std::size_t>(settings_.max_outbound_bytes)) {
    LOG_INFO_CTX(c.log_fields(), "%s: %zu bytes queued, closing as slow consumer", c.wire_id.c_str(), c.outbound.bytes());
    close(c, protocol::close::slow_consumer, "slow consumer", QueuedFrames::Drop);
    return;
  }
  wake(c);
}

void Hub::send(Connection& c, const protocol::ServerFrame& frame) {
  send(c, std::make_shared<const std::string>(protocol::encode(frame)));
}

void Hub::close(Connection& c, const protocol::CloseCode& code, std::string_view reason, QueuedFrames queued) {
  if (c.close) return;
  LOG_DEBUG_CTX(c.log_fields(), "%s: closing %d \"%.*s\"", c.wire_id.c_str(), code.code, static_cast<int>(reason.size()),
                reason.data());
  c.close = CloseRequest{code.code, close_reason(reason), queued};
  metrics_.close_sent(code.code);
  if (queued == QueuedFrames::Drop) {
    c.outbound.clear();
    if (c.remote) return wake(c);  // its instance closes the socket (flush_to_cluster)
    waker_.abandon(c.id);  // wake() alone waits for a writable socket, which may never come
    return;
  }
  wake(c);
}

void Hub::authenticate(Connection& c, std::string_view token, const std::optional<std::string>& session, Now now,
                       std::optional<std::string> request_id) {
  auto claims = jwt::verify(token, {settings_.jwt_secret, now.wall / 1000, settings_.jwt_leeway_s});
  if (!claims) {
    LOG_DEBUG_CTX(c.log_fields(), "%s: token refused: %s", c.wire_id.c_str(), claims.error().message.c_str());
    close(c, protocol::close::unauthorized, claims.error().message);
    return;
  }
  if (!mark_authenticated(c, *claims)) return;
  // What the store holds about a session forgotten here was read before (needs_reads).
  const store::SessionRecord* stored = nullptr;
  if (session)
    if (auto found = stored_sessions_.find(*session); found != stored_sessions_.end()) stored = &found->second;
  SessionClaim claim = sessions_.claim(session, c.user.id, c.id, ids_, now.mono, stored);
  // New, or continued: either way it is in use now (a continued one may be days old).
  if (store_) writes().add(store::WriteBatch::PutSession{{claim.session, c.user.id}});
  c.session = std::move(claim.session);
  c.session_start = claim.start;
  LOG_DEBUG_CTX(c.log_fields(), "%s: authenticated as %s (%s session)", c.wire_id.c_str(), c.user.id.c_str(),
                claim.start == SessionStart::Resumed ? "resumed" : "new");
  if (claim.replaced) {
    // The client gave up on that connection (half-open, or its watchdog fired) before we did.
    if (Connection* old = find(*claim.replaced))
      close(*old, protocol::close::session_replaced, "session resumed by connection " + c.wire_id, QueuedFrames::Drop);
  }

  protocol::Connected connected;
  connected.connection_id = c.wire_id;
  connected.session = c.session;
  connected.resumed = claim.start == SessionStart::Resumed;
  connected.user = c.user;
  connected.heartbeat_ms = settings_.heartbeat_ms;
  connected.limits = {settings_.max_frame_bytes, settings_.max_rooms, settings_.rate_per_sec};
  connected.server_version = kServerVersion;
  send(c, protocol::ServerFrame{std::move(request_id), std::move(connected)});
  for (const auto& hook : handlers_.authenticated_hooks()) hook(*this, c, now);
  if (claim.start == SessionStart::Resumed) {
    for (const auto& hook : handlers_.session_continued_hooks()) hook(*this, c, now);
    // Several instances: a connection of this session elsewhere (the client gave up on it) goes.
    if (link_) link_->broadcast(cluster::encode(cluster::SessionMoved{directory_->instance(), c.session, c.wire_id}));
  }
}

bool Hub::mark_authenticated(Connection& c, const jwt::Claims& claims) {
  if (metrics_.connections_of(claims.sub) >= static_cast<std::size_t>(settings_.max_connections_per_user)) {
    LOG_INFO_CTX((log::Fields{.conn = c.wire_id, .user = claims.sub}),
                 "%s: refused: %s already has %d connection(s) (max_connections_per_user)", c.wire_id.c_str(),
                 claims.sub.c_str(), settings_.max_connections_per_user);
    close(c, protocol::close::rate_limited,
          "too many connections for this user (max_connections_per_user " +
              std::to_string(settings_.max_connections_per_user) + ")");
    return false;
  }
  c.auth = AuthState::Authenticated;
  ++authenticated_;
  c.user.id = claims.sub;
  metrics_.user_connected(c.user.id);
  c.user.name = claims.name.value_or(claims.sub);
  c.user.color = claims.color.value_or(color_for(c.user.name));
  c.rooms = claims.rooms;
  c.perms = claims.perms;
  c.read_only = claims.read_only;
  return true;
}

void Hub::protocol_error(Connection& c, const Error& error, const std::optional<std::string>& id, Now now) {
  if (c.close) return;
  metrics_.protocol_error(error.code);
  // Only malformed input counts towards max_bad_frames: a refusal of a well-formed request
  // (locked, conflict, forbidden...) is ordinary life for an editor, not abuse.
  const bool malformed = error.code == protocol::errc::bad_json || error.code == protocol::errc::invalid_message ||
                         error.code == protocol::errc::unknown_type || error.code == protocol::errc::too_big;
  if (!malformed) {
    send(c, protocol::ServerFrame{id, protocol::ErrorReply{error.code, error.message, std::nullopt}});
    return;
  }
  std::erase_if(c.bad_frames, [&](Millis at) { return now.mono - at >= kBadFrameWindow; });
  c.bad_frames.push_back(now.mono);
  if (c.bad_frames.size() > static_cast<std::size_t>(settings_.max_bad_frames)) {
    close(c, protocol::close::protocol_violation,
          "more than " + std::to_string(settings_.max_bad_frames) + " bad messages in a minute");
    return;
  }
  send(c, protocol::ServerFrame{id, protocol::ErrorReply{error.code, error.message, std::nullopt}});
}

void Hub::rate_limited(Connection& c, std::string_view text, Now now) {
  metrics_.protocol_error(protocol::errc::rate_limited);
  if (c.rate.violation(now.mono, settings_.max_rate_violations, kRateViolationWindow)) {
    close(c, protocol::close::rate_limited,
          "more than " + std::to_string(settings_.max_rate_violations) + " messages over the rate limit in a minute");
    return;
  }
  std::optional<std::string> request_id;
  (void)protocol::decode_client(text, &request_id);  // for the id the answer carries
  send(c, protocol::ServerFrame{std::move(request_id),
                                protocol::ErrorReply{std::string(protocol::errc::rate_limited),
                                                     "over " + std::to_string(settings_.rate_per_sec) +
                                                         " messages per second: dropped",
                                                     std::nullopt}});
}

void Hub::remember_applied(Connection& c, const std::string& request_id, bool durable) {
  sessions_.remember_applied(c.session, request_id, durable);
  if (durable && store_) writes().add(store::WriteBatch::RememberRequest{c.session, request_id, "ack"});
}

Connection* Hub::find(ConnectionId id) {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : &it->second;
}

Connection* Hub::find_by_wire_id(std::string_view wire_id) {
  if (auto remote = remote_wire_ids_.find(std::string(wire_id)); remote != remote_wire_ids_.end())
    return find(remote->second);
  if (!wire_suffix_.empty()) {  // several instances: ours end with "-<instance>"
    if (!wire_id.ends_with(wire_suffix_)) return nullptr;
    wire_id.remove_suffix(wire_suffix_.size());
    Connection* c = find_by_wire_id_here(wire_id);
    return c != nullptr && !c->remote ? c : nullptr;
  }
  return find_by_wire_id_here(wire_id);
}

Connection* Hub::find_by_wire_id_here(std::string_view wire_id) {
  if (wire_id.size() < 2 || wire_id.size() > 21 || wire_id[0] != 'c') return nullptr;
  ConnectionId id = 0;
  for (char ch : wire_id.substr(1)) {
    if (ch < '0' || ch > '9') return nullptr;
    id = id * 10 + static_cast<ConnectionId>(ch - '0');  // 20 digits fit: at most 19 significant here
  }
  Connection* c = find(id);
  return c && c->wire_id == std::string(wire_id) + wire_suffix_ ? c : nullptr;  // "c007" is not c7
}

std::optional<UpgradeRefusal> Hub::check_upgrade(const std::optional<std::string>& token, Now now) const {
  if (stats().connections >= static_cast<std::size_t>(settings_.max_connections))
    return UpgradeRefusal{503, "this server is full (max_connections " + std::to_string(settings_.max_connections) +
                                   "): try again later or another instance"};
  if (!token) return std::nullopt;
  auto claims = jwt::verify(*token, {settings_.jwt_secret, now.wall / 1000, settings_.jwt_leeway_s});
  if (claims && metrics_.connections_of(claims->sub) >= static_cast<std::size_t>(settings_.max_connections_per_user))
    return UpgradeRefusal{429, "too many connections for this user (max_connections_per_user " +
                                   std::to_string(settings_.max_connections_per_user) + ")"};
  return std::nullopt;
}

bool Hub::authenticated(ConnectionId id) const {
  auto it = connections_.find(id);
  return it != connections_.end() && it->second.auth == AuthState::Authenticated;
}

HubStats Hub::stats() const {
  // Remote members are other instances' sockets: counted there.
  return HubStats{connections_.size() - remote_members_.size(), authenticated_};
}

std::optional<RoomDetail> Hub::room_detail(std::string_view name, Now now) const {
  const Room* room = rooms_.find(name);
  if (!room) return std::nullopt;
  RoomDetail detail{room->name, {}, {}};
  std::unordered_map<std::string_view, std::size_t> member_of_user;  // user id -> index in members
  for (ConnectionId id : room->members) {
    auto c = connections_.find(id);
    if (c == connections_.end()) continue;
    auto [it, added] = member_of_user.try_emplace(c->second.user.id, detail.members.size());
    if (added) detail.members.push_back(RoomDetail::Member{c->second.user, 0});
    ++detail.members[it->second].connections;
  }
  for (const locks::Lease& lease : locks_->locks_in(name)) {
    if (!locks_->holder(name, lease.resource, now.mono)) continue;  // due: the next tick releases it
    // A holder gone (orphaned) loses the lock at orphaned_until if that comes first.
    const Millis ends = lease.orphaned_until ? std::min(lease.expires_at, *lease.orphaned_until) : lease.expires_at;
    const Millis left = ends - now.mono;
    detail.locks.push_back(RoomDetail::Lock{lease.resource, lease.owner.user, lease.fence, now.wall + left.count(), left});
  }
  std::sort(detail.locks.begin(), detail.locks.end(), [](const auto& a, const auto& b) { return a.resource < b.resource; });
  return detail;
}

// ---- several instances ------------------------------------------------------------------------

void Hub::attach_cluster(RoomDirectory& directory, ClusterLink& link) {
  directory_ = &directory;
  link_ = &link;
  wire_suffix_ = "-" + directory.instance();  // connection ids unique across instances
  // A room this instance forgets is given up, so any instance can take it at once.
  rooms_.set_on_forget([this](const std::string& room) { forget_owned(room); });
  link_gaps_ = link.gaps();
  beat(last_now_);  // alive before it takes any room: others would take a dead owner's rooms
}

void Hub::forget_owned(const std::string& room) {
  if (!directory_ || rooms_.find(room) != nullptr) return;
  if (std::string_view doc = ydoc_of_room(room); !doc.empty() && ydocs_->live(doc)) return;
  if (owners_.erase(room) > 0) to_release_.push_back(room);
}

void Hub::beat(Now now) {
  if (!directory_) return;
  if (beat_at_ && now.mono - *beat_at_ < Millis(settings_.instance_ttl_ms / 3)) return;
  beat_at_ = now.mono;
  std::set<std::string> peers;
  for (const auto& [id, c] : connections_) {
    if (c.remote) peers.insert(c.remote->instance);
    peers.insert(c.attached_to.begin(), c.attached_to.end());
  }
  for (const auto& [serial, waiting] : forwarded_publishes_) peers.insert(waiting.owner);
  auto beat = directory_->heartbeat({peers.begin(), peers.end()}, cluster_report_ ? cluster_report_() : "{}");
  if (!beat) {
    LOG_ERROR("cluster: heartbeat failed: %s", beat.error().message.c_str());
    return;
  }
  cluster_reports_ = std::move(beat->reports);
  if (beat->reset) {
    LOG_WARN("cluster: Redis lost every lease and heartbeat (restarted empty?): taking this instance's rooms again; "
             "no instance is taken for dead for the next %d ms",
             settings_.instance_ttl_ms);
    renewed_at_.reset();
  }
  if (beat->was_dead) {
    // Paused past instance_ttl_ms: the others took this instance for dead, dropped its
    // clients from their rooms and may have taken its rooms. Start again with them.
    LOG_ERROR("cluster: this instance's heartbeat had run out (paused for over %d ms?): reconnecting its clients "
              "of other instances' rooms", settings_.instance_ttl_ms);
    cut_ties_with(nullptr, false, "restart: this instance was taken for dead by the others");
    renewed_at_.reset();  // and see which rooms are still its own
  }
  for (const std::string& dead : beat->dead) {
    LOG_WARN("cluster: instance %s is gone (no heartbeat for %d ms)", dead.c_str(), settings_.instance_ttl_ms);
    cut_ties_with(&dead, true, "restart: instance " + dead + " went away");
  }
}

void Hub::forward_publish(const std::string& owner, std::string body, PublishAnswer answer) {
  const std::uint64_t serial = ++publish_serial_;
  link_->send(owner, cluster::encode(cluster::Publish{directory_->instance(), serial, std::move(body)}));
  waker_.commit_soon();  // flushed at the end of the pass
  const Millis deadline = last_now_.mono + Millis(settings_.store_give_up_ms + settings_.instance_ttl_ms);
  forwarded_publishes_.emplace(serial, ForwardedPublish{owner, deadline, std::move(answer)});
}

void Hub::forward_sse_post(const std::string& owner, cluster::SsePost post, PublishAnswer answer) {
  const std::uint64_t serial = ++publish_serial_;
  post.from = directory_->instance();
  post.serial = serial;
  link_->send(owner, cluster::encode(std::move(post)));
  waker_.commit_soon();
  const Millis deadline = last_now_.mono + Millis(settings_.instance_ttl_ms);
  forwarded_publishes_.emplace(serial, ForwardedPublish{owner, deadline, std::move(answer), "the POST"});
}

void Hub::expire_forwarded_publishes(Now now) {
  for (auto it = forwarded_publishes_.begin(); it != forwarded_publishes_.end();) {
    if (now.mono < it->second.deadline) {
      ++it;
      continue;
    }
    PublishAnswer answer = std::move(it->second.answer);
    const std::string owner = it->second.owner;
    const std::string what = it->second.what;
    it = forwarded_publishes_.erase(it);
    answer(504, json_error_body(protocol::errc::timeout, "instance " + owner + " did not answer in time; " + what +
                                                             " may or may not have been applied"));
  }
}

void Hub::cut_ties_with(const std::string* instance, bool died, std::string_view reason) {
  std::vector<ConnectionId> members, clients;
  for (const auto& [id, c] : connections_) {
    if (c.remote) {
      if (instance == nullptr || c.remote->instance == *instance) members.push_back(id);
    } else if (instance == nullptr ? !c.attached_to.empty()
                                   : std::find(c.attached_to.begin(), c.attached_to.end(), *instance) != c.attached_to.end()) {
      clients.push_back(id);
    }
  }
  for (ConnectionId id : clients) close(*find(id), protocol::close::restart, reason);
  // Publishes waiting for an answer that may never come: answered now. Whether the owner
  // applied them is unknown (a lost answer) unless it died before it got them.
  for (auto it = forwarded_publishes_.begin(); it != forwarded_publishes_.end();) {
    if (instance != nullptr && it->second.owner != *instance) {
      ++it;
      continue;
    }
    PublishAnswer answer = std::move(it->second.answer);
    const std::string what = it->second.what;
    it = forwarded_publishes_.erase(it);
    answer(503, json_error_body(protocol::errc::internal,
                                std::string(reason) + " — " + what + " may or may not have been applied"));
  }
  for (ConnectionId id : members) {
    Connection& member = *find(id);
    if (!died)
      link_->send(member.remote->instance, cluster::encode(cluster::Close{directory_->instance(), member.remote->connection,
                                                                          protocol::close::restart.code, std::string(reason)}));
    closed(id);  // leaves its rooms now: presence, lock grace, as any disconnect
  }
}

void Hub::renew_rooms(Now now) {
  if (!directory_) return;
  // A room forgotten and then used again before this tick is this instance's again: kept.
  std::erase_if(to_release_, [&](const std::string& room) { return rooms_.find(room) != nullptr || owners_.contains(room); });
  if (!to_release_.empty()) directory_->release(std::exchange(to_release_, {}));
  if (renewed_at_ && now.mono - *renewed_at_ < Millis(settings_.room_lease_ms / 3)) return;
  renewed_at_ = now.mono;
  std::vector<std::string> owned;
  for (const auto& [room, owner] : owners_)
    if (owner == directory_->instance()) owned.push_back(room);
  if (owned.empty()) return;
  auto lost = directory_->renew(owned);
  if (!lost) {
    LOG_ERROR("cluster: cannot renew the leases of %zu room(s): %s", owned.size(), lost.error().message.c_str());
    return;
  }
  // Another instance took them (this one was paused past its lease, or Redis lost the
  // leases): the store refuses this instance's writes to them from now on (WRITERS in store.h).
  if (!lost.value().empty()) lose_rooms(lost.value(), "taken by another instance");
}

void Hub::lose_rooms(const std::vector<std::string>& lost, std::string_view why) {
  settle_commit(last_now_.mono);  // batch_ must hold every write not stored
  std::set<std::string> rooms(lost.begin(), lost.end());
  const auto writes_one_of = [](const std::set<std::string>& names) {
    return [&names](const store::WriteBatch::Write& write) {
      const std::string name = store::claimed_name(write);
      return !name.empty() && names.contains(name);
    };
  };
  // Writes not stored yet for a lost room cannot be stored any more. A request id remembered
  // without the change it acknowledged would turn a resend into a no-op, so when the batch
  // holds any, all of it goes, and every room it wrote goes with it (memory is ahead of the
  // store there): their clients recover from what was stored, on whichever instance runs them.
  const bool batch_lost = std::any_of(batch_.writes().begin(), batch_.writes().end(), writes_one_of(rooms));
  if (batch_lost)
    for (const auto& write : batch_.writes())
      if (std::string name = store::claimed_name(write); !name.empty()) rooms.insert(std::move(name));
  for (const std::string& room : rooms) {
    // Its webhooks are the new owner's now (from the stored cursors): posting on from here too
    // would send duplicates out of order.
    if (outbox_) outbox_->drop_room(room);
    if (std::string_view doc = ydoc_of_room(room); !doc.empty()) {
      ydocs_->lose(doc, why);
      forget_owned(room);  // also when not in memory: the lease was taken for it
    }
    if (rooms_.find(room) == nullptr) continue;
    LOG_WARN_CTX(log::Fields{.room = room}, "cluster: room %s %s; its members reconnect", room.c_str(),
                 std::string(why).c_str());
    const std::vector<ConnectionId> members = rooms_.members(room);
    const std::string reason = "restart: room " + room + " " + std::string(why);
    for (ConnectionId id : members)
      if (Connection* member = find(id)) close(*member, protocol::close::restart, reason, QueuedFrames::Drop);
    for (ConnectionId id : members)
      if (Connection* member = find(id)) rooms_.leave(*this, *member, room, LeaveReason::Unsubscribed);
    locks_->forget_room(room);
    rooms_.drop(room);
  }
  if (!batch_lost) {
    batch_.remove_if(writes_one_of(rooms));  // what the members' leaving wrote
    return;
  }
  // The requests whose changes go with the batch were not applied after all: a resend applies
  // them (here or on the room's new owner, which finds nothing of them in the store).
  for (const auto& write : batch_.writes())
    if (const auto* remembered = std::get_if<store::WriteBatch::RememberRequest>(&write))
      sessions_.forget_applied(remembered->session, remembered->request_id);
  batch_.clear();
  release_held(false);
  for (auto& then : std::exchange(commit_waiters_, {})) then(false);
  failed_commits_ = 0;
  first_failure_at_.reset();
  retry_at_.reset();
  // The sessions the batch stored go again (a later request id of theirs needs its row).
  for (const auto& [id, c] : connections_)
    if (c.auth == AuthState::Authenticated && !c.session.empty() && !c.close)
      writes().add(store::WriteBatch::PutSession{{c.session, c.user.id}});
}

Hub::Route Hub::route(Connection& c, const std::string& room, const protocol::ClientMessage& message,
                      std::string_view text, const std::optional<std::string>& request_id, Now now) {
  // A room the token does not allow is refused here by the handler, whoever owns it: no
  // instance takes a room nobody may enter.
  if (room_access(c.rooms, c.user.id, room) == RoomAccess::Forbidden) return Route::Here;
  if (!c.remote) {
    if (auto known = c.forwarded.find(room); known != c.forwarded.end()) {
      forward(c, known->second, text);
      if (std::holds_alternative<protocol::Unsubscribe>(message)) c.forwarded.erase(known);
      return Route::Elsewhere;
    }
  }
  if (rooms_.find(room) != nullptr) return Route::Here;  // live here: this instance runs it
  // Only a subscribe looks for (and may take) a room's owner: any other message about a room
  // this connection is in nowhere is answered here (not_subscribed), taking no lease.
  if (!std::holds_alternative<protocol::Subscribe>(message)) return Route::Here;
  auto owner = owners_.find(room);
  if (owner == owners_.end()) {
    need_owner(room);
    return Route::Wait;
  }
  if (owner->second == directory_->instance()) return Route::Here;
  if (owner->second.empty()) {
    protocol_error(c, Error{std::string(protocol::errc::internal),
                            "room \"" + room + "\" is unavailable: the room directory cannot be reached; try again"},
                   request_id, now);
    return Route::Elsewhere;
  }
  if (c.remote) {  // forwarded here, but another instance owns the room now
    protocol_error(c, Error{std::string(protocol::errc::internal),
                            "room \"" + room + "\" moved to another instance; subscribe again"},
                   request_id, now);
    return Route::Elsewhere;
  }
  // max_rooms counts rooms on every instance: the owner sees only its own.
  if (rooms_.subscribed_count(c.id) + c.forwarded.size() - (c.forwarded.contains(user_room(c.user.id)) ? 1 : 0) >=
      static_cast<std::size_t>(settings_.max_rooms)) {
    protocol_error(c, Error{std::string(protocol::errc::limit_exceeded),
                            "already in " + std::to_string(settings_.max_rooms) + " rooms (max_rooms)"},
                   request_id, now);
    return Route::Elsewhere;
  }
  forward(c, owner->second, text);
  if (std::holds_alternative<protocol::Subscribe>(message)) c.forwarded[room] = owner->second;
  return Route::Elsewhere;
}

void Hub::attach_to(Connection& c, const std::string& owner) {
  if (std::find(c.attached_to.begin(), c.attached_to.end(), owner) != c.attached_to.end()) return;
  link_->send(owner, cluster::encode(cluster::Attach{
                         directory_->instance(), c.id,
                         {c.wire_id, c.user, c.rooms, c.perms, c.session, c.read_only,
                          static_cast<std::uint8_t>(c.wire), c.ydoc}}));
  c.attached_to.push_back(owner);
}

void Hub::forward(Connection& c, const std::string& owner, std::string_view text, MessageKind kind) {
  attach_to(c, owner);
  link_->send(owner, cluster::encode(cluster::Frame{directory_->instance(), c.id, std::string(text),
                                                    kind == MessageKind::Binary}));
}

bool Hub::join_elsewhere(Connection& c, const std::string& room) {
  if (!directory_ || rooms_.find(room) != nullptr) return false;
  auto owner = owners_.find(room);
  if (owner == owners_.end() || owner->second == directory_->instance() || owner->second.empty()) return false;
  attach_to(c, owner->second);
  link_->send(owner->second, cluster::encode(cluster::Join{directory_->instance(), c.id, room}));
  c.forwarded[room] = owner->second;
  return true;
}

Hub::Route Hub::route_ydoc(Connection& c, const std::string& doc, std::string_view bytes) {
  if (!directory_) return Route::Here;
  // Forwarded here because this instance ran the document when the edge asked, it may have let
  // it go since (idle, lease lost): a remote member's document runs only while it is ours.
  if (c.remote && ydocs_->live(doc)) return Route::Here;
  auto owner = c.forwarded_ydocs.find(doc);
  if (owner == c.forwarded_ydocs.end()) {
    const std::string room = ydoc_room(doc);
    auto known = owners_.find(room);
    if (known == owners_.end()) {
      ydoc_owners_needed_.insert(room);
      need_owner(room);
      return Route::Wait;
    }
    if (known->second == directory_->instance()) return Route::Here;
    if (c.remote || known->second.empty()) {
      close(c, protocol::close::restart,
            "document " + doc + (c.remote ? " moved to another instance" : " is unavailable: the room directory cannot be reached"));
      return Route::Elsewhere;
    }
    owner = c.forwarded_ydocs.emplace(doc, known->second).first;
    attach_to(c, owner->second);
  }
  if (!bytes.empty()) forward(c, owner->second, bytes, MessageKind::Binary);
  return Route::Elsewhere;
}

bool Hub::join_remote_member(Connection& member, const std::string& room) {
  if (rooms_.needs_load(room)) {
    need_room(room);
    return false;
  }
  if (rooms_.join(member, room, JoinKind::Automatic, last_now_.wall).status == JoinStatus::Unavailable) {
    LOG_WARN_CTX(member.log_fields(room), "%s: not in its user room %s (the room could not be loaded)",
                 member.wire_id.c_str(), room.c_str());
    return true;
  }
  rooms_.notify_joined(*this, member, room, JoinKind::Automatic);
  return true;
}

void Hub::need_owner(const std::string& room) {
  if (std::find(owners_needed_.begin(), owners_needed_.end(), room) != owners_needed_.end()) return;
  expect_pass();
  owners_needed_.push_back(room);
}

void Hub::learn_owners() {
  if (owners_needed_.empty()) return;
  const std::vector<std::string> rooms = std::exchange(owners_needed_, {});
  auto owners = directory_->acquire(rooms);
  if (!owners) LOG_ERROR("cluster: cannot learn who owns %zu room(s): %s", rooms.size(), owners.error().message.c_str());
  // An empty owner: asking failed; the waiting input is answered so, and forgotten after.
  const std::unordered_set<std::string> ydocs = std::exchange(ydoc_owners_needed_, {});
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    const std::string& owner = owners_[rooms[i]] = owners ? owners.value().at(i) : std::string();
    // A room this instance runs now is read in the same pass (the pass's reads follow): the
    // input that asked finds both its owner and its state when it resumes. (Asked in a later
    // pass instead, the session read with the owner would be forgotten by then.) A Yjs
    // document's log is read when a connection attaches to it.
    if (owner != directory_->instance()) continue;
    if (!ydocs.contains(rooms[i])) {
      if (rooms_.needs_load(rooms[i])) need_room(rooms[i]);
    } else {
      ydoc_owners_learned_.push_back(rooms[i]);  // given up after the pass unless a connection attached
    }
  }
}

void Hub::receive_from_cluster() {
  if (!link_) return;
  if (const std::uint64_t gaps = link_->gaps(); gaps != link_gaps_) {
    // Messages to this instance may have been lost (Redis restarted, the subscriber fell
    // behind): nothing shared with other instances can be trusted to be complete.
    LOG_WARN("cluster: messages from other instances may have been lost; reconnecting the clients involved");
    link_gaps_ = gaps;
    cut_ties_with(nullptr, false, "restart: messages between instances were lost");
    // Redis may have restarted empty: say this instance is alive and take its leases again
    // now, before other instances' reconnecting clients ask for its rooms.
    beat_at_.reset();
    renewed_at_.reset();
    beat(last_now_);
    renew_rooms(last_now_);
  }
  for (std::string& bytes : link_->receive()) {
    auto decoded = cluster::decode(bytes);
    if (!decoded) {
      LOG_WARN("cluster: %s", decoded.error().message.c_str());
      continue;
    }
    cluster::Message message = std::move(decoded).value();
    std::visit(
        Overloaded{
            [&](cluster::Attach& m) {  // a client elsewhere talks to rooms this instance owns
              if (shutting_down_) {  // stopping: the client goes on with the room's next owner
                link_->send(m.from, cluster::encode(cluster::Close{directory_->instance(), m.connection,
                                                                   protocol::close::restart.code, "restart"}));
                return;
              }
              if (m.identity.wire > static_cast<std::uint8_t>(Wire::Hocuspocus)) {
                LOG_WARN("cluster: instance %s attached a connection of unknown protocol %u", m.from.c_str(),
                         static_cast<unsigned>(m.identity.wire));
                return refuse_unknown_member(m.from, m.connection);
              }
              auto [known, created] = remote_members_.try_emplace({m.from, m.connection}, 0);
              if (!created) return;
              const ConnectionId id = next_id_++;
              known->second = id;
              Connection& c = connections_[id];
              c.id = id;
              c.wire_id = std::move(m.identity.wire_id);
              c.peer = "instance " + m.from;
              c.auth = AuthState::Authenticated;
              c.opened_at = last_now_.mono;
              c.user = std::move(m.identity.user);
              c.rooms = std::move(m.identity.rooms);
              c.perms = std::move(m.identity.perms);
              c.session = std::move(m.identity.session);
              c.read_only = std::move(m.identity.read_only);
              c.wire = static_cast<Wire>(m.identity.wire);
              c.ydoc = std::move(m.identity.ydoc);
              c.remote = Connection::RemoteOrigin{m.from, m.connection};
              remote_wire_ids_[c.wire_id] = id;
              if (c.wire != Wire::Tandem) return;  // a Yjs connection: its messages name its documents
              if (store_) {
                // This instance stores the request ids the member applies in its rooms: the
                // session's row first (the edge's own write of it may not be committed yet).
                writes().add(store::WriteBatch::PutSession{{c.session, c.user.id}});
                {
                  // A resend that lands here must find what the session applied elsewhere
                  // (also when this instance knew the session: it may have moved since).
                  need_session(c.session);
                  park(c, {std::string(), Connection::ParkedInput::Kind::Adopt});
                  return;
                }
              }
              sessions_.adopt(c.session, c.user.id, id, last_now_.mono);
              for (const auto& hook : handlers_.session_continued_hooks()) hook(*this, c, last_now_);
            },
            [&](cluster::Frame& m) {
              if (auto known = remote_members_.find({m.from, m.connection}); known != remote_members_.end())
                receive(known->second, m.text, last_now_, m.binary ? MessageKind::Binary : MessageKind::Text);
              else
                refuse_unknown_member(m.from, m.connection);
            },
            [&](cluster::Join& m) {  // a remote member's automatic join (its user: room)
              auto known = remote_members_.find({m.from, m.connection});
              if (known == remote_members_.end()) return refuse_unknown_member(m.from, m.connection);
              Connection& member = *find(known->second);
              if (!member.parked.empty() || !join_remote_member(member, m.room)) {
                if (member.parked.empty()) parked_connections_.push_back(member.id);
                member.parked.push_back({m.room, Connection::ParkedInput::Kind::AutomaticJoin});
              }
            },
            [&](cluster::Detach& m) {
              if (auto known = remote_members_.find({m.from, m.connection}); known != remote_members_.end())
                closed(known->second);
            },
            [&](cluster::Deliver& m) {  // what an owner sent this instance's clients
              std::vector<Bytes> frames;
              frames.reserve(m.frames.size());
              for (std::string& frame : m.frames) frames.push_back(std::make_shared<const std::string>(std::move(frame)));
              for (const cluster::Deliver::Recipient& recipient : m.recipients) {
                Connection* c = find(recipient.connection);
                if (c == nullptr || c->remote) continue;  // gone meanwhile
                for (std::uint32_t index : recipient.frames) {
                  if (m.binary(index)) {
                    send_binary(*c, frames[index]);
                  } else {
                    send(*c, frames[index]);
                  }
                }
              }
            },
            [&](cluster::SessionMoved& m) {  // resumed on another instance: its connection here goes
              if (m.from == directory_->instance()) return;
              for (auto& [id, c] : connections_) {
                if (c.remote || c.session != m.session || c.close) continue;
                close(c, protocol::close::session_replaced, "session resumed by connection " + m.wire_id,
                      QueuedFrames::Drop);
              }
              sessions_.forget(m.session);  // what this instance knew of it may be stale now
            },
            [&](cluster::Publish& m) {  // a publish another instance received for rooms run here
              if (!publish_runner_) return;
              publish_runner_(m.body, last_now_, [this, to = m.from, serial = m.serial](int status, std::string body) {
                link_->send(to, cluster::encode(cluster::Answer{directory_->instance(), serial, status, std::move(body)}));
                waker_.commit_soon();  // an answer given after the pass (after a commit) still goes out
              });
            },
            [&](cluster::SsePost& m) {  // a POST another instance received for a stream held here
              if (!sse_post_runner_) return;
              sse_post_runner_(m, [this, to = m.from, serial = m.serial](int status, std::string body) {
                link_->send(to, cluster::encode(cluster::Answer{directory_->instance(), serial, status, std::move(body)}));
                waker_.commit_soon();
              });
            },
            [&](cluster::Answer& m) {
              auto waiting = forwarded_publishes_.find(m.serial);
              if (waiting == forwarded_publishes_.end() || waiting->second.owner != m.from) return;  // answered already
              PublishAnswer answer = std::move(waiting->second.answer);
              forwarded_publishes_.erase(waiting);
              answer(m.status, std::move(m.body));
            },
            [&](cluster::Close& m) {
              Connection* c = find(m.connection);
              if (c == nullptr || c->remote) return;
              // Another instance's code, sent on as it is: only codes a server may send.
              const bool sendable = (m.code >= 1000 && m.code <= 1014 && m.code != 1004 && m.code != 1005 && m.code != 1006) ||
                                   (m.code >= 3000 && m.code <= 4999);
              const protocol::CloseCode code{sendable ? m.code : protocol::close::restart.code, m.reason, true, false};
              close(*c, code, m.reason);
            },
        },
        message);
  }
}

void Hub::refuse_unknown_member(const std::string& instance, std::uint64_t connection) {
  // Its attach was lost (or this instance cut it loose and the close is on its way): the edge
  // closes it, and the client reconnects and subscribes again.
  LOG_WARN("cluster: a client of instance %s talks to rooms here without being attached; reconnecting it", instance.c_str());
  link_->send(instance, cluster::encode(cluster::Close{directory_->instance(), connection, protocol::close::restart.code,
                                                       "restart: messages between instances were lost"}));
  waker_.commit_soon();
}

void Hub::flush_to_cluster() {
  if (!link_) return;
  const std::string& self = directory_->instance();
  // One deliver per instance: each distinct frame once (a room event to 100 members there is
  // sent once), then per member the frames it gets, in order.
  struct Bundle {
    cluster::Deliver deliver;
    std::unordered_map<const std::string*, std::uint32_t> index;
  };
  std::map<std::string, Bundle> bundles;
  std::vector<Bytes> shipped;  // keeps each frame alive (and its address unique) until sent
  std::vector<ConnectionId> closing;
  for (ConnectionId id : std::exchange(remote_dirty_, {})) {
    Connection* c = find(id);
    if (c == nullptr || !c->remote) continue;
    c->wake_pending = false;
    Bundle& bundle = bundles[c->remote->instance];
    cluster::Deliver::Recipient recipient{c->remote->connection, {}};
    while (!c->outbound.empty()) {
      const MessageKind kind = c->outbound.take_batch(kShipBudget, batch_parts_);
      for (Bytes& part : batch_parts_) {
        auto [at, fresh] = bundle.index.try_emplace(part.get(), static_cast<std::uint32_t>(bundle.deliver.frames.size()));
        if (fresh) bundle.deliver.add(*part, kind == MessageKind::Binary);
        recipient.frames.push_back(at->second);
        shipped.push_back(std::move(part));
      }
      batch_parts_.clear();
    }
    if (!recipient.frames.empty()) bundle.deliver.recipients.push_back(std::move(recipient));
    if (close_request(id) != nullptr) closing.push_back(id);  // not while frames wait for a commit
  }
  for (auto& [instance, bundle] : bundles) {
    if (bundle.deliver.recipients.empty()) continue;
    bundle.deliver.from = self;
    link_->send(instance, cluster::encode(bundle.deliver));
  }
  for (ConnectionId id : closing) {
    Connection* c = find(id);
    if (c == nullptr) continue;
    link_->send(c->remote->instance,
                cluster::encode(cluster::Close{self, c->remote->connection, c->close->code, c->close->reason}));
    closed(id);
  }
  link_->flush();
  // Messages that may not have reached an instance (its inbox was away): what its clients
  // sent to rooms here, or what clients here sent to its rooms, may be incomplete.
  const std::vector<std::string> unreached = link_->unreached();
  for (const std::string& instance : unreached) {
    LOG_WARN("cluster: messages to instance %s may have been lost; reconnecting the clients involved", instance.c_str());
    cut_ties_with(&instance, false, "restart: messages to instance " + instance + " were lost");
  }
  if (!unreached.empty()) link_->flush();  // the closes for its clients (they may be lost too: its gap covers them)
}

void Hub::wake(Connection& c) {
  if (c.wake_pending) return;
  c.wake_pending = true;
  if (c.remote) {  // shipped to its instance at the end of the pass
    if (remote_dirty_.empty()) waker_.commit_soon();  // a pass that ends soon, even if idle now
    remote_dirty_.push_back(c.id);
    return;
  }
  waker_.wake(c.id);
}

}  // namespace tandem::server
