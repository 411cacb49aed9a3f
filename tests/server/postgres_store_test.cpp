// postgres_store_test.cpp — what only the PostgreSQL store has, against a real PostgreSQL
// server (tests/support/test_postgres.h; a database of its own per test): migrations under
// the schema table, start-up errors that say what is wrong without showing the password, a
// connection the server cuts being made again with nothing lost or applied twice, read() as
// one transaction in one round trip, and commits whose answer was lost (a TCP relay between
// the store and the server counts the round trips and loses the answer: Relay). What every
// store must do is in store_conformance_test.cpp.
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/postgres_store.h"
#include "store_test_support.h"
#include "test_postgres.h"

namespace tandem::server::store {
namespace {

using namespace testing;  // store::testing helpers
using tandem::test::TestDatabase;

PostgresOptions at(const std::string& url) {
  PostgresOptions options;
  options.url = url;
  return options;
}

std::unique_ptr<PostgresStore> open_or_fail(const PostgresOptions& options) {
  auto opened = PostgresStore::open(options);
  if (!opened) {
    ADD_FAILURE() << opened.error().message;
    return nullptr;
  }
  return std::move(opened).value();
}

// One more schema step (version 6), as a future build would append it.
std::vector<SchemaMigration> schema_with_v6(std::string_view step_sql) {
  std::vector<SchemaMigration> schema(postgres_schema().begin(), postgres_schema().end());
  schema.push_back({"test step", step_sql});
  return schema;
}

// The password of a URL postgres://user:password@host...
std::string password_of(const std::string& url) {
  const auto colon = url.find(':', url.find("://") + 3);
  return url.substr(colon + 1, url.find('@') - colon - 1);
}

// The server ends the store's sessions (as a restart or a failover would).
void cut_store_sessions(const TestDatabase& database) {
  auto cut = PostgresStore::run_admin_sql(
      tandem::test::test_postgres_url(),
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database.name() +
          "' AND application_name LIKE 'tandem-server %'");
  ASSERT_TRUE(cut.ok()) << cut.error().message;
}

// A store holding sample_batch() whose session the server has just ended.
std::unique_ptr<PostgresStore> sample_store_cut_off(const TestDatabase& database) {
  auto store = open_or_fail(at(database.url()));
  if (!store) return nullptr;
  commit_or_fail(*store, sample_batch());
  cut_store_sessions(database);
  return store;
}

TEST(postgres_store_test, a_new_store_is_at_the_current_schema_version) {
  TestDatabase database;
  auto store = open_or_fail(at(database.url()));
  ASSERT_TRUE(store);
  // v1 initial schema, v2 writer claims, v3 yjs documents, v4 yjs document writer claims
  EXPECT_EQ(postgres_schema().size(), 5u);
  EXPECT_EQ(store->schema_version(), 5);
}

TEST(postgres_store_test, a_later_step_is_applied_once) {
  TestDatabase database;
  {
    auto store = open_or_fail(at(database.url()));
    ASSERT_TRUE(store);
    commit_or_fail(*store, sample_batch());
  }
  const auto next = schema_with_v6("CREATE TABLE webhooks (id TEXT PRIMARY KEY, url TEXT NOT NULL)");
  {
    auto upgraded = PostgresStore::open(at(database.url()), next);
    ASSERT_TRUE(upgraded.ok()) << upgraded.error().message;
    EXPECT_EQ(upgraded.value()->schema_version(), 6);
    EXPECT_EQ(load(*upgraded.value(), "r").nodes.size(), 2u);
  }
  // Opening again does not re-apply the step (CREATE TABLE would fail if it did).
  auto again = PostgresStore::open(at(database.url()), next);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again.value()->schema_version(), 6);
}

TEST(postgres_store_test, a_database_newer_than_the_build_is_refused) {
  TestDatabase database;
  {
    auto newer = PostgresStore::open(at(database.url()), schema_with_v6("CREATE TABLE future (x INTEGER)"));
    ASSERT_TRUE(newer.ok()) << newer.error().message;
  }
  auto refused = PostgresStore::open(at(database.url()));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "internal");
  EXPECT_NE(refused.error().message.find(redact_postgres_url(database.url())), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("schema version 6, newer than this build knows (5)"), std::string::npos)
      << refused.error().message;
}

