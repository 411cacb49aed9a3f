// server/src/engine/redis_cluster.cpp — room leases and instance messages in Redis (see
// redis_cluster.h).
#include "engine/redis_cluster.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "log.h"

namespace tandem::server {

namespace {

// KEYS[1] the owner key, ARGV[1] this instance, ARGV[2] the lease (ms), ARGV[3] the alive
// keys' prefix. The owner: the one holding the lease while its heartbeat lasts, else this
// instance, which takes the lease (the room was free, or its owner died).
constexpr const char* kAcquireScript =
    "local owner = redis.call('GET', KEYS[1]) "
    "if owner and owner ~= ARGV[1] and redis.call('EXISTS', ARGV[3] .. owner) == 1 then return owner end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "return ARGV[1]";
// KEYS[1] the set of instances, ARGV[1] this instance, ARGV[2] the report keys' prefix. The
// reports of the other instances still reporting; those whose report ran out leave the set.
constexpr const char* kReportsScript =
    "redis.call('SADD', KEYS[1], ARGV[1]) "
    "local reports = {} "
    "for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
    "  if id ~= ARGV[1] then "
    "    local report = redis.call('GET', ARGV[2] .. id) "
    "    if report then table.insert(reports, report) else redis.call('SREM', KEYS[1], id) end "
    "  end "
    "end "
    "return reports";
// KEYS[1] the owner key, ARGV[1] this instance, ARGV[2] the lease (ms). 1: renewed — or taken
// again when the key is gone (Redis restarted empty, or the lease ran out and nobody took the
// room meanwhile: this instance still runs it, and the store's claim is still its own).
constexpr const char* kRenewScript =
    "local owner = redis.call('GET', KEYS[1]) "
    "if owner == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end "
    "if not owner then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "return 0";
// KEYS[1] the epoch key, ARGV[1] a new epoch. The directory's epoch, set by the first instance
// to beat on an empty Redis: one that changes between two beats means Redis lost its data.
constexpr const char* kEpochScript =
    "local epoch = redis.call('GET', KEYS[1]) "
    "if not epoch then epoch = ARGV[1] redis.call('SET', KEYS[1], epoch) end "
    "return epoch";
// KEYS[1] the owner key, ARGV[1] this instance. 1: given up.
constexpr const char* kReleaseScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end return 0";

Error redis_error(std::string_view what, std::string_view detail) {
  return Error{"internal", "redis: " + std::string(what) + ": " + std::string(detail)};
}

}  // namespace

// ---- directory ------------------------------------------------------------------------------

RedisRoomDirectory::RedisRoomDirectory(RedisConnection& redis, std::string instance, std::chrono::milliseconds lease,
                                       std::chrono::milliseconds instance_ttl, std::string prefix)
    : redis_(redis), instance_(std::move(instance)), lease_(lease), instance_ttl_(instance_ttl), prefix_(std::move(prefix)) {}

Result<std::vector<std::string>> RedisRoomDirectory::acquire(const std::vector<std::string>& rooms) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(rooms.size());
  for (const std::string& room : rooms)
    commands.push_back({"EVAL", kAcquireScript, "1", owner_key(room), instance_, std::to_string(lease_.count()),
                        prefix_ + "alive:"});
  auto replies = redis_.pipeline(commands);
  std::vector<std::string> owners;
  owners.reserve(rooms.size());
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    auto& reply = replies[i];
    if (!reply) return reply.error();
    if (reply->is_string()) {
      owners.push_back(reply->string());
    } else {
      return redis_error("take the lease of " + rooms[i], reply->describe());
    }
  }
  return owners;
}

Result<std::vector<std::string>> RedisRoomDirectory::run_for_each(const std::vector<std::string>& rooms,
                                                                  const char* script, bool with_lease) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(rooms.size());
  for (const std::string& room : rooms) {
    std::vector<std::string> command{"EVAL", script, "1", owner_key(room), instance_};
    if (with_lease) command.push_back(std::to_string(lease_.count()));
    commands.push_back(std::move(command));
  }
  auto replies = redis_.pipeline(commands);
  std::vector<std::string> refused;
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    auto& reply = replies[i];
    if (!reply) return reply.error();
    if (!reply->is_integer()) return redis_error("lease of " + rooms[i], reply->describe());
    if (reply->integer() == 0) refused.push_back(rooms[i]);
  }
  return refused;
}

Result<std::vector<std::string>> RedisRoomDirectory::renew(const std::vector<std::string>& rooms) {
  return run_for_each(rooms, kRenewScript, true);
}

void RedisRoomDirectory::release(const std::vector<std::string>& rooms) {
  auto released = run_for_each(rooms, kReleaseScript, false);
  if (!released) LOG_WARN("cluster: could not give up %zu room lease(s), they run out instead: %s", rooms.size(),
                          released.error().message.c_str());
}

