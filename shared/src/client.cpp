// client.cpp — the façade: wires the Session's state changes and frames to the Outbox, the
// Rooms and the app's callbacks (see tandem/client.h).
#include "tandem/client.h"

namespace tandem {

std::optional<Error> validate(const ClientConfig& config) {
  if (auto error = validate(config.session)) return error;
  if (config.outbox.ack_timeout.count() <= 0) return Error{"invalid_config", "outbox: ack_timeout must be > 0 ms"};
  if (config.outbox.max_queued == 0) return Error{"invalid_config", "outbox: max_queued must be >= 1"};
  if (config.rooms.presence_interval.count() < 0) return Error{"invalid_config", "rooms: presence_interval must be >= 0 ms"};
  if (config.rooms.default_lock_ttl_ms <= 0) return Error{"invalid_config", "rooms: default_lock_ttl_ms must be > 0"};
  if (config.rooms.lock_ttl_min_ms <= 0 || config.rooms.lock_ttl_max_ms < config.rooms.lock_ttl_min_ms)
    return Error{"invalid_config", "rooms: need 0 < lock_ttl_min_ms <= lock_ttl_max_ms"};
  if (config.rooms.typing_refresh.count() <= 0) return Error{"invalid_config", "rooms: typing_refresh must be > 0 ms"};
  if (config.rooms.replica.chat_messages == 0 || config.rooms.replica.stream_events == 0)
    return Error{"invalid_config", "rooms: replica limits must be >= 1"};
  return std::nullopt;
}

Client::Client(ClientConfig config, Transport& transport, Rng& rng)
    : session_(std::move(config.session), transport, rng),
      outbox_([this](std::string_view frame) { return session_.send(frame); }, config.outbox),
      rooms_([this](const protocol::ClientMessage& message,
                    RequestCallback done) { return outbox_.submit(message, std::move(done), now_); },
             [this](const protocol::ClientMessage& message) {
               return session_.send(protocol::encode(protocol::ClientFrame{std::nullopt, message}));
             },
             config.rooms) {
  session_.on_state = [this](const StateChange& change) { handle_state(change); };
  session_.on_frame = [this](const protocol::ServerFrame& frame) { handle_frame(frame); };
  session_.on_decode_error = [this](const Error& error) {
    if (on_decode_error) on_decode_error(error);
  };
}

void Client::start(Millis now) {
  if (now > now_) now_ = now;
  session_.start(now_);
}

void Client::stop() {
  // The outbox first: its failed requests' callbacks run before the state turns Closed, so an
  // app that restarts from its on_state(Closed) handler does not see its new requests failed.
  outbox_.stop();
  rooms_.on_stopped();
  session_.stop();
}

void Client::tick(Millis now) {
  if (now > now_) now_ = now;
  session_.tick(now_);
  outbox_.tick(now_);
  rooms_.tick(now_);
}

void Client::set_token(std::string token) { session_.set_token(std::move(token)); }

void Client::handle_state(const StateChange& change) {
  // The rooms first: their rejoins go on the wire before the Outbox resends, so a resent edit or
  // chat message finds its room subscribed on the new connection (a first subscribe still
  // unanswered is among the resends, with the requests behind it). Then the resends and the
  // offline queue in submission order, all before anything the app's own on_state might send.
  if (change.state == State::Open) {
    outbox_.on_open(now_, [this] {
      if (session_.connected()) rooms_.on_open(now_, *session_.connected());
    });
  } else if (change.previous == State::Open || outbox_.online()) {
    outbox_.on_closed();
    rooms_.on_closed();
  }
  if (on_state) on_state(change);
}

void Client::handle_frame(const protocol::ServerFrame& frame) {
  if (outbox_.on_frame(frame) != FrameRoute::NotMine) return;
  if (rooms_.on_frame(frame) == Rooms::FrameVerdict::Drop) return;  // a duplicate room event
  if (on_message) on_message(frame);
}

}  // namespace tandem
