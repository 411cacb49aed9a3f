// sse_test.cpp — the Server-Sent Events fallback (PROTOCOL.md §5.5) against a real
// tandem-server: native clients on the client core over an event stream and POSTs work with
// WebSocket clients in the same rooms (presence, locks, chat, edits); a stream cut by the
// network is taken up again with Last-Event-ID without losing or repeating an event; and every
// hostile stream or POST request gets the answer the table of §5.5 documents, changing nothing.
//
// (The durability test over SSE — kill -9 mid-stream — is durable_rooms_test's
// five_sse_clients_*; recovery with `since` over SSE is here.)
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "quiet_client.h"
#include "raw_client.h"
#include "server_test_support.h"
#include "tcp_cutter.h"
#include "tokens.h"

namespace tandem::integration {
namespace {

using native::Carrier;

constexpr const char* kRoom = "workflow:sse";
constexpr const char* kChat = "chat:sse";

// An event stream read with a raw socket: the request exactly as written, the events as sent.
struct RawStream {
  std::unique_ptr<RawClient> raw;
  RawHttpResponse head;
  std::string key;  // the stream id from its `stream` event
};

std::string stream_request(std::string_view target, std::string_view extra = {}) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n" +
         std::string(extra) + "\r\n";
}

std::string post_request(std::string_view target, std::string_view body, std::string_view headers) {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(headers) +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

class sse_test : public ServerTest {
 protected:
  explicit sse_test(std::vector<std::string> flags = {}) : ServerTest(std::move(flags)) {}
  static std::string token(const std::string& sub) { return mint_token({.sub = sub, .name = sub}); }

  // Opens a stream for `token` and waits for `connected` on it.
  RawStream open_stream(const std::string& bearer) {
    RawStream stream;
    stream.raw = std::make_unique<RawClient>(server.port());
    stream.raw->send(stream_request("/sse?token=" + bearer));
    stream.head = stream.raw->read_response();
    EXPECT_EQ(stream.head.status, 200);
    EXPECT_EQ(stream.head.header("content-type"), "text/event-stream");
    EXPECT_TRUE(stream.raw->wait_for_text("\"type\":\"connected\"")) << stream.raw->unread() << server.output();
    std::smatch match;
    const std::string unread = stream.raw->unread();
    if (std::regex_search(unread, match, std::regex("\"stream\":\"([^\"]+)\""))) stream.key = match[1];
    EXPECT_FALSE(stream.key.empty());
    return stream;
  }

  // One POST on a connection of its own; `headers` are whole lines.
  RawHttpResponse post(std::string_view target, std::string_view body, std::string_view headers) {
    RawClient raw(server.port());
    raw.send(post_request(target, body, headers));
    return raw.read_response();
  }
  RawHttpResponse post_as(const std::string& bearer, const RawStream& stream, int n, std::string_view body) {
    return post("/sse/" + stream.key + "?n=" + std::to_string(n), body,
                "Authorization: Bearer " + bearer + "\r\nContent-Type: text/plain\r\n");
  }

  // A stream request answered as a whole (a refusal): the response with its body.
  RawHttpResponse whole_stream_answer(std::string_view target, std::string_view extra = {}) {
    RawClient raw(server.port());
    raw.send(stream_request(target, extra));
    return raw.read_response();
  }

  std::unique_ptr<native::NativeClient> client(const std::string& sub, Carrier carrier, std::uint64_t seed) {
    return quiet_client(server.ws_url(), sub, seed, carrier);
  }
};

// ---- the session over SSE, beside WebSocket clients -------------------------------------------

TEST_F(sse_test, an_sse_client_and_a_websocket_client_share_presence_locks_chat_and_edits) {
  auto ana = client("ana", Carrier::ServerSentEvents, 1);
  auto ben = client("ben", Carrier::WebSocket, 2);
  ClientGroup both{ana.get(), ben.get()};
  ASSERT_TRUE(both.start_and_join(kRoom) && both.join(kChat)) << server.output();
  EXPECT_FALSE(ana->sse_transport().stream_id().empty());

  // Presence both ways.
  auto members = [](native::NativeClient& c) { return c.client().rooms().replica(kRoom)->members().size(); };
  ASSERT_TRUE(both.poll_until([&] { return members(*ana) == 2 && members(*ben) == 2; }));

  // A lock taken over SSE is seen (and refused) over the WebSocket.
  bool locked = false;
  ana->client().rooms().lock(kRoom, "n1", std::nullopt, [&](Result<LockAnswer> r) {
    locked = r.ok() && r.value().outcome == LockOutcome::Granted;
  });
  ASSERT_TRUE(both.poll_until([&] { return locked && ben->client().rooms().replica(kRoom)->locks().count("n1") == 1; }));
  std::optional<std::string> refusal;
  ben->client().rooms().lock(kRoom, "n1", std::nullopt, [&](Result<LockAnswer> r) {
    refusal = !r.ok() ? r.error().code : r.value().outcome == LockOutcome::Granted ? "granted" : "denied";
  });
  ASSERT_TRUE(both.poll_until([&] { return refusal.has_value(); }));
  EXPECT_EQ(*refusal, "denied");

  // Chat and an edit each way.
  ana->client().rooms().send_chat(kChat, "from sse", nullptr);
  ben->client().rooms().send_chat(kChat, "from ws", nullptr);
  protocol::Node node;
  node.id = "n1";
  node.type = "step";
  ana->client().rooms().create_node(kRoom, node, nullptr);
  auto chats = [](native::NativeClient& c) { return c.client().rooms().replica(kChat)->chat().size(); };
  ASSERT_TRUE(both.poll_until([&] {
    return chats(*ana) == 2 && chats(*ben) == 2 && ben->client().rooms().replica(kRoom)->document().node("n1");
  })) << server.output();
  both.shutdown();
}

TEST_F(sse_test, a_stream_cut_by_the_network_resumes_with_last_event_id_and_misses_nothing) {
  TcpCutter cutter(server.port());
  auto ana = quiet_client("ws://127.0.0.1:" + std::to_string(cutter.port()) + "/ws", "ana", 3, Carrier::ServerSentEvents);
  auto ben = client("ben", Carrier::WebSocket, 4);
  int closes = 0;
  ana->client().on_state = [&](const StateChange& change) {
    if (change.state == State::Reconnecting) ++closes;
  };
  ClientGroup both{ana.get(), ben.get()};
  ASSERT_TRUE(both.start_and_join(kChat)) << server.output();
  const std::string stream = ana->sse_transport().stream_id();

  cutter.cut();  // the stream (and any POST) reset, as a proxy or a lost network would
  for (int k = 0; k < 20; ++k) ben->client().rooms().send_chat(kChat, "m" + std::to_string(k), nullptr);
  auto chats = [](native::NativeClient& c) { return c.client().rooms().replica(kChat)->chat().size(); };
  ASSERT_TRUE(both.poll_until([&] { return chats(*ana) == 20; }, milliseconds{30000})) << server.output();
  EXPECT_EQ(closes, 0) << "the session should go on without a reconnect";
  EXPECT_EQ(ana->sse_transport().stream_id(), stream);
  EXPECT_GE(cutter.accepted(), 2);  // the stream came back through the cutter
  // And it still sends.
  ana->client().rooms().send_chat(kChat, "after", nullptr);
  ASSERT_TRUE(both.poll_until([&] { return chats(*ben) == 21; }));
  both.shutdown();
}

// A server that keeps no broken stream (sse_resume_ms 0): a cut stream cannot be taken up again,
// so the client reconnects over a new one and resumes its rooms with `since` (§6).
class sse_recovery_test : public sse_test {
 protected:
  sse_recovery_test() : sse_test({"--sse-resume-ms", "0"}) {}
};

TEST_F(sse_recovery_test, a_client_back_over_a_new_stream_gets_exactly_the_missed_events_with_since) {
  TcpCutter cutter(server.port());
  auto ana = quiet_client("ws://127.0.0.1:" + std::to_string(cutter.port()) + "/ws", "ana", 5, Carrier::ServerSentEvents);
  auto ben = client("ben", Carrier::WebSocket, 6);
  ClientGroup both{ana.get(), ben.get()};
  ASSERT_TRUE(both.start_and_join(kChat)) << server.output();
  ben->client().rooms().send_chat(kChat, "before", nullptr);
  auto chats = [](native::NativeClient& c) { return c.client().rooms().replica(kChat)->chat().size(); };
  ASSERT_TRUE(both.poll_until([&] { return chats(*ana) == 1; }));
  const std::string first_stream = ana->sse_transport().stream_id();

  std::optional<bool> recovered;
  ana->client().rooms().on_rejoined = [&](const protocol::Subscribed& s) { recovered = s.recovered; };
  cutter.refuse_for(std::chrono::minutes{5});  // Ana stays away while Ben writes
  cutter.cut();
  for (int k = 0; k < 5; ++k) ben->client().rooms().send_chat(kChat, "missed " + std::to_string(k), nullptr);
  ASSERT_TRUE(both.poll_until([&] { return chats(*ben) == 6; }));
  cutter.refuse_for(milliseconds{0});
  ASSERT_TRUE(both.poll_until([&] { return recovered.has_value() && chats(*ana) == 6; }, milliseconds{30000}))
      << server.output();
  EXPECT_TRUE(*recovered);
  EXPECT_NE(ana->sse_transport().stream_id(), first_stream);
  const auto& chat = ana->client().rooms().replica(kChat)->chat();
  for (int k = 0; k < 5; ++k) EXPECT_EQ(chat[static_cast<std::size_t>(k) + 1].text, "missed " + std::to_string(k));
  both.shutdown();
}

TEST_F(sse_test, a_long_session_of_posts_leaves_no_socket_behind) {
  auto ana = client("ana", Carrier::ServerSentEvents, 7);
  ASSERT_TRUE(ClientGroup{ana.get()}.start_and_join(kChat)) << server.output();
  auto open_descriptors = [] {
    int n = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) n += entry.exists() ? 1 : 0;
    return n;
  };
  // One request at a time, so each goes in a POST of its own (150: within the rate burst).
  const int before = open_descriptors();
  int answered = 0;
  for (int k = 0; k < 150; ++k) {
    ana->client().rooms().send_chat(kChat, "m" + std::to_string(k), [&](Result<Acked> r) {
      EXPECT_TRUE(r.ok()) << r.error().message;
      ++answered;
    });
    ASSERT_TRUE(ana->poll_until([&] { return answered == k + 1; }, kStepDeadline)) << k;
  }
  EXPECT_LE(open_descriptors(), before + 2);
  ana->shutdown();
}

// ---- hostile streams and POSTs: each gets its documented answer, nothing changes ----------------

TEST_F(sse_test, hostile_stream_requests_get_their_documented_answers) {
  // No token, an expired one, a forged one: a stream of one `close` 4401 saying why.
  for (const std::string& target : {std::string("/sse"), "/sse?token=" + expired_token(),
                                    "/sse?token=" + forged_token()}) {
    const RawHttpResponse answer = whole_stream_answer(target);
    EXPECT_EQ(answer.status, 200) << target;
    EXPECT_EQ(answer.header("content-type"), "text/event-stream");
    EXPECT_NE(answer.body.find("event: close\ndata: {\"code\":4401"), std::string::npos) << answer.body;
  }
  // Last-Event-ID naming no stream, or malformed: close 1012 (reconnect and resume the session).
  for (const char* id : {"nope:3", "garbage", ":", "abc:-1", "abc:99999999999999999999999"}) {
    const RawHttpResponse answer =
        whole_stream_answer("/sse?token=" + token("ana"), "Last-Event-ID: " + std::string(id) + "\r\n");
    EXPECT_NE(answer.body.find("\"code\":1012"), std::string::npos) << id << ": " << answer.body;
  }
  // Another user's token cannot take a stream over by its id; an expired token cannot resume
  // it (the client refreshes its token); an event number from the future is refused.
  RawStream ana = open_stream(token("ana"));
  const RawHttpResponse stolen =
      whole_stream_answer("/sse?token=" + token("ben"), "Last-Event-ID: " + ana.key + ":1\r\n");
  EXPECT_NE(stolen.body.find("\"code\":1012"), std::string::npos) << stolen.body;
  const RawHttpResponse expired =
      whole_stream_answer("/sse?token=" + expired_token(), "Last-Event-ID: " + ana.key + ":1\r\n");
  EXPECT_NE(expired.body.find("\"code\":4401"), std::string::npos) << expired.body;
  const RawHttpResponse future =
      whole_stream_answer("/sse?token=" + token("ana"), "Last-Event-ID: " + ana.key + ":999\r\n");
  EXPECT_NE(future.body.find("\"code\":1012"), std::string::npos) << future.body;
  // None of them disturbed the stream: it still answers.
  ASSERT_EQ(post_as(token("ana"), ana, 1, R"({"type":"ping","id":"still"})").status, 204);
  EXPECT_TRUE(ana.raw->wait_for_text("\"id\":\"still\"")) << ana.raw->unread();
  // Other methods and paths.
  EXPECT_EQ(post("/sse", "", "Content-Type: text/plain\r\n").status, 405);
  RawClient put(server.port());
  put.send("PUT /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(put.read_response().status, 405);
  RawClient get_key(server.port());
  get_key.send("GET /sse/" + ana.key + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(get_key.read_response().status, 405);
}

TEST_F(sse_test, hostile_posts_get_their_documented_answers_and_change_nothing) {
  RawStream ana = open_stream(token("ana"));
  const std::string good = "Authorization: Bearer " + token("ana") + "\r\nContent-Type: text/plain\r\n";
  const std::string path = "/sse/" + ana.key;
  const std::string chat = R"({"type":"subscribe","room":"chat:sse","id":"s1"})";

  struct Case {
    const char* what;
    std::string target, body, headers;
    int status;
    const char* code;
  };
  const std::vector<Case> cases = {
      {"unknown stream", "/sse/0123456789abcdef0123456789abcdef?n=1", chat, good, 404, "not_found"},
      {"someone else's stream", path + "?n=1", chat,
       "Authorization: Bearer " + token("ben") + "\r\nContent-Type: text/plain\r\n", 403, "forbidden"},
      {"no Authorization", path + "?n=1", chat, "Content-Type: text/plain\r\n", 401, "unauthorized"},
      {"another scheme", path + "?n=1", chat, "Authorization: Basic YTpi\r\nContent-Type: text/plain\r\n", 401,
       "unauthorized"},
      {"an expired token", path + "?n=1", chat,
       "Authorization: Bearer " + expired_token() + "\r\nContent-Type: text/plain\r\n", 401, "unauthorized"},
      {"a forged token", path + "?n=1", chat,
       "Authorization: Bearer " + forged_token({.sub = "ana"}) + "\r\nContent-Type: text/plain\r\n", 401,
       "unauthorized"},
      {"a binary body", path + "?n=1", "\x01\x02", "Authorization: Bearer " + token("ana") +
                                                       "\r\nContent-Type: application/octet-stream\r\n",
       415, "unsupported_media_type"},
      {"no Content-Type", path + "?n=1", chat, "Authorization: Bearer " + token("ana") + "\r\n", 415,
       "unsupported_media_type"},
      {"form data", path + "?n=1", chat,
       "Authorization: Bearer " + token("ana") + "\r\nContent-Type: application/x-www-form-urlencoded\r\n", 415,
       "unsupported_media_type"},
      {"no post number", path, chat, good, 400, "bad_request"},
      {"post number zero", path + "?n=0", chat, good, 400, "bad_request"},
      {"post number not a number", path + "?n=1x", chat, good, 400, "bad_request"},
      {"a post number skipping ahead", path + "?n=5", chat, good, 400, "bad_request"},
      {"an oversize body", path + "?n=1", std::string(300 * 1024, 'x'), good, 413, "too_big"},
      {"a path below the stream", path + "/x?n=1", chat, good, 405, "method_not_allowed"},
  };
  for (const Case& c : cases) {
    const RawHttpResponse answer = post(c.target, c.body, c.headers);
    EXPECT_EQ(answer.status, c.status) << c.what << ": " << answer.body;
    EXPECT_NE(answer.body.find(std::string("\"error\":\"") + c.code + "\""), std::string::npos)
        << c.what << ": " << answer.body;
  }
  // Chunked bodies and no Content-Length: refused before routing (§14) or 411.
  RawClient chunked(server.port());
  chunked.send("POST " + path + "?n=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n" + good +
               "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.read_response().status, 400);
  RawClient no_length(server.port());
  no_length.send("POST " + path + "?n=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n" + good + "\r\n");
  EXPECT_EQ(no_length.read_response().status, 411);

  // None of the above reached the connection: POST 1 is still the next one, and is applied.
  ASSERT_EQ(post_as(token("ana"), ana, 1, chat + "\n" + R"({"type":"chat","room":"chat:sse","text":"once","id":"c1"})")
                .status,
            204);
  ASSERT_TRUE(ana.raw->wait_for_text("\"type\":\"ack\",\"id\":\"c1\"")) << ana.raw->unread();
  // Replayed: 409, nothing applied again (no second ack, no second message).
  const RawHttpResponse replay =
      post_as(token("ana"), ana, 1, R"({"type":"chat","room":"chat:sse","text":"twice","id":"c2"})");
  EXPECT_EQ(replay.status, 409);
  EXPECT_NE(replay.body.find("\"error\":\"replayed\""), std::string::npos);
  // Malformed lines are the connection's errors, as on a WebSocket; it stays open.
  ASSERT_EQ(post_as(token("ana"), ana, 2, "{not json\n" + std::string(70 * 1024, ' ') + "{}\n" +
                                              R"({"type":"ping","id":"p1"})")
                .status,
            204);
  ASSERT_TRUE(ana.raw->wait_for_text("\"type\":\"pong\",\"id\":\"p1\"")) << ana.raw->unread();
  EXPECT_NE(ana.raw->unread().find("\"code\":\"bad_json\""), std::string::npos);
  EXPECT_NE(ana.raw->unread().find("\"code\":\"too_big\""), std::string::npos);
  EXPECT_EQ(ana.raw->unread().find("twice"), std::string::npos);
  EXPECT_EQ(ana.raw->unread().find("\"id\":\"c2\""), std::string::npos);
}

TEST_F(sse_test, a_post_to_a_stream_that_ended_is_404) {
  RawStream ana = open_stream(token("ana"));
  // The server ends the stream: more malformed messages than max_bad_frames (20) close 4400, as
  // on a WebSocket.
  std::string garbage;
  for (int k = 0; k < 25; ++k) garbage += "{\n";
  ASSERT_EQ(post_as(token("ana"), ana, 1, garbage).status, 204);
  ASSERT_TRUE(ana.raw->wait_for_text("event: close\ndata: {\"code\":4400")) << ana.raw->unread();
  EXPECT_EQ(ana.raw->wait_end(), RawEnding::Fin);
  EXPECT_EQ(post_as(token("ana"), ana, 2, R"({"type":"ping"})").status, 404);
}

}  // namespace
}  // namespace tandem::integration