Result<RoomDirectory::Heartbeat> RedisRoomDirectory::heartbeat(const std::vector<std::string>& peers,
                                                                const std::string& report) {
  const std::string ttl = std::to_string(instance_ttl_.count());
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::vector<std::string>> commands;
  commands.reserve(peers.size() + 4);
  const std::string new_epoch = instance_ + "@" + std::to_string(now.time_since_epoch().count());
  commands.push_back({"EVAL", kEpochScript, "1", prefix_ + "epoch", new_epoch});
  commands.push_back({"SET", alive_key(instance_), "1", "GET", "PX", ttl});
  for (const std::string& peer : peers) commands.push_back({"EXISTS", alive_key(peer)});
  commands.push_back({"SET", prefix_ + "report:" + instance_, report, "PX", ttl});
  commands.push_back({"EVAL", kReportsScript, "1", prefix_ + "instances", instance_, prefix_ + "report:"});
  auto replies = redis_.pipeline(commands);
  for (auto& reply : replies) {
    if (!reply) return reply.error();
    if (reply->is_error()) return redis_error("heartbeat", reply->describe());
  }
  const RedisReply& epoch = *replies[0];
  const RedisReply& was_alive = *replies[1];
  const RedisReply& reports = *replies.back();
  if (!epoch.is_string() || !reports.is_array()) return redis_error("heartbeat", "unexpected reply");
  Heartbeat beat;
  // Redis lost its data (restarted empty, failed over): every heartbeat is gone, not only this
  // one's. The others have not beaten again yet: judge nobody dead before they could.
  beat.reset = !epoch_.empty() && epoch.string() != epoch_;
  epoch_ = epoch.string();
  if (beat.reset) reset_grace_until_ = now + instance_ttl_;
  beat.was_dead = beaten_ && was_alive.is_nil() && !beat.reset;
  const bool judge_peers = now >= reset_grace_until_;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    const RedisReply& exists = *replies[2 + i];
    if (!exists.is_integer()) return redis_error("heartbeat of " + peers[i], exists.describe());
    if (exists.integer() == 0 && judge_peers) beat.dead.push_back(peers[i]);
  }
  for (const RedisReply& one : reports.array())
    if (one.is_string()) beat.reports.push_back(one.string());
  beaten_ = true;
  last_beat_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  return beat;
}

std::optional<std::chrono::steady_clock::time_point> RedisRoomDirectory::last_beat() const {
  const auto ticks = last_beat_.load(std::memory_order_relaxed);
  if (ticks == 0) return std::nullopt;
  return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ticks));
}

// ---- keepalive ------------------------------------------------------------------------------

RedisKeepalive::RedisKeepalive(RedisOptions options, const RedisRoomDirectory& directory,
                               std::chrono::milliseconds stall_limit)
    : options_(std::move(options)), directory_(directory), stall_limit_(stall_limit), thread_([this] { run(); }) {}

RedisKeepalive::~RedisKeepalive() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void RedisKeepalive::run() {
  const auto period = directory_.instance_ttl() / 3;
  const std::string key = directory_.own_alive_key();
  const std::string ttl = std::to_string(directory_.instance_ttl().count());
  std::unique_ptr<RedisConnection> redis;
  bool stalled = false;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period, [this] { return stopping_; })) {
    const auto beat = directory_.last_beat();
    if (!beat) continue;  // the loop has not said it is alive yet
    if (std::chrono::steady_clock::now() - *beat > stall_limit_) {
      if (!stalled) LOG_ERROR("cluster: the loop has not beaten for %lld ms: letting this instance's heartbeat run out",
                              static_cast<long long>(stall_limit_.count()));
      stalled = true;
      continue;
    }
    stalled = false;
    lock.unlock();
    if (!redis) {
      auto opened = RedisConnection::open(options_);
      if (opened) redis = std::move(opened).value();
    }
    // XX: only while it exists. One that ran out stays out: the loop's heartbeat must see it.
    if (redis) (void)redis->command({"SET", key, "1", "XX", "PX", ttl});
    lock.lock();
  }
}

// ---- link -----------------------------------------------------------------------------------

RedisClusterLink::RedisClusterLink(RedisConnection& redis, RedisSubscriber& subscriber, std::string instance,
                                   std::string prefix)
    : redis_(redis), subscriber_(subscriber), instance_(std::move(instance)), prefix_(std::move(prefix)) {
  subscriber_.subscribe(channel_of(instance_));
  subscriber_.subscribe(prefix_ + "all");
}

bool RedisClusterLink::listening() const {
  return subscriber_.subscribed(channel_of(instance_)) && subscriber_.subscribed(prefix_ + "all");
}

void RedisClusterLink::broadcast(std::string message) {
  queued_.push_back({"PUBLISH", prefix_ + "all", std::move(message)});
  queued_to_.emplace_back();
}

void RedisClusterLink::send(const std::string& to_instance, std::string message) {
  queued_.push_back({"PUBLISH", channel_of(to_instance), std::move(message)});
  queued_to_.push_back(to_instance);
}

void RedisClusterLink::flush() {
  if (queued_.empty()) return;
  auto commands = std::exchange(queued_, {});
  auto to = std::exchange(queued_to_, {});
  auto replies = redis_.pipeline(commands);
  std::size_t failed = 0;
  std::string why;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    auto& reply = replies[i];
    const bool sent = reply && !reply->is_error();
    if (!sent && failed++ == 0) why = reply ? reply->describe() : reply.error().message;
    // PUBLISH answers how many subscribers got it: 0 on an instance's own channel means its
    // subscriber was away (reconnecting after a Redis restart, or the instance is dead).
    const bool heard = sent && !(reply->is_integer() && reply->integer() == 0);
    if (heard || to[i].empty()) continue;
    if (std::find(unreached_.begin(), unreached_.end(), to[i]) == unreached_.end()) unreached_.push_back(to[i]);
  }
  // At most once (cluster.h): unreached() and the receivers' gaps() close the clients involved.
  if (failed > 0) LOG_ERROR("cluster: %zu of %zu message(s) to other instances were not sent: %s", failed, commands.size(), why.c_str());
}

std::vector<std::string> RedisClusterLink::receive() {
  std::vector<std::string> messages;
  for (RedisMessage& message : subscriber_.take()) messages.push_back(std::move(message.payload));
  return messages;
}

}  // namespace tandem::server
