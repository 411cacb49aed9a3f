// server/src/engine/redis_cluster.h — the Redis engine's RoomDirectory and ClusterLink
// (engine/cluster.h, docs/SCALING.md), on the client layer of engine/redis_client.h.
//
// Keys and channels, under a prefix (default "tandem:"; tests use one of their own):
//   <prefix>room:<room>:owner        the owning instance's id, with a lease (PX room_lease_ms)
//   <prefix>alive:<id>               an instance's heartbeat, with a TTL (PX instance_ttl_ms)
//   <prefix>report:<id>              what the instance last reported (admin figures), same TTL
//   <prefix>instances                a set of the instances that reported (pruned as reports run out)
//   <prefix>instance:<id>            pub/sub channel: messages to that instance
//   <prefix>all                      pub/sub channel: messages to every instance
//
// Directory. acquire() is one script per room (atomic: the room is taken when free or when
// its owner's heartbeat ran out, else its owner is read), all rooms in one pipeline; the
// script reads the owner's alive key besides the key it names, so it needs one Redis server
// (no Redis Cluster sharding). heartbeat() is SET ... GET PX on this instance's alive key,
// EXISTS on each peer's, SET of its report and one script collecting the others', in one
// pipeline. renew() and release() compare the owner
// before they touch the key, in one script per room (atomic compare-and-expire /
// compare-and-delete), all in one pipeline: an instance never extends or deletes a lease
// another instance has taken since.
// Link. send() queues; flush() publishes everything queued in one pipeline; receive() takes
// what the subscriber (its own thread) received on this instance's channel. At most once:
// what is published while the subscriber is reconnecting is lost, which gaps() counts (the
// hub closes the clients involved so they recover by seq).
//
// Keepalive. A thread of its own (RedisKeepalive) extends this instance's alive key while the
// loop is blocked in a store call (up to store_timeout_ms each): an instance waiting on its
// database is not dead. It never brings back a key that ran out (SET XX), so a paused
// instance still learns it was taken for dead, and it stops once the loop has not beaten for
// its stall limit (a loop stuck that long is as good as dead: the key runs out).
//
// Loop thread only, like the hub — but RedisKeepalive, which is its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include "engine/cluster.h"
#include "engine/redis_client.h"

namespace tandem::server {

class RedisRoomDirectory final : public RoomDirectory {
 public:
  RedisRoomDirectory(RedisConnection& redis, std::string instance, std::chrono::milliseconds lease,
                     std::chrono::milliseconds instance_ttl, std::string prefix = "tandem:");

  const std::string& instance() const override { return instance_; }
  Result<std::vector<std::string>> acquire(const std::vector<std::string>& rooms) override;
  Result<std::vector<std::string>> renew(const std::vector<std::string>& rooms) override;
  void release(const std::vector<std::string>& rooms) override;
  Result<Heartbeat> heartbeat(const std::vector<std::string>& peers, const std::string& report) override;

  // For RedisKeepalive (any thread): this instance's alive key, its TTL, and when the loop's
  // last heartbeat succeeded (nothing before the first).
  std::string own_alive_key() const { return alive_key(instance_); }
  std::chrono::milliseconds instance_ttl() const { return instance_ttl_; }
  std::optional<std::chrono::steady_clock::time_point> last_beat() const;

 private:
  std::string owner_key(const std::string& room) const { return prefix_ + "room:" + room + ":owner"; }
  std::string alive_key(const std::string& instance) const { return prefix_ + "alive:" + instance; }
  // One script per room, all in one pipeline; the rooms whose script answered 0.
  Result<std::vector<std::string>> run_for_each(const std::vector<std::string>& rooms, const char* script,
                                                bool with_lease);

  RedisConnection& redis_;
  const std::string instance_;
  const std::chrono::milliseconds lease_;
  const std::chrono::milliseconds instance_ttl_;
  const std::string prefix_;
  bool beaten_ = false;  // a heartbeat succeeded before: a missing alive key then means "was dead"
  std::string epoch_;   // the directory's epoch at the last heartbeat
  std::chrono::steady_clock::time_point reset_grace_until_{};  // peers are not judged dead before
  std::atomic<std::chrono::steady_clock::rep> last_beat_{0};     // steady ticks; 0: never
};

class RedisKeepalive {
 public:
  // Starts the thread; it connects with `options` (a connection of its own) when it first
  // needs to. `directory` must outlive it.
  RedisKeepalive(RedisOptions options, const RedisRoomDirectory& directory, std::chrono::milliseconds stall_limit);
  // Stops the thread at once and joins it.
  ~RedisKeepalive();
  RedisKeepalive(const RedisKeepalive&) = delete;
  RedisKeepalive& operator=(const RedisKeepalive&) = delete;

 private:
  void run();

  const RedisOptions options_;
  const RedisRoomDirectory& directory_;
  const std::chrono::milliseconds stall_limit_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest is ready
};

class RedisClusterLink final : public ClusterLink {
 public:
  // Subscribes `subscriber` to this instance's channel.
  RedisClusterLink(RedisConnection& redis, RedisSubscriber& subscriber, std::string instance,
                   std::string prefix = "tandem:");

  const std::string& instance() const override { return instance_; }
  void send(const std::string& to_instance, std::string message) override;
  void broadcast(std::string message) override;
  void flush() override;
  std::vector<std::string> receive() override;
  std::vector<std::string> unreached() override { return std::exchange(unreached_, {}); }

  // Whether this instance's channels are confirmed (messages sent to it before may be lost).
  bool listening() const;
  // Subscriber reconnects and drops.
  std::uint64_t gaps() const override { return subscriber_.reconnects() + subscriber_.dropped(); }

 private:
  std::string channel_of(const std::string& instance) const { return prefix_ + "instance:" + instance; }

  RedisConnection& redis_;
  RedisSubscriber& subscriber_;
  const std::string instance_;
  const std::string prefix_;
  std::vector<std::vector<std::string>> queued_;  // PUBLISH commands
  std::vector<std::string> queued_to_;            // each one's instance ("" for a broadcast)
  std::vector<std::string> unreached_;
};

}  // namespace tandem::server