TEST(postgres_store_test, a_failing_migration_leaves_the_database_at_its_previous_version) {
  TestDatabase database;
  {
    auto store = open_or_fail(at(database.url()));
    ASSERT_TRUE(store);
    commit_or_fail(*store, sample_batch());
  }
  // The step's first statements succeed, its last fails: none may remain.
  auto failed = PostgresStore::open(at(database.url()),
                                    schema_with_v6("CREATE TABLE half (x INTEGER); INSERT INTO half VALUES (1); "
                                                   "INSERT INTO no_such_table VALUES (1)"));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("migration to schema version 6 (test step)"), std::string::npos)
      << failed.error().message;
  EXPECT_NE(failed.error().message.find("no_such_table"), std::string::npos) << failed.error().message;

  auto store = open_or_fail(at(database.url()));
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), 5);
  EXPECT_TRUE(load(*store, "r").exists);
  // "half" was rolled back too: the same step minus the failing statement now applies.
  auto fixed = PostgresStore::open(at(database.url()), schema_with_v6("CREATE TABLE half (x INTEGER)"));
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_EQ(fixed.value()->schema_version(), 6);
}

TEST(postgres_store_test, start_up_failures_say_what_is_wrong_and_never_show_the_password) {
  TestDatabase database;
  const std::string url = database.url();
  const std::string password = password_of(url);
  ASSERT_GE(password.size(), 16u);
  std::string wrong_password = url;
  wrong_password.replace(wrong_password.find(password), password.size(), "not-the-password");
  // A port nobody listens on: the cluster's port + 1 is free unless something took it.
  const auto port_at = url.find(':', url.find('@'));
  const auto port_end = url.find('/', port_at);
  const int port = std::stoi(url.substr(port_at + 1, port_end - port_at - 1));
  std::string nobody = url;
  nobody.replace(port_at + 1, port_end - port_at - 1, std::to_string(port == 65535 ? 1 : port + 1));

  struct Case {
    std::string name, url, expected_in_message;
  };
  const std::vector<Case> cases = {
      {"no URL", "", "no database URL given"},
      {"wrong password", wrong_password, "password authentication failed"},
      {"nobody listening", nobody, "connect"},
      {"no such database", tandem::test::postgres_url_for_database(url, "tandem_no_such_db"), "does not exist"},
      {"not a URL", "postgres://[::1", "connect"},
  };
  for (const Case& c : cases) {
    auto opened = PostgresStore::open(at(c.url));
    ASSERT_FALSE(opened.ok()) << c.name;
    EXPECT_EQ(opened.error().code, "internal") << c.name;
    EXPECT_NE(opened.error().message.find(c.expected_in_message), std::string::npos)
        << c.name << ": " << opened.error().message;
    EXPECT_EQ(opened.error().message.find(password), std::string::npos) << c.name << ": " << opened.error().message;
  }
}

TEST(postgres_store_test, the_password_is_redacted_in_urls_of_both_forms) {
  EXPECT_EQ(redact_postgres_url("postgres://ana:s3cret@db:5432/tandem"), "postgres://ana:***@db:5432/tandem");
  EXPECT_EQ(redact_postgres_url("postgresql://ana@db/tandem"), "postgresql://ana@db/tandem");
  EXPECT_EQ(redact_postgres_url("host=db user=ana password=s3cret dbname=t"), "host=db user=ana password=*** dbname=t");
  EXPECT_EQ(redact_postgres_url("postgres://db/t?password=s3cret&sslmode=require"),
            "postgres://db/t?password=***&sslmode=require");
}

