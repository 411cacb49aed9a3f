// server/src/engine/redis_client.cpp — the Redis client layer (see redis_client.h): URLs, the
// one non-blocking exchange every request goes through (commands appended by hiredis, the
// socket polled here against a deadline, replies parsed by hiredis's reader), the connection
// handshake, and the subscriber's thread. The only file in the repo that includes hiredis.
//
// hiredis 0.14 (Debian 12) is used for what it does well — encoding commands and parsing
// replies — and never for waiting: every context is non-blocking (redisConnectNonBlock), and
// each wait is a poll() here with the call's deadline, so no call outlives its timeout.
#include "engine/redis_client.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <optional>
#include <random>
#include <string_view>
#include <system_error>
#include <utility>

#include "tandem/backoff.h"
#include "tandem/protocol/errors.h"

namespace tandem::server {

namespace {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;
using Command = std::vector<std::string>;

constexpr std::string_view kScheme = "redis://";
constexpr int kDefaultPort = 6379;
// The subscriber's reconnects: 100 ms doubling to 2 s, spread a little so that instances
// which lost the same Redis do not come back in the same millisecond.
constexpr BackoffConfig kReconnectBackoff{Millis{100}, 2.0, Millis{2000}, 0.2};
// A connection that stayed up this long proved stable: the next loss starts the backoff over.
// (Reset at once, a Redis that accepts and then drops every connection would be hammered.)
constexpr std::chrono::seconds kStableAfter{10};

Deadline deadline_after(std::chrono::milliseconds timeout) { return SteadyClock::now() + timeout; }

// ---- URLs ---------------------------------------------------------------------------------

struct RedisAddress {
  std::string host;
  int port = kDefaultPort;
  std::string user;      // empty: the default user (AUTH with the password alone)
  std::string password;  // empty: no AUTH
  int database = 0;
};

// The position of the '@' that ends the user info, if any: the last one, so that a password
// holding an unencoded '@' (or '/') is still taken whole.
std::size_t user_info_end(std::string_view url) {
  if (!url.starts_with(kScheme)) return std::string_view::npos;
  return url.rfind('@');
}

std::optional<std::string> percent_decoded(std::string_view text) {
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded += text[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size() ||
        std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr != text.data() + i + 3)
      return std::nullopt;
    decoded += static_cast<char>(value);
    i += 2;
  }
  return decoded;
}

std::optional<int> number_in(std::string_view text, int low, int high) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < low || value > high)
    return std::nullopt;
  return value;
}

