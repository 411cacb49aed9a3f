// server/src/metrics.h — the server's counters and gauges, and their Prometheus text.
//
// One Metrics object lives in the Hub (Hub::metrics()). The hub counts what passes through it
// (messages in, frames and messages out, protocol errors, closes, distinct users); features
// report their own events (lock grants and denials) and register a RoomLister so rooms can
// be counted and listed without the metrics knowing how rooms are stored. Everything runs on
// the one service thread, so the counters are plain integers.
//
// prometheus_text() renders a MetricsSnapshot in the text exposition format 0.0.4 with
// # HELP / # TYPE lines and the tandem_ prefix (docs/PROTOCOL.md §14).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tandem::server {

// One room as the admin endpoints and the rooms gauge see it.
struct RoomSummary {
  std::string room;             // "workflow:42"
  std::size_t members = 0;      // distinct users
  std::size_t connections = 0;  // connections (a user with two tabs counts twice)
};

// Lists the rooms that exist now. Registered by the rooms feature.
using RoomLister = std::function<std::vector<RoomSummary>()>;

// Webhooks' figures (webhooks/outbox.h), read from the outbox when asked.
struct WebhookFigures {
  std::uint64_t deliveries = 0;          // POSTs answered 2xx
  std::uint64_t delivery_failures = 0;   // POSTs not answered 2xx (retried, or given up)
  std::uint64_t events_delivered = 0;    // events in POSTs answered 2xx
  std::uint64_t dead_letters = 0;        // batches given up
  std::uint64_t events_given_up = 0;     // events in them
  std::uint64_t delivery_ms = 0;         // time of the POSTs answered 2xx, summed
  std::size_t backlog = 0;               // gauge: events waiting for delivery
};
using WebhookSource = std::function<WebhookFigures()>;

// Counters (only grow) and the gauges the Metrics object itself tracks, as plain numbers.
struct MetricsSnapshot {
  // ---- gauges ----
  std::size_t connections = 0;  // open WebSocket connections (from the hub)
  std::size_t users = 0;        // distinct authenticated users connected
  std::size_t rooms = 0;        // rooms with at least one member
  std::int64_t uptime_s = 0;

  // ---- counters ----
  std::uint64_t messages_in = 0;   // complete client messages handed to the hub
  std::uint64_t bytes_in = 0;      // their payload bytes
  std::uint64_t messages_out = 0;  // server messages written (a batch frame carries several)
  std::uint64_t frames_out = 0;    // WebSocket frames written
  std::uint64_t bytes_out = 0;     // frame payload bytes written
  std::uint64_t slow_consumer_closes = 0;
  std::uint64_t lock_grants = 0;
  std::uint64_t lock_denials = 0;
  std::uint64_t store_commits = 0;         // transactions committed (one per loop iteration with writes)
  std::uint64_t store_writes = 0;          // writes they carried
  std::uint64_t store_commit_failures = 0;
  std::uint64_t store_reads = 0;          // read batches (at most one per loop pass)
  std::uint64_t store_read_items = 0;     // rooms, sessions and change pages they read
  std::uint64_t ydoc_updates = 0;         // Yjs updates appended to a document's log
  std::uint64_t ydoc_compactions = 0;     // Yjs logs compacted (a prefix replaced by a client's state)
  std::size_t sse_streams = 0;            // gauge: SSE connections (PROTOCOL.md §5.5), with or without a response now
  std::uint64_t sse_resumes = 0;          // broken streams taken up again with Last-Event-ID
  std::uint64_t sse_posts = 0;            // POSTs applied to streams held here
  std::uint64_t sse_posts_forwarded = 0;  // POSTs received here for a stream another instance holds
  WebhookFigures webhooks;
  std::map<std::string, std::uint64_t> errors_by_code;  // error replies by §15 code (sorted for output)
  std::map<int, std::uint64_t> closes_by_code;          // close codes the server sent
};

