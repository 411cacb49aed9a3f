// redis_client_test.cpp — the Redis client layer (engine/redis_client.h) against a real Redis
// (tests/support/test_redis.h: the ctest fixture's server, keys and channels under a prefix of
// each test's own; a RedisServer of the test's own where it restarts or pauses the server).
//
// RedisConnection: every kind of reply, binary-safe arguments and replies, a pipeline of 1,000
// commands sent in one flight (Redis is made to hold the first one — BLPOP — while the test
// watches the other 999 arrive in its query buffer: a client that waited for each reply would
// never get them there), start-up errors that never show the password, a restart survived by
// the next command, and the timeout held against a listener that never answers and a paused
// Redis. RedisSubscriber: publish order on channels and patterns, the wake callback (every
// wait on a subscriber is woken by it, never by polling), unsubscribe, re-subscribing by itself
// after a restart and reporting it, max_pending, and a destructor that stops at once.
//
// Waits are on conditions with generous deadlines (a busy CI machine); elapsed times are only
// checked against upper bounds far from what a working client takes.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "engine/redis_client.h"
#include "test_redis.h"

namespace tandem::server {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using tandem::test::RedisServer;
using tandem::test::redis_test_prefix;
using tandem::test::test_redis_url;

// Long enough for a busy machine, short enough that a broken test ends.
constexpr auto kPatience = 20s;

RedisOptions at(const std::string& url, std::chrono::milliseconds timeout = 5000ms) {
  RedisOptions options;
  options.url = url;
  options.timeout = timeout;
  return options;
}

std::unique_ptr<RedisConnection> open_or_fail(const RedisOptions& options) {
  auto opened = RedisConnection::open(options);
  if (!opened) {
    ADD_FAILURE() << opened.error().message;
    return nullptr;
  }
  return std::move(opened.value());
}

// The reply, or a test failure with the connection's message (and a nil reply).
RedisReply reply_or_fail(RedisConnection& redis, std::vector<std::string> argv) {
  auto reply = redis.command(std::move(argv));
  if (!reply) {
    ADD_FAILURE() << reply.error().message;
    return RedisReply{};
  }
  return reply.value();
}

// Polls `condition` (a state only Redis can be asked about) until it holds or the patience
// runs out.
bool eventually(const std::function<bool()>& condition) {
  const auto deadline = Clock::now() + kPatience;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string password_of(const std::string& url) {  // redis://:PASSWORD@host:port
  const auto colon = url.find(':', std::string("redis://").size());
  return url.substr(colon + 1, url.rfind('@') - colon - 1);
}

std::string with_port(const std::string& url, int port) {
  return url.substr(0, url.rfind(':') + 1) + std::to_string(port);
}

// A TCP listener on 127.0.0.1 that never accepts and never answers: the kernel completes
// connections into its backlog, and nothing ever comes back.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      throw std::runtime_error("silent listener: cannot listen");
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  int port() const { return port_; }
  // Whether a connection waits in the backlog (a client is connected and waiting for answers).
  bool connection_waits() const {
    pollfd fd{fd_, POLLIN, 0};
    return ::poll(&fd, 1, static_cast<int>(std::chrono::milliseconds(kPatience).count())) == 1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A port nobody listens on: one the kernel just handed out, released again.
int unused_port() {
  const SilentListener taken;
  return taken.port();
}

// ---- RedisConnection ----------------------------------------------------------------------

TEST(redis_connection_test, commands_answer_every_kind_of_reply) {
  auto redis = open_or_fail(at(test_redis_url()));
  ASSERT_TRUE(redis);
  const std::string key = redis_test_prefix() + "key";

  EXPECT_EQ(reply_or_fail(*redis, {"SET", key, "v1"}).string(), "OK");  // a status
  EXPECT_EQ(reply_or_fail(*redis, {"GET", key}).string(), "v1");        // a bulk string
  EXPECT_TRUE(reply_or_fail(*redis, {"GET", key + ":missing"}).is_nil());
  EXPECT_EQ(reply_or_fail(*redis, {"INCR", key + ":n"}).integer(), 1);
  const RedisReply nested = reply_or_fail(*redis, {"EVAL", "return {1, {'two', 3}, 'four'}", "0"});
  ASSERT_TRUE(nested.is_array()) << nested.describe();
  EXPECT_EQ(nested, RedisReply(RedisReply::Array{
                        RedisReply(1), RedisReply(RedisReply::Array{RedisReply(std::string("two")), RedisReply(3)}),
                        RedisReply(std::string("four"))}));
  EXPECT_EQ(nested.describe(), R"([1, ["two", 3], "four"])");

  // An error reply is a reply: the connection is fine and goes on.
  auto refused = redis->command({"LPUSH", key, "x"});
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  ASSERT_TRUE(refused->is_error());
  EXPECT_EQ(refused->error().rfind("WRONGTYPE", 0), 0u) << refused->error();
  EXPECT_THROW((void)refused->string(), std::bad_variant_access);
  EXPECT_EQ(reply_or_fail(*redis, {"GET", key}).string(), "v1");
  EXPECT_TRUE(redis->connected());

  // Redis would ignore an empty command without answering: refused at once instead.
  auto empty = redis->command({});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "internal");
  EXPECT_TRUE(redis->pipeline({}).empty());
}

TEST(redis_connection_test, arguments_and_replies_are_binary_safe) {
  auto redis = open_or_fail(at(test_redis_url()));
  ASSERT_TRUE(redis);
  const std::string key = redis_test_prefix() + std::string("k\0ey\r\n", 7);
  std::string payload("\0a\r\n$3\r\n\xff\x00z", 12);
  payload += std::string(1 << 20, '\0');  // and 1 MiB of NULs: many reads of a reply
  payload += "end";

  EXPECT_EQ(reply_or_fail(*redis, {"SET", key, payload}).string(), "OK");
  EXPECT_EQ(reply_or_fail(*redis, {"GET", key}).string(), payload);
  EXPECT_EQ(reply_or_fail(*redis, {"STRLEN", key}).integer(), static_cast<std::int64_t>(payload.size()));
  EXPECT_EQ(RedisReply(std::string("a\0\"", 3)).describe(), R"("a\x00\x22")");
}

TEST(redis_connection_test, a_pipeline_answers_each_command_in_order_with_error_replies_in_place) {
  auto redis = open_or_fail(at(test_redis_url()));
  ASSERT_TRUE(redis);
  const std::string key = redis_test_prefix() + "key";
  const auto replies = redis->pipeline({{"SET", key, "v"}, {"LPUSH", key, "x"}, {"GET", key}, {"EXISTS", key}});
  ASSERT_EQ(replies.size(), 4u);
  for (const auto& reply : replies) ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(replies[0]->string(), "OK");
  EXPECT_TRUE(replies[1]->is_error());
  EXPECT_EQ(replies[2]->string(), "v");
  EXPECT_EQ(replies[3]->integer(), 1);
}

// RESP's encoding of a command, as Redis holds it in a client's query buffer.
std::string encoded(const std::vector<std::string>& argv) {
  std::string text = "*" + std::to_string(argv.size()) + "\r\n";
  for (const std::string& argument : argv) text += "$" + std::to_string(argument.size()) + "\r\n" + argument + "\r\n";
  return text;
}

TEST(redis_connection_test, a_pipeline_of_a_thousand_commands_is_sent_in_one_flight) {
  const std::string prefix = redis_test_prefix();
  const std::string gate = prefix + "gate";
  const std::string counter = prefix + "counter";
  auto sender = open_or_fail(at(test_redis_url(), std::chrono::milliseconds(kPatience) + 10s));
  auto watcher = open_or_fail(at(test_redis_url()));
  ASSERT_TRUE(sender && watcher);
  const std::int64_t sender_id = reply_or_fail(*sender, {"CLIENT", "ID"}).integer();

  // Redis holds the first command until the gate opens; the other 999 can only reach its
  // query buffer meanwhile if they were sent without waiting for the first one's reply.
  std::vector<std::vector<std::string>> commands{{"BLPOP", gate, "60"}};
  std::size_t behind_the_first = 0;
  for (int i = 0; i < 999; ++i) {
    commands.push_back({"INCR", counter});
    behind_the_first += encoded(commands.back()).size();
  }
  std::vector<Result<RedisReply>> replies;
  std::thread sending([&] { replies = sender->pipeline(commands); });

  std::string client;  // the sender as CLIENT LIST shows it
  const bool all_arrived = eventually([&] {
    client = reply_or_fail(*watcher, {"CLIENT", "LIST", "ID", std::to_string(sender_id)}).string();
    return client.find(" qbuf=" + std::to_string(behind_the_first) + " ") != std::string::npos;
  });
  reply_or_fail(*watcher, {"LPUSH", gate, "open"});
  sending.join();

  EXPECT_TRUE(all_arrived) << "the query buffer should hold " << behind_the_first << " bytes: " << client;
  ASSERT_EQ(replies.size(), 1000u);
  for (const auto& reply : replies) ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(replies[0].value(), RedisReply(RedisReply::Array{RedisReply(gate), RedisReply(std::string("open"))}));
  for (std::size_t i = 1; i < replies.size(); ++i) ASSERT_EQ(replies[i]->integer(), static_cast<std::int64_t>(i));
}

TEST(redis_connection_test, start_up_failures_say_what_is_wrong_and_never_show_the_password) {
  const std::string url = test_redis_url();
  const std::string password = password_of(url);
  ASSERT_GE(password.size(), 16u);
  std::string wrong_password = url;
  wrong_password.replace(wrong_password.find(password), password.size(), "not-the-password");
  const std::string no_password = "redis://" + url.substr(url.rfind('@') + 1);
  const int nobody = unused_port();

  struct Case {
    std::string name, url, expected_in_message;
  };
  const std::vector<Case> cases = {
      {"wrong password", wrong_password, ": AUTH: WRONGPASS"},
      {"no password", no_password, ": PING: NOAUTH"},
      {"nobody listening", with_port(url, nobody),
       "redis redis://***@127.0.0.1:" + std::to_string(nobody) + ": connect: Connection refused"},
      {"database out of range", url + "/99999", ": SELECT: ERR"},
      {"not a redis URL", "http://:" + password + "@127.0.0.1:1", "not a redis:// URL"},
      {"bad port", "redis://:" + password + "@127.0.0.1:99999", "bad port"},
      {"bad database", url + "/first", "bad database"},
      {"no colon before the password", "redis://" + password + "@127.0.0.1", "redis://:password@host"},
  };
  for (const Case& c : cases) {
    auto opened = RedisConnection::open(at(c.url));
    ASSERT_FALSE(opened.ok()) << c.name;
    EXPECT_EQ(opened.error().code, "internal") << c.name;
    EXPECT_NE(opened.error().message.find(c.expected_in_message), std::string::npos)
        << c.name << ": " << opened.error().message;
    EXPECT_EQ(opened.error().message.find(password), std::string::npos) << c.name << ": " << opened.error().message;
  }
}

TEST(redis_connection_test, urls_are_shown_without_their_password) {
  EXPECT_EQ(redact_redis_url("redis://:s3cret@127.0.0.1:6390"), "redis://***@127.0.0.1:6390");
  EXPECT_EQ(redact_redis_url("redis://ana:s3cret@db:6379/2"), "redis://ana:***@db:6379/2");
  EXPECT_EQ(redact_redis_url("redis://:p@ss/w@rd@db"), "redis://***@db");  // an unencoded @ or / in it
  EXPECT_EQ(redact_redis_url("redis://db:6379/1"), "redis://db:6379/1");
  EXPECT_EQ(redact_redis_url("http://:s3cret@db"), "http://***@db");
}

TEST(redis_connection_test, user_password_and_database_from_the_url_are_used) {
  RedisServer server;  // its own: the test adds an ACL user
  const std::string url = server.url();
  auto admin = open_or_fail(at(url));
  ASSERT_TRUE(admin);
  EXPECT_EQ(reply_or_fail(*admin, {"ACL", "SETUSER", "ana", "on", ">p@ss:word", "~*", "+@all"}).string(), "OK");
  reply_or_fail(*admin, {"SELECT", "3"});
  reply_or_fail(*admin, {"SET", "where", "db3"});

  const std::string host_port = url.substr(url.rfind('@') + 1);
  auto ana = open_or_fail(at("redis://ana:p%40ss%3Aword@" + host_port + "/3"));
  ASSERT_TRUE(ana);
  EXPECT_EQ(reply_or_fail(*ana, {"ACL", "WHOAMI"}).string(), "ana");
  EXPECT_EQ(reply_or_fail(*ana, {"GET", "where"}).string(), "db3");
}

TEST(redis_connection_test, after_a_redis_restart_the_next_command_connects_again_and_succeeds) {
  RedisServer server;
  auto redis = open_or_fail(at(server.url()));
  ASSERT_TRUE(redis);
  EXPECT_EQ(reply_or_fail(*redis, {"SET", "k", "before"}).string(), "OK");

  server.restart();  // the connection is cut while idle; the server comes back empty
  auto after = redis->command({"GET", "k"});
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_TRUE(after->is_nil());
  EXPECT_TRUE(redis->connected());
}

TEST(redis_connection_test, opening_against_a_server_that_never_answers_fails_at_the_timeout) {
  const SilentListener silent;
  const auto started = Clock::now();
  auto opened = RedisConnection::open(at("redis://127.0.0.1:" + std::to_string(silent.port()), 300ms));
  const auto took = Clock::now() - started;
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find(": connect: no answer within 300 ms"), std::string::npos)
      << opened.error().message;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 300ms + 5s);
}

