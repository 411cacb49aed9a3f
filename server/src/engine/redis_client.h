// server/src/engine/redis_client.h — the Redis client layer: what tandem-server instances will
// share through Redis (docs/SCALING.md: room owners with leases, live instances, pub/sub
// channels per room and per instance). The only code in the repo that talks to Redis:
// redis_client.cpp is the one file that includes hiredis; this header does not, so its users
// never see hiredis. Two classes:
//
//   RedisConnection  request/reply (GET, SET NX PX, PUBLISH...), for the loop thread;
//   RedisSubscriber  a pub/sub connection with a thread of its own, so the loop never waits
//                    on it: the loop says what to (un)subscribe and takes what has arrived.
//
// OWNERSHIP: each object owns its one TCP connection to Redis (and a RedisSubscriber its
//   thread and two eventfds); destroying it closes them (and joins the thread). Replies and messages are plain
//   values that own their bytes. Arguments and payloads are binary-safe (NUL bytes included).
// THREADING: RedisConnection is used from one thread (the loop's) and is not thread-safe.
//   RedisSubscriber's public calls are made from one thread (the loop's) too; its own thread
//   does the network work and calls the wake callback — and nothing else of the caller's.
// FAILURE: nothing blocks the calling thread for longer than RedisOptions::timeout (DNS
//   aside: give an IP address). A network failure (refused, timed out, connection lost) is a
//   failed Result — code "internal", a message saying what — and the connection is dropped, to
//   be made again by the next call within that call's timeout. A connection the server closed
//   while idle is noticed before a command is sent on it, so a Redis restart costs the calls
//   made while it is down, and nothing after. A Redis error reply (WRONGTYPE, NOSCRIPT...) is
//   a reply (RedisReply::is_error), not a failed Result: the connection is fine. A command
//   whose connection fails after it was sent may or may not have been applied; it is never
//   sent again by this layer. Messages never show the password (redact_redis_url).
//   A RedisSubscriber reconnects by itself with backoff (100 ms doubling to 2 s) and
//   subscribes again to everything it had; whatever was published meanwhile is lost to it,
//   which reconnects() tells (see there): the server refills from the store after a gap.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "tandem/result.h"

namespace tandem::server {

struct RedisOptions {
  // redis://[user:password@]host[:port][/db] — port 6379 and database 0 unless given;
  // redis://:password@host for a server with only `requirepass`. User and password may be
  // percent-encoded. No TLS (rediss://).
  std::string url;
  // The longest any call waits for Redis: connecting (with AUTH and SELECT), a command, a
  // whole pipeline.
  std::chrono::milliseconds timeout{2000};
};

// The URL with its password replaced by "***" (a user name is kept: "ana:***@"; everything
// before the last '@' goes when the URL cannot be read as user:password), for logs and error
// messages.
std::string redact_redis_url(const std::string& url);

// One reply of Redis (RESP2), as a value.
class RedisReply {
 public:
  struct Nil {
    bool operator==(const Nil&) const = default;
  };
  // An error reply: Redis's message, its code first ("WRONGTYPE Operation against a key...").
  struct Error {
    std::string message;
    bool operator==(const Error&) const = default;
  };
  using Array = std::vector<RedisReply>;
  // A string is a bulk string or a status reply ("OK", "PONG"): callers never need to tell.
  using Value = std::variant<Nil, std::int64_t, std::string, Array, Error>;

