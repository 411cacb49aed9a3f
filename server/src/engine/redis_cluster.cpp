// server/src/engine/redis_cluster.cpp — room leases and instance messages in Redis (see
// redis_cluster.h).
#include "engine/redis_cluster.h"

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
  std::vector<std::vector<std::string>> commands;
  commands.reserve(peers.size() + 3);
  commands.push_back({"SET", alive_key(instance_), "1", "GET", "PX", ttl});
  for (const std::string& peer : peers) commands.push_back({"EXISTS", alive_key(peer)});
  commands.push_back({"SET", prefix_ + "report:" + instance_, report, "PX", ttl});
  commands.push_back({"EVAL", kReportsScript, "1", prefix_ + "instances", instance_, prefix_ + "report:"});
  auto replies = redis_.pipeline(commands);
  Heartbeat beat;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    auto& reply = replies[i];
    if (!reply) return reply.error();
    if (reply->is_error()) return redis_error("heartbeat", reply->describe());
    if (i == peers.size() + 2) {
      if (!reply->is_array()) return redis_error("reports", reply->describe());
      for (const RedisReply& one : reply->array())
        if (one.is_string()) beat.reports.push_back(one.string());
    } else if (i == peers.size() + 1) {
      continue;  // the report stored
    } else if (i == 0) {
      beat.was_dead = beaten_ && reply->is_nil();
    } else if (!reply->is_integer()) {
      return redis_error("heartbeat of " + peers[i - 1], reply->describe());
    } else if (reply->integer() == 0) {
      beat.dead.push_back(peers[i - 1]);
    }
  }
  beaten_ = true;
  return beat;
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

void RedisClusterLink::broadcast(std::string message) { queued_.push_back({"PUBLISH", prefix_ + "all", std::move(message)}); }

void RedisClusterLink::send(const std::string& to_instance, std::string message) {
  queued_.push_back({"PUBLISH", channel_of(to_instance), std::move(message)});
}

void RedisClusterLink::flush() {
  if (queued_.empty()) return;
  auto commands = std::exchange(queued_, {});
  auto replies = redis_.pipeline(commands);
  std::size_t failed = 0;
  std::string why;
  for (auto& reply : replies) {
    if (reply && !reply->is_error()) continue;
    if (failed++ == 0) why = reply ? reply->describe() : reply.error().message;
  }
  // At most once (cluster.h): the instances involved see the gap and their clients recover.
  if (failed > 0) LOG_ERROR("cluster: %zu of %zu message(s) to other instances were not sent: %s", failed, commands.size(), why.c_str());
}

std::vector<std::string> RedisClusterLink::receive() {
  std::vector<std::string> messages;
  for (RedisMessage& message : subscriber_.take()) messages.push_back(std::move(message.payload));
  return messages;
}

}  // namespace tandem::server
