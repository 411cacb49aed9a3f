// store_conformance_test.cpp — one set of tests for every Store (store.h), run against each
// engine for real: SQLite on a file in a mkdtemp folder, PostgreSQL on a database of its own on
// a real server (tests/support/test_postgres.h). Every write kind round-trips; order and
// trimming of history, nodes, chat and requests; the fence only grows; a failing batch leaves
// nothing; integrity rules; reopening keeps everything; sessions expire; read() answers as the
// single calls do; loads claim rooms and Yjs documents. What only one engine has (SQLite's WAL
// file, PostgreSQL's reconnects and round trips) is in sqlite_store_test / postgres_store_test.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "store/postgres_store.h"
#include "store/sqlite_store.h"
#include "store_test_support.h"
#include "test_postgres.h"

namespace tandem::server::store {
namespace {

using namespace testing;  // store::testing helpers
using protocol::ChatEntry;
using protocol::Edge;
using protocol::Node;
using protocol::NodeStatus;

// Where a store keeps its data across opens, and how each engine words its integrity errors.
class StorePlace {
 public:
  virtual ~StorePlace() = default;
  // A store on this place (the same data every time), with `retention` and wall clock `clock`.
  virtual Result<std::unique_ptr<Store>> open(const Retention& retention, const WallClock& clock) = 0;
  virtual std::string shown() const = 0;               // what its error messages name
  virtual std::string foreign_key_words() const = 0;   // in a message about a missing referent
  virtual std::string unique_words() const = 0;        // in a message about a duplicate key
};

class SqlitePlace final : public StorePlace {
 public:
  Result<std::unique_ptr<Store>> open(const Retention& retention, const WallClock& clock) override {
    SqliteOptions options;
    options.path = path_;
    options.retention = retention;
    options.wall_clock = clock;
    auto opened = SqliteStore::open(options);
    if (!opened) return opened.error();
    return std::unique_ptr<Store>(std::move(opened).value());
  }
  std::string shown() const override { return path_; }
  std::string foreign_key_words() const override { return "FOREIGN KEY"; }
  std::string unique_words() const override { return "UNIQUE"; }

 private:
  ::tandem::server::store::testing::TempDir dir_;
  std::string path_ = dir_.file("tandem.db");
};

class PostgresPlace final : public StorePlace {
 public:
  Result<std::unique_ptr<Store>> open(const Retention& retention, const WallClock& clock) override {
    PostgresOptions options;
    options.url = database_.url();
    options.retention = retention;
    options.wall_clock = clock;
    auto opened = PostgresStore::open(options);
    if (!opened) return opened.error();
    return std::unique_ptr<Store>(std::move(opened).value());
  }
  std::string shown() const override { return redact_postgres_url(database_.url()); }
  std::string foreign_key_words() const override { return "foreign key constraint"; }
  std::string unique_words() const override { return "duplicate key"; }

 private:
  tandem::test::TestDatabase database_;
};

enum class Engine { Sqlite, Postgres };
// How ctest lists a test's engine ("# GetParam() = sqlite").
void PrintTo(Engine engine, std::ostream* out) { *out << (engine == Engine::Sqlite ? "sqlite" : "postgres"); }

class StoreConformance : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::Sqlite) {
      place_ = std::make_unique<SqlitePlace>();
    } else {
      place_ = std::make_unique<PostgresPlace>();
    }
  }

  // A store on this test's place; fails the test (and returns null) when it does not open.
  std::unique_ptr<Store> open(const Retention& retention = {}) {
    auto opened = place_->open(retention, [this] { return now_; });
    if (!opened) {
      ADD_FAILURE() << opened.error().message;
      return nullptr;
    }
    return std::move(opened).value();
  }

  // A place of the engine this test does not run on (exports go there).
  std::unique_ptr<StorePlace> other_engine() const {
    if (GetParam() == Engine::Sqlite) return std::make_unique<PostgresPlace>();
    return std::make_unique<SqlitePlace>();
  }

  std::unique_ptr<StorePlace> place_;
  UnixMillis now_ = 1'700'000'000'000;  // the stores' wall clock, moved by the session tests
};

TEST_P(StoreConformance, a_new_store_is_empty) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->fence_high_water().value(), 0);
  const RoomRecord room = load(*store, "workflow:unknown");
  EXPECT_FALSE(room.exists);
  EXPECT_EQ(room.epoch, "");
  EXPECT_EQ(room.seq, 0);
  EXPECT_TRUE(room.history.empty() && room.nodes.empty() && room.edges.empty() && room.chat.empty());
  EXPECT_FALSE(store->find_session("s-1").value().has_value());
  EXPECT_TRUE(store->changes("workflow:unknown", 0, 10).value().empty());
}

TEST_P(StoreConformance, every_write_kind_round_trips) {
  auto store = open();
  ASSERT_TRUE(store);
  commit_or_fail(*store, sample_batch());

  const RoomRecord room = load(*store, "r");
  EXPECT_TRUE(room.exists);
  EXPECT_EQ(room.epoch, "epoch-1");
  EXPECT_EQ(room.seq, 2);
  EXPECT_EQ(room.history, (std::vector<StoredEvent>{{1, R"({"type":"node_created","seq":1})"},
                                                    {2, R"({"type":"chat","seq":2})"}}));
  EXPECT_EQ(room.nodes, (std::vector<Node>{node("a"), node("b", 5)}));
  EXPECT_EQ(room.edges, (std::vector<Edge>{{"e1", "a", "b"}}));
  EXPECT_EQ(room.chat, (std::vector<ChatEntry>{chat_entry(2)}));
  EXPECT_EQ(store->changes("r", 0, 10).value(),
            (std::vector<StoredChange>{{1, "ana", 1001, R"({"type":"node_created"})"}}));
  EXPECT_EQ(store->fence_high_water().value(), 7);
  auto session = store->find_session("s-1").value();
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->id, "s-1");
  EXPECT_EQ(session->user, "ana");
  EXPECT_EQ(session->applied, std::vector<std::string>{"req-1"});

  // The removing kinds.
  WriteBatch removals;
  removals.add(WriteBatch::DeleteEdge{"r", "e1"});
  removals.add(WriteBatch::ClearChat{"r"});
  removals.add(WriteBatch::DeleteNode{"r", "a"});
  commit_or_fail(*store, removals);
  const RoomRecord after = load(*store, "r");
  EXPECT_EQ(after.edges, std::vector<Edge>{});
  EXPECT_EQ(after.chat, std::vector<ChatEntry>{});
  EXPECT_EQ(node_ids(after), std::vector<std::string>{"b"});
  EXPECT_EQ(after.history.size(), 2u);  // the event log is not the document
}

