// tandem/session.h — the connection state machine of a client: connect, authenticate, stay
// alive, and reconnect with backoff. No I/O of its own: it drives a tandem::Transport and is
// driven by the transport's events and by tick(now).
//
// States (each change is reported through on_state with a StateChange):
//
//   Idle ──start()──> Connecting ──`connected`──> Open
//                        │  ^                       │
//     connect timeout,   │  │ retry delay passed    │ closed by the server / transport lost /
//     failed dial        v  │                       v heartbeat timeout
//                      Reconnecting <───────────────┘
//   any state ──stop(), 4401, 4400, 1000──> Closed ──start()──> Connecting
//
// Close codes (protocol::close::lookup decides): 4401 -> Closed, cause Unauthorized (the app
// refreshes the token: set_token() then start()); codes that say "do not reconnect" (4400,
// 1000) -> Closed; 1012 restart and 1001 going away -> reconnect after a short jittered delay
// (≤ prompt_delay_max) without growing the backoff; anything else, 1006 included -> backoff.
//
// Liveness: if nothing has been received for heartbeat, the session sends {"type":"ping"};
// if nothing has been received for 2 x heartbeat it closes the transport (4000 "heartbeat
// timeout") and reconnects. heartbeat is the server's `connected.heartbeat_ms`, or the
// config's default until one arrived.
//
// Time: the session never reads a clock. start(now) and tick(now) pass the driver's time;
// transport events between two ticks are taken to happen at the last time seen.
//
// Transport contract relied on: exactly one on_closed follows every open(). After the session
// closes a transport itself (timeouts, stop()) it ignores that connection's remaining events
// and does not call open() again before its on_closed has arrived — a transport should
// therefore report on_closed promptly after close(), even when the peer is silent.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "tandem/backoff.h"
#include "tandem/clock.h"
#include "tandem/protocol/messages.h"
#include "tandem/result.h"
#include "tandem/transport.h"

