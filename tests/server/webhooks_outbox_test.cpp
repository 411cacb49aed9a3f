// webhooks_outbox_test.cpp — the webhook outbox (webhooks/outbox.h) without a network: its
// jobs are the POSTs it would make, answered by hand. Batching and seq order per room, one
// POST in flight per (endpoint, room), the cursor written only after a 2xx, exponential
// backoff, a dead letter after max_attempts on a 4xx (and none for 5xx or no answer), event
// kinds an endpoint does not want, the backlog bound, what a room load brings back, the
// signature; and the `webhooks` setting's parser.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cJSON.h>

#include <string>
#include <variant>
#include <vector>

#include "webhooks/outbox.h"
#include "webhooks/webhook_config.h"

namespace tandem::server::webhooks {
namespace {

using store::WriteBatch;

constexpr UnixMillis kWallNow = 1'700'000'000'000;

WebhookEndpoint endpoint(std::string name, std::vector<std::string> rooms, std::uint32_t kinds = 0xff) {
  WebhookEndpoint e;
  e.name = std::move(name);
  e.url = "http://127.0.0.1:9/hooks";
  e.secret = "secret-0123456789abcdef";
  e.rooms = std::move(rooms);
  e.kinds = kinds;
  return e;
}

std::string chat_event(std::int64_t seq) {
  return R"({"type":"chat","room":"chat:a","seq":)" + std::to_string(seq) + R"(,"ts":1,"text":"hi"})";
}
std::string lock_event(std::int64_t seq) {
  return R"({"type":"locked","room":"chat:a","seq":)" + std::to_string(seq) + R"(,"ts":1})";
}

// The seqs of a job's events (from its body).
std::vector<std::int64_t> seqs_of(const DeliveryJob& job) {
  std::vector<std::int64_t> seqs;
  cJSON* root = cJSON_Parse(job.request.body.c_str());
  const cJSON* event = nullptr;
  cJSON_ArrayForEach(event, cJSON_GetObjectItemCaseSensitive(root, "events")) {
    seqs.push_back(static_cast<std::int64_t>(cJSON_GetObjectItemCaseSensitive(event, "seq")->valuedouble));
  }
  cJSON_Delete(root);
  return seqs;
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> seqs;
  for (std::int64_t s = first; s <= last; ++s) seqs.push_back(s);
  return seqs;
}

template <class W>
std::vector<W> writes_of(const WriteBatch& batch) {
  std::vector<W> out;
  for (const auto& write : batch.writes())
    if (const auto* w = std::get_if<W>(&write)) out.push_back(*w);
  return out;
}

class webhooks_outbox_test : public ::testing::Test {
 protected:
  Outbox make(std::vector<WebhookEndpoint> endpoints, OutboxSettings settings = small()) {
    return Outbox(std::move(endpoints), settings, [this] { return jitter; }, [] { return kWallNow; });
  }
  static OutboxSettings small() {
    OutboxSettings s;
    s.batch_max = 3;
    s.max_attempts = 3;
    s.retry_initial = Millis(100);
    s.retry_max = Millis(1000);
    s.max_backlog = 100;
    return s;
  }
  std::vector<DeliveryJob> pump(Outbox& outbox, Millis now) {
    batch.clear();
    return outbox.pump(now, batch);
  }
  static DeliveryOutcome answer(const DeliveryJob& job, int status, std::string error = "") {
    return DeliveryOutcome{job.id, HttpResponse{status, std::move(error)}, Millis(5)};
  }