TEST_P(StoreConformance, values_are_bound_exactly_whatever_they_contain) {
  auto store = open();
  ASSERT_TRUE(store);
  const std::string room = "workflow:x'); DROP TABLE rooms; --";
  Node tricky{"n'1", "type\"q", "label with ' quote, ünïcödé, $1 and \\ backslash", -12.25, 1e9, NodeStatus::Failed,
              R"({"k":[1,2,{"z":null}]})"};
  Node precise{"n2", "t", "0.1 + 0.2", 0.1 + 0.2, -1.0 / 3.0, NodeStatus::Idle, "{}"};  // doubles read back exactly
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{room, "ep"});
  batch.add(WriteBatch::PutNode{room, tricky});
  batch.add(WriteBatch::PutNode{room, precise});
  commit_or_fail(*store, batch);
  const RoomRecord loaded = load(*store, room);
  EXPECT_TRUE(loaded.exists);
  EXPECT_EQ(loaded.nodes, (std::vector<Node>{tricky, precise}));
}

TEST_P(StoreConformance, nodes_keep_insertion_order_and_an_update_keeps_the_position) {
  auto store = open();
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"r", "ep"});
  for (const char* id : {"z", "a", "m"}) batch.add(WriteBatch::PutNode{"r", node(id)});
  commit_or_fail(*store, batch);

  Node moved = node("z", 40);
  moved.label = "renamed";
  moved.status = NodeStatus::Running;
  moved.data = R"({"url":"https://example.org"})";
  WriteBatch update;
  update.add(WriteBatch::PutNode{"r", moved});
  update.add(WriteBatch::PutNode{"r", node("b")});
  commit_or_fail(*store, update);

  const RoomRecord room = load(*store, "r");
  EXPECT_EQ(node_ids(room), (std::vector<std::string>{"z", "a", "m", "b"}));
  EXPECT_EQ(room.nodes[0], moved);
}

TEST_P(StoreConformance, a_batch_with_repeated_puts_of_a_node_stores_the_last_in_the_first_position) {
  // WriteBatch merges repeated PutNodes (store.h); the store sees one write per node, and the
  // end state is what the writes one by one would have made.
  auto store = open();
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"r", "ep"});
  batch.add(WriteBatch::PutNode{"r", node("a", 1)});
  batch.add(WriteBatch::PutNode{"r", node("b", 1)});
  batch.add(WriteBatch::PutEdge{"r", Edge{"ab", "a", "b"}});
  for (int x = 2; x <= 50; ++x) {
    batch.add(WriteBatch::PutNode{"r", node("a", x)});
    batch.add(WriteBatch::AppendEvent{"r", x, "{}"});
  }
  batch.add(WriteBatch::PutNode{"r", node("c", 3)});
  EXPECT_EQ(batch.writes().size(), 1u + 3u + 49u + 1u);  // the 49 later puts of a merged into the first
  commit_or_fail(*store, batch);
  RoomRecord room = load(*store, "r");
  EXPECT_EQ(room.nodes, (std::vector<Node>{node("a", 50), node("b", 1), node("c", 3)}));
  EXPECT_EQ(room.edges, (std::vector<Edge>{{"ab", "a", "b"}}));

  // A delete in between ends the merging: the node comes back after it, with its edges gone.
  WriteBatch again;
  again.add(WriteBatch::PutNode{"r", node("b", 2)});
  again.add(WriteBatch::DeleteNode{"r", "b"});
  again.add(WriteBatch::PutNode{"r", node("b", 3)});
  again.add(WriteBatch::PutNode{"r", node("b", 4)});
  EXPECT_EQ(again.writes().size(), 3u);
  commit_or_fail(*store, again);
  room = load(*store, "r");
  EXPECT_EQ(room.nodes, (std::vector<Node>{node("a", 50), node("c", 3), node("b", 4)}));
  EXPECT_EQ(room.edges, std::vector<Edge>{});
}

TEST_P(StoreConformance, deleting_a_node_deletes_the_edges_touching_it_and_only_those) {
  auto store = open();
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"r", "ep"});
  for (const char* id : {"a", "b", "c"}) batch.add(WriteBatch::PutNode{"r", node(id)});
  batch.add(WriteBatch::PutEdge{"r", Edge{"ab", "a", "b"}});
  batch.add(WriteBatch::PutEdge{"r", Edge{"bc", "b", "c"}});
  batch.add(WriteBatch::PutEdge{"r", Edge{"ca", "c", "a"}});
  commit_or_fail(*store, batch);
  // An update of b (an endpoint) keeps its edges.
  WriteBatch update;
  update.add(WriteBatch::PutNode{"r", node("b", 9)});
  commit_or_fail(*store, update);
  EXPECT_EQ(load(*store, "r").edges.size(), 3u);

  WriteBatch removal;
  removal.add(WriteBatch::DeleteNode{"r", "a"});
  commit_or_fail(*store, removal);
  const RoomRecord room = load(*store, "r");
  EXPECT_EQ(node_ids(room), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(room.edges, (std::vector<Edge>{{"bc", "b", "c"}}));
}

TEST_P(StoreConformance, history_is_oldest_first_and_trimmed_to_retention_per_room) {
  Retention retention;
  retention.history = 3;
  auto store = open(retention);
  ASSERT_TRUE(store);
  WriteBatch rooms;
  rooms.add(WriteBatch::NewRoom{"r", "ep"});
  rooms.add(WriteBatch::NewRoom{"other", "ep"});
  rooms.add(WriteBatch::AppendEvent{"other", 1, "{}"});
  commit_or_fail(*store, rooms);

  for (std::int64_t seq = 1; seq <= 3; ++seq) {
    WriteBatch one;
    one.add(WriteBatch::AppendEvent{"r", seq, "{\"seq\":" + std::to_string(seq) + "}"});
    commit_or_fail(*store, one);
  }
  EXPECT_EQ(history_seqs(load(*store, "r")), (std::vector<std::int64_t>{1, 2, 3}));  // at the bound: all kept

  WriteBatch several;  // trimming also applies within one batch
  for (std::int64_t seq = 4; seq <= 8; ++seq) several.add(WriteBatch::AppendEvent{"r", seq, "{}"});
  commit_or_fail(*store, several);
  const RoomRecord room = load(*store, "r");
  EXPECT_EQ(history_seqs(room), (std::vector<std::int64_t>{6, 7, 8}));
  EXPECT_EQ(room.history.front().json, "{}");
  EXPECT_EQ(room.seq, 8);
  EXPECT_EQ(history_seqs(load(*store, "other")), std::vector<std::int64_t>{1});  // another room untouched
}

std::vector<std::int64_t> seqs_of(const std::vector<StoredEvent>& events) {
  std::vector<std::int64_t> seqs;
  for (const StoredEvent& event : events) seqs.push_back(event.seq);
  return seqs;
}