namespace tandem {

enum class State { Idle, Connecting, Open, Reconnecting, Closed };
const char* to_string(State state);

// Why the state changed.
enum class Cause {
  Started,           // start() was called
  Connected,         // the server sent `connected`
  RetryDue,          // the reconnect delay has passed
  ServerClosed,      // the server closed the connection (close_code, close_reason say how)
  ConnectionLost,    // the transport died without a close frame (1006), or a dial failed
  ConnectTimeout,    // no `connected` within connect_timeout
  HeartbeatTimeout,  // nothing received for 2 x heartbeat
  Unauthorized,      // 4401: bad or expired token; the app must supply a new one
  Stopped,           // stop() was called
};
const char* to_string(Cause cause);

// Reported on every state change.
struct StateChange {
  State state = State::Idle;
  State previous = State::Idle;
  Cause cause = Cause::Started;
  int close_code = 0;        // the close code behind the change; 0 when there was none
  std::string close_reason;  // its text, e.g. "token expired" or "heartbeat timeout"
  Millis retry_delay{0};     // Reconnecting: how long until the next attempt
  Millis retry_at{0};        // Reconnecting: the driver time of the next attempt (countdowns)
  int attempt = 0;           // reconnects since the last stable connection; 1 = the first
};

// How the token reaches the server.
enum class TokenDelivery {
  Query,        // ?token=... in the URL (the browser cannot set headers on a WebSocket)
  AuthMessage,  // {"type":"auth","token",...} as the first message, keeping it out of URLs/logs
};

// Local close codes: the session closes the transport itself with these.
inline constexpr int kCloseHeartbeatTimeout = 4000;  // reason "heartbeat timeout"
inline constexpr int kCloseConnectTimeout = 4000;    // reason "connect timeout"
inline constexpr int kCloseStopped = 1000;           // reason "client stopped"

struct SessionConfig {
  // The server's WebSocket endpoint, ws://host:port/ws (or wss://). token and session are
  // appended as query parameters.
  std::string url;
  // HS256 JWT; URL-encoded into ?token= (TokenDelivery::Query) or sent in `auth`.
  std::string token;
  TokenDelivery token_delivery = TokenDelivery::Query;
  // From open() to `connected`; beyond it the attempt is abandoned and retried with backoff.
  // The server's own auth timeout is 10 s, so a slower handshake would fail anyway.
  Millis connect_timeout{10'000};
  // A connection open this long is "stable": the backoff goes back to its initial delay. A
  // server that accepts and then drops connections at once keeps growing the delay instead.
  Millis stable_after{10'000};
  BackoffConfig backoff;
  // Used until the server's `connected` gives heartbeat_ms; matches the server default.
  Millis heartbeat{25'000};
  // After 1012 restart / 1001 going away: reconnect after a uniform delay in
  // [0, prompt_delay_max] — prompt, but spread so a restarted server is not hit at once.
  Millis prompt_delay_max{250};
};

// Checks a config once at start-up; the Error's message names the bad field.
std::optional<Error> validate(const SessionConfig& config);

// Appends ?token=...&session=... to `url`, URL-encoding both (exposed for tests and tools).
std::string connect_url(const std::string& url, const std::string& token, const std::optional<std::string>& session);

class Session final : public TransportEvents {
 public:
  Session(SessionConfig config, Transport& transport, Rng& rng);
  // Closes an active connection. The transport must not report events after this (destroy
  // the transport first, or stop() and pump it until on_closed).
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // ---- callbacks (set by the owner before start()) ----
  std::function<void(const StateChange&)> on_state;            // every state change
  std::function<void(const protocol::ServerFrame&)> on_frame;  // every decoded server message, in order
  std::function<void(const Error&)> on_decode_error;           // a frame or batch element that did not decode
  std::function<void(std::string_view)> on_binary_message;     // a binary message (Yjs), while open

  // ---- driving ----
  void start(Millis now);  // Idle/Closed -> Connecting; otherwise nothing
  void stop();             // -> Closed; closes the transport if a connection exists
  void tick(Millis now);   // runs timers: retry, connect timeout, stability, heartbeat
  // Sends one encoded frame when Open; NotOpen (nothing sent) otherwise.
  SendStatus send(std::string_view frame);
  // The same for a binary message (Yjs documents, PROTOCOL.md §19).
  SendStatus send_binary(std::string_view message);
  // Takes effect at the next connection attempt (e.g. after Closed/Unauthorized).
  void set_token(std::string token);

  // ---- state ----
  State state() const { return state_; }
  // The last `connected` received; kept while reconnecting so the app still knows who it is.
  const std::optional<protocol::Connected>& connected() const { return connected_; }
  Millis heartbeat() const { return heartbeat_; }
  const Backoff& backoff() const { return backoff_; }
  const SessionConfig& config() const { return config_; }

  // ---- TransportEvents (called by the transport) ----
  void on_open() override;
  void on_message(std::string_view frame) override;
  void on_binary(std::string_view message) override;
  void on_closed(int code, std::string_view reason) override;

 private:
  // What the transport is doing, as far as the session knows.
  enum class Link {
    Down,     // no connection: open() may be called
    Active,   // open() called; its on_closed has not arrived
    Closing,  // we called close(); waiting for on_closed, ignoring everything else
  };

  void enter(State next, Cause cause, int close_code = 0, std::string close_reason = {});
  void note_stability();              // resets the backoff once Open for stable_after
  void dial();                        // open() now, or as soon as the old link reports closed
  void close_link(int code, std::string_view reason);
  void schedule_retry(Millis delay);  // sets retry fields used by the next enter(Reconnecting)
  void handle_frame(const protocol::ServerFrame& frame);

  SessionConfig config_;
  Transport& transport_;
  Rng& rng_;
  Backoff backoff_;

  State state_ = State::Idle;
  Link link_ = Link::Down;
  Millis now_{0};
  Millis connect_deadline_{0};
  Millis retry_delay_{0};
  Millis retry_at_{0};
  int attempt_ = 0;
  Millis opened_at_{0};
  bool stable_ = false;
  Millis heartbeat_;
  Millis last_received_{0};
  std::optional<Millis> ping_sent_at_;  // the app ping sent during the current silence
  std::optional<protocol::Connected> connected_;
  std::optional<std::string> session_id_;  // presented on reconnect
  // Bumped whenever a connection begins or ends, so a batch being delivered notices that a
  // callback stopped or restarted the session and drops the rest of that connection's frames.
  unsigned link_epoch_ = 0;
};

}  // namespace tandem