class Metrics {
 public:
  // ---- counted by the hub ----
  void message_in(std::size_t bytes) {
    ++messages_in_;
    bytes_in_ += bytes;
  }
  // One frame drained by the edge, carrying `messages` messages (1, or more for a batch).
  void frame_out(std::size_t messages, std::size_t bytes) {
    ++frames_out_;
    messages_out_ += messages;
    bytes_out_ += bytes;
  }
  void protocol_error(std::string_view code) { ++errors_by_code_[std::string(code)]; }
  // A close the server requested (4508 also counts as a slow-consumer close).
  void close_sent(int code);
  // Distinct users: a user with several connections counts once.
  void user_connected(const std::string& user_id) { ++connections_per_user_[user_id]; }
  void user_disconnected(const std::string& user_id);
  // This instance's own authenticated connections of `user_id` (max_connections_per_user).
  std::size_t connections_of(const std::string& user_id) const {
    auto it = connections_per_user_.find(user_id);
    return it == connections_per_user_.end() ? 0 : static_cast<std::size_t>(it->second);
  }

  // ---- reported by features ----
  void lock_granted() { ++lock_grants_; }
  void lock_denied() { ++lock_denials_; }
  void ydoc_updated() { ++ydoc_updates_; }
  void ydoc_compacted() { ++ydoc_compactions_; }
  // ---- reported by the edge (the SSE fallback, lws_server.cpp) ----
  void set_sse_streams(std::size_t streams) { sse_streams_ = streams; }
  void sse_resumed() { ++sse_resumes_; }
  void sse_post_applied() { ++sse_posts_; }
  void sse_post_forwarded() { ++sse_posts_forwarded_; }
  // One batch of the pass's reads (hub.h "Store reads"), of `items` rooms, sessions and pages.
  void store_read(std::size_t items) {
    ++store_reads_;
    store_read_items_ += items;
  }
  // One group commit of `writes` writes (ok: durable; else failed and rolled back).
  void store_commit(std::size_t writes, bool ok) {
    if (!ok) {
      ++store_commit_failures_;
      return;
    }
    ++store_commits_;
    store_writes_ += writes;
  }
  // The webhook outbox's figures (the hub registers it when webhooks are configured).
  void set_webhook_source(WebhookSource source) { webhook_source_ = std::move(source); }
  // Replaces the room source (the rooms feature calls this once at registration).
  void set_room_lister(RoomLister lister) { room_lister_ = std::move(lister); }
  // The rooms now, sorted by name; empty until a room lister is registered.
  std::vector<RoomSummary> rooms() const;

  // Everything at once; `connections` and `uptime_s` come from the caller (hub and clock).
  MetricsSnapshot snapshot(std::size_t connections, std::int64_t uptime_s) const;

 private:
  std::uint64_t messages_in_ = 0;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t messages_out_ = 0;
  std::uint64_t frames_out_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::uint64_t slow_consumer_closes_ = 0;
  std::uint64_t lock_grants_ = 0;
  std::uint64_t lock_denials_ = 0;
  std::uint64_t store_commits_ = 0;
  std::uint64_t store_writes_ = 0;
  std::uint64_t store_commit_failures_ = 0;
  std::uint64_t store_reads_ = 0;
  std::uint64_t store_read_items_ = 0;
  std::uint64_t ydoc_updates_ = 0;
  std::uint64_t ydoc_compactions_ = 0;
  std::size_t sse_streams_ = 0;
  std::uint64_t sse_resumes_ = 0;
  std::uint64_t sse_posts_ = 0;
  std::uint64_t sse_posts_forwarded_ = 0;
  std::map<std::string, std::uint64_t> errors_by_code_;
  std::map<int, std::uint64_t> closes_by_code_;
  std::unordered_map<std::string, std::size_t> connections_per_user_;
  RoomLister room_lister_;
  WebhookSource webhook_source_;
};

// The Prometheus text exposition format 0.0.4 of `snapshot`.
std::string prometheus_text(const MetricsSnapshot& snapshot);

// Its Content-Type.
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// A label value escaped for the text format: backslash, double quote and newline.
std::string prometheus_label_value(std::string_view value);

}  // namespace tandem::server