TEST_P(StoreConformance, webhook_rooms_behind_are_the_rooms_past_a_following_endpoints_cursor) {
  Retention retention;
  retention.webhook_endpoints = [](std::string_view room) {
    return room.starts_with("chat:") ? std::vector<std::string>{"app"} : std::vector<std::string>{};
  };
  auto store = open(retention);
  ASSERT_TRUE(store);
  auto nothing = store->webhook_rooms_behind();
  ASSERT_TRUE(nothing.ok()) << nothing.error().message;
  EXPECT_TRUE(nothing.value().empty());
  WriteBatch batch;
  for (const char* room : {"chat:b", "chat:a", "chat:c", "chat:d", "other"}) {
    batch.add(WriteBatch::NewRoom{room, "ep"});
    batch.add(WriteBatch::AppendEvent{room, 1, "{}"});
    batch.add(WriteBatch::AppendEvent{room, 2, "{}"});
  }
  batch.add(WriteBatch::AdvanceWebhookCursor{"app", "chat:b", 2});      // caught up
  batch.add(WriteBatch::AdvanceWebhookCursor{"removed", "chat:c", 0});  // not configured any more
  batch.add(WriteBatch::AdvanceWebhookCursor{"app", "chat:c", 2});
  batch.add(WriteBatch::AdvanceWebhookCursor{"app", "other", 0});       // a room it does not follow
  commit_or_fail(*store, batch);
  const auto behind = store->webhook_rooms_behind();
  ASSERT_TRUE(behind.ok()) << behind.error().message;
  EXPECT_EQ(behind.value(), (std::vector<std::string>{"chat:a", "chat:d"}));
}

TEST_P(StoreConformance, webhook_cursors_keep_unacknowledged_events_up_to_the_backlog_bound) {
  Retention retention;
  retention.history = 3;
  retention.webhook_max_backlog = 6;
  retention.webhook_endpoints = [](std::string_view room) {
    return room == "r" ? std::vector<std::string>{"a", "b"} : std::vector<std::string>{};
  };
  auto store = open(retention);
  ASSERT_TRUE(store);
  WriteBatch first;
  first.add(WriteBatch::NewRoom{"r", "ep"});
  first.add(WriteBatch::NewRoom{"other", "ep"});
  for (std::int64_t seq = 1; seq <= 2; ++seq) {
    first.add(WriteBatch::AppendEvent{"r", seq, "{\"seq\":" + std::to_string(seq) + "}"});
    first.add(WriteBatch::AppendEvent{"other", seq, "{}"});
  }
  commit_or_fail(*store, first);
  // Each endpoint following the room got a cursor just before its first stored event.
  RoomRecord room = load(*store, "r");
  EXPECT_EQ(room.webhook_cursors, (std::vector<WebhookCursor>{{"a", 0}, {"b", 0}}));
  EXPECT_EQ(seqs_of(room.webhook_backlog), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(room.webhook_backlog.front().json, "{\"seq\":1}");

  WriteBatch more;
  for (std::int64_t seq = 3; seq <= 5; ++seq) more.add(WriteBatch::AppendEvent{"r", seq, "{}"});
  for (std::int64_t seq = 3; seq <= 6; ++seq) more.add(WriteBatch::AppendEvent{"other", seq, "{}"});
  commit_or_fail(*store, more);
  room = load(*store, "r");
  EXPECT_EQ(history_seqs(room), (std::vector<std::int64_t>{3, 4, 5}));  // the history bound as ever
  EXPECT_EQ(seqs_of(room.webhook_backlog), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));  // kept for the cursors

  // Cursors only move forward.
  WriteBatch acks;
  acks.add(WriteBatch::AdvanceWebhookCursor{"a", "r", 4});
  acks.add(WriteBatch::AdvanceWebhookCursor{"b", "r", 2});
  acks.add(WriteBatch::AdvanceWebhookCursor{"a", "r", 1});
  commit_or_fail(*store, acks);
  room = load(*store, "r");
  EXPECT_EQ(room.webhook_cursors, (std::vector<WebhookCursor>{{"a", 4}, {"b", 2}}));
  EXPECT_EQ(seqs_of(room.webhook_backlog), (std::vector<std::int64_t>{3, 4, 5}));  // past the lowest cursor

  // Past the backlog bound the oldest go all the same: at most 6 events kept.
  WriteBatch burst;
  for (std::int64_t seq = 6; seq <= 10; ++seq) burst.add(WriteBatch::AppendEvent{"r", seq, "{}"});
  commit_or_fail(*store, burst);
  room = load(*store, "r");
  EXPECT_EQ(history_seqs(room), (std::vector<std::int64_t>{8, 9, 10}));
  EXPECT_EQ(seqs_of(room.webhook_backlog), (std::vector<std::int64_t>{5, 6, 7, 8, 9, 10}));

  // A room no endpoint follows: no cursors, trimmed to the history bound.
  const RoomRecord other = load(*store, "other");
  EXPECT_TRUE(other.webhook_cursors.empty());
  EXPECT_TRUE(other.webhook_backlog.empty());
  EXPECT_EQ(history_seqs(other), (std::vector<std::int64_t>{4, 5, 6}));

  // Every endpoint caught up: the history bound alone again.
  WriteBatch caught_up;
  caught_up.add(WriteBatch::AdvanceWebhookCursor{"a", "r", 10});
  caught_up.add(WriteBatch::AdvanceWebhookCursor{"b", "r", 10});
  caught_up.add(WriteBatch::AppendEvent{"r", 11, "{}"});
  commit_or_fail(*store, caught_up);
  room = load(*store, "r");
  EXPECT_EQ(seqs_of(room.webhook_backlog), (std::vector<std::int64_t>{11}));
  EXPECT_EQ(history_seqs(room), (std::vector<std::int64_t>{9, 10, 11}));
}

TEST_P(StoreConformance, an_endpoint_follows_a_room_from_the_first_event_stored_after_it_is_configured) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    WriteBatch before;
    before.add(WriteBatch::NewRoom{"r", "ep"});
    for (std::int64_t seq = 1; seq <= 3; ++seq) before.add(WriteBatch::AppendEvent{"r", seq, "{}"});
    commit_or_fail(*store, before);
  }
  Retention retention;
  retention.webhook_endpoints = [](std::string_view) { return std::vector<std::string>{"late"}; };
  auto store = open(retention);
  ASSERT_TRUE(store);
  RoomRecord room = load(*store, "r");
  EXPECT_TRUE(room.webhook_cursors.empty());
  EXPECT_TRUE(room.webhook_backlog.empty());
  WriteBatch after;
  after.add(WriteBatch::AppendEvent{"r", 4, "{}"});
  commit_or_fail(*store, after);
  room = load(*store, "r");
  EXPECT_EQ(room.webhook_cursors, (std::vector<WebhookCursor>{{"late", 3}}));
  EXPECT_EQ(seqs_of(room.webhook_backlog), std::vector<std::int64_t>{4});
}