TEST(postgres_store_test, a_connection_the_server_cuts_is_made_again_and_nothing_is_lost_or_applied_twice) {
  TestDatabase database;
  auto store = sample_store_cut_off(database);
  ASSERT_TRUE(store);

  // The hub retries a failed commit with the same writes (and perhaps more after them).
  WriteBatch next;
  next.add(WriteBatch::AppendEvent{"r", 3, R"({"seq":3})"});
  next.add(WriteBatch::AddChat{"r", chat_entry(3)});
  auto first_try = store->commit(next);
  if (!first_try.ok()) {
    EXPECT_EQ(first_try.error().code, "internal");
    next.add(WriteBatch::AppendEvent{"r", 4, R"({"seq":4})"});
    commit_or_fail(*store, next);
  } else {
    WriteBatch more;
    more.add(WriteBatch::AppendEvent{"r", 4, R"({"seq":4})"});
    commit_or_fail(*store, more);
  }
  const RoomRecord room = load(*store, "r");
  EXPECT_EQ(history_seqs(room), (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(chat_seqs(room), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(room.seq, 4);
}

TEST(postgres_store_test, a_read_on_a_connection_the_server_cut_while_idle_succeeds_on_a_new_one) {
  TestDatabase database;
  auto store = sample_store_cut_off(database);
  ASSERT_TRUE(store);
  // libpq learns of the cut only when it uses the connection: the read is made again, once.
  auto session = store->find_session("s-1");
  ASSERT_TRUE(session.ok()) << session.error().message;
  const RoomRecord room = load(*store, "r");
  EXPECT_EQ(room.seq, 2);
}

TEST(postgres_store_test, a_read_that_fails_answers_every_request_with_its_error_and_claims_nothing) {
  TestDatabase database;
  auto first = open_or_fail(at(database.url()));
  ASSERT_TRUE(first);
  commit_or_fail(*first, sample_batch());  // creates room r: first holds it

  auto second = open_or_fail(at(database.url()));
  ASSERT_TRUE(second);
  ReadRequest request;
  // Claimed after r (byte order): PostgreSQL refuses the name (not UTF-8) once r's claim ran.
  request.rooms = {"z\xff", "r"};
  request.sessions = {"s-1"};
  request.change_pages = {{"r", 0, 10}};
  const ReadAnswers answers = second->read(request);
  ASSERT_EQ(answers.rooms.size(), 2u);
  ASSERT_EQ(answers.sessions.size(), 1u);
  ASSERT_EQ(answers.change_pages.size(), 1u);
  ASSERT_FALSE(answers.rooms[0].ok());
  const Error& error = answers.rooms[0].error();
  EXPECT_EQ(error.code, "internal");
  EXPECT_NE(error.message.find("UTF8"), std::string::npos) << error.message;
  ASSERT_FALSE(answers.rooms[1].ok());
  EXPECT_EQ(answers.rooms[1].error(), error);
  ASSERT_FALSE(answers.sessions[0].ok());
  EXPECT_EQ(answers.sessions[0].error(), error);
  ASSERT_FALSE(answers.change_pages[0].ok());
  EXPECT_EQ(answers.change_pages[0].error(), error);

  // r's claim went with the transaction: the first still writes r.
  WriteBatch next;
  next.add(WriteBatch::AppendEvent{"r", 3, "{}"});
  commit_or_fail(*first, next);
  // And the store reads on.
  EXPECT_EQ(load(*second, "r").seq, 3);
}

// A socket (or pipe end), closed with its owner.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// A TCP relay between a store and the server, one connection at a time (the next once the
// last is closed), that counts the store's flights — the times it sends after the server last
// spoke (or first): a flight is a network round trip — and can lose the answer to a COMMIT:
// the transaction is committed, then the connection cut before the store hears it. (
// tests/integration's TcpCutter relays too, but it cuts at a byte count, not at an answer, and
// is not linked into these tests.) One thread; the destructor stops it.
class Relay {
 public:
  Relay(const std::string& server_host, const std::string& server_port) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* server = nullptr;
    if (::getaddrinfo(server_host.c_str(), server_port.c_str(), &hints, &server) != 0)
      throw std::runtime_error("relay: cannot resolve " + server_host);
    server_address_.assign(reinterpret_cast<const char*>(server->ai_addr), server->ai_addrlen);
    server_family_ = server->ai_family;
    ::freeaddrinfo(server);

    listener_ = Fd(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int stop[2];
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener_.get(), 4) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0 || ::pipe(stop) != 0)
      throw std::runtime_error("relay: cannot listen");
    stop_read_ = Fd(stop[0]);
    stop_write_ = Fd(stop[1]);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { relay(); });
  }
  ~Relay() {
    (void)!::write(stop_write_.get(), "s", 1);
    thread_.join();
  }
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  int port() const { return port_; }
  int flights() const { return flights_.load(); }
  // The server's next answer to a COMMIT is not passed on: the connection is cut instead.
  void lose_next_commit_answer() { lose_commit_answer_ = true; }
  bool commit_answer_lost() const { return commit_answer_lost_.load(); }

  // `url` (postgres://user:pw@HOST:PORT/db) with this relay's address in place of the server's.
  static std::pair<std::string, std::string> server_of(const std::string& url) {
    const auto host_at = url.find('@') + 1;
    const auto port_at = url.find(':', host_at);
    const auto port_end = url.find('/', port_at);
    return {url.substr(host_at, port_at - host_at), url.substr(port_at + 1, port_end - port_at - 1)};
  }
  std::string relayed(std::string url) const {
    const auto host_at = url.find('@') + 1;
    const auto port_end = url.find('/', url.find(':', host_at));
    return url.replace(host_at, port_end - host_at, "127.0.0.1:" + std::to_string(port_));
  }

 private:
  // Waits until one of `fds` has something (`readable` says which); false when told to stop
  // (or poll fails).
  bool ready(const std::vector<int>& fds, std::vector<bool>& readable) const {
    std::vector<pollfd> polled{{stop_read_.get(), POLLIN, 0}};
    for (int fd : fds) polled.push_back({fd, POLLIN, 0});
    if (::poll(polled.data(), polled.size(), -1) < 0) return false;
    for (std::size_t i = 0; i < fds.size(); ++i) readable[i] = polled[i + 1].revents != 0;
    return polled[0].revents == 0;
  }

  // Moves what `from` has to `to`; false once either side is closed or failed, or when the
  // server's answer to a COMMIT is to be lost (its CommandComplete tag: "COMMIT" and a NUL,
  // looked for across reads).
  bool pass_on(int from, int to, bool from_server) {
    std::array<char, 65536> buffer{};
    const ssize_t got = ::read(from, buffer.data(), buffer.size());
    if (got <= 0) return false;
    if (from_server && lose_commit_answer_) {
      static constexpr std::string_view kCommitDone{"COMMIT\0", 7};
      std::string seen = tail_ + std::string(buffer.data(), static_cast<std::size_t>(got));
      if (seen.find(kCommitDone) != std::string::npos) {
        lose_commit_answer_ = false;
        commit_answer_lost_ = true;
        return false;
      }
      tail_ = seen.substr(seen.size() - std::min(seen.size(), kCommitDone.size() - 1));
    }
    for (ssize_t sent = 0; sent < got;) {
      const ssize_t wrote = ::write(to, buffer.data() + sent, static_cast<std::size_t>(got - sent));
      if (wrote <= 0) return false;
      sent += wrote;
    }
    return true;
  }

  // Relays one connection until either side closes it (true) or the relay is told to stop.
  bool serve(int store, int server) {
    std::vector<bool> readable(2);
    bool server_spoke_last = true;
    tail_.clear();
    while (ready({store, server}, readable)) {
      if (readable[0]) {
        if (server_spoke_last) ++flights_;
        server_spoke_last = false;
        if (!pass_on(store, server, false)) return true;
      }
      if (readable[1]) {
        server_spoke_last = true;
        if (!pass_on(server, store, true)) return true;
      }
    }
    return false;
  }

  void relay() {
    std::vector<bool> readable(1);
    while (ready({listener_.get()}, readable)) {
      const Fd store(::accept(listener_.get(), nullptr, nullptr));
      const Fd server(::socket(server_family_, SOCK_STREAM, 0));
      if (::connect(server.get(), reinterpret_cast<const sockaddr*>(server_address_.data()),
                    static_cast<socklen_t>(server_address_.size())) != 0)
        continue;  // the store's connection closes: it sees a failure
      if (!serve(store.get(), server.get())) return;
    }
  }

  std::string server_address_;  // a sockaddr of server_family_
  int server_family_ = AF_INET;
  Fd listener_, stop_read_, stop_write_;
  int port_ = 0;
  std::atomic<int> flights_{0};
  std::atomic<bool> lose_commit_answer_{false}, commit_answer_lost_{false};
  std::string tail_;  // the end of what the server last said, for a tag split across reads
  std::thread thread_;
};

