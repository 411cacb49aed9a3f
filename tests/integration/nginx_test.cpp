// nginx_test.cpp — two real tandem-server instances behind Debian's nginx, configured with the
// nginx block of docs/OPERATIONS.md as written (tests/support/nginx.sh changes only the listen
// port and the upstream's server lines): HTTP and WebSocket upgrades go through, round robin
// spreads clients over both instances without stickiness, and when one instance is killed its
// clients' connections end and they reconnect through nginx to the other.
//
// The two instances here do not share rooms (each has its own store; multi_instance_test runs
// instances that do, docs/SCALING.md). This test holds the proxy layer to the documented config.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nginx_proxy.h"
#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

// Between two looks at the instances' /healthz.
void nap() { std::this_thread::sleep_for(milliseconds{20}); }

class nginx_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_THROW(first.start());
    ASSERT_NO_THROW(second.start());
    ASSERT_NO_THROW(proxy = std::make_unique<NginxProxy>(std::vector<int>{first.port(), second.port()}));
  }
  // `count` clients connected through nginx, each past `connected`.
  void connect_clients(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      clients.push_back(std::make_unique<TransportProbe>());
      clients.back()->open(proxy->ws_url() + "?token=" + mint_token({.sub = "user-" + std::to_string(i)}));
    }
    for (auto& client : clients) ASSERT_TRUE(wait_for_message<protocol::Connected>(*client).has_value());
  }

  ServerProcess first;
  ServerProcess second;
  std::unique_ptr<NginxProxy> proxy;
  std::vector<std::unique_ptr<TransportProbe>> clients;
};

}  // namespace

TEST_F(nginx_test, http_and_websockets_go_through_and_round_robin_uses_both_instances) {
  EXPECT_EQ(http_get(proxy->port(), "/healthz").status, 200);
  connect_clients(8);
  // Each instance counts the clients nginx gave it; round robin gives both some.
  ASSERT_TRUE(pump_until([&] { return first.connections() + second.connections() == 8; }, nap, kStepDeadline));
  EXPECT_GT(first.connections(), 0);
  EXPECT_GT(second.connections(), 0);
  // A frame goes both ways through the proxy.
  clients[0]->send(R"({"type":"ping","id":"p"})");
  EXPECT_TRUE(wait_for_message<protocol::Pong>(*clients[0], "p").has_value());
}

TEST_F(nginx_test, the_clients_of_a_killed_instance_reconnect_through_nginx_to_the_other) {
  connect_clients(8);
  ASSERT_TRUE(pump_until([&] { return first.connections() + second.connections() == 8; }, nap, kStepDeadline));
  const int on_first = first.connections();
  ASSERT_GT(on_first, 0);

  first.kill_now();
  // nginx ends the client side of every connection the dead instance had, and only those.
  auto closed_count = [&] {
    int closed = 0;
    for (auto& client : clients) {
      client->transport.poll(milliseconds{5});
      closed += client->log.closed.has_value();
    }
    return closed;
  };
  ASSERT_TRUE(pump_until([&] { return closed_count() == on_first; }, nap, milliseconds{15000}))
      << closed_count() << " of the " << on_first << " clients of the killed instance saw their connection end";

  // They reconnect through the same nginx: the next upstream takes them.
  for (std::size_t i = 0; i < clients.size(); ++i) {
    if (!clients[i]->log.closed) continue;
    clients[i] = std::make_unique<TransportProbe>();
    clients[i]->open(proxy->ws_url() + "?token=" + mint_token({.sub = "user-" + std::to_string(i)}));
    ASSERT_TRUE(wait_for_message<protocol::Connected>(*clients[i]).has_value()) << "client " << i;
  }
  EXPECT_TRUE(pump_until([&] { return second.connections() == 8; }, nap, kStepDeadline)) << second.connections();
}