TEST_P(StoreConformance, webhook_dead_letters_are_kept_and_listed_newest_first) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    EXPECT_TRUE(store->webhook_dead_letters(10).value().empty());
    WriteBatch letters;
    letters.add(WriteBatch::AddWebhookDeadLetter{{"a", "r", 1, 5, 400, "HTTP 400", 1700000000000}});
    letters.add(WriteBatch::AddWebhookDeadLetter{{"b", "chat:x", 7, 7, 0, "backlog_exceeded", 1700000000001}});
    commit_or_fail(*store, letters);
  }
  auto store = open();  // reopened: still there
  ASSERT_TRUE(store);
  const auto listed = store->webhook_dead_letters(10);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_EQ(listed.value(), (std::vector<WebhookDeadLetter>{{"b", "chat:x", 7, 7, 0, "backlog_exceeded", 1700000000001},
                                                            {"a", "r", 1, 5, 400, "HTTP 400", 1700000000000}}));
  EXPECT_EQ(store->webhook_dead_letters(1).value().size(), 1u);
}

TEST_P(StoreConformance, chat_is_oldest_first_trimmed_to_retention_and_clearable) {
  Retention retention;
  retention.chat = 2;
  auto store = open(retention);
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"chat:lobby", "ep"});
  batch.add(WriteBatch::AddChat{"chat:lobby", chat_entry(1)});
  batch.add(WriteBatch::AddChat{"chat:lobby", chat_entry(2)});
  commit_or_fail(*store, batch);
  EXPECT_EQ(chat_seqs(load(*store, "chat:lobby")), (std::vector<std::int64_t>{1, 2}));

  WriteBatch more;
  more.add(WriteBatch::AddChat{"chat:lobby", chat_entry(3)});
  commit_or_fail(*store, more);
  const RoomRecord room = load(*store, "chat:lobby");
  EXPECT_EQ(room.chat, (std::vector<ChatEntry>{chat_entry(2), chat_entry(3)}));

  WriteBatch clear_then_add;
  clear_then_add.add(WriteBatch::ClearChat{"chat:lobby"});
  clear_then_add.add(WriteBatch::AddChat{"chat:lobby", chat_entry(4)});
  commit_or_fail(*store, clear_then_add);
  EXPECT_EQ(chat_seqs(load(*store, "chat:lobby")), std::vector<std::int64_t>{4});
}

TEST_P(StoreConformance, reopening_finds_everything_committed_and_a_smaller_retention_applies_on_load) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    WriteBatch batch = sample_batch();
    for (std::int64_t seq = 3; seq <= 5; ++seq) {
      batch.add(WriteBatch::AppendEvent{"r", seq, "{}"});
      batch.add(WriteBatch::AddChat{"r", chat_entry(seq)});
    }
    batch.add(WriteBatch::RememberRequest{"s-1", "req-2", "{}"});
    commit_or_fail(*store, batch);
  }
  {
    auto store = open();  // a restart
    ASSERT_TRUE(store);
    const RoomRecord room = load(*store, "r");
    EXPECT_TRUE(room.exists);
    EXPECT_EQ(room.epoch, "epoch-1");
    EXPECT_EQ(room.seq, 5);
    EXPECT_EQ(room.nodes.size(), 2u);
    EXPECT_EQ(room.edges.size(), 1u);
    EXPECT_EQ(chat_seqs(room), (std::vector<std::int64_t>{2, 3, 4, 5}));
    EXPECT_EQ(store->changes("r", 0, 10).value().size(), 1u);
    EXPECT_EQ(store->fence_high_water().value(), 7);
    EXPECT_TRUE(store->find_session("s-1").value().has_value());
    EXPECT_EQ(applied(*store, "s-1"), (std::vector<std::string>{"req-1", "req-2"}));
  }
  Retention smaller;
  smaller.history = 2;
  smaller.chat = 1;
  smaller.requests_per_session = 1;
  auto store = open(smaller);
  ASSERT_TRUE(store);
  const RoomRecord room = load(*store, "r");
  EXPECT_EQ(history_seqs(room), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(chat_seqs(room), std::vector<std::int64_t>{5});
  EXPECT_EQ(applied(*store, "s-1"), std::vector<std::string>{"req-2"});
}

TEST_P(StoreConformance, the_change_history_is_kept_in_full_and_paged_newest_first) {
  Retention retention;
  retention.history = 1;  // the event log's bound does not apply to changes
  auto store = open(retention);
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"r", "ep"});
  for (std::int64_t seq = 1; seq <= 5; ++seq) {
    batch.add(WriteBatch::AppendEvent{"r", seq, "{}"});
    batch.add(WriteBatch::AddChange{"r", StoredChange{seq, "ana", 100 * seq, "{}"}});
  }
  commit_or_fail(*store, batch);

  auto seqs = [&](std::int64_t before, std::size_t limit) {
    std::vector<std::int64_t> out;
    const auto page = store->changes("r", before, limit);  // kept: the loop must not outlive it
    for (const StoredChange& change : page.value()) out.push_back(change.seq);
    return out;
  };
  EXPECT_EQ(seqs(0, 2), (std::vector<std::int64_t>{5, 4}));
  EXPECT_EQ(seqs(4, 2), (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(seqs(2, 10), std::vector<std::int64_t>{1});
  EXPECT_EQ(seqs(1, 10), std::vector<std::int64_t>{});
  EXPECT_EQ(seqs(0, 100).size(), 5u);
  EXPECT_EQ(store->changes("r", 0, 1).value().front(), (StoredChange{5, "ana", 500, "{}"}));
}

TEST_P(StoreConformance, the_fence_high_water_mark_only_grows) {
  auto store = open();
  ASSERT_TRUE(store);
  auto raise = [&](std::int64_t fence) {
    WriteBatch batch;
    batch.add(WriteBatch::RaiseFence{fence});
    commit_or_fail(*store, batch);
    return store->fence_high_water().value();
  };
  EXPECT_EQ(raise(10), 10);
  EXPECT_EQ(raise(3), 10);
  EXPECT_EQ(raise(10), 10);
  EXPECT_EQ(raise(11), 11);
  WriteBatch down_then_up;  // within one batch too
  down_then_up.add(WriteBatch::RaiseFence{20});
  down_then_up.add(WriteBatch::RaiseFence{15});
  commit_or_fail(*store, down_then_up);
  EXPECT_EQ(store->fence_high_water().value(), 20);
  // A room's load carries the mark (a room stored or not): the instance taking a room over
  // grants fences above every fence granted before.
  EXPECT_EQ(load(*store, "never-stored").fence_high_water, 20);
  commit_or_fail(*store, sample_batch());
  EXPECT_EQ(load(*store, "r").fence_high_water, store->fence_high_water().value());
  WriteBatch read_too;
  read_too.add(WriteBatch::RaiseFence{42});
  commit_or_fail(*store, read_too);
  ReadRequest request;
  request.rooms = {"r"};
  EXPECT_EQ(store->read(request).rooms.at(0).value().fence_high_water, 42);
}

TEST_P(StoreConformance, remembered_requests_are_trimmed_per_session) {
  Retention retention;
  retention.requests_per_session = 2;
  auto store = open(retention);
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::PutSession{StoredSession{"s-1", "ana"}});
  batch.add(WriteBatch::PutSession{StoredSession{"s-2", "ben"}});
  batch.add(WriteBatch::RememberRequest{"s-2", "1", "ben-1"});
  batch.add(WriteBatch::RememberRequest{"s-1", "z", "ana-z"});
  batch.add(WriteBatch::RememberRequest{"s-1", "a", "ana-a"});
  commit_or_fail(*store, batch);
  EXPECT_EQ(applied(*store, "s-1"), (std::vector<std::string>{"z", "a"}));  // at the bound; in applied order

  WriteBatch third;
  third.add(WriteBatch::RememberRequest{"s-1", "m", "ana-m"});
  commit_or_fail(*store, third);
  EXPECT_EQ(applied(*store, "s-1"), (std::vector<std::string>{"a", "m"}));  // the oldest fell out
  EXPECT_EQ(applied(*store, "s-2"), std::vector<std::string>{"1"});         // per session
}