// Parses redis://[user:password@]host[:port][/db]; the error says what is wrong (never
// quoting the password).
Result<RedisAddress> parse_redis_url(std::string_view url) {
  auto bad = [](std::string why) { return Error{std::string(protocol::errc::internal), std::move(why)}; };
  if (!url.starts_with(kScheme)) return bad("not a redis:// URL (TLS, rediss://, is not supported)");
  RedisAddress address;
  std::string_view rest = url.substr(kScheme.size());
  if (const std::size_t at = user_info_end(url); at != std::string_view::npos) {
    const std::string_view user_info = url.substr(kScheme.size(), at - kScheme.size());
    rest = url.substr(at + 1);
    const std::size_t colon = user_info.find(':');
    if (colon == std::string_view::npos)
      return bad("give the password as redis://:password@host or redis://user:password@host");
    auto user = percent_decoded(user_info.substr(0, colon));
    auto password = percent_decoded(user_info.substr(colon + 1));
    if (!user || !password) return bad("bad %-encoding in the user or password");
    address.user = std::move(*user);
    address.password = std::move(*password);
  }
  const std::size_t slash = rest.find('/');
  const std::string_view host_port = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  std::string_view port_text;
  if (host_port.starts_with('[')) {  // [::1]:6379
    const std::size_t close = host_port.find(']');
    if (close == std::string_view::npos) return bad("unclosed [ in the host");
    address.host = host_port.substr(1, close - 1);
    if (close + 1 < host_port.size()) {
      if (host_port[close + 1] != ':') return bad("expected :port after the host");
      port_text = host_port.substr(close + 2);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    const std::size_t colon = host_port.rfind(':');
    address.host = host_port.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = host_port.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
  }
  if (address.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    const auto port = number_in(port_text, 1, 65535);
    if (!port) return bad("bad port '" + std::string(port_text) + "'");
    address.port = *port;
  }
  if (!path.empty()) {
    const auto database = number_in(path, 0, 1 << 20);
    if (!database) return bad("bad database '" + std::string(path) + "' (a number, as in redis://host/2)");
    address.database = *database;
  }
  return address;
}

// ---- replies ------------------------------------------------------------------------------

struct ReplyDeleter {
  void operator()(void* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<void, ReplyDeleter>;

RedisReply to_reply(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS: return RedisReply::Value{std::string(reply.str, reply.len)};
    case REDIS_REPLY_INTEGER: return RedisReply::Value{static_cast<std::int64_t>(reply.integer)};
    case REDIS_REPLY_ERROR: return RedisReply::Value{RedisReply::Error{std::string(reply.str, reply.len)}};
    case REDIS_REPLY_ARRAY: {
      RedisReply::Array elements;
      elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) elements.push_back(to_reply(*reply.element[i]));
      return RedisReply::Value{std::move(elements)};
    }
    default: return RedisReply{};  // REDIS_REPLY_NIL (and a nil multi-bulk)
  }
}

// ---- waiting ------------------------------------------------------------------------------

enum class Wait { Ready, TimedOut, Stopped };

// Waits until `fd` is ready for `events` (or has failed or closed: the next read or write
// says which), the deadline passes, or `stop_fd` (when >= 0) becomes readable.
Wait wait_for(int fd, short events, Deadline deadline, int stop_fd) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) return Wait::TimedOut;
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    const int ready = ::poll(fds, stop_fd >= 0 ? 2 : 1, static_cast<int>(std::min<std::int64_t>(left.count(), 60'000)));
    if (ready < 0 && errno != EINTR) return Wait::Ready;  // the read or write that follows fails and says why
    if (ready <= 0) continue;
    if (stop_fd >= 0 && fds[1].revents != 0) return Wait::Stopped;
    if (fds[0].revents != 0) return Wait::Ready;
  }
}

std::string no_answer_within(std::chrono::milliseconds timeout) {
  return "no answer within " + std::to_string(timeout.count()) + " ms";
}

}  // namespace

// ---- the link: one hiredis context --------------------------------------------------------

namespace redis_detail {

struct ContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};

struct Link {
  std::string shown_url;  // redacted, for messages
  std::chrono::milliseconds timeout{2000};
  Result<RedisAddress> address = RedisAddress{};
  std::unique_ptr<redisContext, ContextDeleter> context;  // null: not connected

  explicit Link(const RedisOptions& options)
      : shown_url(redact_redis_url(options.url)), timeout(options.timeout), address(parse_redis_url(options.url)) {}

  void drop() { context.reset(); }

  Error failure(std::string_view what, std::string_view detail) const {
    std::string message = "redis " + shown_url + ": ";
    message += what;
    if (!detail.empty()) {
      message += ": ";
      message += detail;
    }
    return Error{std::string(protocol::errc::internal), std::move(message)};
  }
};

}  // namespace redis_detail

