// migrate_test.cpp — `tandem-server migrate` moves a deployment from SQLite to PostgreSQL (a
// server of the test's own) with 10,000 room events: the room keeps its epoch and seq, so a
// client that saw seq N before the move resumes after it with recovered:true and exactly the
// events it missed; the document and chat history come along; a second copy into the now
// non-empty target is refused.
#include <unistd.h>

#include <filesystem>
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

constexpr const char* kChat = "chat:move";
constexpr const char* kDoc = "workflow:move";
constexpr int kEvents = 10000;        // chat messages, one room event each
constexpr int kMissed = 10;           // sent while the probe was away, before the move
constexpr std::size_t kInFlight = 64;
constexpr milliseconds kRunDeadline{120000};

// Runs `tandem-server migrate args...` to its end; its exit code and output.
std::pair<int, std::string> migrate(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {TANDEM_SERVER_BINARY, "migrate"};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess child(argv);
  std::optional<int> status;
  pump_until([&] { return (status = child.exit_status()).has_value(); },
             [] { std::this_thread::sleep_for(milliseconds{20}); },  // polling the exit, under the deadline
             kRunDeadline);
  if (!status) child.kill_now();
  return {status.value_or(-1), child.output()};
}

std::string token(const std::string& sub) { return mint_token({.sub = sub, .name = sub}); }

// Subscribes `probe` to the chat room (with `since` when given) and waits for everything the
// subscribe produced (presence_state comes last).
protocol::Subscribed join(ServerProcess& server, TransportProbe& probe,
                          std::optional<protocol::StreamPosition> since = std::nullopt) {
  probe.open(server.ws_url() + "?token=" + token("probe"));
  EXPECT_TRUE(wait_for_message<protocol::Connected>(probe).has_value()) << server.output();
  probe.send(protocol::encode_client(protocol::Subscribe{kChat, since}, "sub"));
  auto subscribed = wait_for_message<protocol::Subscribed>(probe, "sub", milliseconds{20000});
  EXPECT_TRUE(subscribed.has_value()) << server.output();
  EXPECT_TRUE(wait_for_message<protocol::PresenceSnapshot>(probe, std::nullopt, milliseconds{20000}).has_value());
  return subscribed ? subscribed->first : protocol::Subscribed{};
}

// Sends chat messages number `from` .. `to` - 1 through `client`, pipelined; true once all acked.
bool send_chats(native::NativeClient& client, int from, int to, std::vector<std::string>& failures) {
  int submitted = from, answered = from;
  return pump_until(
      [&] {
        while (submitted < to && static_cast<std::size_t>(submitted - answered) < kInFlight) {
          const int k = submitted++;
          client.client().rooms().send_chat(kChat, "m" + std::to_string(k), [&, k](Result<Acked> r) {
            ++answered;
            if (!r.ok()) failures.push_back("m" + std::to_string(k) + ": " + r.error().message);
          });
        }
        return answered == to;
      },
      [&] { client.poll(milliseconds{1}); }, kRunDeadline);
}