TEST_P(StoreConformance, a_failing_batch_leaves_nothing_of_itself_and_the_store_keeps_working) {
  auto store = open();
  ASSERT_TRUE(store);
  commit_or_fail(*store, sample_batch());
  const RoomRecord before = load(*store, "r");

  WriteBatch failing;
  failing.add(WriteBatch::NewRoom{"r2", "ep"});
  failing.add(WriteBatch::AppendEvent{"r2", 1, "{}"});
  failing.add(WriteBatch::AppendEvent{"r", 3, "{}"});
  failing.add(WriteBatch::PutNode{"r", node("c")});
  failing.add(WriteBatch::DeleteNode{"r", "a"});
  failing.add(WriteBatch::AddChat{"r", chat_entry(3)});
  failing.add(WriteBatch::ClearChat{"r"});
  failing.add(WriteBatch::RaiseFence{99});
  failing.add(WriteBatch::PutSession{StoredSession{"s-2", "ben"}});
  failing.add(WriteBatch::RememberRequest{"s-1", "req-2", "{}"});
  failing.add(WriteBatch::PutEdge{"r", Edge{"e2", "b", "missing"}});  // endpoint not stored
  auto result = store->commit(failing);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "internal");
  EXPECT_NE(result.error().message.find(place_->shown()), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find(place_->foreign_key_words()), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find("write 11 of 11, PutEdge"), std::string::npos) << result.error().message;

  // Exactly what the first batch stored, nothing more.
  const RoomRecord actual = load(*store, "r");
  EXPECT_EQ(actual.seq, before.seq);
  EXPECT_EQ(actual.history, before.history);
  EXPECT_EQ(actual.nodes, before.nodes);
  EXPECT_EQ(actual.edges, before.edges);
  EXPECT_EQ(actual.chat, before.chat);
  EXPECT_FALSE(load(*store, "r2").exists);
  EXPECT_EQ(store->fence_high_water().value(), 7);
  EXPECT_FALSE(store->find_session("s-2").value().has_value());
  EXPECT_EQ(applied(*store, "s-1"), std::vector<std::string>{"req-1"});

  // The next batch commits normally.
  WriteBatch next;
  next.add(WriteBatch::AppendEvent{"r", 3, "{}"});
  commit_or_fail(*store, next);
  EXPECT_EQ(load(*store, "r").seq, 3);
}

TEST_P(StoreConformance, writes_breaking_an_integrity_rule_fail_with_a_clear_error) {
  struct Case {
    std::string name;
    WriteBatch::Write write;
    std::string expected_in_message;
  };
  const std::string missing = place_->foreign_key_words();
  const std::string duplicate = place_->unique_words();
  const std::vector<Case> cases = {
      {"event for a room never created", WriteBatch::AppendEvent{"nowhere", 1, "{}"}, missing},
      {"node for a room never created", WriteBatch::PutNode{"nowhere", node("a")}, missing},
      {"chat for a room never created", WriteBatch::AddChat{"nowhere", chat_entry(1)}, missing},
      {"change for a room never created", WriteBatch::AddChange{"nowhere", StoredChange{1, "u", 1, "{}"}}, missing},
      {"room created twice", WriteBatch::NewRoom{"r", "again"}, duplicate},
      {"event seq reused", WriteBatch::AppendEvent{"r", 1, "{}"}, duplicate},
      {"chat seq reused", WriteBatch::AddChat{"r", chat_entry(2)}, duplicate},
      {"change seq reused", WriteBatch::AddChange{"r", StoredChange{1, "u", 1, "{}"}}, duplicate},
      {"edge from a missing node", WriteBatch::PutEdge{"r", Edge{"e9", "missing", "a"}}, missing},
      {"request of an unknown session", WriteBatch::RememberRequest{"s-unknown", "1", "{}"}, missing},
  };
  auto store = open();
  ASSERT_TRUE(store);
  commit_or_fail(*store, sample_batch());
  for (const Case& c : cases) {
    WriteBatch batch;
    batch.add(WriteBatch::RaiseFence{1000});  // must vanish with the failing write
    std::visit([&](const auto& write) { batch.add(write); }, c.write);
    auto result = store->commit(batch);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_EQ(result.error().code, "internal") << c.name;
    EXPECT_NE(result.error().message.find(c.expected_in_message), std::string::npos)
        << c.name << ": " << result.error().message;
    EXPECT_EQ(store->fence_high_water().value(), 7) << c.name;
  }
}

TEST_P(StoreConformance, deleting_what_is_not_stored_is_not_an_error) {
  auto store = open();
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::DeleteNode{"nowhere", "a"});
  batch.add(WriteBatch::DeleteEdge{"nowhere", "e"});
  batch.add(WriteBatch::ClearChat{"nowhere"});
  commit_or_fail(*store, batch);
  commit_or_fail(*store, WriteBatch{});  // and an empty batch is a no-op
}

TEST_P(StoreConformance, held_locks_are_stored_replaced_and_dropped) {
  auto store = open();
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.add(WriteBatch::NewRoom{"r", "e1"});
  batch.add(WriteBatch::PutLock{"r", {"n1", {"ana", "Ana", "#112233"}, 7, 1700000030000}});
  batch.add(WriteBatch::PutLock{"r", {"n2", {"ben", "Ben", "#445566"}, 8, 1700000031000}});
  batch.add(WriteBatch::PutLock{"r", {"n1", {"cleo", "Cleo", "#778899"}, 9, 1700000032000}});  // moved
  batch.add(WriteBatch::DropLock{"r", "n2"});
  batch.add(WriteBatch::DropLock{"r", "n9"});  // not held: not an error
  commit_or_fail(*store, batch);
  const RoomRecord room = load(*store, "r");
  ASSERT_EQ(room.locks.size(), 1u);
  EXPECT_EQ(room.locks[0], (protocol::LockInfo{"n1", {"cleo", "Cleo", "#778899"}, 9, 1700000032000}));
}