namespace {

using redis_detail::Link;

std::optional<std::string> append_command(redisContext& context, const Command& command) {
  std::vector<const char*> arguments;
  std::vector<std::size_t> lengths;
  arguments.reserve(command.size());
  lengths.reserve(command.size());
  for (const std::string& argument : command) {
    arguments.push_back(argument.data());
    lengths.push_back(argument.size());
  }
  if (redisAppendCommandArgv(&context, static_cast<int>(arguments.size()), arguments.data(), lengths.data()) !=
      REDIS_OK)
    return std::string(context.errstr);
  return std::nullopt;
}

// The next whole reply hiredis has parsed from what was read, if any.
Result<std::optional<RedisReply>> next_parsed_reply(Link& link, std::string_view what) {
  void* raw = nullptr;
  if (redisGetReplyFromReader(link.context.get(), &raw) != REDIS_OK) return link.failure(what, link.context->errstr);
  if (raw == nullptr) return std::optional<RedisReply>{};
  const ReplyPtr owned(raw);
  return std::optional<RedisReply>{to_reply(*static_cast<const redisReply*>(raw))};
}

// What an exchange got: a reply per command, or the replies that came before the connection
// failed (it is then dropped) and the failure.
struct Exchanged {
  std::vector<RedisReply> replies;
  std::optional<Error> failure;
};

// Sends `commands` in one flight and reads a reply for each, within the deadline: the one
// place a request waits on Redis. Replies are read while the commands are still being written,
// so a large pipeline cannot dead-lock against Redis's output buffer.
Exchanged exchange(Link& link, const std::vector<Command>& commands, std::string_view what, Deadline deadline,
                   int stop_fd) {
  Exchanged exchanged;
  auto fail = [&](std::string_view detail) {
    exchanged.failure = link.failure(what, detail);
    link.drop();
    return std::move(exchanged);
  };
  redisContext& context = *link.context;
  for (const Command& command : commands) {
    if (auto failed = append_command(context, command)) return fail(*failed);
  }
  exchanged.replies.reserve(commands.size());
  bool all_sent = false;
  while (exchanged.replies.size() < commands.size()) {
    if (!all_sent) {
      int done = 0;
      if (redisBufferWrite(&context, &done) != REDIS_OK) return fail(context.errstr);
      all_sent = done != 0;
    }
    auto parsed = next_parsed_reply(link, what);
    if (!parsed) return fail(context.errstr);
    if (parsed.value()) {
      exchanged.replies.push_back(std::move(*parsed.value()));
      continue;
    }
    switch (wait_for(context.fd, static_cast<short>(POLLIN | (all_sent ? 0 : POLLOUT)), deadline, stop_fd)) {
      case Wait::TimedOut: return fail(no_answer_within(link.timeout));
      case Wait::Stopped: return fail("stopped");
      case Wait::Ready: break;
    }
    // Non-blocking: when only writing was possible, the read finds nothing (hiredis: try again).
    if (redisBufferRead(&context) != REDIS_OK) return fail(context.errstr);
  }
  return exchanged;
}

// What a new connection says first, in one flight: AUTH, SELECT, and a PING so that even a
// server needing neither proves it answers.
std::vector<Command> handshake(const RedisAddress& address) {
  std::vector<Command> commands;
  if (!address.password.empty()) {
    if (address.user.empty()) commands.push_back({"AUTH", address.password});
    else commands.push_back({"AUTH", address.user, address.password});
  }
  if (address.database != 0) commands.push_back({"SELECT", std::to_string(address.database)});
  commands.push_back({"PING"});
  return commands;
}

// (Re)connects the link: TCP, then the handshake, all within the deadline; `stop_fd` (when
// >= 0) cuts the waits short. On failure the link stays unconnected and the error says what
// failed: the connect, or which handshake command Redis refused.
std::optional<Error> connect(Link& link, Deadline deadline, int stop_fd) {
  link.drop();
  if (!link.address) return link.failure("bad URL", link.address.error().message);
  const RedisAddress& address = link.address.value();
  link.context.reset(redisConnectNonBlock(address.host.c_str(), address.port));
  if (!link.context) return link.failure("connect", "out of memory");
  auto fail = [&](std::string_view what, std::string_view detail) {
    Error error = link.failure(what, detail);
    link.drop();
    return error;
  };
  if (link.context->err != 0) return fail("connect", link.context->errstr);
  switch (wait_for(link.context->fd, POLLOUT, deadline, stop_fd)) {
    case Wait::TimedOut: return fail("connect", no_answer_within(link.timeout));
    case Wait::Stopped: return fail("connect", "stopped");
    case Wait::Ready: break;
  }
  int socket_error = 0;
  socklen_t length = sizeof socket_error;
  if (::getsockopt(link.context->fd, SOL_SOCKET, SO_ERROR, &socket_error, &length) != 0) socket_error = errno;
  if (socket_error != 0) return fail("connect", std::generic_category().message(socket_error));
  // TCP keepalive: an idle connection (a subscriber's, mostly) to a peer that vanished without
  // closing, learns so in about half a minute instead of never.
  (void)redisEnableKeepAlive(link.context.get());

  const std::vector<Command> commands = handshake(address);
  Exchanged answered = exchange(link, commands, "connect", deadline, stop_fd);
  if (answered.failure) return answered.failure;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (answered.replies[i].is_error()) return fail(commands[i].front(), answered.replies[i].error());
  }
  return std::nullopt;
}

