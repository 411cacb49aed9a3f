// server_cluster.h — several tandem-server processes sharing rooms as docs/SCALING.md runs them,
// for the multi-instance tests: N instances with --engine redis on ONE fresh PostgreSQL database
// (a TestDatabase) and the shared test Redis under a fresh key prefix (redis_test_prefix(): test
// processes running at once never see each other's rooms or instances), each with its own
// --instance-id, optionally behind nginx (round robin, docs/OPERATIONS.md's block: nginx_proxy.h).
// PostgreSQL and Redis come from the ctest fixture "services" (tests/support/services.sh), or
// servers of the test binary's own when it runs by hand; a test that restarts or pauses Redis
// gives the URL of a Redis of its own (test_redis.h's RedisServer) instead.
//
// Which instance owns a room is not asked (no endpoint says so): under a fresh prefix no room
// has an owner, and the first subscribe to a room takes it, so a room's owner is the instance
// its first subscriber is connected to (docs/SCALING.md "Ownership").
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nginx_proxy.h"
#include "server_process.h"

namespace tandem::test {
class TestDatabase;
}

namespace tandem::integration {

struct ClusterOptions {
  std::size_t instances = 2;
  std::vector<std::string> flags;  // appended to every instance's command line
  bool nginx = false;              // nginx in front of the instances
};

class ServerCluster {
 public:
  // Every instance's --instance-ttl-ms. A dead instance's rooms, members and clients are let go
  // within it (default 10 s): short here, so a test that kills an instance waits seconds, not
  // tens. Not shorter: each instance beats every third of it (1 s), and one starved of CPU for
  // a whole TTL on a loaded 2-core machine would be declared dead by the others — its members
  // dropped, its clients closed with 1012 — failing a test that did nothing wrong.
  static constexpr int kInstanceTtlMs = 3000;

  // Makes the database and picks the prefix; nothing runs until start(). `redis_url`: the
  // Redis every instance uses, empty for the shared test Redis; `postgres_server_url`: the
  // PostgreSQL server the database is made on (a PostgresCluster of the test's own), empty for
  // the shared one. Throws std::runtime_error when PostgreSQL or Redis cannot be had.
  explicit ServerCluster(ClusterOptions options = {}, std::string redis_url = {}, std::string postgres_server_url = {});
  // nginx stops, the instances are killed, the database is dropped. The prefix's Redis keys
  // (leases, heartbeats) expire on their own.
  ~ServerCluster();
  ServerCluster(const ServerCluster&) = delete;
  ServerCluster& operator=(const ServerCluster&) = delete;

  // Starts every instance (each ready once its /healthz answers), then nginx. Throws
  // std::runtime_error saying which did not come up, with every instance's output.
  void start();

  std::size_t size() const { return instances_.size(); }
  ServerProcess& instance(std::size_t k) { return *instances_.at(k); }
  const ServerProcess& instance(std::size_t k) const { return *instances_.at(k); }
  // The --instance-id of instance k: "i<k>".
  static std::string instance_id(std::size_t k) { return "i" + std::to_string(k); }
  // The instance a connection id names (`c7-<instance>`, PROTOCOL.md §5.1 `connection_id`);
  // nothing when it names none of these.
  std::optional<std::size_t> instance_of_connection(std::string_view connection_id) const;

  // nginx in front (ClusterOptions::nginx); both throw std::logic_error without it.
  int nginx_port() const;
  std::string nginx_ws_url() const;

  const std::string& store_url() const;  // the database every instance runs on
  const std::string& redis_prefix() const { return redis_prefix_; }
  // Every instance's output so far, each headed by its id: for failure messages.
  std::string outputs() const;

 private:
  const NginxProxy& proxy() const;

  ClusterOptions options_;
  // Declared first, so it is dropped last: after every instance is gone.
  std::unique_ptr<tandem::test::TestDatabase> database_;
  std::string redis_prefix_;
  std::vector<std::unique_ptr<ServerProcess>> instances_;
  std::unique_ptr<NginxProxy> nginx_;  // declared last: stops first
};

}  // namespace tandem::integration