  double jitter = 1.0;  // the full delay: deterministic
  WriteBatch batch;
};

TEST_F(webhooks_outbox_test, events_go_in_seq_order_in_batches_one_post_in_flight_and_the_cursor_after_a_2xx) {
  Outbox outbox = make({endpoint("app", {"chat:*"})});
  outbox.loaded("chat:a", 0, {}, {});
  for (std::int64_t seq = 1; seq <= 7; ++seq) outbox.stored("chat:a", seq, chat_event(seq));
  EXPECT_EQ(outbox.backlog(), 7u);

  auto jobs = pump(outbox, Millis(0));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(seqs_of(jobs[0]), range(1, 3));
  EXPECT_TRUE(writes_of<WriteBatch::AdvanceWebhookCursor>(batch).empty());
  EXPECT_TRUE(pump(outbox, Millis(10)).empty());  // one in flight per (endpoint, room)

  outbox.answered(answer(jobs[0], 204), Millis(20));
  jobs = pump(outbox, Millis(20));
  auto cursors = writes_of<WriteBatch::AdvanceWebhookCursor>(batch);
  ASSERT_EQ(cursors.size(), 1u);
  EXPECT_EQ(cursors[0].endpoint, "app");
  EXPECT_EQ(cursors[0].hooked_room, "chat:a");
  EXPECT_EQ(cursors[0].seq, 3);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(seqs_of(jobs[0]), range(4, 6));
  outbox.answered(answer(jobs[0], 200), Millis(30));
  jobs = pump(outbox, Millis(30));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(seqs_of(jobs[0]), std::vector<std::int64_t>{7});
  outbox.answered(answer(jobs[0], 200), Millis(40));
  EXPECT_TRUE(pump(outbox, Millis(40)).empty());
  EXPECT_EQ(writes_of<WriteBatch::AdvanceWebhookCursor>(batch).back().seq, 7);
  EXPECT_EQ(outbox.backlog(), 0u);
  EXPECT_EQ(outbox.counters().posts_ok, 3u);
  EXPECT_EQ(outbox.counters().events_delivered, 7u);
}

TEST_F(webhooks_outbox_test, a_request_names_its_batch_and_is_signed_over_timestamp_and_body) {
  Outbox outbox = make({endpoint("app", {"chat:a"})});
  outbox.stored("chat:a", 1, chat_event(1));
  outbox.stored("chat:a", 2, chat_event(2));
  auto jobs = pump(outbox, Millis(0));
  ASSERT_EQ(jobs.size(), 1u);
  const HttpRequest& request = jobs[0].request;
  EXPECT_EQ(request.url, "http://127.0.0.1:9/hooks");
  EXPECT_EQ(request.body, R"({"endpoint":"app","room":"chat:a","first_seq":1,"last_seq":2,"events":[)" + chat_event(1) +
                              "," + chat_event(2) + "]}");
  const std::string timestamp = std::to_string(kWallNow / 1000);
  // The signature, computed independently.
  const std::string secret = "secret-0123456789abcdef", text = timestamp + "." + request.body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), mac, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 15];
  }
  EXPECT_EQ(request.headers, (std::vector<std::string>{"Tandem-Webhook-Id: app:chat:a:1-2",
                                                       "Tandem-Timestamp: " + timestamp,
                                                       "Tandem-Signature: v1=" + hex, "Tandem-Attempt: 1"}));
}

TEST_F(webhooks_outbox_test, failures_back_off_exponentially_up_to_the_cap_and_the_same_batch_is_sent_again) {
  Outbox outbox = make({endpoint("app", {"chat:a"})});
  for (std::int64_t seq = 1; seq <= 2; ++seq) outbox.stored("chat:a", seq, chat_event(seq));
  Millis now(0);
  Millis expected_delay(100);
  for (int attempt = 1; attempt <= 6; ++attempt) {
    auto jobs = pump(outbox, now);
    ASSERT_EQ(jobs.size(), 1u) << attempt;
    EXPECT_EQ(seqs_of(jobs[0]), range(1, 2));
    outbox.answered(answer(jobs[0], attempt % 2 == 0 ? 503 : 0, "connection refused"), now);
    EXPECT_TRUE(pump(outbox, now + expected_delay - Millis(1)).empty()) << attempt;
    now += expected_delay;
    expected_delay = std::min(expected_delay * 2, Millis(1000));
  }
  // No answer and 5xx never make a dead letter.
  EXPECT_TRUE(outbox.dead_letters().empty());
  EXPECT_EQ(outbox.counters().posts_failed, 6u);
  const auto queues = outbox.queues(now);
  ASSERT_EQ(queues.size(), 1u);
  EXPECT_EQ(queues[0].attempts, 6);
  EXPECT_EQ(queues[0].last_error, "connection refused");
  // Jitter takes a random half to all of the delay.
  jitter = 0.0;
  auto jobs = pump(outbox, now);
  ASSERT_EQ(jobs.size(), 1u);
  outbox.answered(answer(jobs[0], 500), now);
  EXPECT_EQ(pump(outbox, now + Millis(500)).size(), 1u);
}

