// server/src/webhooks/outbox.cpp — see outbox.h.
#include "webhooks/outbox.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <utility>

#include <cJSON.h>

#include "tandem/json.h"

namespace tandem::server::webhooks {

namespace {

// The `type` of a stored event: the encoder writes it first ({"type":"chat",...}); anything
// else is parsed.
std::string event_type(const std::string& json) {
  constexpr std::string_view kPrefix = R"({"type":")";
  if (json.starts_with(kPrefix)) {
    const std::size_t end = json.find('"', kPrefix.size());
    if (end != std::string::npos) return json.substr(kPrefix.size(), end - kPrefix.size());
  }
  auto parsed = json::parse_json(json);
  if (!parsed) return {};
  const cJSON* type = cJSON_GetObjectItemCaseSensitive(parsed.value().get(), "type");
  return cJSON_IsString(type) ? std::string(type->valuestring) : std::string();
}

bool retryable(int status) { return status == 0 || status == 408 || status == 429 || status >= 500; }

}  // namespace

Outbox::Outbox(std::vector<WebhookEndpoint> endpoints, OutboxSettings settings, Random random, WallClock wall_clock)
    : endpoints_(std::move(endpoints)),
      settings_(settings),
      random_(std::move(random)),
      wall_clock_(std::move(wall_clock)) {
  settings_.batch_max = std::max<std::size_t>(1, settings_.batch_max);
  settings_.max_backlog = std::max<std::size_t>(1, settings_.max_backlog);
  settings_.max_attempts = std::max(1, settings_.max_attempts);
}

bool Outbox::follows(std::string_view room) const {
  return std::any_of(endpoints_.begin(), endpoints_.end(),
                     [&](const WebhookEndpoint& endpoint) { return endpoint.follows(room); });
}

Outbox::Queue& Outbox::queue_for(std::size_t endpoint, const std::string& room, std::int64_t cursor) {
  auto [at, added] = queues_.try_emplace(Key{endpoint, room});
  if (added) {
    at->second.endpoint = endpoint;
    at->second.room = room;
    at->second.seen = cursor;
    at->second.cursor_written = cursor;
  }
  return at->second;
}

void Outbox::loaded(const std::string& room, std::int64_t room_seq, const std::vector<store::WebhookCursor>& cursors,
                    const std::vector<store::StoredEvent>& backlog) {
  for (std::size_t e = 0; e < endpoints_.size(); ++e) {
    if (!endpoints_[e].follows(room)) continue;
    // No cursor stored: the endpoint has not followed the room since its last event (it gets
    // one with the next event stored).
    std::int64_t cursor = room_seq;
    for (const store::WebhookCursor& stored : cursors)
      if (stored.endpoint == endpoints_[e].name) cursor = stored.seq;
    // A queue still here (the room was forgotten or reloaded while it waited) has every event
    // up to queue.seen; the store may hold later ones another instance or an earlier load
    // stored: those are added, as for a new queue from its cursor.
    Queue& queue = queue_for(e, room, cursor);
    const std::int64_t have = std::max(queue.seen, cursor);  // past its stored cursor: delivered
    std::int64_t expected = have + 1;
    for (const store::StoredEvent& event : backlog) {
      if (event.seq <= have) continue;
      // Trimmed before delivery (past webhook_max_backlog while no process delivered them).
      if (event.seq > expected) give_up(queue, expected, event.seq - 1, 0, 0, "backlog_exceeded");
      add_event(queue, event.seq, event.json);
      expected = event.seq + 1;
    }
    if (room_seq >= expected) give_up(queue, expected, room_seq, 0, 0, "backlog_exceeded");
    queue.seen = std::max(queue.seen, room_seq);
  }
}

void Outbox::stored(const std::string& room, std::int64_t seq, const std::string& json) {
  for (std::size_t e = 0; e < endpoints_.size(); ++e) {
    if (!endpoints_[e].follows(room)) continue;
    Queue& queue = queue_for(e, room, seq - 1);
    if (seq <= queue.seen) continue;  // already had it (a room loaded again)
    add_event(queue, seq, json);
  }
}

void Outbox::add_event(Queue& queue, std::int64_t seq, const std::string& json) {
  queue.seen = std::max(queue.seen, seq);
  if (!endpoints_[queue.endpoint].wants(kind_of_event(event_type(json)))) return;
  queue.pending.push_back({seq, json});
  if (queue.pending.size() + queue.batch.size() <= settings_.max_backlog || queue.pending.size() <= 1) return;
  // Past the bound: the oldest waiting event goes (not the batch in flight).
  const std::int64_t dropped = queue.pending.front().seq;
  queue.pending.pop_front();
  give_up(queue, dropped, dropped, 1, 0, "backlog_exceeded");
}