TEST(redis_connection_test, a_command_redis_does_not_answer_fails_at_the_timeout_and_keeps_the_replies_that_came) {
  RedisServer server;  // its own: the test pauses it
  auto redis = open_or_fail(at(server.url(), 300ms));
  auto admin = open_or_fail(at(server.url()));
  ASSERT_TRUE(redis && admin);

  // Writes paused: the GET is answered, the SET is held, and the GET after it with it.
  EXPECT_EQ(reply_or_fail(*admin, {"CLIENT", "PAUSE", "2000", "WRITE"}).string(), "OK");
  auto started = Clock::now();
  const auto replies = redis->pipeline({{"GET", "k"}, {"SET", "k", "v"}, {"GET", "k"}});
  auto took = Clock::now() - started;
  ASSERT_EQ(replies.size(), 3u);
  ASSERT_TRUE(replies[0].ok()) << replies[0].error().message;
  EXPECT_TRUE(replies[0]->is_nil());
  for (std::size_t i : {1u, 2u}) {
    ASSERT_FALSE(replies[i].ok());
    EXPECT_NE(replies[i].error().message.find(": pipeline of 3 commands: no answer within 300 ms"),
              std::string::npos)
        << replies[i].error().message;
  }
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 300ms + 5s);
  EXPECT_FALSE(redis->connected());
  EXPECT_TRUE(eventually([&] { return redis->command({"SET", "k", "after"}).ok(); }));

  // Everything paused: one command, the same bound.
  EXPECT_EQ(reply_or_fail(*admin, {"CLIENT", "PAUSE", "2000", "ALL"}).string(), "OK");
  started = Clock::now();
  auto held = redis->command({"GET", "k"});
  took = Clock::now() - started;
  ASSERT_FALSE(held.ok());
  EXPECT_NE(held.error().message.find(": GET: no answer within 300 ms"), std::string::npos) << held.error().message;
  EXPECT_EQ(held.error().message.find(password_of(server.url())), std::string::npos);
  EXPECT_LT(took, 300ms + 5s);
  EXPECT_TRUE(eventually([&] { return redis->command({"GET", "k"}).ok(); }));
}

