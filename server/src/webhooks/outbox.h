// server/src/webhooks/outbox.h — webhooks from the durable log (issue 19, docs/PROTOCOL.md
// "Webhooks"): which stored room events each endpoint is still owed, the POSTs to make for
// them, and what their answers mean. Runs on the loop; it never touches the network (the
// DeliveryThread posts) nor the store (it adds writes to the batch it is given).
//
// Source: the room event log as stored. The hub feeds stored() with each AppendEvent of a
// commit once that commit returned, and loaded() with what the store read when a room is
// loaded (the endpoints' cursors and the events past them: what an earlier process stored and
// was not acknowledged). Each (endpoint, room) is a queue:
//   - in seq order, one POST in flight at a time: the next batch (at most batch_max events of
//     the kinds the endpoint wants) only after a 2xx;
//   - the cursor — every event up to it delivered, given up or not wanted — goes to the store
//     (AdvanceWebhookCursor) only after that: a crash between a 2xx and the cursor's commit
//     sends the batch again (at least once; each event carries its seq);
//   - failures retry with exponential backoff and jitter (retry_initial_ms doubling up to
//     retry_max_ms); no answer, 408, 429 and 5xx retry until the backlog bound; any other
//     status, after max_attempts attempts, makes the batch a dead letter and delivery goes on;
//   - at most max_backlog events wait per queue: past it the oldest are given up (a dead
//     letter, error "backlog_exceeded"), as the store trims them past the same bound.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"
#include "tandem/clock.h"
#include "webhooks/http_poster.h"
#include "webhooks/webhook_config.h"

namespace tandem::server::webhooks {

struct OutboxSettings {
  std::size_t batch_max = 100;        // events per POST (webhook_batch_max)
  int max_attempts = 5;               // attempts of a batch answered 4xx (not 408/429) before it is a dead letter
  Millis retry_initial{500};          // the first retry's delay (before jitter)
  Millis retry_max{30000};            // webhook_retry_max_ms: the longest delay between attempts
  std::size_t max_backlog = 100000;   // webhook_max_backlog: events waiting per (endpoint, room)
  Millis timeout{10000};              // webhook_timeout_ms: one POST, connect to answer
  std::size_t dead_letters_kept = 100;  // the newest dead letters listed by report()
};

// One POST to make: the DeliveryThread's input.
struct DeliveryJob {
  std::uint64_t id = 0;
  HttpRequest request;
};

// What came back for a job.
struct DeliveryOutcome {
  std::uint64_t id = 0;
  HttpResponse response;
  Millis took{0};
};

// One (endpoint, room) queue as GET /api/v1/ws/webhooks shows it.
struct QueueReport {
  std::string endpoint, room;
  std::int64_t cursor = 0;        // every event up to this is delivered, given up or not wanted
  std::int64_t last_seq = 0;      // the newest event seen
  std::size_t pending = 0;        // events waiting (in flight included)
  bool in_flight = false;
  int attempts = 0;               // failed attempts of the current batch
  std::optional<Millis> retry_in;  // when the next attempt is due (failing)
  int last_status = 0;
  std::string last_error;
};

// Totals since start, for /metrics.
struct OutboxCounters {
  std::uint64_t posts_ok = 0;          // answered 2xx
  std::uint64_t posts_failed = 0;      // any other outcome
  std::uint64_t events_delivered = 0;  // in batches answered 2xx
  std::uint64_t dead_letters = 0;      // batches given up
  std::uint64_t events_given_up = 0;   // events in those
  std::uint64_t latency_ms_sum = 0;    // of posts answered 2xx
};

class Outbox {
 public:
  using Random = std::function<double()>;  // uniform in [0, 1): the retry jitter
  using WallClock = std::function<UnixMillis()>;
  Outbox(std::vector<WebhookEndpoint> endpoints, OutboxSettings settings, Random random, WallClock wall_clock);

  const std::vector<WebhookEndpoint>& endpoints() const { return endpoints_; }
  const OutboxSettings& settings() const { return settings_; }
  // Some endpoint follows the room.
  bool follows(std::string_view room) const;

