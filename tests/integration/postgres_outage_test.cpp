// postgres_outage_test.cpp — tandem-server on PostgreSQL when the database misbehaves (a
// PostgreSQL server of the test's own: tests/support/test_postgres.h's PostgresCluster):
//
//   three clients stream chat messages (pipelined) while PostgreSQL restarts (pg_ctl restart,
//     fast: every session cut): the server retries its commit until the database is back, the
//     clients only wait — every request is acked, none fails, and the room holds each message
//     exactly once;
//   a server started on a database it cannot use (nobody listening, a wrong password, a newer
//     schema) says why and exits non-zero, never half-started (nothing listens).
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "native_client.h"
#include "quiet_client.h"
#include "server_test_support.h"
#include "store/postgres_store.h"
#include "test_postgres.h"

namespace tandem::integration {
namespace {

constexpr const char* kRoom = "chat:outage";
constexpr int kClients = 3;
constexpr int kMessagesPerClient = 300;   // at least: more while the restart lasts
constexpr int kMaxMessagesPerClient = 3000;  // within --chat-history below
constexpr std::size_t kInFlight = 8;      // requests each client keeps unanswered
constexpr int kRestartAfterAcks = 150;    // PostgreSQL restarts once this many were acked
constexpr milliseconds kRunDeadline{120000};

std::string text_of(int client, int k) { return "c" + std::to_string(client) + "-m" + std::to_string(k); }

// A database of its own on `cluster`, created on construction.
std::string create_database(const tandem::test::PostgresCluster& cluster, const std::string& name) {
  auto created = server::store::PostgresStore::run_admin_sql(cluster.url(), "CREATE DATABASE " + name);
  if (!created) throw std::runtime_error(created.error().message);
  return tandem::test::postgres_url_for_database(cluster.url(), name);
}

struct ChatWriter {
  ChatWriter(const std::string& url, int number)
      : index(number),
        client(quiet_client(url, "writer-" + std::to_string(number), 300 + static_cast<std::uint64_t>(number))) {}
  void submit() {
    const int k = submitted++;
    client->client().rooms().send_chat(kRoom, text_of(index, k), [this, k](Result<Acked> r) {
      ++answered;
      if (!r.ok()) failures.push_back("message " + std::to_string(k) + ": " + r.error().code + " " + r.error().message);
    });
  }
  int index;
  std::unique_ptr<native::NativeClient> client;
  int submitted = 0, answered = 0;
  std::vector<std::string> failures;
};

TEST(postgres_outage_test, a_postgresql_restart_under_load_costs_clients_a_delay_not_a_message) {
  tandem::test::PostgresCluster cluster;
  const std::string url = create_database(cluster, "outage");
  ServerProcess server({"--store", "postgres", "--store-url", url, "--chat-history", "10000",
                        "--store-give-up-ms", "60000", "--store-timeout-ms", "3000",
                        "--rate-per-sec", "1000000", "--rate-burst", "1000000"});  // writers as fast as acks come
  ASSERT_NO_THROW(server.start());

  std::vector<std::unique_ptr<ChatWriter>> writers;
  for (int i = 0; i < kClients; ++i) {
    writers.push_back(std::make_unique<ChatWriter>(server.ws_url(), i));
    auto& w = *writers.back();
    w.client->start();
    bool joined = false;
    w.client->client().rooms().join(kRoom, std::nullopt, [&](Result<protocol::Subscribed> r) {
      ASSERT_TRUE(r.ok()) << r.error().message;
      joined = true;
    });
    ASSERT_TRUE(w.client->poll_until([&] { return joined; }, kStepDeadline)) << server.output();
  }
  auto acked = [&] {
    int n = 0;
    for (auto& w : writers) n += w->answered;
    return n;
  };
  auto submitted = [&] {
    int n = 0;
    for (auto& w : writers) n += w->submitted;
    return n;
  };
  // The restart runs beside the clients, which keep sending until it is over (however long a
  // busy machine makes it): the database is always away while requests are on their way.
  std::future<void> restart;
  bool restarted = false;
  const bool finished = pump_until(
      [&] {
        for (auto& w : writers)
          while ((w->submitted < kMessagesPerClient || (!restarted && w->submitted < kMaxMessagesPerClient)) &&
                 static_cast<std::size_t>(w->submitted - w->answered) < kInFlight)
            w->submit();
        if (!restart.valid() && acked() >= kRestartAfterAcks)
          restart = std::async(std::launch::async, [&cluster] { cluster.restart(); });
        if (restart.valid() && !restarted && restart.wait_for(milliseconds{0}) == std::future_status::ready) restarted = true;
        return restarted && acked() == submitted();
      },
      [&] {
        for (auto& w : writers) w->client->poll(milliseconds{1});
      },
      kRunDeadline);
  ASSERT_TRUE(restart.valid());
  ASSERT_NO_THROW(restart.get());
  ASSERT_TRUE(finished) << "answered " << acked() << " of " << submitted() << "\n" << server.output();
  for (auto& w : writers) EXPECT_TRUE(w->failures.empty()) << "writer " << w->index << ": " << w->failures.front();
  // The outage was felt: commits failed, then succeeded again.
  EXPECT_NE(server.output().find("store commit of"), std::string::npos) << server.output();
  EXPECT_NE(server.output().find("commits succeed again"), std::string::npos) << server.output();
  for (auto& w : writers) w->client->shutdown();
  server.stop();

  // Every message exactly once in the database.
  server::store::PostgresOptions options;
  options.url = url;
  options.retention.chat = 10000;
  auto store = server::store::PostgresStore::open(options);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto room = store.value()->load_room(kRoom);
  ASSERT_TRUE(room.ok()) << room.error().message;
  std::map<std::string, int> stored;
  for (const auto& entry : room.value().chat) ++stored[entry.text];
  EXPECT_EQ(room.value().chat.size(), static_cast<std::size_t>(submitted()));
  for (int c = 0; c < kClients; ++c)
    for (int k = 0; k < writers[static_cast<std::size_t>(c)]->submitted; ++k) EXPECT_EQ(stored[text_of(c, k)], 1) << text_of(c, k);
}

// Runs tandem-server with `args` until it exits (it must, and soon); its exit code and output.
std::pair<int, std::string> run_to_exit(std::vector<std::string> args) {
  args.insert(args.begin(), {TANDEM_SERVER_BINARY, "--host", "127.0.0.1", "--port", "1", "--jwt-secret",
                             std::string(kTestSecret)});
  ChildProcess child(args);
  std::optional<int> status;
  pump_until([&] { return (status = child.exit_status()).has_value(); },
             [] { std::this_thread::sleep_for(milliseconds{20}); },  // polling the exit, under the deadline
             milliseconds{20000});
  if (!status) child.kill_now();
  return {status.value_or(-1), child.output()};
}

TEST(postgres_outage_test, a_database_the_server_cannot_use_stops_it_at_start_with_the_reason) {
  tandem::test::PostgresCluster cluster;
  const std::string url = create_database(cluster, "startup");
  const std::string password = url.substr(url.find(':', url.find("://") + 3) + 1,
                                          url.find('@') - url.find(':', url.find("://") + 3) - 1);
  std::string wrong_password = url;
  wrong_password.replace(wrong_password.find(password), password.size(), "wrong");
  {  // a database at a newer schema version than this build knows
    std::vector<server::store::SchemaMigration> newer(server::store::postgres_schema().begin(),
                                                      server::store::postgres_schema().end());
    newer.push_back({"from the future", "CREATE TABLE future (x INTEGER)"});
    server::store::PostgresOptions options;
    options.url = url;
    ASSERT_TRUE(server::store::PostgresStore::open(options, newer).ok());
  }
  struct Case {
    std::string name, url, expected;
  };
  const std::vector<Case> cases = {
      {"wrong password", wrong_password, "password authentication failed"},
      {"newer schema", url, "newer than this build knows"},
      {"no URL", "", "needs --store-url"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--store", "postgres"};
    if (!c.url.empty()) args.insert(args.end(), {"--store-url", c.url});
    const auto [code, output] = run_to_exit(args);
    EXPECT_NE(code, 0) << c.name << "\n" << output;
    EXPECT_NE(output.find(c.expected), std::string::npos) << c.name << "\n" << output;
    EXPECT_EQ(output.find("listening on"), std::string::npos) << c.name << ": half-started\n" << output;
    EXPECT_EQ(output.find(password), std::string::npos) << c.name << ": the password was shown\n" << output;
  }
  // Nobody listening: a server that was there and is gone.
  std::string gone_url;
  {
    tandem::test::PostgresCluster gone;
    gone_url = create_database(gone, "gone");
  }
  const auto [code, output] = run_to_exit({"--store", "postgres", "--store-url", gone_url, "--store-timeout-ms", "2000"});
  EXPECT_NE(code, 0) << output;
  EXPECT_NE(output.find("cannot open the store"), std::string::npos) << output;
  EXPECT_EQ(output.find("listening on"), std::string::npos) << output;
}

}  // namespace
}  // namespace tandem::integration