TEST_F(webhooks_outbox_test, a_4xx_batch_becomes_a_dead_letter_after_max_attempts_and_delivery_goes_on) {
  Outbox outbox = make({endpoint("app", {"chat:a"})});
  for (std::int64_t seq = 1; seq <= 4; ++seq) outbox.stored("chat:a", seq, chat_event(seq));
  Millis now(0);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto jobs = pump(outbox, now);
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(seqs_of(jobs[0]), range(1, 3));
    outbox.answered(answer(jobs[0], 400), now);
    now += Millis(1000);
  }
  auto jobs = pump(outbox, now);
  const auto letters = writes_of<WriteBatch::AddWebhookDeadLetter>(batch);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].letter, (store::WebhookDeadLetter{"app", "chat:a", 1, 3, 400, "HTTP 400", kWallNow}));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(seqs_of(jobs[0]), std::vector<std::int64_t>{4});  // the next batch, at once
  // Given up counts as done for the cursor: 3 is written.
  EXPECT_EQ(writes_of<WriteBatch::AdvanceWebhookCursor>(batch).back().seq, 3);
  EXPECT_EQ(outbox.dead_letters().size(), 1u);
  EXPECT_EQ(outbox.counters().dead_letters, 1u);
}

TEST_F(webhooks_outbox_test, events_of_kinds_an_endpoint_does_not_want_move_its_cursor_without_a_post) {
  const std::uint32_t chat_only = 1u << static_cast<unsigned>(EventKind::Chat);
  Outbox outbox = make({endpoint("app", {"chat:a"}, chat_only)});
  outbox.stored("chat:a", 1, lock_event(1));
  outbox.stored("chat:a", 2, chat_event(2));
  outbox.stored("chat:a", 3, lock_event(3));
  auto jobs = pump(outbox, Millis(0));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(seqs_of(jobs[0]), std::vector<std::int64_t>{2});
  EXPECT_EQ(writes_of<WriteBatch::AdvanceWebhookCursor>(batch).back().seq, 1);
  outbox.answered(answer(jobs[0], 200), Millis(1));
  EXPECT_TRUE(pump(outbox, Millis(1)).empty());
  EXPECT_EQ(writes_of<WriteBatch::AdvanceWebhookCursor>(batch).back().seq, 3);
}

TEST_F(webhooks_outbox_test, rooms_no_endpoint_follows_are_ignored_and_each_endpoint_has_its_own_queue) {
  Outbox outbox = make({endpoint("one", {"chat:*"}), endpoint("two", {"chat:a"})});
  EXPECT_TRUE(outbox.follows("chat:b"));
  EXPECT_FALSE(outbox.follows("workflow:1"));
  outbox.stored("workflow:1", 1, chat_event(1));
  outbox.stored("chat:a", 1, chat_event(1));
  outbox.stored("chat:b", 1, chat_event(1));
  auto jobs = pump(outbox, Millis(0));
  EXPECT_EQ(jobs.size(), 3u);  // one:chat:a, one:chat:b, two:chat:a
  EXPECT_EQ(outbox.backlog(), 3u);
}

