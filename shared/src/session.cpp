// session.cpp — the client connection state machine (see tandem/session.h).
#include "tandem/session.h"

#include <utility>
#include <variant>

#include "tandem/protocol/codec.h"
#include "tandem/protocol/errors.h"

namespace tandem {

const char* to_string(State state) {
  switch (state) {
    case State::Idle: return "idle";
    case State::Connecting: return "connecting";
    case State::Open: return "open";
    case State::Reconnecting: return "reconnecting";
    case State::Closed: return "closed";
  }
  return "unknown";
}

const char* to_string(Cause cause) {
  switch (cause) {
    case Cause::Started: return "started";
    case Cause::Connected: return "connected";
    case Cause::RetryDue: return "retry due";
    case Cause::ServerClosed: return "server closed";
    case Cause::ConnectionLost: return "connection lost";
    case Cause::ConnectTimeout: return "connect timeout";
    case Cause::HeartbeatTimeout: return "heartbeat timeout";
    case Cause::Unauthorized: return "unauthorized";
    case Cause::Stopped: return "stopped";
  }
  return "unknown";
}

std::optional<Error> validate(const SessionConfig& config) {
  auto invalid = [](std::string message) { return Error{"invalid_config", "session: " + std::move(message)}; };
  if (config.url.rfind("ws://", 0) != 0 && config.url.rfind("wss://", 0) != 0)
    return invalid("url must start with ws:// or wss:// (got \"" + config.url + "\")");
  if (config.connect_timeout.count() <= 0) return invalid("connect_timeout must be > 0 ms");
  if (config.stable_after.count() < 0) return invalid("stable_after must be >= 0 ms");
  if (config.heartbeat.count() <= 0) return invalid("heartbeat must be > 0 ms");
  if (config.prompt_delay_max.count() < 0) return invalid("prompt_delay_max must be >= 0 ms");
  return validate(config.backoff);
}

namespace {

// RFC 3986 percent-encoding of everything but unreserved characters. JWTs are base64url with
// dots and need none, but a token or session id is opaque to the client, so encode anyway.
std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

}  // namespace

std::string connect_url(const std::string& url, const std::string& token, const std::optional<std::string>& session) {
  std::string out = url;
  char separator = url.find('?') == std::string::npos ? '?' : '&';
  auto append = [&](std::string_view key, std::string_view value) {
    out += separator;
    out += key;
    out += '=';
    out += url_encode(value);
    separator = '&';
  };
  if (!token.empty()) append("token", token);
  if (session) append("session", *session);
  return out;
}

Session::Session(SessionConfig config, Transport& transport, Rng& rng)
    : config_(std::move(config)), transport_(transport), rng_(rng), backoff_(config_.backoff),
      heartbeat_(config_.heartbeat) {}

Session::~Session() {
  // The transport keeps a reference to us as its event sink; close it so nothing arrives late.
  if (link_ == Link::Active) transport_.close(kCloseStopped, "client stopped");
}

void Session::set_token(std::string token) { config_.token = std::move(token); }

// ---- driving ----------------------------------------------------------------------------

void Session::start(Millis now) {
  if (state_ != State::Idle && state_ != State::Closed) return;
  now_ = now;
  backoff_.reset();
  attempt_ = 0;
  enter(State::Connecting, Cause::Started);
  dial();
}

void Session::stop() {
  if (state_ == State::Closed) return;
  if (link_ == Link::Active) close_link(kCloseStopped, "client stopped");
  enter(State::Closed, Cause::Stopped, kCloseStopped, "client stopped");
}

void Session::tick(Millis now) {
  if (now > now_) now_ = now;  // a driver clock never runs backwards; ignore one that does
  switch (state_) {
    case State::Reconnecting:
      if (now_ >= retry_at_) {
        enter(State::Connecting, Cause::RetryDue);
        dial();
      }
      break;
    case State::Connecting:
      if (now_ >= connect_deadline_) {
        if (link_ == Link::Active) close_link(kCloseConnectTimeout, "connect timeout");
        schedule_retry(backoff_.next_delay(rng_));
        enter(State::Reconnecting, Cause::ConnectTimeout, kCloseConnectTimeout, "connect timeout");
      }
      break;
    case State::Open: {
      note_stability();
      const Millis silent = now_ - last_received_;
      if (silent >= 2 * heartbeat_) {
        close_link(kCloseHeartbeatTimeout, "heartbeat timeout");
        schedule_retry(backoff_.next_delay(rng_));
        enter(State::Reconnecting, Cause::HeartbeatTimeout, kCloseHeartbeatTimeout, "heartbeat timeout");
      } else if (silent >= heartbeat_ && !ping_sent_at_) {
        // One probe per silence: the pong (or anything else) resets last_received_.
        ping_sent_at_ = now_;
        transport_.send(protocol::encode_client(protocol::Ping{}));
      }
      break;
    }
    case State::Idle:
    case State::Closed: break;
  }
}

SendStatus Session::send(std::string_view frame) {
  if (state_ != State::Open || link_ != Link::Active) return SendStatus::NotOpen;
  return transport_.send(frame);
}

SendStatus Session::send_binary(std::string_view message) {
  if (state_ != State::Open || link_ != Link::Active) return SendStatus::NotOpen;
  return transport_.send_binary(message);
}

// ---- transport events -------------------------------------------------------------------

void Session::on_open() {
  if (link_ != Link::Active || state_ != State::Connecting) return;
  // With the token in the URL the server authenticates during the handshake and speaks
  // first; otherwise `auth` must be the first message.
  if (config_.token_delivery == TokenDelivery::AuthMessage)
    transport_.send(protocol::encode_client(protocol::Auth{config_.token, session_id_}));
}

void Session::on_binary(std::string_view message) {
  if (link_ != Link::Active || state_ != State::Open) return;
  last_received_ = now_;
  ping_sent_at_.reset();
  if (on_binary_message) on_binary_message(message);
}

void Session::on_message(std::string_view frame) {
  if (link_ != Link::Active || (state_ != State::Connecting && state_ != State::Open)) return;
  last_received_ = now_;
  ping_sent_at_.reset();
  const unsigned epoch = link_epoch_;
  for (auto& decoded : protocol::decode_server(frame)) {
    // A callback may have stopped or restarted us; the rest of this batch belongs to a
    // connection that no longer exists.
    if (link_epoch_ != epoch) return;
    if (!decoded) {
      if (on_decode_error) on_decode_error(decoded.error());
      continue;
    }
    handle_frame(decoded.value());
  }
}

void Session::on_closed(int code, std::string_view reason) {
  if (link_ == Link::Closing) {
    // The end of a connection we closed ourselves; the state already moved on.
    link_ = Link::Down;
    if (state_ == State::Connecting) dial();  // a dial was waiting for this
    return;
  }
  if (link_ != Link::Active) return;
  link_ = Link::Down;
  ++link_epoch_;
  if (state_ != State::Connecting && state_ != State::Open) return;

  const protocol::CloseCode policy = protocol::close::lookup(code);
  std::string text(reason.empty() ? policy.reason : reason);
  if (code == protocol::close::unauthorized.code) {
    enter(State::Closed, Cause::Unauthorized, code, std::move(text));
  } else if (!policy.reconnect) {
    enter(State::Closed, Cause::ServerClosed, code, std::move(text));
  } else if (policy.prompt) {
    // The server is restarting or moving us: it wants us back soon. Spread the herd over
    // prompt_delay_max without growing the backoff (this was not our failure).
    const auto spread = static_cast<double>(config_.prompt_delay_max.count()) * rng_.uniform01();
    schedule_retry(Millis{static_cast<Millis::rep>(spread)});
    enter(State::Reconnecting, Cause::ServerClosed, code, std::move(text));
  } else {
    schedule_retry(backoff_.next_delay(rng_));
    const Cause cause = code == protocol::close::abnormal.code ? Cause::ConnectionLost : Cause::ServerClosed;
    enter(State::Reconnecting, cause, code, std::move(text));
  }
}

// ---- internals --------------------------------------------------------------------------

void Session::handle_frame(const protocol::ServerFrame& frame) {
  if (const auto* hello = std::get_if<protocol::Connected>(&frame.message); hello && state_ == State::Connecting) {
    connected_ = *hello;
    session_id_ = hello->session;
    heartbeat_ = hello->heartbeat_ms > 0 ? Millis{hello->heartbeat_ms} : config_.heartbeat;
    opened_at_ = now_;
    stable_ = false;
    enter(State::Open, Cause::Connected);
    if (state_ != State::Open) return;  // the state callback stopped us
  }
  if (on_frame) on_frame(frame);
}

void Session::enter(State next, Cause cause, int close_code, std::string close_reason) {
  StateChange change;
  change.previous = state_;
  change.state = next;
  change.cause = cause;
  change.close_code = close_code;
  change.close_reason = std::move(close_reason);
  change.attempt = attempt_;
  if (next == State::Reconnecting) {
    change.retry_delay = retry_delay_;
    change.retry_at = retry_at_;
  }
  state_ = next;
  if (on_state) on_state(change);
}

void Session::note_stability() {
  if (stable_ || now_ - opened_at_ < config_.stable_after) return;
  // Only now has the connection earned a fresh backoff; one that drops earlier keeps growing
  // it, so a server that accepts and immediately drops connections is not hammered.
  stable_ = true;
  backoff_.reset();
  attempt_ = 0;
}

void Session::dial() {
  if (state_ != State::Connecting) return;  // the state callback stopped us
  if (link_ == Link::Closing) {
    // The previous connection has not reported its end; on_closed will call us again.
    connect_deadline_ = now_ + config_.connect_timeout;
    return;
  }
  if (link_ == Link::Active) return;
  link_ = Link::Active;
  ++link_epoch_;
  connect_deadline_ = now_ + config_.connect_timeout;
  last_received_ = now_;
  ping_sent_at_.reset();
  const std::string token = config_.token_delivery == TokenDelivery::Query ? config_.token : std::string{};
  const std::optional<std::string> session =
      config_.token_delivery == TokenDelivery::Query ? session_id_ : std::nullopt;
  transport_.open(connect_url(config_.url, token, session), *this);
}

void Session::close_link(int code, std::string_view reason) {
  link_ = Link::Closing;
  ++link_epoch_;
  transport_.close(code, reason);
}

void Session::schedule_retry(Millis delay) {
  ++attempt_;
  retry_delay_ = delay;
  retry_at_ = now_ + delay;
}

}  // namespace tandem