TEST(postgres_store_test, read_answers_rooms_sessions_and_change_pages_in_one_round_trip) {
  TestDatabase database;
  const std::string url = database.url();
  {
    auto writer = open_or_fail(at(url));
    ASSERT_TRUE(writer);
    WriteBatch batch = sample_batch();
    for (const char* room : {"a", "b", "c", "d"}) batch.add(WriteBatch::NewRoom{room, "ep"});
    batch.add(WriteBatch::PutSession{StoredSession{"s-2", "ben"}});
    commit_or_fail(*writer, batch);
  }
  // The store talks to the server through the relay.
  const auto [host, port] = Relay::server_of(url);
  Relay relay(host, port);
  auto store = open_or_fail(at(relay.relayed(url)));
  ASSERT_TRUE(store);
  ASSERT_GT(relay.flights(), 0);  // opening talked through the relay

  int before = relay.flights();  // the counter counts: a load each is a round trip each
  for (const char* room : {"a", "b", "c"}) load(*store, room);
  EXPECT_EQ(relay.flights() - before, 3);

  ReadRequest request;
  request.rooms = {"r", "a", "b", "c", "d", "never"};
  request.sessions = {"s-1", "s-2", "unknown"};
  request.change_pages = {{"r", 0, 10}, {"a", 0, 10}};
  before = relay.flights();
  const ReadAnswers answers = store->read(request);
  EXPECT_EQ(relay.flights() - before, 1);
  ASSERT_EQ(answers.rooms.size(), 6u);
  for (const auto& room : answers.rooms) EXPECT_TRUE(room.ok()) << room.error().message;
  ASSERT_EQ(answers.sessions.size(), 3u);
  ASSERT_TRUE(answers.sessions[0].ok()) << answers.sessions[0].error().message;
  EXPECT_EQ(answers.sessions[0].value()->applied, std::vector<std::string>{"req-1"});
  ASSERT_EQ(answers.change_pages.size(), 2u);
  ASSERT_TRUE(answers.change_pages[0].ok()) << answers.change_pages[0].error().message;
  EXPECT_EQ(answers.change_pages[0].value().size(), 1u);

  before = relay.flights();
  const ReadAnswers nothing = store->read(ReadRequest{});  // an empty request: no round trip
  EXPECT_EQ(relay.flights() - before, 0);
  EXPECT_TRUE(nothing.rooms.empty() && nothing.sessions.empty() && nothing.change_pages.empty());
}

