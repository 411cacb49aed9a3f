// sse_streams_test.cpp — the rules of the SSE fallback (PROTOCOL.md §5.5) without sockets: how
// frames become events, what Last-Event-ID resumes, how long a broken stream waits, and the
// answers of §5.5's POST table.
#include "sse_streams.h"

#include <gtest/gtest.h>

namespace tandem::server {
namespace {

TEST(sse_events_test, a_frame_is_one_event_and_its_line_breaks_become_data_lines) {
  EXPECT_EQ(sse_message_event("k", 3, R"({"type":"ack"})"), "id: k:3\ndata: {\"type\":\"ack\"}\n\n");
  EXPECT_EQ(sse_message_event("k", 4, "[1,\n2,\r\n3,\r4]"), "id: k:4\ndata: [1,\ndata: 2,\ndata: 3,\ndata: 4]\n\n");
  EXPECT_EQ(sse_close_event(4401, "token \"expired\""),
            "event: close\ndata: {\"code\":4401,\"reason\":\"token \\\"expired\\\"\"}\n\n");
}

TEST(sse_events_test, last_event_id_names_a_stream_and_an_event_number) {
  auto last = parse_last_event_id("i1.abc:42");
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->stream, "i1.abc");
  EXPECT_EQ(last->n, 42u);
  for (const char* bad : {"", "abc", ":3", "abc:", "abc:x", "abc:-1", "abc:3 ", "abc:99999999999999999999"})
    EXPECT_FALSE(parse_last_event_id(bad).has_value()) << bad;
  EXPECT_EQ(sse_stream_instance("i1.abc"), "i1");
  EXPECT_EQ(sse_stream_instance("host.a.abc"), "host.a");
  EXPECT_EQ(sse_stream_instance("abc"), "");
}

TEST(sse_events_test, post_content_types) {
  for (const char* ok : {"text/plain", "text/plain; charset=utf-8", "Application/JSON", " application/json ;x=y"})
    EXPECT_TRUE(sse_post_content_type_ok(ok)) << ok;
  for (const char* bad : {"", "application/octet-stream", "text/plainx", "multipart/form-data", "text/html"})
    EXPECT_FALSE(sse_post_content_type_ok(bad)) << bad;
  std::vector<std::string> lines;
  for_each_sse_line("a\n\r\nb\r\n\nc", [&](std::string_view line) { lines.emplace_back(line); });
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b", "c"}));
}

class sse_streams_test : public ::testing::Test {
 protected:
  sse_streams_test() {
    settings.sse_resume_ms = 1000;
    settings.sse_replay_bytes = 200;
  }
  Settings settings;
  SseStreams streams{settings};
  int response_a = 0, response_b = 0;  // stand-ins for the edge's response handles
};

TEST_F(sse_streams_test, a_stream_starts_with_its_stream_event_and_numbers_events_from_one) {
  SseStreams::Stream& s = streams.open(7, "", "abc", "ana", "10.0.0.1", &response_a, Millis{0});
  EXPECT_EQ(s.key, "abc");
  EXPECT_EQ(s.pending.rfind("event: stream\ndata: {\"stream\":\"abc\"", 0), 0u) << s.pending;
  EXPECT_EQ(streams.next_event(s, "{}"), "id: abc:1\ndata: {}\n\n");
  EXPECT_EQ(streams.next_event(s, "{}"), "id: abc:2\ndata: {}\n\n");
  EXPECT_EQ(streams.open(8, "i2", "def", "ben", "", nullptr, Millis{0}).key, "i2.def");
  EXPECT_EQ(streams.by_response(&response_a), &s);
  EXPECT_EQ(streams.by_key("i2.def")->id, 8u);
}

TEST_F(sse_streams_test, a_resume_replays_exactly_the_events_after_last_event_id) {
  SseStreams::Stream& s = streams.open(7, "", "abc", "ana", "", &response_a, Millis{0});
  for (int k = 0; k < 3; ++k) streams.next_event(s, "{\"k\":" + std::to_string(k) + "}");
  streams.detach(s, Millis{100});
  EXPECT_EQ(streams.by_response(&response_a), nullptr);
  void* previous = nullptr;
  ASSERT_EQ(streams.attach({"abc", 1}, &response_b, Millis{200}, &previous), SseStreams::Resume::Resumed);
  EXPECT_EQ(previous, nullptr);
  EXPECT_EQ(s.pending, "id: abc:2\ndata: {\"k\":1}\n\nid: abc:3\ndata: {\"k\":2}\n\n");
  // A second GET takes the stream over; the first response is handed back to be ended.
  ASSERT_EQ(streams.attach({"abc", 3}, &response_a, Millis{300}, &previous), SseStreams::Resume::Resumed);
  EXPECT_EQ(previous, &response_b);
  EXPECT_EQ(s.pending, "");
  // The future, another stream: not resumable.
  EXPECT_EQ(streams.attach({"abc", 4}, &response_b, Millis{300}, &previous), SseStreams::Resume::NotResumable);
  EXPECT_EQ(streams.attach({"zzz", 0}, &response_b, Millis{300}, &previous), SseStreams::Resume::NotResumable);
}

TEST_F(sse_streams_test, events_dropped_from_the_replay_window_make_a_stream_not_resumable) {
  SseStreams::Stream& s = streams.open(7, "", "abc", "ana", "", &response_a, Millis{0});
  for (int k = 0; k < 20; ++k) streams.next_event(s, std::string(30, 'x'));  // 200 bytes keep ~4 of them
  EXPECT_LE(s.sent_bytes, 200u);
  EXPECT_GT(s.sent.front().n, 2u);
  void* previous = nullptr;
  EXPECT_EQ(streams.attach({"abc", 1}, &response_b, Millis{0}, &previous), SseStreams::Resume::NotResumable);
  EXPECT_EQ(streams.attach({"abc", s.sent.front().n - 1}, &response_b, Millis{0}, &previous),
            SseStreams::Resume::Resumed);
}

TEST_F(sse_streams_test, a_detached_stream_expires_after_sse_resume_ms) {
  SseStreams::Stream& s = streams.open(7, "", "abc", "ana", "10.0.0.1", &response_a, Millis{0});
  streams.detach(s, Millis{100});
  EXPECT_TRUE(streams.expired(Millis{1099}).empty());
  auto gone = streams.expired(Millis{1100});
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].id, 7u);
  EXPECT_EQ(gone[0].client_address, "10.0.0.1");
  EXPECT_EQ(streams.by_key("abc"), nullptr);
  EXPECT_EQ(streams.size(), 0u);
}

TEST_F(sse_streams_test, posts_follow_the_table_of_protocol_5_5) {
  streams.open(7, "", "abc", "ana", "", &response_a, Millis{0});
  EXPECT_EQ(streams.admit_post("nope", "1", "ana").status, 404);
  EXPECT_EQ(streams.admit_post("abc", "1", "ben").status, 403);
  EXPECT_EQ(streams.admit_post("abc", std::nullopt, "ana").status, 400);
  EXPECT_EQ(streams.admit_post("abc", "0", "ana").status, 400);
  EXPECT_EQ(streams.admit_post("abc", "2", "ana").status, 400);  // 1 comes first
  EXPECT_EQ(streams.admit_post("abc", "1", "ana").status, 204);
  const auto replay = streams.admit_post("abc", "1", "ana");
  EXPECT_EQ(replay.status, 409);
  EXPECT_EQ(replay.code, "replayed");
  EXPECT_EQ(streams.admit_post("abc", "2", "ana").status, 204);
  streams.by_key("abc")->ending = true;
  EXPECT_EQ(streams.admit_post("abc", "3", "ana").status, 404);
}

}  // namespace
}  // namespace tandem::server
