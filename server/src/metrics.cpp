// server/src/metrics.cpp — counting and the Prometheus text rendering (see metrics.h).
#include "metrics.h"

#include <algorithm>

#include "tandem/protocol/errors.h"

namespace tandem::server {

void Metrics::close_sent(int code) {
  ++closes_by_code_[code];
  if (code == protocol::close::slow_consumer.code) ++slow_consumer_closes_;
}

void Metrics::user_disconnected(const std::string& user_id) {
  auto it = connections_per_user_.find(user_id);
  if (it == connections_per_user_.end()) return;
  if (--it->second == 0) connections_per_user_.erase(it);
}

std::vector<RoomSummary> Metrics::rooms() const {
  if (!room_lister_) return {};
  std::vector<RoomSummary> list = room_lister_();
  std::sort(list.begin(), list.end(), [](const RoomSummary& a, const RoomSummary& b) { return a.room < b.room; });
  return list;
}

MetricsSnapshot Metrics::snapshot(std::size_t connections, std::int64_t uptime_s) const {
  MetricsSnapshot s;
  s.connections = connections;
  s.users = connections_per_user_.size();
  s.rooms = room_lister_ ? room_lister_().size() : 0;
  s.uptime_s = uptime_s;
  s.messages_in = messages_in_;
  s.bytes_in = bytes_in_;
  s.messages_out = messages_out_;
  s.frames_out = frames_out_;
  s.bytes_out = bytes_out_;
  s.slow_consumer_closes = slow_consumer_closes_;
  s.lock_grants = lock_grants_;
  s.lock_denials = lock_denials_;
  s.store_commits = store_commits_;
  s.store_writes = store_writes_;
  s.store_commit_failures = store_commit_failures_;
  s.store_reads = store_reads_;
  s.store_read_items = store_read_items_;
  s.ydoc_updates = ydoc_updates_;
  s.ydoc_compactions = ydoc_compactions_;
  s.sse_streams = sse_streams_;
  s.sse_resumes = sse_resumes_;
  s.sse_posts = sse_posts_;
  s.sse_posts_forwarded = sse_posts_forwarded_;
  if (webhook_source_) s.webhooks = webhook_source_();
  s.errors_by_code = errors_by_code_;
  s.closes_by_code = closes_by_code_;
  return s;
}

std::string prometheus_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

namespace {

enum class MetricType { Gauge, Counter };

// Appends the # HELP and # TYPE lines of one metric family.
void family(std::string& out, std::string_view name, MetricType type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(type == MetricType::Gauge ? " gauge\n" : " counter\n");
}

void sample(std::string& out, std::string_view name, std::uint64_t value) {
  out.append(name).append(" ").append(std::to_string(value)).append("\n");
}

void labelled(std::string& out, std::string_view name, std::string_view label, std::string_view value,
              std::uint64_t count) {
  out.append(name).append("{").append(label).append("=\"").append(prometheus_label_value(value)).append("\"} ");
  out.append(std::to_string(count)).append("\n");
}

void single(std::string& out, std::string_view name, MetricType type, std::string_view help, std::uint64_t value) {
  family(out, name, type, help);
  sample(out, name, value);
}

}  // namespace

std::string prometheus_text(const MetricsSnapshot& s) {
  using enum MetricType;
  std::string out;
  single(out, "tandem_connections", Gauge, "Open WebSocket connections.", s.connections);
  single(out, "tandem_users", Gauge, "Distinct authenticated users connected.", s.users);
  single(out, "tandem_rooms", Gauge, "Rooms with at least one member.", s.rooms);
  single(out, "tandem_uptime_seconds", Gauge, "Seconds since the server started.",
         static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.uptime_s)));
  single(out, "tandem_messages_in_total", Counter, "Complete messages received from clients.", s.messages_in);
  single(out, "tandem_bytes_in_total", Counter, "Payload bytes of messages received from clients.", s.bytes_in);
  single(out, "tandem_messages_out_total", Counter, "Messages sent to clients (a batch frame carries several).",
         s.messages_out);
  single(out, "tandem_frames_out_total", Counter, "WebSocket frames sent to clients.", s.frames_out);
  single(out, "tandem_bytes_out_total", Counter, "Payload bytes of frames sent to clients.", s.bytes_out);
  single(out, "tandem_slow_consumer_closes_total", Counter, "Connections closed with 4508 slow consumer.",
         s.slow_consumer_closes);
  single(out, "tandem_lock_grants_total", Counter, "Lock requests granted.", s.lock_grants);
  single(out, "tandem_lock_denials_total", Counter, "Lock requests denied.", s.lock_denials);
  single(out, "tandem_store_commits_total", Counter, "Store transactions committed (group commits).", s.store_commits);
  single(out, "tandem_store_writes_total", Counter, "Writes carried by committed transactions.", s.store_writes);
  single(out, "tandem_store_commit_failures_total", Counter, "Store transactions that failed and were rolled back.",
         s.store_commit_failures);
  single(out, "tandem_store_reads_total", Counter, "Batches of store reads (at most one per loop pass).", s.store_reads);
  single(out, "tandem_store_read_items_total", Counter, "Rooms, sessions and change pages those batches read.",
         s.store_read_items);
  single(out, "tandem_ydoc_updates_total", Counter, "Yjs updates appended to a document's log.", s.ydoc_updates);
  single(out, "tandem_ydoc_compactions_total", Counter, "Yjs document logs compacted into a client's whole state.",
         s.ydoc_compactions);
  single(out, "tandem_webhook_deliveries_total", Counter, "Webhook POSTs answered 2xx.", s.webhooks.deliveries);
  single(out, "tandem_webhook_delivery_failures_total", Counter,
         "Webhook POSTs not answered 2xx (no answer, timeout, other status): retried or given up.",
         s.webhooks.delivery_failures);
  single(out, "tandem_webhook_events_delivered_total", Counter, "Room events in webhook POSTs answered 2xx.",
         s.webhooks.events_delivered);
  single(out, "tandem_webhook_dead_letters_total", Counter, "Webhook batches given up (dead letters).",
         s.webhooks.dead_letters);
  single(out, "tandem_webhook_events_given_up_total", Counter, "Room events in webhook dead letters.",
         s.webhooks.events_given_up);
  single(out, "tandem_webhook_delivery_milliseconds_total", Counter,
         "Time of the webhook POSTs answered 2xx, summed (divide by deliveries for the mean latency).",
         s.webhooks.delivery_ms);
  single(out, "tandem_webhook_backlog", Gauge, "Room events waiting for webhook delivery (in flight included).",
         s.webhooks.backlog);
  single(out, "tandem_sse_streams", Gauge, "Connections over the SSE fallback (with or without a response now).",
         s.sse_streams);
  single(out, "tandem_sse_resumes_total", Counter, "Broken event streams taken up again with Last-Event-ID.",
         s.sse_resumes);
  single(out, "tandem_sse_posts_total", Counter, "SSE POSTs applied to streams this instance holds.", s.sse_posts);
  single(out, "tandem_sse_posts_forwarded_total", Counter,
         "SSE POSTs this instance received for a stream another instance holds (forwarded there).",
         s.sse_posts_forwarded);

  family(out, "tandem_errors_total", Counter, "Error replies sent, by error code.");
  for (const auto& [code, count] : s.errors_by_code) labelled(out, "tandem_errors_total", "code", code, count);
  family(out, "tandem_closes_total", Counter, "Close frames the server requested, by close code.");
  for (const auto& [code, count] : s.closes_by_code)
    labelled(out, "tandem_closes_total", "code", std::to_string(code), count);
  return out;
}

}  // namespace tandem::server
