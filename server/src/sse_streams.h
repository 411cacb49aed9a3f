// server/src/sse_streams.h — the Server-Sent Events fallback (PROTOCOL.md §5.5), without sockets.
//
// A stream is a hub connection whose frames go out as SSE events on an HTTP response and whose
// input comes in POSTs. This file keeps what the edge needs per stream and says what each
// request gets; lws_server.cpp does the I/O (the response, the POST bodies, the tick).
//
//   open()        a GET /sse started a stream for hub connection `id`: its secret id
//   attach()      a GET with Last-Event-ID took the stream over again: replay from the event after
//   next_event()  a hub frame becomes the next event (and is kept for replay)
//   admit_post()  a POST /sse/{stream}?n=N: the checks and verdict of §5.5's table
//   detach()      the response broke: the connection waits sse_resume_ms for a new GET
//
// EXPIRY: the edge calls expired(now) from its tick; each stream detached longer than
// sse_resume_ms is forgotten here and its hub connection must be closed by the edge.
// GUARANTEES: events are numbered from 1 without gaps per stream; a resumed stream gets every
// event after the one it names, or nothing (not_resumable) when some were dropped from the
// replay window — never a stream with a hole in it. A POST number is applied at most once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config.h"
#include "hub.h"

namespace tandem::server {

// An SSE event carrying one hub frame: "id: {stream}:{n}\ndata: …\n\n". Line breaks in the frame
// (CR, LF, CRLF) start a new "data:" line, which the reader joins back with "\n".
std::string sse_message_event(std::string_view stream, std::uint64_t n, std::string_view frame);
// A named event without id: "event: {name}\ndata: {data}\n\n" (`data` holds no line break).
std::string sse_named_event(std::string_view name, std::string_view data);
// The `close` event: {"code":…,"reason":"…"}.
std::string sse_close_event(int code, std::string_view reason);
// The comment written on a silent stream.
inline constexpr std::string_view kSseHeartbeat = ": heartbeat\n\n";

// What a Last-Event-ID header names: "{stream}:{n}".
struct LastEventId {
  std::string stream;
  std::uint64_t n = 0;
};
std::optional<LastEventId> parse_last_event_id(std::string_view header);

// The instance a stream id names ("{instance}.{hex}"), empty for one without ("{hex}").
std::string_view sse_stream_instance(std::string_view stream);

class SseStreams {
 public:
  struct Event {
    std::uint64_t n = 0;
    std::string bytes;  // the whole event as written
  };
  struct Stream {
    ConnectionId id = 0;
    std::string key;             // the stream id (a secret)
    std::string user;            // the `sub` of the token the GET carried (POSTs must match)
    std::string client_address;  // counted against max_connections_per_ip by the edge
    void* response = nullptr;    // the edge's attached response (an lws*); nullptr while detached
    std::string pending;         // bytes to write before further frames (the first event, replays, heartbeats)
    std::uint64_t next_n = 1;    // the next event's number
    std::uint64_t posts = 0;     // the last POST number applied
    std::deque<Event> sent;      // the newest events, at most sse_replay_bytes
    std::size_t sent_bytes = 0;
    Millis last_write{0};
    Millis detached_at{0};
    bool ending = false;         // the close event is written: end the response when it is out
  };

  explicit SseStreams(const Settings& settings) : settings_(settings) {}

  // A new stream for hub connection `id`; its key is `instance`.`random` (just `random` alone).
  // Its `stream` event is queued in `pending`.
  Stream& open(ConnectionId id, std::string_view instance, std::string random, std::string user,
               std::string client_address, void* response, Millis now);

  enum class Resume { Resumed, NotResumable };
  // A GET with Last-Event-ID `last`: when this instance holds the stream and every event after
  // last.n, the stream is attached to `response` with those events queued; `previous` is the
  // response it had (to be ended by the edge), nullptr when it had none.
  Resume attach(const LastEventId& last, void* response, Millis now, void** previous);

  // The hub frame becomes the stream's next event (kept for replay); returns the event's bytes.
  const std::string& next_event(Stream& stream, std::string_view frame);

  // The response broke (or was ended by a newer one); the stream waits for a resume.
  void detach(Stream& stream, Millis now);
  // The streams detached longer than sse_resume_ms, forgotten: their hub connections to close.
  std::vector<Stream> expired(Millis now);
  // The stream is over (its connection closed): forgotten.
  void forget(ConnectionId id);

  Stream* by_id(ConnectionId id);
  Stream* by_key(std::string_view key);
  Stream* by_response(void* response);
  std::size_t size() const { return by_id_.size(); }
  template <class Visit>
  void for_each(Visit&& visit) {
    for (auto& [id, stream] : by_id_) visit(stream);
  }

  // POST /sse/{key}?n=N whose bearer token (checked by the caller) is `user`'s: the answer's
  // status (204 accepted: hand the body's lines to the connection) and, for refusals, the error
  // code and message (§5.5's table).
  struct PostVerdict {
    int status = 204;
    std::string code;
    std::string message;
  };
  PostVerdict admit_post(std::string_view key, std::optional<std::string_view> n_text, std::string_view user);

 private:
  const Settings& settings_;
  std::unordered_map<ConnectionId, Stream> by_id_;
  std::unordered_map<std::string, ConnectionId> by_key_;
  std::unordered_map<void*, ConnectionId> by_response_;
};

// Whether a POST's Content-Type is one §5.5 takes: text/plain or application/json, with
// parameters (charset) allowed, any case.
bool sse_post_content_type_ok(std::string_view content_type);

// The lines of a POST body: each non-empty line one message (CRLF or LF).
template <class Visit>
void for_each_sse_line(std::string_view body, Visit&& visit) {
  while (!body.empty()) {
    const std::size_t end = body.find('\n');
    std::string_view line = body.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) visit(line);
    if (end == std::string_view::npos) break;
    body.remove_prefix(end + 1);
  }
}

}  // namespace tandem::server
