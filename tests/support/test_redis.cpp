// tests/support/test_redis.cpp — see test_redis.h.
#include "test_redis.h"

namespace tandem::test {

RedisServer::RedisServer() : server_(TANDEM_REDIS_SERVER_SCRIPT, "redis") {}

const std::string& test_redis_url() {
  static const std::string url =
      find_server_url("TANDEM_TEST_REDIS_URL", "TANDEM_TEST_REDIS_URL_FILE", "redis", [] {
        static RedisServer own;  // a test binary run by hand: its own server, stopped at exit
        return own.url();
      });
  return url;
}

std::string redis_test_prefix() { return "tandem-test:" + random_hex(12) + ":"; }

}  // namespace tandem::test