// An idle request/reply connection has nothing to read: anything readable is the server's
// close (a restart) or a reset, learnt before a command is sent on a dead connection.
bool idle_connection_is_closed(const Link& link) {
  pollfd fd{link.context->fd, POLLIN, 0};
  return ::poll(&fd, 1, 0) != 0;
}

}  // namespace

// ---- redact_redis_url, RedisReply ---------------------------------------------------------

std::string redact_redis_url(const std::string& url) {
  // Any scheme, not only redis://: a URL given by mistake is shown in the error that says so.
  const std::size_t scheme = url.find("://");
  const std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const std::size_t at = url.rfind('@');
  if (at == std::string::npos || at < start) return url;
  const std::string_view user_info = std::string_view(url).substr(start, at - start);
  const std::size_t colon = user_info.find(':');
  const std::string user =
      colon == std::string_view::npos || colon == 0 ? "" : std::string(user_info.substr(0, colon + 1));
  return url.substr(0, start) + user + "***" + url.substr(at);
}

std::string RedisReply::describe() const {
  struct Describe {
    std::string operator()(const Nil&) const { return "nil"; }
    std::string operator()(std::int64_t number) const { return std::to_string(number); }
    std::string operator()(const std::string& text) const {
      std::string shown = "\"";
      for (const char c : text) {
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
          shown += c;
        } else {
          constexpr std::string_view kHex = "0123456789abcdef";
          const auto byte = static_cast<unsigned char>(c);
          shown += "\\x";
          shown += kHex[byte >> 4];
          shown += kHex[byte & 0xf];
        }
      }
      return shown + "\"";
    }
    std::string operator()(const Array& elements) const {
      std::string shown = "[";
      for (const RedisReply& element : elements) shown += (shown.size() > 1 ? ", " : "") + element.describe();
      return shown + "]";
    }
    std::string operator()(const Error& error) const { return "(error) " + error.message; }
  };
  return std::visit(Describe{}, value_);
}

// ---- RedisConnection ----------------------------------------------------------------------

RedisConnection::RedisConnection(std::unique_ptr<redis_detail::Link> link) : link_(std::move(link)) {}
RedisConnection::~RedisConnection() = default;

Result<std::unique_ptr<RedisConnection>> RedisConnection::open(const RedisOptions& options) {
  auto link = std::make_unique<Link>(options);
  if (auto failed = connect(*link, deadline_after(options.timeout), -1)) return *failed;
  return std::unique_ptr<RedisConnection>(new RedisConnection(std::move(link)));
}

bool RedisConnection::connected() const { return link_->context != nullptr; }

Result<RedisReply> RedisConnection::command(std::vector<std::string> argv) {
  std::vector<Command> one;  // not pipeline({argv}): an initializer list would copy the payload
  one.push_back(std::move(argv));
  return std::move(pipeline(one).front());
}