TEST_P(StoreConformance, sessions_unused_for_session_days_are_forgotten_at_open_with_their_requests) {
  Retention retention;
  retention.session_days = 7;
  {
    auto store = open(retention);
    ASSERT_TRUE(store);
    WriteBatch day0;
    day0.add(WriteBatch::PutSession{StoredSession{"old", "ana"}});
    day0.add(WriteBatch::PutSession{StoredSession{"busy", "ben"}});
    day0.add(WriteBatch::RememberRequest{"old", "1", "ack-old"});
    commit_or_fail(*store, day0);
    now_ += 5 * kDay;
    WriteBatch day5;  // remembering a request counts as using the session
    day5.add(WriteBatch::RememberRequest{"busy", "1", "ack-busy"});
    commit_or_fail(*store, day5);
    now_ += 1 * kDay;
    WriteBatch day6;
    day6.add(WriteBatch::PutSession{StoredSession{"recent", "cid"}});
    commit_or_fail(*store, day6);
  }
  now_ += 1 * kDay + 1;  // day 7 + 1 ms: "old" was last used 7 days and 1 ms ago
  auto store = open(retention);
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->find_session("old").value().has_value());
  EXPECT_TRUE(store->find_session("busy").value().has_value());
  EXPECT_EQ(applied(*store, "busy"), std::vector<std::string>{"1"});
  EXPECT_TRUE(store->find_session("recent").value().has_value());
}

TEST_P(StoreConformance, a_running_store_forgets_unused_sessions_in_a_commit_about_hourly) {
  Retention retention;
  retention.session_days = 7;
  auto store = open(retention);
  ASSERT_TRUE(store);
  WriteBatch day0;
  day0.add(WriteBatch::PutSession{StoredSession{"old", "ana"}});
  day0.add(WriteBatch::RememberRequest{"old", "1", "ack-old"});
  commit_or_fail(*store, day0);
  now_ += 7 * kDay + 1;  // never reopened: the server kept running
  WriteBatch later;
  later.add(WriteBatch::PutSession{StoredSession{"new", "ben"}});
  commit_or_fail(*store, later);
  EXPECT_FALSE(store->find_session("old").value().has_value());
  EXPECT_TRUE(store->find_session("new").value().has_value());
}

TEST_P(StoreConformance, an_export_committed_into_an_empty_store_of_the_other_engine_reproduces_it) {
  auto store = open();
  ASSERT_TRUE(store);
  WriteBatch batch = sample_batch();
  batch.add(WriteBatch::NewRoom{"chat:b", "epoch-b"});
  for (std::int64_t seq = 1; seq <= 30; ++seq) {
    batch.add(WriteBatch::AppendEvent{"chat:b", seq, "{\"seq\":" + std::to_string(seq) + "}"});
    batch.add(WriteBatch::AddChat{"chat:b", chat_entry(seq)});
  }
  batch.add(WriteBatch::PutNode{"r", Node{"c", "t", "third", 0.1, -0.2, NodeStatus::Succeeded, "{}"}});
  batch.add(WriteBatch::PutLock{"r", {"a", {"ana", "Ana", "#112233"}, 7, 1700000030000}});
  batch.add(WriteBatch::RememberRequest{"s-1", "req-2", "ack-2"});
  commit_or_fail(*store, batch);

  std::unique_ptr<StorePlace> other = other_engine();
  auto opened = other->open({}, [this] { return now_; });
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Store& copy = *opened.value();
  int batches = 0;
  auto exported = store->export_batches(7, [&](const WriteBatch& part) -> Result<Done> {
    EXPECT_LE(part.writes().size(), 7u);
    ++batches;
    return copy.commit(part);
  });
  ASSERT_TRUE(exported.ok()) << exported.error().message;
  EXPECT_GT(batches, 10);

  for (const char* room : {"r", "chat:b"}) {
    const RoomRecord got = load(copy, room);
    EXPECT_TRUE(got.exists) << room;
    expect_same_room(got, load(*store, room), room);
    EXPECT_EQ(copy.changes(room, 0, 100).value(), store->changes(room, 0, 100).value()) << room;
  }
  EXPECT_EQ(copy.fence_high_water().value(), 7);
  ASSERT_TRUE(copy.find_session("s-1").value().has_value());
  EXPECT_EQ(copy.find_session("s-1").value()->user, "ana");
  EXPECT_EQ(applied(copy, "s-1"), (std::vector<std::string>{"req-1", "req-2"}));
  // The remembered answers too (no read returns them: only an export shows them).
  auto remembered = [](Store& of) {
    std::vector<std::string> requests;
    auto listed = of.export_batches(100, [&](const WriteBatch& part) -> Result<Done> {
      for (const WriteBatch::Write& write : part.writes())
        if (const auto* r = std::get_if<WriteBatch::RememberRequest>(&write))
          requests.push_back(r->session + " " + r->request_id + " " + r->answer_json);
      return Done{};
    });
    EXPECT_TRUE(listed.ok()) << (listed.ok() ? "" : listed.error().message);
    return requests;
  };
  EXPECT_EQ(remembered(copy), (std::vector<std::string>{R"(s-1 req-1 {"type":"ack","id":"req-1"})", "s-1 req-2 ack-2"}));

  // A sink's error stops the export and comes back.
  auto stopped = store->export_batches(5, [](const WriteBatch&) -> Result<Done> { return Error{"stop", "enough"}; });
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, "stop");
}

// Every byte value, NULs and invalid UTF-8 included, as a Yjs update may hold.
std::string all_bytes(std::size_t length, unsigned char first) {
  std::string bytes(length, '\0');
  for (std::size_t i = 0; i < length; ++i) bytes[i] = static_cast<char>(static_cast<unsigned char>(first + i));
  return bytes;
}

TEST_P(StoreConformance, a_yjs_log_keeps_its_bytes_in_order_and_a_compaction_drops_a_prefix) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->load_ydoc("notes").value().updates.empty());
  WriteBatch batch;
  for (std::int64_t seq = 1; seq <= 5; ++seq)
    batch.add(WriteBatch::AppendYUpdate{"notes", seq, all_bytes(300, static_cast<unsigned char>(seq))});
  batch.add(WriteBatch::AppendYUpdate{"other/doc", 1, std::string("\0\0", 2)});
  commit_or_fail(*store, batch);
  auto loaded = store->load_ydoc("notes").value().updates;
  ASSERT_EQ(loaded.size(), 5u);
  for (std::int64_t seq = 1; seq <= 5; ++seq) {
    EXPECT_EQ(loaded[static_cast<std::size_t>(seq - 1)].seq, seq);
    EXPECT_EQ(loaded[static_cast<std::size_t>(seq - 1)].data, all_bytes(300, static_cast<unsigned char>(seq)));
  }
  // A compaction: the whole state appended, the entries it covers dropped, in one commit.
  WriteBatch compaction;
  compaction.add(WriteBatch::AppendYUpdate{"notes", 6, "whole state"});
  compaction.add(WriteBatch::DropYUpdates{"notes", 4});
  commit_or_fail(*store, compaction);
  EXPECT_EQ(store->load_ydoc("notes").value().updates,
            (std::vector<StoredYUpdate>{{5, all_bytes(300, 5)}, {6, "whole state"}}));
  EXPECT_EQ(store->load_ydoc("other/doc").value().updates, (std::vector<StoredYUpdate>{{1, std::string("\0\0", 2)}}));
  // Through read(), with the other reads.
  ReadRequest request;
  request.ydocs = {"other/doc", "never"};
  auto answers = store->read(request);
  ASSERT_EQ(answers.ydocs.size(), 2u);
  EXPECT_EQ(answers.ydocs[0].value().updates.size(), 1u);
  EXPECT_TRUE(answers.ydocs[1].value().updates.empty());
  // A seq stored twice is an integrity error: the batch fails whole.
  WriteBatch twice;
  twice.add(WriteBatch::AppendYUpdate{"other/doc", 2, "new"});
  twice.add(WriteBatch::AppendYUpdate{"other/doc", 1, "again"});
  EXPECT_FALSE(store->commit(twice).ok());
  EXPECT_EQ(store->load_ydoc("other/doc").value().updates.size(), 1u);

  // An export carries the logs to the other engine byte for byte.
  std::unique_ptr<StorePlace> other = other_engine();
  auto opened = other->open({}, [this] { return now_; });
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto exported = store->export_batches(2, [&](const WriteBatch& part) { return opened.value()->commit(part); });
  ASSERT_TRUE(exported.ok()) << exported.error().message;
  EXPECT_EQ(opened.value()->load_ydoc("notes").value().updates, store->load_ydoc("notes").value().updates);
  EXPECT_EQ(opened.value()->load_ydoc("other/doc").value().updates, store->load_ydoc("other/doc").value().updates);
}