void Outbox::give_up(Queue& queue, std::int64_t first_seq, std::int64_t last_seq, std::size_t events, int status,
                     std::string error) {
  // Consecutive single events given up for the backlog bound make one letter, not one each.
  if (!unwritten_letters_.empty()) {
    store::WebhookDeadLetter& last = unwritten_letters_.back();
    if (last.endpoint == endpoints_[queue.endpoint].name && last.room == queue.room && last.error == error &&
        last.status == status && last.last_seq < first_seq && error == "backlog_exceeded") {
      last.last_seq = last_seq;
      counters_.events_given_up += events;
      if (!dead_letters_.empty() && dead_letters_.front().endpoint == last.endpoint &&
          dead_letters_.front().room == last.room && dead_letters_.front().first_seq == last.first_seq)
        dead_letters_.front().last_seq = last_seq;
      return;
    }
  }
  store::WebhookDeadLetter letter{endpoints_[queue.endpoint].name, queue.room, first_seq, last_seq, status,
                                  std::move(error), wall_clock_()};
  ++counters_.dead_letters;
  counters_.events_given_up += events;
  dead_letters_.push_front(letter);
  while (dead_letters_.size() > settings_.dead_letters_kept) dead_letters_.pop_back();
  unwritten_letters_.push_back(std::move(letter));
}

void Outbox::remember_dead_letters(std::vector<store::WebhookDeadLetter> letters) {
  for (auto& letter : letters) {
    if (dead_letters_.size() >= settings_.dead_letters_kept) break;
    dead_letters_.push_back(std::move(letter));
  }
}

std::int64_t Outbox::cursor_of(const Queue& queue) const {
  if (!queue.batch.empty()) return queue.batch.front().seq - 1;
  if (!queue.pending.empty()) return queue.pending.front().seq - 1;
  return queue.seen;
}

Millis Outbox::retry_delay(int attempts) const {
  // retry_initial, doubling per failed attempt, at most retry_max; then a random part of it
  // (half to all), so queues failing together do not retry together.
  Millis delay = settings_.retry_initial;
  for (int i = 1; i < attempts && delay < settings_.retry_max; ++i) delay *= 2;
  delay = std::min(delay, settings_.retry_max);
  const double share = 0.5 + 0.5 * std::clamp(random_ ? random_() : 1.0, 0.0, 1.0);
  return Millis(static_cast<Millis::rep>(static_cast<double>(delay.count()) * share));
}

std::string Outbox::signature(std::string_view secret, std::int64_t timestamp, std::string_view body) {
  const std::string signed_text = std::to_string(timestamp) + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 15];
  }
  return hex;
}

DeliveryJob Outbox::job_for(Queue& queue) {
  const WebhookEndpoint& endpoint = endpoints_[queue.endpoint];
  if (queue.batch.empty()) {
    const std::size_t take = std::min(queue.pending.size(), settings_.batch_max);
    queue.batch.assign(std::make_move_iterator(queue.pending.begin()),
                       std::make_move_iterator(queue.pending.begin() + static_cast<std::ptrdiff_t>(take)));
    queue.pending.erase(queue.pending.begin(), queue.pending.begin() + static_cast<std::ptrdiff_t>(take));
    std::string events = "[";
    for (const store::StoredEvent& event : queue.batch) {
      if (events.size() > 1) events += ',';
      events += event.json;
    }
    events += ']';
    queue.body = json::JsonWriter()
                     .str("endpoint", endpoint.name)
                     .str("room", queue.room)
                     .int64("first_seq", queue.batch.front().seq)
                     .int64("last_seq", queue.batch.back().seq)
                     .verbatim("events", events)
                     .finish();
  }
  const std::int64_t timestamp = wall_clock_() / 1000;
  DeliveryJob job;
  job.id = next_job_++;
  job.request.url = endpoint.url;
  job.request.timeout = settings_.timeout;
  job.request.body = queue.body;
  job.request.headers = {
      "Tandem-Webhook-Id: " + endpoint.name + ":" + queue.room + ":" + std::to_string(queue.batch.front().seq) + "-" +
          std::to_string(queue.batch.back().seq),
      "Tandem-Timestamp: " + std::to_string(timestamp),
      "Tandem-Signature: v1=" + signature(endpoint.secret, timestamp, queue.body),
      "Tandem-Attempt: " + std::to_string(queue.attempts + 1),
  };
  queue.job = job.id;
  in_flight_.emplace(job.id, Key{queue.endpoint, queue.room});
  return job;
}

void Outbox::answered(const DeliveryOutcome& outcome, Millis now) {
  auto flying = in_flight_.find(outcome.id);
  if (flying == in_flight_.end()) return;
  auto at = queues_.find(flying->second);
  in_flight_.erase(flying);
  if (at == queues_.end()) return;
  Queue& queue = at->second;
  queue.job = 0;
  const int status = outcome.response.status;
  queue.last_status = status;
  if (status >= 200 && status < 300) {
    ++counters_.posts_ok;
    counters_.events_delivered += queue.batch.size();
    counters_.latency_ms_sum += static_cast<std::uint64_t>(std::max<Millis::rep>(0, outcome.took.count()));
    queue.batch.clear();
    queue.body.clear();
    queue.attempts = 0;
    queue.refused = 0;
    queue.last_error.clear();
    queue.next_try = now;
    return;
  }
  ++counters_.posts_failed;
  ++queue.attempts;
  queue.last_error = !outcome.response.error.empty() ? outcome.response.error
                                                     : "HTTP " + std::to_string(status);
  // Only the refusals (4xx but 408/429, 3xx) count toward max_attempts: timeouts and 5xx
  // before them do not make a first 4xx a dead letter.
  if (!retryable(status) && ++queue.refused >= settings_.max_attempts) {
    give_up(queue, queue.batch.front().seq, queue.batch.back().seq, queue.batch.size(), status, queue.last_error);
    queue.batch.clear();
    queue.body.clear();
    queue.attempts = 0;
    queue.refused = 0;
    queue.next_try = now;
    return;
  }
  queue.next_try = now + retry_delay(queue.attempts);
}