// A store talking to `database` through `relay`, holding sample_batch() (room r: seqs 1, 2).
std::unique_ptr<PostgresStore> sample_store_through(const Relay& relay, const TestDatabase& database) {
  auto store = open_or_fail(at(relay.relayed(database.url())));
  if (store) commit_or_fail(*store, sample_batch());
  return store;
}

TEST(postgres_store_test, a_commit_whose_answer_was_lost_is_not_applied_twice_when_retried) {
  TestDatabase database;
  const auto [host, port] = Relay::server_of(database.url());
  Relay relay(host, port);
  auto store = sample_store_through(relay, database);
  ASSERT_TRUE(store);

  WriteBatch batch;
  batch.add(WriteBatch::AppendEvent{"r", 3, R"({"seq":3})"});
  batch.add(WriteBatch::AddChat{"r", chat_entry(3)});
  relay.lose_next_commit_answer();
  ASSERT_FALSE(store->commit(batch).ok());  // committed, but the store cannot know
  ASSERT_TRUE(relay.commit_answer_lost());

  batch.add(WriteBatch::AppendEvent{"r", 4, R"({"seq":4})"});  // the hub retries it, grown
  commit_or_fail(*store, batch);
  const RoomRecord room = load(*store, "r");
  EXPECT_EQ(history_seqs(room), (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(chat_seqs(room), (std::vector<std::int64_t>{2, 3}));
}

TEST(postgres_store_test, a_batch_dropped_after_its_commit_answer_was_lost_does_not_make_the_next_skip_writes) {
  TestDatabase database;
  const auto [host, port] = Relay::server_of(database.url());
  Relay relay(host, port);
  auto first = sample_store_through(relay, database);
  ASSERT_TRUE(first);

  WriteBatch lost;
  lost.add(WriteBatch::AppendEvent{"r", 3, R"({"seq":3})"});
  lost.add(WriteBatch::AddChat{"r", chat_entry(3)});
  relay.lose_next_commit_answer();
  ASSERT_FALSE(first->commit(lost).ok());
  ASSERT_TRUE(relay.commit_answer_lost());

  // Meanwhile another server process loads r: the retry (grown) is refused whole, and the hub
  // drops that batch (Hub::lose_rooms) and goes on with new writes of other rooms.
  auto second = open_or_fail(at(database.url()));
  ASSERT_TRUE(second);
  EXPECT_EQ(load(*second, "r").seq, 3);  // the lost answer's commit made it
  lost.add(WriteBatch::AppendEvent{"r", 4, R"({"seq":4})"});
  auto retry = first->commit(lost);
  ASSERT_FALSE(retry.ok());
  EXPECT_NE(retry.error().message.find("room_claimed_by_another_writer"), std::string::npos)
      << retry.error().message;

  WriteBatch next;  // a new batch: none of it was stored, so none of it may be skipped
  next.add(WriteBatch::NewRoom{"q", "epoch-q"});
  next.add(WriteBatch::AppendEvent{"q", 1, R"({"seq":1})"});
  next.add(WriteBatch::AddChat{"q", chat_entry(1)});
  commit_or_fail(*first, next);
  const RoomRecord q = load(*second, "q");
  EXPECT_TRUE(q.exists);
  EXPECT_EQ(q.epoch, "epoch-q");
  EXPECT_EQ(history_seqs(q), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(chat_seqs(q), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(load(*second, "r").seq, 3);  // and r is as the lost answer's commit left it
}

}  // namespace
}  // namespace tandem::server::store