TEST_F(webhooks_outbox_test, past_the_backlog_bound_the_oldest_waiting_events_become_one_dead_letter) {
  OutboxSettings settings = small();
  settings.max_backlog = 5;
  Outbox outbox = make({endpoint("app", {"chat:a"})}, settings);
  for (std::int64_t seq = 1; seq <= 9; ++seq) outbox.stored("chat:a", seq, chat_event(seq));
  EXPECT_EQ(outbox.backlog(), 5u);
  auto jobs = pump(outbox, Millis(0));
  const auto letters = writes_of<WriteBatch::AddWebhookDeadLetter>(batch);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].letter.first_seq, 1);
  EXPECT_EQ(letters[0].letter.last_seq, 4);
  EXPECT_EQ(letters[0].letter.error, "backlog_exceeded");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(seqs_of(jobs[0]), range(5, 7));
  EXPECT_EQ(outbox.counters().events_given_up, 4u);
}

TEST_F(webhooks_outbox_test, a_loaded_room_brings_back_what_was_stored_and_not_acknowledged) {
  Outbox outbox = make({endpoint("app", {"chat:a"})});
  // Cursor 4; events 7..8 stored (5..6 were trimmed before anyone delivered them).
  outbox.loaded("chat:a", 8, {{"app", 4}, {"gone", 1}}, {{3, chat_event(3)}, {7, chat_event(7)}, {8, chat_event(8)}});
  auto jobs = pump(outbox, Millis(0));
  const auto letters = writes_of<WriteBatch::AddWebhookDeadLetter>(batch);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].letter.first_seq, 5);
  EXPECT_EQ(letters[0].letter.last_seq, 6);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(seqs_of(jobs[0]), range(7, 8));
  // Loaded again (forgotten and reloaded): nothing twice.
  outbox.loaded("chat:a", 8, {{"app", 4}}, {{7, chat_event(7)}, {8, chat_event(8)}});
  outbox.stored("chat:a", 9, chat_event(9));
  outbox.answered(answer(jobs[0], 200), Millis(1));
  jobs = pump(outbox, Millis(1));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(seqs_of(jobs[0]), std::vector<std::int64_t>{9});
}

TEST_F(webhooks_outbox_test, an_endpoint_without_a_stored_cursor_starts_after_the_rooms_last_event) {
  Outbox outbox = make({endpoint("app", {"chat:a"})});
  outbox.loaded("chat:a", 12, {}, {});
  EXPECT_TRUE(pump(outbox, Millis(0)).empty());
  outbox.stored("chat:a", 13, chat_event(13));
  auto jobs = pump(outbox, Millis(0));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(seqs_of(jobs[0]), std::vector<std::int64_t>{13});
}

TEST_F(webhooks_outbox_test, a_room_loaded_while_its_queue_is_still_here_gets_the_events_stored_past_it) {
  Outbox outbox = make({endpoint("app", {"chat:a"})});
  outbox.loaded("chat:a", 0, {}, {});
  outbox.stored("chat:a", 1, chat_event(1));
  outbox.stored("chat:a", 2, chat_event(2));
  auto jobs = pump(outbox, Millis(0));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(seqs_of(jobs[0]), range(1, 2));
  // The room was let go and loaded again; meanwhile 3..5 were stored (another instance, or
  // before the queue caught up): the load brings them, none twice, nothing given up.
  outbox.loaded("chat:a", 5, {{"app", 0}},
                {{1, chat_event(1)}, {2, chat_event(2)}, {3, chat_event(3)}, {4, chat_event(4)}, {5, chat_event(5)}});
  EXPECT_EQ(outbox.backlog(), 5u);
  outbox.answered(answer(jobs[0], 200), Millis(1));
  jobs = pump(outbox, Millis(1));
  EXPECT_TRUE(writes_of<WriteBatch::AddWebhookDeadLetter>(batch).empty());
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(seqs_of(jobs[0]), range(3, 5));
  outbox.answered(answer(jobs[0], 200), Millis(2));
  EXPECT_TRUE(pump(outbox, Millis(2)).empty());
  EXPECT_EQ(writes_of<WriteBatch::AdvanceWebhookCursor>(batch).back().seq, 5);
}

