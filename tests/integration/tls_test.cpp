// tls_test.cpp — tandem-server with --tls-cert/--tls-key (a self-signed certificate made for
// the test, tls_support.h): native clients that trust the certificate chat over wss; one that
// does not fails at once with a certificate error; https serves /healthz and the web root on
// the same port; plain http and ws clients on that port are dropped and the server carries on;
// tandem-agent works over wss; and the server refuses to start with half a TLS configuration
// or a file it cannot use, naming the file.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "child_process.h"
#include "native_client.h"
#include "server_test_support.h"
#include "tls_support.h"

namespace tandem::integration {
namespace {

constexpr const char* kRoom = "chat:tls";

class tls_test : public ::testing::Test {
 protected:
  void SetUp() override {
    server.use_tls(certificate.cert(), certificate.key());
    ASSERT_NO_THROW(server.start());
  }

  // The client core on the native transport, as `sub`, trusting the test certificate (or not).
  std::unique_ptr<native::NativeClient> client(const std::string& sub, bool trusts_certificate = true) {
    ClientConfig config;
    config.session.url = server.ws_url();
    config.session.token = mint_token({.sub = sub, .name = sub});
    native::LwsTransportSettings settings = TransportProbe::quiet_settings();
    if (trusts_certificate) settings.ca_file = certificate.cert();
    return std::make_unique<native::NativeClient>(config, settings, /*seed=*/11);
  }

  // Polls every client until `done` holds.
  static bool poll_until(const std::vector<native::NativeClient*>& clients, const std::function<bool()>& done) {
    return pump_until(done, [&] {
      for (native::NativeClient* c : clients) c->poll(milliseconds{10});
    });
  }

  TestCertificate certificate;
  ServerProcess server;
};

TEST_F(tls_test, clients_trusting_the_certificate_chat_over_wss) {
  ASSERT_TRUE(server.ws_url().starts_with("wss://"));
  auto ana = client("ana");
  auto ben = client("ben");
  const std::vector<native::NativeClient*> both = {ana.get(), ben.get()};
  ana->start();
  ben->start();
  int joined = 0;
  for (native::NativeClient* c : both)
    c->client().rooms().join(kRoom, std::nullopt, [&](Result<protocol::Subscribed> r) { joined += r.ok() ? 1 : 100; });
  ASSERT_TRUE(poll_until(both, [&] { return joined >= 2; })) << server.output();
  ASSERT_EQ(joined, 2);

  std::optional<bool> acked;
  ana->client().rooms().send_chat(kRoom, "over TLS 🔒", [&](Result<Acked> r) { acked = r.ok(); });
  const auto ben_has_it = [&] {
    const auto& chat = ben->client().rooms().replica(kRoom)->chat();
    return !chat.empty() && chat.back().text == "over TLS 🔒" && chat.back().user == "ana";
  };
  ASSERT_TRUE(poll_until(both, [&] { return acked.has_value() && ben_has_it(); })) << server.output();
  EXPECT_TRUE(*acked);
  EXPECT_EQ(server.connections(), 2);
  ana->shutdown();
  ben->shutdown();
}

TEST_F(tls_test, a_client_that_does_not_trust_the_certificate_fails_with_a_certificate_error) {
  // Trusting the system store only: the self-signed certificate is in no store.
  TransportProbe untrusting;
  untrusting.open(server.ws_url());
  ASSERT_TRUE(untrusting.wait_closed()) << "still dialling after " << kStepDeadline.count() << " ms";
  EXPECT_EQ(untrusting.log.opens, 0);
  EXPECT_EQ(untrusting.log.closed->code, 1006);
  EXPECT_NE(untrusting.log.closed->reason.find("TLS: server certificate not trusted"), std::string::npos)
      << untrusting.log.closed->reason;

  // Trusting another self-signed certificate for the same names is no better.
  TestCertificate other;
  native::LwsTransportSettings settings = TransportProbe::quiet_settings();
  settings.ca_file = other.cert();
  TransportProbe wrong_ca(settings);
  wrong_ca.open(server.ws_url());
  ASSERT_TRUE(wrong_ca.wait_closed());
  EXPECT_EQ(wrong_ca.log.opens, 0);
  EXPECT_NE(wrong_ca.log.closed->reason.find("TLS: server certificate not trusted"), std::string::npos)
      << wrong_ca.log.closed->reason;

  // A CA file that is not there, or holds no certificate, is named, without dialling.
  settings.ca_file = (certificate.dir() / "missing.pem").string();
  TransportProbe missing_ca(settings);
  missing_ca.open(server.ws_url());
  ASSERT_TRUE(missing_ca.wait_closed());
  EXPECT_EQ(missing_ca.log.closed->reason, "ca_file " + settings.ca_file + ": cannot read it (No such file or directory)");
  settings.ca_file = certificate.key();  // a file, but no certificate in it
  TransportProbe not_a_ca(settings);
  not_a_ca.open(server.ws_url());
  ASSERT_TRUE(not_a_ca.wait_closed());
  EXPECT_EQ(not_a_ca.log.closed->reason, "ca_file " + settings.ca_file + ": no PEM certificate could be read from it");

  // The core reports the reason with its state change (and backs off, as for any failed dial).
  auto core = client("ana", /*trusts_certificate=*/false);
  std::string reason;
  core->client().on_state = [&](const StateChange& change) {
    if (change.state == State::Reconnecting) reason = change.close_reason;
  };
  core->start();
  ASSERT_TRUE(poll_until({core.get()}, [&] { return !reason.empty(); }));
  EXPECT_NE(reason.find("certificate"), std::string::npos) << reason;
  EXPECT_EQ(server.get("/healthz").status, 200);
}

TEST_F(tls_test, https_serves_healthz_and_the_web_root_on_the_same_port) {
  const HttpReply health = https_get(server.port(), "/healthz", certificate.cert());
  EXPECT_EQ(health.status, 200);
  EXPECT_NE(health.body.find("\"status\":\"ok\""), std::string::npos) << health.body;
  const HttpReply index = https_get(server.port(), "/", certificate.cert());
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("<title>integration</title>"), std::string::npos) << index.body;
  EXPECT_NE(server.output().find("listening on https://127.0.0.1:" + std::to_string(server.port())), std::string::npos)
      << server.output();
}

TEST_F(tls_test, plain_http_and_ws_on_the_tls_port_are_dropped_and_the_server_carries_on) {
  // Plain HTTP bytes fail the TLS handshake: the connection is closed without an HTTP answer.
  EXPECT_EQ(http_get(server.port(), "/healthz", kStepDeadline).status, 0);

  TransportProbe plain;
  plain.open("ws://127.0.0.1:" + std::to_string(server.port()) + "/ws?token=" + mint_token());
  ASSERT_TRUE(plain.wait_closed()) << "a ws:// client on the TLS port is still dialling";
  EXPECT_EQ(plain.log.opens, 0);
  EXPECT_EQ(plain.log.closed->code, 1006);

  // Still serving TLS clients.
  EXPECT_EQ(server.get("/healthz").status, 200);
  native::LwsTransportSettings settings = TransportProbe::quiet_settings();
  settings.ca_file = certificate.cert();
  TransportProbe secure(settings);
  secure.open(server.ws_url() + "?token=" + mint_token());
  EXPECT_TRUE(wait_for_message<protocol::Connected>(secure).has_value()) << server.output();
  EXPECT_TRUE(server.running());
}

#ifdef TANDEM_AGENT_BINARY
TEST_F(tls_test, tandem_agent_builds_over_wss_trusting_the_ca_file) {
  ChildProcess agent({TANDEM_AGENT_BINARY, "--url", server.ws_url(), "--ca-file", certificate.cert(), "--agent-room",
                      "agent:tls", "--workflow", "workflow:tls", "--prompt", "Fetch the orders", "--step-ms", "0"},
                     {{"TANDEM_TOKEN", mint_token({.sub = "agent-1", .name = "Agent"})}});
  std::optional<int> status;
  pump_until([&] { return (status = agent.exit_status()).has_value(); },
             [] { std::this_thread::sleep_for(milliseconds{20}); },  // polling the exit, under the deadline
             milliseconds{30000});
  EXPECT_EQ(status, 0) << agent.output();
  EXPECT_NE(agent.output().find("connected as agent-1"), std::string::npos) << agent.output();
}
#endif

// A TCP port free right now on the loopback interface.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
  if (fd >= 0) ::close(fd);
  return ok ? ntohs(addr.sin_port) : 0;
}