TEST(migrate_test, ten_thousand_events_move_from_sqlite_to_postgresql_and_a_client_resumes_across_the_move) {
  tandem::test::PostgresCluster cluster;
  ASSERT_TRUE(server::store::PostgresStore::run_admin_sql(cluster.url(), "CREATE DATABASE moved").ok());
  const std::string target = tandem::test::postgres_url_for_database(cluster.url(), "moved");
  const std::string sqlite_path =
      (std::filesystem::temp_directory_path() / ("tandem-migrate-" + std::to_string(::getpid()) + ".db")).string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(sqlite_path + suffix);

  // Before: a deployment on SQLite with 10,000 chat events and a small document.
  ServerProcess on_sqlite({"--store", "sqlite", "--store-path", sqlite_path,  // one writer, 10,000 events fast
                           "--rate-per-sec", "1000000", "--rate-burst", "1000000"});
  ASSERT_NO_THROW(on_sqlite.start());
  std::vector<std::string> failures;
  protocol::Subscribed seen;
  {
    auto client = quiet_client(on_sqlite.ws_url(), "writer", /*seed=*/7);
    native::NativeClient& writer = *client;
    writer.start();
    int joined = 0;
    for (const char* room : {kChat, kDoc})
      writer.client().rooms().join(room, std::nullopt, [&](Result<protocol::Subscribed> r) {
        EXPECT_TRUE(r.ok()) << r.error().message;
        ++joined;
      });
    ASSERT_TRUE(writer.poll_until([&] { return joined == 2; }, kStepDeadline));
    for (const char* id : {"n1", "n2"}) {
      protocol::Node node;
      node.id = id;
      node.type = "step";
      bool created = false;
      writer.client().rooms().create_node(kDoc, node, [&](Result<Acked> r) {
        EXPECT_TRUE(r.ok());
        created = true;
      });
      ASSERT_TRUE(writer.poll_until([&] { return created; }, kStepDeadline));
    }
    ASSERT_TRUE(send_chats(writer, 0, kEvents - kMissed, failures)) << on_sqlite.output();
    {
      TransportProbe probe;  // sees seq N, then goes away
      seen = join(on_sqlite, probe);
    }
    ASSERT_TRUE(send_chats(writer, kEvents - kMissed, kEvents, failures)) << on_sqlite.output();
    writer.shutdown();
  }
  ASSERT_TRUE(failures.empty()) << failures.front();
  ASSERT_GE(seen.seq, kEvents - kMissed);
  on_sqlite.stop();

  // The move.
  const auto [code, output] = migrate({"--from", "sqlite:" + sqlite_path, "--to", target});
  ASSERT_EQ(code, 0) << output;
  EXPECT_NE(output.find("migrate: done:"), std::string::npos) << output;

  // After: the same rooms on PostgreSQL; the probe resumes where it was.
  ServerProcess on_postgres({"--store", "postgres", "--store-url", target});
  ASSERT_NO_THROW(on_postgres.start());
  TransportProbe probe;
  const protocol::Subscribed back = join(on_postgres, probe, protocol::StreamPosition{seen.epoch, seen.seq});
  EXPECT_TRUE(back.recovered);
  EXPECT_EQ(back.epoch, seen.epoch);
  EXPECT_EQ(back.seq, seen.seq + kMissed);
  std::vector<std::string> replayed;
  for (const auto& frame : decoded(probe.log))
    if (auto* m = std::get_if<protocol::ChatMessage>(&frame.message)) replayed.push_back(m->text);
  std::vector<std::string> missed;
  for (int k = kEvents - kMissed; k < kEvents; ++k) missed.push_back("m" + std::to_string(k));
  EXPECT_EQ(replayed, missed);

  // The document came along too.
  TransportProbe reader;
  reader.open(on_postgres.ws_url() + "?token=" + token("reader"));
  ASSERT_TRUE(wait_for_message<protocol::Connected>(reader).has_value());
  reader.send(protocol::encode_client(protocol::Subscribe{kDoc, std::nullopt}, "d"));
  auto doc = wait_for_message<protocol::DocSnapshot>(reader);
  ASSERT_TRUE(doc.has_value()) << on_postgres.output();
  ASSERT_EQ(doc->first.nodes.size(), 2u);
  EXPECT_EQ(doc->first.nodes[0].id, "n1");
  on_postgres.stop();

  // A second copy into the same (no longer empty) database is refused.
  const auto [again_code, again_output] = migrate({"--from", "sqlite:" + sqlite_path, "--to", target});
  EXPECT_EQ(again_code, 1) << again_output;
  EXPECT_NE(again_output.find("is not empty"), std::string::npos) << again_output;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(sqlite_path + suffix);
}

TEST(migrate_test, bad_arguments_are_usage_errors) {
  const auto [code, output] = migrate({"--from", "mysql://db", "--to", "sqlite:/tmp/x.db"});
  EXPECT_EQ(code, 2) << output;
  EXPECT_NE(output.find("neither sqlite:PATH nor a postgres:// URL"), std::string::npos) << output;
  const auto [missing_code, missing_output] = migrate({"--from", "sqlite:/tmp/x.db"});
  EXPECT_EQ(missing_code, 2) << missing_output;
  EXPECT_NE(missing_output.find("--from and --to are required"), std::string::npos) << missing_output;
}

}  // namespace
}  // namespace tandem::integration
