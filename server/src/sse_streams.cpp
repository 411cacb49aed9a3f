// server/src/sse_streams.cpp — see sse_streams.h.
#include "sse_streams.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "tandem/json.h"

namespace tandem::server {

namespace {

constexpr std::string_view kIdLine = "id: ";
constexpr std::string_view kDataLine = "data: ";

// Appends `text` as "data:" lines: every CR, LF or CRLF starts a new one.
void append_data_lines(std::string& out, std::string_view text) {
  out += kDataLine;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += '\n';
      out += kDataLine;
    } else {
      out += c;
    }
  }
  out += '\n';
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  if (text.empty() || text.size() > 19) return std::nullopt;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string sse_message_event(std::string_view stream, std::uint64_t n, std::string_view frame) {
  std::string out;
  out.reserve(frame.size() + stream.size() + 32);
  out += kIdLine;
  out += stream;
  out += ':';
  out += std::to_string(n);
  out += '\n';
  append_data_lines(out, frame);
  out += '\n';
  return out;
}

std::string sse_named_event(std::string_view name, std::string_view data) {
  std::string out = "event: ";
  out += name;
  out += '\n';
  append_data_lines(out, data);
  out += '\n';
  return out;
}

std::string sse_close_event(int code, std::string_view reason) {
  json::JsonWriter data;
  data.int64("code", code).str("reason", reason);
  return sse_named_event("close", std::move(data).finish());
}

std::optional<LastEventId> parse_last_event_id(std::string_view header) {
  const std::size_t colon = header.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto n = parse_number(header.substr(colon + 1));
  if (!n) return std::nullopt;
  return LastEventId{std::string(header.substr(0, colon)), *n};
}

std::string_view sse_stream_instance(std::string_view stream) {
  const std::size_t dot = stream.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : stream.substr(0, dot);
}

SseStreams::Stream& SseStreams::open(ConnectionId id, std::string_view instance, std::string random, std::string user,
                                     std::string client_address, void* response, Millis now) {
  Stream& stream = by_id_[id];
  stream.id = id;
  stream.key = instance.empty() ? std::move(random) : std::string(instance) + "." + random;
  stream.user = std::move(user);
  stream.client_address = std::move(client_address);
  stream.response = response;
  stream.last_write = now;
  json::JsonWriter hello;
  hello.str("stream", stream.key)
      .int64("heartbeat_ms", settings_.sse_heartbeat_ms)
      .int64("resume_ms", settings_.sse_resume_ms);
  stream.pending = sse_named_event("stream", std::move(hello).finish());
  by_key_[stream.key] = id;
  if (response) by_response_[response] = id;
  return stream;
}

SseStreams::Resume SseStreams::attach(const LastEventId& last, void* response, Millis now, void** previous) {
  *previous = nullptr;
  Stream* stream = by_key(last.stream);
  if (!stream || stream->ending || last.n >= stream->next_n) return Resume::NotResumable;
  // Every event after last.n must still be held (none were sent after it: nothing to hold).
  const bool complete = last.n + 1 == stream->next_n || (!stream->sent.empty() && stream->sent.front().n <= last.n + 1);
  if (!complete) return Resume::NotResumable;
  if (stream->response) {
    *previous = stream->response;
    by_response_.erase(stream->response);
  }
  stream->response = response;
  by_response_[response] = stream->id;
  stream->last_write = now;
  stream->pending.clear();
  for (const Event& event : stream->sent)
    if (event.n > last.n) stream->pending += event.bytes;
  return Resume::Resumed;
}

const std::string& SseStreams::next_event(Stream& stream, std::string_view frame) {
  Event event{stream.next_n++, sse_message_event(stream.key, stream.next_n - 1, frame)};
  stream.sent_bytes += event.bytes.size();
  stream.sent.push_back(std::move(event));
  const auto limit = static_cast<std::size_t>(std::max<std::int64_t>(0, settings_.sse_replay_bytes));
  // The newest event stays even when alone it is over the limit: it is the one being written.
  while (stream.sent.size() > 1 && stream.sent_bytes > limit) {
    stream.sent_bytes -= stream.sent.front().bytes.size();
    stream.sent.pop_front();
  }
  return stream.sent.back().bytes;
}

void SseStreams::detach(Stream& stream, Millis now) {
  if (stream.response) by_response_.erase(stream.response);
  stream.response = nullptr;
  stream.pending.clear();
  stream.detached_at = now;
}

std::vector<SseStreams::Stream> SseStreams::expired(Millis now) {
  std::vector<ConnectionId> ids;
  for (const auto& [id, stream] : by_id_)
    if (!stream.response && now - stream.detached_at >= Millis(settings_.sse_resume_ms)) ids.push_back(id);
  std::vector<Stream> gone;
  for (ConnectionId id : ids) {
    auto node = by_id_.extract(id);
    by_key_.erase(node.mapped().key);
    gone.push_back(std::move(node.mapped()));
  }
  return gone;
}

void SseStreams::forget(ConnectionId id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  by_key_.erase(it->second.key);
  if (it->second.response) by_response_.erase(it->second.response);
  by_id_.erase(it);
}

SseStreams::Stream* SseStreams::by_id(ConnectionId id) {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

SseStreams::Stream* SseStreams::by_key(std::string_view key) {
  auto it = by_key_.find(std::string(key));
  return it == by_key_.end() ? nullptr : by_id(it->second);
}

SseStreams::Stream* SseStreams::by_response(void* response) {
  auto it = by_response_.find(response);
  return it == by_response_.end() ? nullptr : by_id(it->second);
}

SseStreams::PostVerdict SseStreams::admit_post(std::string_view key, std::optional<std::string_view> n_text,
                                               std::string_view user) {
  Stream* stream = by_key(key);
  if (!stream || stream->ending) return {404, "not_found", "no such stream (ended, or its resume time ran out)"};
  if (user != stream->user) return {403, "forbidden", "this stream belongs to another user"};
  const auto n = n_text ? parse_number(*n_text) : std::nullopt;
  if (!n || *n == 0) return {400, "bad_request", "?n= must number the stream's POSTs from 1"};
  if (*n <= stream->posts)
    return {409, "replayed", "POST " + std::to_string(*n) + " was already received; nothing applied"};
  if (*n != stream->posts + 1)
    return {400, "bad_request",
            "POST " + std::to_string(*n) + " is out of order: the next is " + std::to_string(stream->posts + 1)};
  stream->posts = *n;
  return {};
}

bool sse_post_content_type_ok(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  auto same = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  };
  return same(type, "text/plain") || same(type, "application/json");
}

}  // namespace tandem::server