// The server started by hand with broken TLS settings: it must exit at once, saying why. On a
// free port, so that a server that wrongly starts cannot be mistaken for a port clash.
std::pair<int, std::string> run_to_exit(std::vector<std::string> args) {
  args.insert(args.begin(), {TANDEM_SERVER_BINARY, "--host", "127.0.0.1", "--port", std::to_string(free_port()),
                             "--jwt-secret", std::string(kTestSecret), "--store-path", ":memory:"});
  ChildProcess child(args);
  std::optional<int> status;
  pump_until([&] { return (status = child.exit_status()).has_value(); },
             [] { std::this_thread::sleep_for(milliseconds{20}); },  // polling the exit, under the deadline
             milliseconds{20000});
  if (!status) child.kill_now();
  return {status.value_or(-1), child.output()};
}

TEST(tls_start_test, the_server_refuses_half_or_unusable_tls_settings_naming_the_file) {
  TestCertificate certificate, other;
  const std::string missing = (certificate.dir() / "missing.pem").string();
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"cert only", {"--tls-cert", certificate.cert()}, "tls_cert is set but tls_key is not"},
      {"key only", {"--tls-key", certificate.key()}, "tls_key is set but tls_cert is not"},
      {"unreadable cert", {"--tls-cert", missing, "--tls-key", certificate.key()},
       "tls_cert " + missing + ": cannot read it"},
      {"key for cert", {"--tls-cert", certificate.key(), "--tls-key", certificate.key()},
       "tls_cert " + certificate.key() + ": no PEM CERTIFICATE"},
      // Both files are fine on their own: only OpenSSL (through lws) sees they do not match.
      {"mismatched key", {"--tls-cert", certificate.cert(), "--tls-key", other.key()},
       "the TLS certificate and key were refused"},
  };
  for (const Case& c : cases) {
    const auto [code, output] = run_to_exit(c.args);
    EXPECT_NE(code, 0) << c.name << "\n" << output;
    EXPECT_NE(output.find(c.expected), std::string::npos) << c.name << "\n" << output;
    EXPECT_EQ(output.find("listening on"), std::string::npos) << c.name << ": half-started\n" << output;
  }
}

}  // namespace
}  // namespace tandem::integration