std::vector<Result<RedisReply>> RedisConnection::pipeline(const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return {};
  std::string what = "pipeline of " + std::to_string(commands.size()) + " commands";
  if (commands.size() == 1) what = commands.front().empty() ? "command" : commands.front().front();
  auto every_one_fails = [&](const Error& error) { return std::vector<Result<RedisReply>>(commands.size(), error); };
  // Redis ignores an empty command without answering: the wait would end only at the timeout.
  if (std::any_of(commands.begin(), commands.end(), [](const Command& command) { return command.empty(); }))
    return every_one_fails(link_->failure(what, "a command without arguments"));

  Link& link = *link_;
  const Deadline deadline = deadline_after(link.timeout);
  if (link.context && idle_connection_is_closed(link)) link.drop();
  if (!link.context) {
    if (auto failed = connect(link, deadline, -1)) return every_one_fails(*failed);
  }
  Exchanged exchanged = exchange(link, commands, what, deadline, -1);
  std::vector<Result<RedisReply>> results;
  results.reserve(commands.size());
  for (RedisReply& reply : exchanged.replies) results.emplace_back(std::move(reply));
  while (results.size() < commands.size()) results.emplace_back(*exchanged.failure);
  return results;
}

// ---- RedisSubscriber ----------------------------------------------------------------------

// The subscriber's thread: connects (with backoff), keeps the connection's subscriptions equal
// to the caller's wishes, and files what Redis sends.
class RedisSubscriber::Worker {
 public:
  explicit Worker(RedisSubscriber& owner) : owner_(owner), link_(owner.options_) {}

  void run() {
    while (!stopping()) {
      if (!link_.context) {
        connect_or_wait();
      } else if (auto lost = serve_once()) {
        connection_lost(*lost);
      }
    }
  }

 private:
  bool stopping() const {
    const std::lock_guard lock(owner_.mutex_);
    return owner_.shared_.stopping;
  }

  void connect_or_wait() {
    if (auto failed = connect(link_, deadline_after(link_.timeout), owner_.stop_fd_.fd())) {
      remember_failure(failed->message);
      wait_before_reconnecting();
      return;
    }
    asked_channels_.clear();
    asked_patterns_.clear();
    resubscribe_ = true;
    connected_at_ = SteadyClock::now();
    if (ever_connected_) ++owner_.reconnects_;
    ever_connected_ = true;
    owner_.connected_ = true;
    owner_.wake_();
  }

  void connection_lost(const Error& error) {
    link_.drop();
    owner_.connected_ = false;
    {
      const std::lock_guard lock(owner_.mutex_);
      owner_.shared_.confirmed_channels.clear();
      owner_.shared_.confirmed_patterns.clear();
      owner_.shared_.last_failure = error.message;
    }
    owner_.wake_();
    if (SteadyClock::now() - connected_at_ >= kStableAfter) backoff_.reset();
    wait_before_reconnecting();
  }

  void remember_failure(const std::string& message) {
    const std::lock_guard lock(owner_.mutex_);
    owner_.shared_.last_failure = message;
  }

  // The backoff delay, cut short only by the destructor.
  void wait_before_reconnecting() {
    (void)wait_for(owner_.stop_fd_.fd(), POLLIN, SteadyClock::now() + backoff_.next_delay(rng_), -1);
  }