  // A room was loaded from the store (room_seq: its last event's seq, 0 when new): the
  // endpoints' cursors there and the events past the lowest one (store::RoomRecord).
  void loaded(const std::string& room, std::int64_t room_seq, const std::vector<store::WebhookCursor>& cursors,
              const std::vector<store::StoredEvent>& backlog);
  // An event of a room some endpoint follows is stored (its commit returned).
  void stored(const std::string& room, std::int64_t seq, const std::string& json);
  // The dead letters stored before this process started (newest first), for report().
  void remember_dead_letters(std::vector<store::WebhookDeadLetter> letters);

  // A job's answer.
  void answered(const DeliveryOutcome& outcome, Millis now);
  // The POSTs due at `now`; adds the cursors that moved and the new dead letters to `writes`.
  // make_jobs false (shutting down): only the writes.
  std::vector<DeliveryJob> pump(Millis now, store::WriteBatch& writes, bool make_jobs = true);
  // This instance no longer runs `room` (another one took it): its queues go, and the answers
  // of their posts in flight are ignored. The room's next load starts them from the store.
  void drop_room(const std::string& room);

  std::size_t backlog() const;  // events waiting in every queue (in flight included)
  std::vector<QueueReport> queues(Millis now) const;
  // The newest dead letters (at most settings.dead_letters_kept), newest first.
  const std::deque<store::WebhookDeadLetter>& dead_letters() const { return dead_letters_; }
  const OutboxCounters& counters() const { return counters_; }
  // GET /api/v1/ws/webhooks: {"endpoints":[{"name","url","rooms","events"}],"queues":[{"endpoint",
  // "room","cursor","last_seq","pending","in_flight","attempts","retry_in_ms","last_status",
  // "last_error"}],"dead_letters":[{"endpoint","room","first_seq","last_seq","status","error","ts"}]}
  // (secrets never shown).
  std::string report_json(Millis now) const;

  // The signature of a request (docs/PROTOCOL.md "Webhooks"): hex HMAC-SHA256(secret,
  // timestamp + "." + body).
  static std::string signature(std::string_view secret, std::int64_t timestamp, std::string_view body);

 private:
  struct Queue {
    std::size_t endpoint = 0;
    std::string room;
    std::deque<store::StoredEvent> pending;  // wanted events past the batch, seq ascending
    std::vector<store::StoredEvent> batch;   // being delivered (empty: none)
    std::string body;                        // the batch's request body
    std::int64_t seen = 0;                   // the newest seq seen, wanted or not
    std::int64_t cursor_written = 0;         // the cursor as the store has it (or will, once committed)
    std::uint64_t job = 0;                   // the job in flight, 0: none
    int attempts = 0;                        // failed attempts of the batch (any failure)
    int refused = 0;                         // of those, answered with a non-retryable status
    Millis next_try{0};
    int last_status = 0;
    std::string last_error;
  };
  using Key = std::pair<std::size_t, std::string>;  // endpoint index, room

  Queue& queue_for(std::size_t endpoint, const std::string& room, std::int64_t cursor);
  void add_event(Queue& queue, std::int64_t seq, const std::string& json);
  void give_up(Queue& queue, std::int64_t first_seq, std::int64_t last_seq, std::size_t events, int status,
               std::string error);
  std::int64_t cursor_of(const Queue& queue) const;
  DeliveryJob job_for(Queue& queue);
  Millis retry_delay(int attempts) const;

  std::vector<WebhookEndpoint> endpoints_;
  OutboxSettings settings_;
  Random random_;
  WallClock wall_clock_;
  std::map<Key, Queue> queues_;
  std::map<std::uint64_t, Key> in_flight_;  // job id -> its queue
  std::uint64_t next_job_ = 1;
  std::vector<store::WebhookDeadLetter> unwritten_letters_;
  std::deque<store::WebhookDeadLetter> dead_letters_;
  OutboxCounters counters_;
};

}  // namespace tandem::server::webhooks