// ---- RedisSubscriber ----------------------------------------------------------------------

// Receives a subscriber's wake calls. A wait here is woken by them and by nothing else (no
// polling): a wait that ends proves the callback fired.
class Wakes {
 public:
  std::function<void()> callback() {
    return [this] {
      const std::lock_guard lock(mutex_);
      ++count_;
      changed_.notify_all();
    };
  }
  // Waits until `condition` holds, re-checking it on every wake; false after the patience.
  bool wait_until(const std::function<bool()>& condition) {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, Clock::now() + kPatience, condition);
  }
  int count() const {
    const std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

// Takes messages from `subscriber` into `into`, woken by `wakes`, until there are `count`.
bool take_until(RedisSubscriber& subscriber, Wakes& wakes, std::vector<RedisMessage>& into, std::size_t count) {
  return wakes.wait_until([&] {
    for (RedisMessage& message : subscriber.take()) into.push_back(std::move(message));
    return into.size() >= count;
  });
}

// A publisher and a subscriber on one server, and the subscriber's wakes.
struct PubSub {
  explicit PubSub(const std::string& url, std::size_t max_pending = RedisSubscriber::kDefaultMaxPending)
      : publisher(open_or_fail(at(url))), subscriber(at(url), wakes.callback(), max_pending) {}

  // Subscribes and waits until Redis has confirmed every subscription.
  bool subscribe(const std::vector<std::string>& channels, const std::vector<std::string>& patterns = {}) {
    for (const std::string& channel : channels) subscriber.subscribe(channel);
    for (const std::string& pattern : patterns) subscriber.psubscribe(pattern);
    return confirmed(channels, patterns);
  }
  bool confirmed(const std::vector<std::string>& channels, const std::vector<std::string>& patterns) {
    return wakes.wait_until([&] {
      return std::all_of(channels.begin(), channels.end(), [&](const auto& c) { return subscriber.subscribed(c); }) &&
             std::all_of(patterns.begin(), patterns.end(), [&](const auto& p) { return subscriber.psubscribed(p); });
    });
  }
  void publish(const std::string& channel, const std::string& payload) {
    reply_or_fail(*publisher, {"PUBLISH", channel, payload});
  }

  std::unique_ptr<RedisConnection> publisher;
  Wakes wakes;  // before the subscriber: it outlives it
  RedisSubscriber subscriber;
};

TEST(redis_subscriber_test, messages_arrive_in_publish_order_on_channels_and_patterns) {
  const std::string prefix = redis_test_prefix();
  const std::string room_a = prefix + "room:a";
  const std::string room_b = prefix + "room:b";
  const std::string rooms = prefix + "room:*";
  PubSub redis(test_redis_url());
  ASSERT_TRUE(redis.publisher);
  ASSERT_TRUE(redis.subscribe({room_a}, {rooms}));
  RedisSubscriber& subscriber = redis.subscriber;
  EXPECT_TRUE(subscriber.connected());
  EXPECT_EQ(subscriber.reconnects(), 0u);

  // 200 messages, a and b taking turns; payloads with NUL bytes. Room a's reach the
  // subscriber twice (its channel and the pattern), b's once.
  std::vector<std::vector<std::string>> publishes;
  std::vector<RedisMessage> expected;
  for (int i = 0; i < 200; ++i) {
    const std::string& room = i % 2 == 0 ? room_a : room_b;
    const std::string payload = std::string("m\0", 2) + std::to_string(i);
    publishes.push_back({"PUBLISH", room, payload});
    if (room == room_a) expected.push_back({room, "", payload});
    expected.push_back({room, rooms, payload});
  }
  for (const auto& published : redis.publisher->pipeline(publishes)) ASSERT_TRUE(published.ok());

  std::vector<RedisMessage> received;
  ASSERT_TRUE(take_until(subscriber, redis.wakes, received, expected.size())) << received.size() << " received";
  // Redis sends the channel's copy of a message before the pattern's.
  EXPECT_EQ(received, expected);
  EXPECT_GT(redis.wakes.count(), 0);
  EXPECT_TRUE(subscriber.take().empty());
  EXPECT_EQ(subscriber.dropped(), 0u);
}

TEST(redis_subscriber_test, after_unsubscribe_nothing_more_of_the_channel_is_delivered) {
  const std::string prefix = redis_test_prefix();
  const std::string gone = prefix + "gone";
  const std::string kept = prefix + "kept";
  const std::string pattern = prefix + "pattern:*";
  PubSub redis(test_redis_url());
  ASSERT_TRUE(redis.publisher);
  ASSERT_TRUE(redis.subscribe({gone, kept}, {pattern}));
  RedisSubscriber& subscriber = redis.subscriber;

  // Received before the unsubscribes and never taken: dropped with them.
  redis.publish(gone, "before");
  redis.publish(prefix + "pattern:1", "before");
  redis.publish(kept, "first");
  ASSERT_TRUE(redis.wakes.wait_until([&] { return subscriber.pending() == 3; })) << subscriber.pending();
  subscriber.unsubscribe(gone);
  subscriber.punsubscribe(pattern);
  EXPECT_EQ(subscriber.pending(), 1u);
  EXPECT_FALSE(subscriber.subscribed(gone));
  EXPECT_FALSE(subscriber.psubscribed(pattern));
  // Published after: the unsubscribes may not have reached Redis yet, but nothing comes out.
  redis.publish(gone, "after");
  redis.publish(prefix + "pattern:1", "after");
  redis.publish(kept, "last");

  std::vector<RedisMessage> received;
  ASSERT_TRUE(take_until(subscriber, redis.wakes, received, 2));
  EXPECT_EQ(received, (std::vector<RedisMessage>{{kept, "", "first"}, {kept, "", "last"}}));
  // And Redis itself was told.
  EXPECT_TRUE(eventually([&] {
    const RedisReply counts = reply_or_fail(*redis.publisher, {"PUBSUB", "NUMSUB", gone, kept});
    return counts == RedisReply(RedisReply::Array{RedisReply(gone), RedisReply(0), RedisReply(kept), RedisReply(1)});
  }));
}

TEST(redis_subscriber_test, after_a_redis_restart_it_subscribes_again_by_itself_and_reports_the_reconnect) {
  RedisServer server;
  PubSub redis(server.url());
  ASSERT_TRUE(redis.publisher);
  ASSERT_TRUE(redis.subscribe({"room"}, {"rooms:*"}));
  RedisSubscriber& subscriber = redis.subscriber;
  EXPECT_EQ(subscriber.reconnects(), 0u);

  server.restart();
  ASSERT_TRUE(redis.wakes.wait_until([&] { return subscriber.reconnects() == 1; })) << subscriber.last_failure();
  ASSERT_TRUE(redis.confirmed({"room"}, {"rooms:*"}));
  EXPECT_TRUE(subscriber.connected());
  // Why it reconnected, for the logs: never with the password.
  EXPECT_NE(subscriber.last_failure().find("redis redis://***@127.0.0.1:"), std::string::npos)
      << subscriber.last_failure();
  EXPECT_EQ(subscriber.last_failure().find(password_of(server.url())), std::string::npos);

  redis.publish("room", "back");
  redis.publish("rooms:7", "back too");
  std::vector<RedisMessage> received;
  ASSERT_TRUE(take_until(subscriber, redis.wakes, received, 2));
  EXPECT_EQ(received, (std::vector<RedisMessage>{{"room", "", "back"}, {"rooms:7", "rooms:*", "back too"}}));
  EXPECT_EQ(subscriber.reconnects(), 1u);
}

TEST(redis_subscriber_test, beyond_max_pending_the_oldest_messages_are_dropped_and_counted) {
  const std::string channel = redis_test_prefix() + "busy";
  PubSub redis(test_redis_url(), /*max_pending=*/10);
  ASSERT_TRUE(redis.publisher);
  ASSERT_TRUE(redis.subscribe({channel}));
  RedisSubscriber& subscriber = redis.subscriber;

  std::vector<std::vector<std::string>> publishes;
  for (int i = 0; i < 25; ++i) publishes.push_back({"PUBLISH", channel, std::to_string(i)});
  for (const auto& published : redis.publisher->pipeline(publishes)) ASSERT_TRUE(published.ok());

  ASSERT_TRUE(redis.wakes.wait_until([&] { return subscriber.dropped() == 15; })) << subscriber.dropped();
  std::vector<std::string> payloads;
  for (const RedisMessage& message : subscriber.take()) payloads.push_back(message.payload);
  EXPECT_EQ(payloads, (std::vector<std::string>{"15", "16", "17", "18", "19", "20", "21", "22", "23", "24"}));
}

// Destroys the subscriber and says how long that took.
Clock::duration time_to_destroy(std::unique_ptr<RedisSubscriber>& subscriber) {
  const auto started = Clock::now();
  subscriber.reset();
  return Clock::now() - started;
}

TEST(redis_subscriber_test, the_destructor_stops_the_thread_at_once_whatever_it_is_doing) {
  Wakes wakes;
  // Connected and subscribed: waiting for messages.
  auto subscriber = std::make_unique<RedisSubscriber>(at(test_redis_url()), wakes.callback());
  subscriber->subscribe(redis_test_prefix() + "quiet");
  ASSERT_TRUE(wakes.wait_until([&] { return subscriber->connected(); }));
  EXPECT_LT(time_to_destroy(subscriber), 2s);

  // Waiting out a backoff delay: nobody listens.
  const std::string url = test_redis_url();
  const int nobody = unused_port();
  subscriber = std::make_unique<RedisSubscriber>(at(with_port(url, nobody)), wakes.callback());
  ASSERT_TRUE(eventually([&] { return !subscriber->last_failure().empty(); }));
  EXPECT_NE(subscriber->last_failure().find("redis redis://***@127.0.0.1:" + std::to_string(nobody) +
                                            ": connect: Connection refused"),
            std::string::npos)
      << subscriber->last_failure();
  EXPECT_FALSE(subscriber->connected());
  EXPECT_LT(time_to_destroy(subscriber), 2s);

  // Waiting for a handshake answer that never comes, with a timeout far longer than the bound.
  const SilentListener silent;
  subscriber = std::make_unique<RedisSubscriber>(at("redis://127.0.0.1:" + std::to_string(silent.port()), 60s),
                                                 wakes.callback());
  ASSERT_TRUE(silent.connection_waits());
  EXPECT_LT(time_to_destroy(subscriber), 2s);
}

}  // namespace
}  // namespace tandem::server