  // One turn on a live connection: ask for what the caller's wishes need, wait for Redis or
  // the caller, file what came. The failure when the connection is lost.
  std::optional<Error> serve_once() {
    redisContext& context = *link_.context;
    if (auto failed = request_subscription_changes()) return link_.failure("subscribe", *failed);
    int all_sent = 0;
    if (redisBufferWrite(&context, &all_sent) != REDIS_OK) return link_.failure("connection lost", context.errstr);
    pollfd fds[3] = {{context.fd, static_cast<short>(POLLIN | (all_sent != 0 ? 0 : POLLOUT)), 0},
                     {owner_.wake_fd_.fd(), POLLIN, 0},
                     {owner_.stop_fd_.fd(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) return std::nullopt;  // EINTR: the next turn polls again
    if (fds[1].revents != 0) owner_.wake_fd_.drain();
    if (fds[0].revents != 0) {
      if (redisBufferRead(&context) != REDIS_OK) return link_.failure("connection lost", context.errstr);
      return file_replies();
    }
    return std::nullopt;
  }

  // Brings the connection's subscriptions to the caller's wishes (all of them after a
  // reconnect). Returns hiredis's complaint if a command could not be encoded.
  std::optional<std::string> request_subscription_changes() {
    std::vector<Command> commands;
    {
      const std::lock_guard lock(owner_.mutex_);
      if (!owner_.shared_.wishes_changed && !resubscribe_) return std::nullopt;
      owner_.shared_.wishes_changed = false;
      resubscribe_ = false;
      reconcile(owner_.shared_.wanted_channels, asked_channels_, "SUBSCRIBE", "UNSUBSCRIBE", commands);
      reconcile(owner_.shared_.wanted_patterns, asked_patterns_, "PSUBSCRIBE", "PUNSUBSCRIBE", commands);
    }
    for (const Command& command : commands) {
      if (auto failed = append_command(*link_.context, command)) return failed;
    }
    return std::nullopt;
  }

  // The commands that take `asked` (what this connection was asked for) to `wanted`. Never an
  // UNSUBSCRIBE without names: that would drop every subscription.
  static void reconcile(const Names& wanted, Names& asked, const char* subscribe, const char* unsubscribe,
                        std::vector<Command>& commands) {
    Command add{subscribe};
    Command remove{unsubscribe};
    for (const std::string& name : wanted) {
      if (!asked.contains(name)) add.push_back(name);
    }
    for (const std::string& name : asked) {
      if (!wanted.contains(name)) remove.push_back(name);
    }
    asked = wanted;
    if (add.size() > 1) commands.push_back(std::move(add));
    if (remove.size() > 1) commands.push_back(std::move(remove));
  }

  // Files every reply read so far: messages for take(), confirmations for subscribed(). One
  // wake for all of them.
  std::optional<Error> file_replies() {
    bool news = false;
    for (;;) {
      auto parsed = next_parsed_reply(link_, "connection lost");
      if (!parsed) return parsed.error();
      if (!parsed.value()) break;
      news = file(*parsed.value()) || news;
    }
    if (news) owner_.wake_();
    return std::nullopt;
  }

  // Files one reply; true when the caller has something new to see.
  bool file(const RedisReply& reply) {
    if (reply.is_error()) {  // Redis refused a (P)SUBSCRIBE, e.g. for want of ACL rights
      remember_failure(link_.failure("subscribe", reply.error()).message);
      return false;
    }
    if (!reply.is_array()) return false;
    const RedisReply::Array& parts = reply.array();
    auto text = [&](std::size_t i) -> const std::string* {
      return i < parts.size() && parts[i].is_string() ? &parts[i].string() : nullptr;
    };
    const std::string* kind = text(0);
    if (kind == nullptr) return false;
    Shared& shared = owner_.shared_;
    const std::lock_guard lock(owner_.mutex_);
    if (*kind == "message" && text(2) != nullptr) {
      if (!shared.wanted_channels.contains(*text(1))) return false;  // unsubscribed meanwhile
      return deliver(RedisMessage{*text(1), "", *text(2)});
    }
    if (*kind == "pmessage" && text(3) != nullptr) {
      if (!shared.wanted_patterns.contains(*text(1))) return false;
      return deliver(RedisMessage{*text(2), *text(1), *text(3)});
    }
    if (text(1) == nullptr) return false;
    if (*kind == "subscribe") return shared.confirmed_channels.insert(*text(1)).second;
    if (*kind == "unsubscribe") return shared.confirmed_channels.erase(*text(1)) != 0;
    if (*kind == "psubscribe") return shared.confirmed_patterns.insert(*text(1)).second;
    if (*kind == "punsubscribe") return shared.confirmed_patterns.erase(*text(1)) != 0;
    return false;
  }

  // Under the mutex. Beyond max_pending the oldest message goes.
  bool deliver(RedisMessage message) {
    std::deque<RedisMessage>& pending = owner_.shared_.pending;
    if (pending.size() >= owner_.max_pending_) {
      pending.pop_front();
      ++owner_.dropped_;
    }
    pending.push_back(std::move(message));
    return true;
  }

  RedisSubscriber& owner_;
  Link link_;
  Names asked_channels_, asked_patterns_;  // what the current connection was asked for
  bool resubscribe_ = false;               // a new connection: ask for everything
  bool ever_connected_ = false;
  SteadyClock::time_point connected_at_{};
  Backoff backoff_{kReconnectBackoff};
  SeededRng rng_{std::random_device{}()};
};

RedisSubscriber::EventFd::EventFd() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "redis subscriber: eventfd");
}