  RedisReply() = default;  // nil
  RedisReply(Value value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose

  bool is_nil() const { return std::holds_alternative<Nil>(value_); }
  bool is_integer() const { return std::holds_alternative<std::int64_t>(value_); }
  bool is_string() const { return std::holds_alternative<std::string>(value_); }
  bool is_array() const { return std::holds_alternative<Array>(value_); }
  bool is_error() const { return std::holds_alternative<Error>(value_); }

  // Each accessor throws std::bad_variant_access when the reply is of another kind: a reply
  // comes from another system, so a wrong guess must not be undefined behaviour.
  std::int64_t integer() const { return std::get<std::int64_t>(value_); }
  const std::string& string() const { return std::get<std::string>(value_); }
  const Array& array() const { return std::get<Array>(value_); }
  const std::string& error() const { return std::get<Error>(value_).message; }
  const Value& value() const { return value_; }

  // For test failures and logs: nil, 42, "text" (escaped), [a, b], (error) message.
  std::string describe() const;

  bool operator==(const RedisReply&) const = default;

 private:
  Value value_;
};

namespace redis_detail {
struct Link;  // the hiredis context and what is known about it (redis_client.cpp)
}

// A request/reply connection. Connects in open() and, after a failure, again in the next call.
class RedisConnection {
 public:
  // Connects, authenticates (AUTH, when the URL has a password), selects the database and
  // checks the server answers (PING): one round trip after the TCP connect. Fails with a
  // message that says what is wrong: "redis redis://***@127.0.0.1:6390: connect: Connection
  // refused", "...: AUTH: WRONGPASS invalid username-password pair...", "...: no answer within
  // 2000 ms".
  static Result<std::unique_ptr<RedisConnection>> open(const RedisOptions& options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // One command: command({"SET", key, value, "NX", "PX", "10000"}).
  Result<RedisReply> command(std::vector<std::string> argv);
  // Every command sent in one flight, then every reply read back: one round trip, however
  // many commands. One entry per command, in order. When the connection fails part-way, the
  // replies that came stay replies and every later entry carries the failure.
  std::vector<Result<RedisReply>> pipeline(const std::vector<std::vector<std::string>>& commands);

  // Whether the connection is up as far as this side knows (false after a failure until the
  // next call makes it again).
  bool connected() const;

 private:
  explicit RedisConnection(std::unique_ptr<redis_detail::Link> link);

  std::unique_ptr<redis_detail::Link> link_;
};

// One pub/sub message.
struct RedisMessage {
  std::string channel;
  std::string pattern;  // the psubscribe pattern it matched; empty for a subscribe()d channel
  std::string payload;  // binary-safe
  bool operator==(const RedisMessage&) const = default;
};

// A pub/sub connection run by a thread of its own: poll() on the Redis socket and an eventfd
// through which the loop's calls and the destructor wake it.
//
// Subscriptions are wishes the thread carries out: subscribe() returns at once, and Redis
// delivers on the channel once it has confirmed the subscription — subscribed() says when
// (after a reconnect: once confirmed again). A caller that must miss nothing subscribes,
// waits for subscribed(), then reads what came before from the store.
//
// Messages wait in memory until take(), at most `max_pending` of them (at least 1): beyond
// that the oldest is dropped and counted in dropped() — a gap, like a reconnect.
//
// Gaps: whatever was published while the connection was down (Redis restarted, the network
// failed) never arrives. Every time the connection is made again after being lost,
// reconnects() goes up by one (before the wake that follows); the subscriptions are then asked
// for again, and subscribed() turns true again as Redis confirms each (a wake each time). So
// the loop, on each wake: take() the messages, then compare reconnects() and dropped() with
// the values it last saw; when either moved, refill from the store what may be missing
// (events by seq) for each channel once subscribed(channel) holds again — a refill read
// before that could miss what is published in between.
class RedisSubscriber {
 public:
  static constexpr std::size_t kDefaultMaxPending = 100'000;

  // Starts the thread, which connects at once (and again, with backoff, whenever it must).
  // `wake` is called from that thread whenever take() has something new, the connection
  // went up or down, or a subscription was confirmed: it must be quick and thread-safe (the
  // server passes lws_cancel_service). Messages are delivered in the order Redis sent them.
  RedisSubscriber(RedisOptions options, std::function<void()> wake, std::size_t max_pending = kDefaultMaxPending);
  // Stops the thread (at once: it is woken, even from a connect or a backoff wait) and joins it.
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  // Channels (exact names) and patterns (PSUBSCRIBE glob syntax). Once unsubscribe() or
  // punsubscribe() returns, take() yields nothing more of that subscription, even what
  // arrived before Redis confirmed it.
  void subscribe(const std::string& channel);
  void unsubscribe(const std::string& channel);
  void psubscribe(const std::string& pattern);
  void punsubscribe(const std::string& pattern);

  // Whether Redis has confirmed the subscription on the current connection.
  bool subscribed(const std::string& channel) const;
  bool psubscribed(const std::string& pattern) const;

  // The messages received since the last call, oldest first.
  std::vector<RedisMessage> take();
  // How many messages wait for take() (at most max_pending).
  std::size_t pending() const;

  bool connected() const { return connected_.load(); }
  // How many times the connection was made again after it had been up and was lost.
  std::uint64_t reconnects() const { return reconnects_.load(); }
  // How many messages were dropped because max_pending were waiting.
  std::uint64_t dropped() const { return dropped_.load(); }
  // The last connection failure, for logs ("" while none); never shows the password.
  std::string last_failure() const;

 private:
  using Names = std::set<std::string, std::less<>>;
  // What the thread and the caller share, under mutex_.
  struct Shared {
    Names wanted_channels, wanted_patterns;        // the caller's wishes
    Names confirmed_channels, confirmed_patterns;  // what Redis confirmed on this connection
    bool wishes_changed = false;                   // the thread has (un)subscribing to do
    std::deque<RedisMessage> pending;
    std::string last_failure;
    bool stopping = false;
  };
  class Worker;  // the thread's state and code (redis_client.cpp)

  // Adds `name` to `names` (or removes it) and wakes the thread to tell Redis.
  void change_wishes(Names& names, const std::string& name, bool wanted);

  const RedisOptions options_;
  const std::function<void()> wake_;
  const std::size_t max_pending_;
  mutable std::mutex mutex_;
  Shared shared_;
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::uint64_t> dropped_{0};
  // An eventfd the thread polls beside the Redis socket; closed with its owner.
  class EventFd {
   public:
    EventFd();  // throws std::system_error when the system has none to give
    ~EventFd();
    EventFd(const EventFd&) = delete;
    EventFd& operator=(const EventFd&) = delete;
    int fd() const { return fd_; }
    void signal() const;
    void drain() const;

   private:
    int fd_;
  };
  const EventFd wake_fd_;  // the caller changed its wishes
  const EventFd stop_fd_;  // the destructor; it also cuts short a connect or a backoff wait
  std::unique_ptr<Worker> worker_;
  std::thread thread_;
};

}  // namespace tandem::server