void Outbox::drop_room(const std::string& room) {
  for (auto at = queues_.begin(); at != queues_.end();) {
    if (at->first.second == room) {
      if (at->second.job != 0) in_flight_.erase(at->second.job);
      at = queues_.erase(at);
    } else {
      ++at;
    }
  }
}

std::vector<DeliveryJob> Outbox::pump(Millis now, store::WriteBatch& writes, bool make_jobs) {
  std::vector<DeliveryJob> jobs;
  for (auto& letter : std::exchange(unwritten_letters_, {}))
    writes.add(store::WriteBatch::AddWebhookDeadLetter{std::move(letter)});
  for (auto at = queues_.begin(); at != queues_.end();) {
    Queue& queue = at->second;
    const std::int64_t cursor = cursor_of(queue);
    if (cursor > queue.cursor_written) {
      writes.add(store::WriteBatch::AdvanceWebhookCursor{endpoints_[queue.endpoint].name, queue.room, cursor});
      queue.cursor_written = cursor;
    }
    if (make_jobs && queue.job == 0 && (!queue.batch.empty() || !queue.pending.empty()) && now >= queue.next_try)
      jobs.push_back(job_for(queue));
    // Caught up, its cursor written: nothing to keep (a later event or load starts it again).
    if (queue.job == 0 && queue.batch.empty() && queue.pending.empty() && queue.cursor_written >= queue.seen &&
        queue.attempts == 0) {
      at = queues_.erase(at);
    } else {
      ++at;
    }
  }
  return jobs;
}

std::size_t Outbox::backlog() const {
  std::size_t events = 0;
  for (const auto& [key, queue] : queues_) events += queue.pending.size() + queue.batch.size();
  return events;
}

std::vector<QueueReport> Outbox::queues(Millis now) const {
  std::vector<QueueReport> reports;
  for (const auto& [key, queue] : queues_) {
    QueueReport report;
    report.endpoint = endpoints_[queue.endpoint].name;
    report.room = queue.room;
    report.cursor = cursor_of(queue);
    report.last_seq = queue.seen;
    report.pending = queue.pending.size() + queue.batch.size();
    report.in_flight = queue.job != 0;
    report.attempts = queue.attempts;
    if (queue.job == 0 && queue.attempts > 0) report.retry_in = std::max(Millis(0), queue.next_try - now);
    report.last_status = queue.last_status;
    report.last_error = queue.last_error;
    reports.push_back(std::move(report));
  }
  return reports;
}

std::string Outbox::report_json(Millis now) const {
  json::JsonWriter endpoints = json::JsonWriter::array();
  for (const WebhookEndpoint& endpoint : endpoints_) {
    json::JsonWriter rooms = json::JsonWriter::array(), kinds = json::JsonWriter::array();
    for (const std::string& pattern : endpoint.rooms) rooms.push_str(pattern);
    for (const std::string& kind : endpoint.kind_names()) kinds.push_str(kind);
    json::JsonWriter item;
    item.str("name", endpoint.name).str("url", shown_url(endpoint.url)).child("rooms", std::move(rooms)).child("events", std::move(kinds));
    endpoints.push(std::move(item));
  }
  json::JsonWriter queue_list = json::JsonWriter::array();
  for (const QueueReport& q : queues(now)) {
    json::JsonWriter item;
    item.str("endpoint", q.endpoint)
        .str("room", q.room)
        .int64("cursor", q.cursor)
        .int64("last_seq", q.last_seq)
        .int64("pending", static_cast<std::int64_t>(q.pending))
        .boolean("in_flight", q.in_flight)
        .int64("attempts", q.attempts)
        .opt_int64("retry_in_ms", q.retry_in ? std::optional<std::int64_t>(q.retry_in->count()) : std::nullopt)
        .int64("last_status", q.last_status)
        .str("last_error", q.last_error);
    queue_list.push(std::move(item));
  }
  json::JsonWriter letters = json::JsonWriter::array();
  for (const store::WebhookDeadLetter& l : dead_letters_) {
    json::JsonWriter item;
    item.str("endpoint", l.endpoint)
        .str("room", l.room)
        .int64("first_seq", l.first_seq)
        .int64("last_seq", l.last_seq)
        .int64("status", l.status)
        .str("error", l.error)
        .int64("ts", l.ts);
    letters.push(std::move(item));
  }
  json::JsonWriter report;
  report.child("endpoints", std::move(endpoints))
      .child("queues", std::move(queue_list))
      .child("dead_letters", std::move(letters));
  return std::move(report).finish();
}

}  // namespace tandem::server::webhooks
