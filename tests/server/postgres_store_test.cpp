// postgres_store_test.cpp — what only the PostgreSQL store has, against a real PostgreSQL
// server (tests/support/test_postgres.h; a database of its own per test): migrations under
// the schema table, start-up errors that say what is wrong without showing the password, and
// a connection the server cuts being made again with nothing lost or applied twice. What every
// store must do is in store_conformance_test.cpp.
#include <gtest/gtest.h>

#include <string>
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

// One more schema step (version 3), as a future build would append it.
std::vector<SchemaMigration> schema_with_v3(std::string_view v2_sql) {
  std::vector<SchemaMigration> schema(postgres_schema().begin(), postgres_schema().end());
  schema.push_back({"test step", v2_sql});
  return schema;
}

// The password of a URL postgres://user:password@host...
std::string password_of(const std::string& url) {
  const auto colon = url.find(':', url.find("://") + 3);
  return url.substr(colon + 1, url.find('@') - colon - 1);
}

TEST(postgres_store_test, a_new_store_is_at_the_current_schema_version) {
  TestDatabase database;
  auto store = open_or_fail(at(database.url()));
  ASSERT_TRUE(store);
  EXPECT_EQ(postgres_schema().size(), 2u);  // v1 initial schema, v2 writer claims
  EXPECT_EQ(store->schema_version(), 2);
}

TEST(postgres_store_test, a_later_step_is_applied_once) {
  TestDatabase database;
  {
    auto store = open_or_fail(at(database.url()));
    ASSERT_TRUE(store);
    commit_or_fail(*store, sample_batch());
  }
  const auto v3 = schema_with_v3("CREATE TABLE webhooks (id TEXT PRIMARY KEY, url TEXT NOT NULL)");
  {
    auto upgraded = PostgresStore::open(at(database.url()), v3);
    ASSERT_TRUE(upgraded.ok()) << upgraded.error().message;
    EXPECT_EQ(upgraded.value()->schema_version(), 3);
    EXPECT_EQ(load(*upgraded.value(), "r").nodes.size(), 2u);
  }
  // Opening again does not re-apply the step (CREATE TABLE would fail if it did).
  auto again = PostgresStore::open(at(database.url()), v3);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again.value()->schema_version(), 3);
}

TEST(postgres_store_test, a_database_newer_than_the_build_is_refused) {
  TestDatabase database;
  {
    auto newer = PostgresStore::open(at(database.url()), schema_with_v3("CREATE TABLE future (x INTEGER)"));
    ASSERT_TRUE(newer.ok()) << newer.error().message;
  }
  auto refused = PostgresStore::open(at(database.url()));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "internal");
  EXPECT_NE(refused.error().message.find(redact_postgres_url(database.url())), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("schema version 3, newer than this build knows (2)"), std::string::npos)
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
                                    schema_with_v3("CREATE TABLE half (x INTEGER); INSERT INTO half VALUES (1); "
                                                   "INSERT INTO no_such_table VALUES (1)"));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("migration to schema version 3 (test step)"), std::string::npos)
      << failed.error().message;
  EXPECT_NE(failed.error().message.find("no_such_table"), std::string::npos) << failed.error().message;

  auto store = open_or_fail(at(database.url()));
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), 2);
  EXPECT_TRUE(load(*store, "r").exists);
  // "half" was rolled back too: the same step minus the failing statement now applies.
  auto fixed = PostgresStore::open(at(database.url()), schema_with_v3("CREATE TABLE half (x INTEGER)"));
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_EQ(fixed.value()->schema_version(), 3);
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
  auto store = open_or_fail(at(database.url()));
  ASSERT_TRUE(store);
  commit_or_fail(*store, sample_batch());

  // The server ends the store's session (as a restart or a failover would).
  auto cut = PostgresStore::run_admin_sql(
      tandem::test::test_postgres_url(),
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database.name() +
          "' AND application_name LIKE 'tandem-server %'");
  ASSERT_TRUE(cut.ok()) << cut.error().message;

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

}  // namespace
}  // namespace tandem::server::store
