// nginx_test.cpp — real tandem-server instances behind Debian's nginx, configured with the
// nginx block of docs/OPERATIONS.md as written (tests/support/nginx.sh changes only the listen
// ports, the upstream's server lines and the certificate paths): the block passes `nginx -t`;
// HTTP and WebSocket upgrades go through, round robin spreads clients over both instances
// without stickiness, and when one instance is killed its clients' connections end and they
// reconnect through nginx to the other; with TLS terminated by nginx, HTTPS, a wss:// client
// and an SSE client (an unbuffered event stream and its POSTs) share a room.
//
// The two instances here do not share rooms (each has its own store; multi_instance_test runs
// instances that do, docs/SCALING.md). This test holds the proxy layer to the documented config.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nginx_proxy.h"
#include "quiet_client.h"
#include "server_test_support.h"
#include "tls_support.h"

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

// ---- TLS termination and the SSE fallback through the documented config -----------------------

namespace {

class nginx_tls_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_THROW(server.start());
    ASSERT_NO_THROW(proxy = std::make_unique<NginxProxy>(std::vector<int>{server.port()}, certificate.cert(),
                                                         certificate.key()));
  }
  // A native client of `sub` through nginx over TLS, trusting the test certificate.
  std::unique_ptr<native::NativeClient> client(const std::string& sub, native::Carrier carrier) {
    ClientConfig config;
    config.session.url = proxy->ws_url();
    config.session.token = mint_token({.sub = sub, .name = sub});
    native::LwsTransportSettings settings;
    settings.log_level = native::LwsLogLevel::Silent;
    settings.ca_file = certificate.cert();
    return std::make_unique<native::NativeClient>(config, settings, carrier);
  }

  TestCertificate certificate;
  ServerProcess server;
  std::unique_ptr<NginxProxy> proxy;
};

}  // namespace

TEST(nginx_config_test, the_documented_config_passes_nginx_t_with_and_without_tls) {
  TestCertificate certificate;
  const auto [tls_status, tls_output] = NginxProxy::check({8080, 8081}, certificate.cert(), certificate.key());
  EXPECT_EQ(tls_status, 0) << tls_output;
  EXPECT_NE(tls_output.find("test is successful"), std::string::npos) << tls_output;
  const auto [plain_status, plain_output] = NginxProxy::check({8080}, "", "");
  EXPECT_EQ(plain_status, 0) << plain_output;
}

TEST_F(nginx_tls_test, https_a_websocket_and_an_sse_session_go_through_tls_termination) {
  EXPECT_EQ(https_get(proxy->port(), "/healthz", certificate.cert()).status, 200);
  auto ana = client("ana", native::Carrier::ServerSentEvents);
  auto ben = client("ben", native::Carrier::WebSocket);
  ClientGroup both{ana.get(), ben.get()};
  ASSERT_TRUE(both.start_and_join("chat:tls")) << server.output();
  EXPECT_FALSE(ana->sse_transport().stream_id().empty());
  // Presence and chat both ways: events through nginx unbuffered, POSTs through it.
  auto room = [](native::NativeClient& c) { return c.client().rooms().replica("chat:tls"); };
  ASSERT_TRUE(both.poll_until([&] { return room(*ana)->members().size() == 2 && room(*ben)->members().size() == 2; }));
  ana->client().rooms().send_chat("chat:tls", "over sse", nullptr);
  ben->client().rooms().send_chat("chat:tls", "over wss", nullptr);
  ASSERT_TRUE(both.poll_until([&] { return room(*ana)->chat().size() == 2 && room(*ben)->chat().size() == 2; }));
  both.shutdown();
}

// The client core's fallback (FallbackTransport, native): behind a proxy that refuses WebSocket
// upgrades a client on Carrier::Automatic connects over SSE by itself and works as usual; where
// upgrades get through it stays on the WebSocket.
TEST(nginx_fallback_test, a_client_behind_a_proxy_refusing_upgrades_falls_back_to_sse_by_itself) {
  ServerProcess server;
  ASSERT_NO_THROW(server.start());
  NginxProxy refusing({server.port()}, "", "", /*refuse_upgrades=*/true);
  NginxProxy open_proxy({server.port()});
  auto automatic = [](const std::string& url, const std::string& sub) {
    ClientConfig config;
    config.session.url = url;
    config.session.token = mint_token({.sub = sub, .name = sub});
    native::LwsTransportSettings quiet;
    quiet.log_level = native::LwsLogLevel::Silent;
    return std::make_unique<native::NativeClient>(config, quiet, native::Carrier::Automatic);
  };
  auto ana = automatic(refusing.ws_url(), "ana");
  auto ben = automatic(open_proxy.ws_url(), "ben");
  ClientGroup both{ana.get(), ben.get()};
  ASSERT_TRUE(both.start_and_join("chat:fallback")) << server.output();
  EXPECT_EQ(ana->carrier_in_use(), "sse");
  EXPECT_EQ(ben->carrier_in_use(), "websocket");
  ana->client().rooms().send_chat("chat:fallback", "from behind the proxy", nullptr);
  auto chat = [](native::NativeClient& c) { return c.client().rooms().replica("chat:fallback")->chat().size(); };
  ASSERT_TRUE(both.poll_until([&] { return chat(*ana) == 1 && chat(*ben) == 1; }));
  both.shutdown();
}