TEST_F(webhooks_outbox_test, a_lost_room_drops_its_queues_and_ignores_their_answers_until_loaded_again) {
  Outbox outbox = make({endpoint("app", {"chat:a"}), endpoint("other", {"chat:b"})});
  for (std::int64_t seq = 1; seq <= 4; ++seq) outbox.stored("chat:a", seq, chat_event(seq));
  outbox.stored("chat:b", 1, chat_event(1));
  auto jobs = pump(outbox, Millis(0));
  ASSERT_EQ(jobs.size(), 2u);
  const DeliveryJob old = jobs[0].request.body.find("chat:a") != std::string::npos ? jobs[0] : jobs[1];
  outbox.drop_room("chat:a");
  EXPECT_EQ(outbox.backlog(), 1u);  // chat:b's only
  outbox.answered(answer(old, 200), Millis(1));
  EXPECT_TRUE(pump(outbox, Millis(1)).empty());
  EXPECT_TRUE(writes_of<WriteBatch::AdvanceWebhookCursor>(batch).empty());  // no cursor for chat:a
  // Back here: from the stored cursor (another instance delivered up to 2), not the old queue.
  outbox.loaded("chat:a", 6, {{"app", 2}}, {{3, chat_event(3)}, {4, chat_event(4)}, {5, chat_event(5)},
                                            {6, chat_event(6)}});
  jobs = pump(outbox, Millis(2));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(seqs_of(jobs[0]), range(3, 5));
  outbox.answered(answer(old, 200), Millis(3));  // a late answer of the old post changes nothing
  EXPECT_TRUE(pump(outbox, Millis(3)).empty());
  EXPECT_TRUE(writes_of<WriteBatch::AdvanceWebhookCursor>(batch).empty());
}

TEST_F(webhooks_outbox_test, only_refusals_count_toward_max_attempts) {
  Outbox outbox = make({endpoint("app", {"chat:a"})});
  outbox.stored("chat:a", 1, chat_event(1));
  Millis now(0);
  for (int status : {0, 503, 0, 400, 400}) {
    auto jobs = pump(outbox, now);
    ASSERT_EQ(jobs.size(), 1u) << status;
    outbox.answered(answer(jobs[0], status), now);
    now += Millis(1000);
  }
  EXPECT_EQ(outbox.counters().dead_letters, 0u);  // two refusals of three
  auto jobs = pump(outbox, now);
  ASSERT_EQ(jobs.size(), 1u);
  outbox.answered(answer(jobs[0], 400), now);
  EXPECT_EQ(outbox.counters().dead_letters, 1u);
}

TEST_F(webhooks_outbox_test, a_pump_without_jobs_still_writes_the_cursors) {
  Outbox outbox = make({endpoint("app", {"chat:a"})});
  outbox.stored("chat:a", 1, chat_event(1));
  outbox.stored("chat:a", 2, chat_event(2));
  auto jobs = pump(outbox, Millis(0));
  ASSERT_EQ(jobs.size(), 1u);
  outbox.answered(answer(jobs[0], 200), Millis(1));
  outbox.stored("chat:a", 3, chat_event(3));
  batch.clear();
  EXPECT_TRUE(outbox.pump(Millis(1), batch, /*make_jobs=*/false).empty());
  EXPECT_EQ(writes_of<WriteBatch::AdvanceWebhookCursor>(batch).back().seq, 2);
}

