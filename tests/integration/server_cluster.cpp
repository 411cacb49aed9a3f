// server_cluster.cpp — several tandem-server instances sharing rooms (see server_cluster.h).
#include "server_cluster.h"

#include <stdexcept>
#include <string>

#include "test_postgres.h"
#include "test_redis.h"

namespace tandem::integration {

ServerCluster::ServerCluster(ClusterOptions options, std::string redis_url, std::string postgres_server_url)
    : options_(std::move(options)),
      database_(postgres_server_url.empty() ? std::make_unique<tandem::test::TestDatabase>()
                                            : std::make_unique<tandem::test::TestDatabase>(std::move(postgres_server_url))),
      redis_prefix_(tandem::test::redis_test_prefix()) {
  if (redis_url.empty()) redis_url = tandem::test::test_redis_url();
  for (std::size_t k = 0; k < options_.instances; ++k) {
    std::vector<std::string> flags = {"--engine", "redis", "--redis-url", redis_url, "--redis-prefix", redis_prefix_,
                                      "--instance-id", instance_id(k), "--instance-ttl-ms", std::to_string(kInstanceTtlMs)};
    flags.insert(flags.end(), options_.flags.begin(), options_.flags.end());
    instances_.push_back(std::make_unique<ServerProcess>(SharedStore{database_->url()}, std::move(flags)));
  }
}

ServerCluster::~ServerCluster() {
  nginx_.reset();
  instances_.clear();  // each killed (ServerProcess's destructor) before the database goes
}

void ServerCluster::start() {
  for (std::size_t k = 0; k < instances_.size(); ++k) {
    try {
      instances_[k]->start();
    } catch (const std::exception& error) {
      throw std::runtime_error("instance " + instance_id(k) + " did not start: " + error.what() + "\n" + outputs());
    }
  }
  if (options_.nginx) {
    std::vector<int> ports;
    for (const auto& instance : instances_) ports.push_back(instance->port());
    nginx_ = std::make_unique<NginxProxy>(ports);
  }
}

std::optional<std::size_t> ServerCluster::instance_of_connection(std::string_view connection_id) const {
  const auto dash = connection_id.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view id = connection_id.substr(dash + 1);
  for (std::size_t k = 0; k < instances_.size(); ++k)
    if (id == instance_id(k)) return k;
  return std::nullopt;
}

const NginxProxy& ServerCluster::proxy() const {
  if (!nginx_) throw std::logic_error("this cluster runs without nginx (ClusterOptions::nginx)");
  return *nginx_;
}

int ServerCluster::nginx_port() const { return proxy().port(); }

std::string ServerCluster::nginx_ws_url() const { return proxy().ws_url(); }

const std::string& ServerCluster::store_url() const { return database_->url(); }

std::string ServerCluster::outputs() const {
  std::string text;
  for (std::size_t k = 0; k < instances_.size(); ++k)
    text += "---- instance " + instance_id(k) + " (port " + std::to_string(instances_[k]->port()) + ") ----\n" +
            instances_[k]->output();
  return text;
}

}  // namespace tandem::integration