RedisSubscriber::EventFd::~EventFd() { ::close(fd_); }

void RedisSubscriber::EventFd::signal() const {
  const std::uint64_t one = 1;
  (void)!::write(fd_, &one, sizeof one);
}

void RedisSubscriber::EventFd::drain() const {
  std::uint64_t count = 0;
  (void)!::read(fd_, &count, sizeof count);
}

namespace {

// Removes the waiting messages `matches` picks.
template <class Matches>
void forget_pending(std::deque<RedisMessage>& pending, Matches&& matches) {
  pending.erase(std::remove_if(pending.begin(), pending.end(), matches), pending.end());
}

}  // namespace

RedisSubscriber::RedisSubscriber(RedisOptions options, std::function<void()> wake, std::size_t max_pending)
    : options_(std::move(options)),
      wake_(std::move(wake)),
      max_pending_(std::max<std::size_t>(max_pending, 1)) {
  worker_ = std::make_unique<Worker>(*this);
  thread_ = std::thread([this] { worker_->run(); });
}

RedisSubscriber::~RedisSubscriber() {
  {
    const std::lock_guard lock(mutex_);
    shared_.stopping = true;
  }
  stop_fd_.signal();
  thread_.join();
}

void RedisSubscriber::change_wishes(Names& names, const std::string& name, bool wanted) {
  {
    const std::lock_guard lock(mutex_);
    const bool changed = wanted ? names.insert(name).second : names.erase(name) != 0;
    if (!changed) return;
    shared_.wishes_changed = true;
    if (!wanted) {
      const bool pattern = &names == &shared_.wanted_patterns;
      forget_pending(shared_.pending, [&](const RedisMessage& message) {
        return pattern ? message.pattern == name : message.pattern.empty() && message.channel == name;
      });
    }
  }
  wake_fd_.signal();
}

void RedisSubscriber::subscribe(const std::string& channel) { change_wishes(shared_.wanted_channels, channel, true); }
void RedisSubscriber::unsubscribe(const std::string& channel) { change_wishes(shared_.wanted_channels, channel, false); }
void RedisSubscriber::psubscribe(const std::string& pattern) { change_wishes(shared_.wanted_patterns, pattern, true); }
void RedisSubscriber::punsubscribe(const std::string& pattern) { change_wishes(shared_.wanted_patterns, pattern, false); }

bool RedisSubscriber::subscribed(const std::string& channel) const {
  const std::lock_guard lock(mutex_);
  return shared_.wanted_channels.contains(channel) && shared_.confirmed_channels.contains(channel);
}

bool RedisSubscriber::psubscribed(const std::string& pattern) const {
  const std::lock_guard lock(mutex_);
  return shared_.wanted_patterns.contains(pattern) && shared_.confirmed_patterns.contains(pattern);
}

std::vector<RedisMessage> RedisSubscriber::take() {
  std::deque<RedisMessage> taken;
  {
    const std::lock_guard lock(mutex_);
    taken.swap(shared_.pending);
  }
  return {std::make_move_iterator(taken.begin()), std::make_move_iterator(taken.end())};
}

std::size_t RedisSubscriber::pending() const {
  const std::lock_guard lock(mutex_);
  return shared_.pending.size();
}

std::string RedisSubscriber::last_failure() const {
  const std::lock_guard lock(mutex_);
  return shared_.last_failure;
}

}  // namespace tandem::server