TEST_P(StoreConformance, an_empty_store_exports_nothing) {
  auto store = open();
  ASSERT_TRUE(store);
  int batches = 0;
  auto exported = store->export_batches(100, [&](const WriteBatch&) -> Result<Done> {
    ++batches;
    return Done{};
  });
  ASSERT_TRUE(exported.ok()) << exported.error().message;
  EXPECT_EQ(batches, 0);
}

TEST_P(StoreConformance, a_store_whose_room_another_store_loaded_since_may_no_longer_write_it) {
  auto first = open();  // a server process
  ASSERT_TRUE(first);
  commit_or_fail(*first, sample_batch());  // creates room r: first holds it
  WriteBatch other_room;
  other_room.add(WriteBatch::NewRoom{"s", "epoch-s"});
  commit_or_fail(*first, other_room);

  auto second = open();  // another process loads r: it holds r now
  ASSERT_TRUE(second);
  EXPECT_EQ(load(*second, "r").seq, 2);

  WriteBatch late;  // the first, paused meanwhile, goes on writing r
  late.add(WriteBatch::AppendEvent{"s", 1, "{}"});
  late.add(WriteBatch::AppendEvent{"r", 3, R"({"late":true})"});
  late.add(WriteBatch::AddChat{"r", chat_entry(3)});
  const std::string refused = commit_refused_as_claimed(*first, late);
  EXPECT_NE(refused.find("another server process has loaded the room"), std::string::npos) << refused;
  // Nothing of that batch, not even its write for the room it still holds.
  EXPECT_EQ(load(*second, "r").seq, 2);
  EXPECT_EQ(chat_seqs(load(*second, "r")), std::vector<std::int64_t>{2});

  // The room's new writer goes on from the stored seq; the first may still write its own room.
  WriteBatch next;
  next.add(WriteBatch::AppendEvent{"r", 3, R"({"by":"second"})"});
  commit_or_fail(*second, next);
  WriteBatch own;
  own.add(WriteBatch::AppendEvent{"s", 1, "{}"});
  commit_or_fail(*first, own);
  const RoomRecord r = load(*second, "r");
  EXPECT_EQ(r.history.back(), (StoredEvent{3, R"({"by":"second"})"}));

  // Loading it again takes the room back: now the second is fenced out.
  load(*first, "r");
  WriteBatch back;
  back.add(WriteBatch::AppendEvent{"r", 4, "{}"});
  EXPECT_FALSE(second->commit(back).ok());
  commit_or_fail(*first, back);
}