TEST(webhook_config_test, parses_endpoints_and_refuses_bad_ones_with_a_clear_error) {
  auto parsed = parse_webhooks(
      " orders https://backend.example/hooks rooms=workflow:*,chat:lobby events=documents,chat secret=0123456789abcdef ;"
      "all http://127.0.0.1:9/x rooms=* secret=fedcba9876543210");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed.value().size(), 2u);
  const WebhookEndpoint& orders = parsed.value()[0];
  EXPECT_EQ(orders.name, "orders");
  EXPECT_EQ(orders.url, "https://backend.example/hooks");
  EXPECT_EQ(orders.rooms, (std::vector<std::string>{"workflow:*", "chat:lobby"}));
  EXPECT_EQ(orders.kind_names(), (std::vector<std::string>{"documents", "chat"}));
  EXPECT_TRUE(orders.follows("workflow:9"));
  EXPECT_FALSE(orders.follows("chat:other"));
  EXPECT_EQ(parsed.value()[1].kind_names().size(), kEventKinds);  // all by default
  EXPECT_EQ(endpoints_following(parsed.value(), "chat:lobby"), (std::vector<std::string>{"orders", "all"}));
  EXPECT_TRUE(parse_webhooks("").value().empty());

  auto refused = [](std::string_view spec) {
    auto result = parse_webhooks(spec);
    return result.ok() ? std::string("accepted") : result.error().message;
  };
  EXPECT_NE(refused("bad/name http://h rooms=* secret=0123456789abcdef").find("name"), std::string::npos);
  EXPECT_NE(refused("a ftp://h rooms=* secret=0123456789abcdef").find("http://"), std::string::npos);
  EXPECT_NE(refused("a http://h secret=0123456789abcdef").find("rooms="), std::string::npos);
  EXPECT_NE(refused("a http://h rooms=* secret=short").find("16 bytes"), std::string::npos);
  EXPECT_NE(refused("a http://h rooms=* events=chat,joins secret=0123456789abcdef").find("joins"), std::string::npos);
  EXPECT_NE(refused("a http://h rooms=* colour=red secret=0123456789abcdef").find("colour"), std::string::npos);
  // A mistyped secret is not repeated in the error.
  const std::string typo = refused("a http://h rooms=* secret:0123456789abcdef");
  EXPECT_NE(typo.find("word 4"), std::string::npos) << typo;
  EXPECT_EQ(typo.find("0123456789"), std::string::npos) << typo;
  EXPECT_NE(refused("a http://h rooms=* secret=0123456789abcdef; a http://i rooms=* secret=0123456789abcdef")
                .find("twice"),
            std::string::npos);
}

TEST(webhook_config_test, urls_are_shown_without_credentials_or_query) {
  EXPECT_EQ(shown_url("https://user:pw@backend.example:8443/hooks/tandem?token=abc"),
            "https://backend.example:8443/hooks/tandem?…");
  EXPECT_EQ(shown_url("http://127.0.0.1:9/x"), "http://127.0.0.1:9/x");
  EXPECT_EQ(shown_url("http://h"), "http://h");
  EXPECT_EQ(shown_url("http://u@h?q=1"), "http://h?…");
}

TEST(webhook_config_test, event_kinds_follow_the_room_log_types) {
  EXPECT_EQ(kind_of_event("node_created"), EventKind::Documents);
  EXPECT_EQ(kind_of_event("edge_deleted"), EventKind::Documents);
  EXPECT_EQ(kind_of_event("chat"), EventKind::Chat);
  EXPECT_EQ(kind_of_event("cleared"), EventKind::Chat);
  EXPECT_EQ(kind_of_event("execution_update"), EventKind::Executions);
  EXPECT_EQ(kind_of_event("locked"), EventKind::Locks);
  EXPECT_EQ(kind_of_event("stream"), EventKind::Streams);
  EXPECT_EQ(kind_of_event("broadcast"), EventKind::Other);
}

}  // namespace
}  // namespace tandem::server::webhooks