TEST_P(StoreConformance, read_answers_each_request_as_its_single_call_does_in_request_order) {
  Retention retention;
  retention.requests_per_session = 3;
  auto store = open(retention);
  ASSERT_TRUE(store);
  WriteBatch batch = sample_batch();
  batch.add(WriteBatch::NewRoom{"chat:b", "epoch-b"});
  batch.add(WriteBatch::AppendEvent{"chat:b", 1, "{}"});
  batch.add(WriteBatch::AddChat{"chat:b", chat_entry(1)});
  batch.add(WriteBatch::PutLock{"chat:b", {"n1", {"ana", "Ana", "#112233"}, 7, 1700000030000}});
  for (std::int64_t seq = 2; seq <= 4; ++seq) batch.add(WriteBatch::AddChange{"r", StoredChange{seq, "ben", seq, "{}"}});
  for (const char* id : {"q", "b", "x", "c"}) batch.add(WriteBatch::RememberRequest{"s-1", id, "{}"});
  batch.add(WriteBatch::PutSession{StoredSession{"s-2", "ben"}});  // applied nothing yet
  commit_or_fail(*store, batch);

  ReadRequest request;
  request.rooms = {"r", "workflow:never", "chat:b", "r"};  // named twice: answered twice
  request.sessions = {"s-1", "unknown", "s-2"};
  request.change_pages = {{"r", 0, 2}, {"workflow:never", 0, 10}, {"r", 3, 10}};
  const ReadAnswers answers = store->read(request);
  ASSERT_EQ(answers.rooms.size(), request.rooms.size());
  ASSERT_EQ(answers.sessions.size(), request.sessions.size());
  ASSERT_EQ(answers.change_pages.size(), request.change_pages.size());

  for (std::size_t i = 0; i < request.rooms.size(); ++i) {
    ASSERT_TRUE(answers.rooms[i].ok()) << answers.rooms[i].error().message;
    expect_same_room(answers.rooms[i].value(), load(*store, request.rooms[i]), request.rooms[i]);
  }
  EXPECT_EQ(node_ids(answers.rooms[0].value()), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(answers.rooms[1].value().exists);
  EXPECT_EQ(answers.rooms[2].value().locks.size(), 1u);
  EXPECT_EQ(answers.rooms[3].value().seq, 2);

  for (std::size_t i = 0; i < request.sessions.size(); ++i) {
    ASSERT_TRUE(answers.sessions[i].ok()) << answers.sessions[i].error().message;
    const std::optional<SessionRecord>& got = answers.sessions[i].value();
    const std::optional<SessionRecord> want = store->find_session(request.sessions[i]).value();
    ASSERT_EQ(got.has_value(), want.has_value()) << request.sessions[i];
    if (!got) continue;
    EXPECT_EQ(got->id, want->id);
    EXPECT_EQ(got->user, want->user);
    EXPECT_EQ(got->applied, want->applied);
  }
  EXPECT_EQ(answers.sessions[0].value()->applied, (std::vector<std::string>{"b", "x", "c"}));
  EXPECT_FALSE(answers.sessions[1].value().has_value());
  EXPECT_EQ(answers.sessions[2].value()->user, "ben");
  EXPECT_EQ(answers.sessions[2].value()->applied, std::vector<std::string>{});

  for (std::size_t i = 0; i < request.change_pages.size(); ++i) {
    const ReadRequest::ChangesPage& page = request.change_pages[i];
    ASSERT_TRUE(answers.change_pages[i].ok()) << answers.change_pages[i].error().message;
    EXPECT_EQ(answers.change_pages[i].value(), store->changes(page.room, page.before_seq, page.limit).value()) << i;
  }
  EXPECT_EQ(answers.change_pages[0].value().size(), 2u);
  EXPECT_EQ(answers.change_pages[0].value().front().seq, 4);
  EXPECT_TRUE(answers.change_pages[1].value().empty());
  EXPECT_EQ(answers.change_pages[2].value().size(), 2u);
  EXPECT_EQ(answers.change_pages[2].value().front().seq, 2);
}

TEST_P(StoreConformance, a_room_read_through_read_is_claimed_as_by_load_room) {
  auto first = open();  // a server process
  ASSERT_TRUE(first);
  commit_or_fail(*first, sample_batch());  // creates room r: first holds it

  auto second = open();  // another process reads r among other things: it holds r now
  ASSERT_TRUE(second);
  ReadRequest request;
  request.rooms = {"workflow:never", "r"};
  request.sessions = {"s-1"};
  const ReadAnswers answers = second->read(request);
  ASSERT_EQ(answers.rooms.size(), 2u);
  ASSERT_TRUE(answers.rooms[1].ok()) << answers.rooms[1].error().message;
  EXPECT_EQ(answers.rooms[1].value().seq, 2);

  WriteBatch late;  // the first goes on writing r
  late.add(WriteBatch::AppendEvent{"r", 3, "{}"});
  commit_refused_as_claimed(*first, late);
  commit_or_fail(*second, late);  // the room's writer now
  EXPECT_EQ(load(*second, "r").seq, 3);
}

TEST_P(StoreConformance, a_store_whose_yjs_document_another_store_loaded_since_may_no_longer_write_it) {
  auto first = open();  // a server process
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->load_ydoc("d").value().updates.empty());  // claimed though never stored
  WriteBatch own;
  own.add(WriteBatch::AppendYUpdate{"d", 1, "by first"});
  commit_or_fail(*first, own);

  auto second = open();  // another process loads d: it holds d now, and the log is still there
  ASSERT_TRUE(second);
  EXPECT_EQ(second->load_ydoc("d").value().updates, (std::vector<StoredYUpdate>{{1, "by first"}}));

  // The first, paused meanwhile, goes on writing d: refused whole, its other writes too.
  WriteBatch late;
  late.add(WriteBatch::PutSession{StoredSession{"s-late", "ana"}});
  late.add(WriteBatch::AppendYUpdate{"d", 2, "late"});
  const std::string refused = commit_refused_as_claimed(*first, late);
  EXPECT_NE(refused.find("another server process has loaded the room or document"), std::string::npos) << refused;
  WriteBatch late_compaction;
  late_compaction.add(WriteBatch::DropYUpdates{"d", 1});
  commit_refused_as_claimed(*first, late_compaction);
  EXPECT_FALSE(second->find_session("s-late").value().has_value());
  EXPECT_EQ(second->load_ydoc("d").value().updates, (std::vector<StoredYUpdate>{{1, "by first"}}));

  // The document's new writer goes on; a room named like the document is another claim.
  WriteBatch next;
  next.add(WriteBatch::NewRoom{"doc:d", "epoch-room"});
  next.add(WriteBatch::AppendYUpdate{"d", 2, "by second"});
  commit_or_fail(*second, next);
  WriteBatch compaction;
  compaction.add(WriteBatch::AppendEvent{"doc:d", 1, "{}"});
  compaction.add(WriteBatch::AppendYUpdate{"d", 3, "whole state"});
  compaction.add(WriteBatch::DropYUpdates{"d", 2});
  commit_or_fail(*second, compaction);
  EXPECT_EQ(second->load_ydoc("d").value().updates, (std::vector<StoredYUpdate>{{3, "whole state"}}));
  EXPECT_EQ(load(*second, "doc:d").seq, 1);

  // Loading it again takes the document back: now the second is fenced out.
  EXPECT_EQ(first->load_ydoc("d").value().updates.size(), 1u);
  WriteBatch back;
  back.add(WriteBatch::AppendYUpdate{"d", 4, "back"});
  EXPECT_FALSE(second->commit(back).ok());
  commit_or_fail(*first, back);
  EXPECT_EQ(first->load_ydoc("d").value().updates, (std::vector<StoredYUpdate>{{3, "whole state"}, {4, "back"}}));
}

TEST_P(StoreConformance, a_yjs_document_read_through_read_is_claimed_as_by_load_ydoc) {
  auto first = open();  // a server process
  ASSERT_TRUE(first);
  commit_or_fail(*first, sample_batch());
  ASSERT_TRUE(first->load_ydoc("d").ok());
  WriteBatch own;
  own.add(WriteBatch::AppendYUpdate{"d", 1, "one"});
  commit_or_fail(*first, own);

  auto second = open();  // another process reads d among other things, d twice: it holds d now
  ASSERT_TRUE(second);
  ReadRequest request;
  request.rooms = {"r"};
  request.sessions = {"s-1"};
  request.ydocs = {"d", "never", "d"};
  const ReadAnswers answers = second->read(request);
  ASSERT_EQ(answers.ydocs.size(), 3u);
  for (const auto& answer : answers.ydocs) ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answers.ydocs[0].value().updates, (std::vector<StoredYUpdate>{{1, "one"}}));
  EXPECT_TRUE(answers.ydocs[1].value().updates.empty());
  EXPECT_EQ(answers.ydocs[2].value().updates, answers.ydocs[0].value().updates);

  WriteBatch late;  // the first goes on writing d
  late.add(WriteBatch::AppendYUpdate{"d", 2, "two"});
  commit_refused_as_claimed(*first, late);
  commit_or_fail(*second, late);  // the document's writer now
  EXPECT_EQ(second->load_ydoc("d").value().updates, (std::vector<StoredYUpdate>{{1, "one"}, {2, "two"}}));
}

TEST_P(StoreConformance, an_empty_read_answers_nothing) {
  auto store = open();
  ASSERT_TRUE(store);
  const ReadAnswers answers = store->read(ReadRequest{});
  EXPECT_TRUE(answers.rooms.empty());
  EXPECT_TRUE(answers.sessions.empty());
  EXPECT_TRUE(answers.change_pages.empty());
}

std::string engine_name(const ::testing::TestParamInfo<Engine>& engine) {
  return engine.param == Engine::Sqlite ? "sqlite" : "postgres";
}

INSTANTIATE_TEST_SUITE_P(engines, StoreConformance, ::testing::Values(Engine::Sqlite, Engine::Postgres), engine_name);

}  // namespace
}  // namespace tandem::server::store
