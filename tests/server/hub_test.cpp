// tests/server/hub_test.cpp — the connection rules of issue 2, driven through a fake edge:
// auth first (URL token or `auth` message), auth timeout, ping/pong, malformed input keeps
// the connection, too many bad frames, refused frames, batching, slow consumers, shutdown.
#include "hub.h"

#include <gtest/gtest.h>

#include "fakes.h"

namespace tandem::server {
namespace {

using testing::kSecret;

constexpr UnixMillis kWallStart = 1700000000000;

class HubTest : public ::testing::Test {
 protected:
  HubTest() : hub_(settings(), ids_, edge_) {}

  static Settings settings() {
    Settings s;
    s.jwt_secret = std::string(kSecret);
    s.auth_timeout_ms = 10000;
    s.max_bad_frames = 3;
    s.max_frame_bytes = 1000;
    s.max_outbound_bytes = 4096;
    s.max_batch_bytes = 1024;
    return s;
  }

  Now now() const { return Now{mono_, kWallStart + mono_.count()}; }
  void advance(Millis by) { mono_ += by; }

  std::string valid_token() const { return testing::token_for("alice", kWallStart / 1000 + 3600); }

  ConnectionId open_with_token() {
    OpenRequest request;
    request.token = valid_token();
    return hub_.open(request, now());
  }
  ConnectionId open_without_token() { return hub_.open(OpenRequest{}, now()); }

  // Everything queued for `id`, decoded; batches are flattened.
  std::vector<protocol::ServerFrame> drain(ConnectionId id) {
    std::vector<protocol::ServerFrame> out;
    while (Bytes frame = hub_.next_frame(id)) {
      for (auto& decoded : protocol::decode_server(*frame)) {
        EXPECT_TRUE(decoded.ok()) << *frame;
        if (decoded.ok()) out.push_back(std::move(decoded).value());
      }
    }
    return out;
  }

  template <class M>
  static const M& as(const protocol::ServerFrame& frame) {
    EXPECT_TRUE(std::holds_alternative<M>(frame.message)) << "got " << protocol::type_of(frame.message);
    static const M empty{};
    return std::holds_alternative<M>(frame.message) ? std::get<M>(frame.message) : empty;
  }

  // The error of the single frame queued for `id`.
  protocol::ErrorReply single_error(ConnectionId id, std::optional<std::string>* request_id = nullptr) {
    auto frames = drain(id);
    EXPECT_EQ(frames.size(), 1u);
    if (frames.empty()) return {};
    if (request_id) *request_id = frames[0].id;
    return as<protocol::ErrorReply>(frames[0]);
  }

  void expect_close(ConnectionId id, int code, std::string_view reason) {
    const CloseRequest* close = hub_.close_request(id);
    ASSERT_NE(close, nullptr) << "no close requested";
    EXPECT_EQ(close->code, code);
    EXPECT_EQ(close->reason, reason);
  }

  Millis mono_{1000};
  testing::FakeEdge edge_;
  testing::CountingIds ids_;
  Hub hub_;
};

TEST_F(HubTest, url_token_authenticates_at_once_and_connected_is_the_first_frame) {
  const ConnectionId id = open_with_token();
  auto frames = drain(id);
  ASSERT_EQ(frames.size(), 1u);
  const auto& connected = as<protocol::Connected>(frames[0]);
  EXPECT_EQ(connected.connection_id, "c" + std::to_string(id));
  EXPECT_EQ(connected.session, "s-1");
  EXPECT_FALSE(connected.resumed);
  EXPECT_EQ(connected.user, (protocol::UserInfo{"alice", "Ana", "#112233"}));
  EXPECT_EQ(connected.heartbeat_ms, 25000);
  EXPECT_EQ(connected.limits, (protocol::Limits{1000, 64, 100}));
  EXPECT_EQ(connected.server_version, TANDEM_SERVER_VERSION);
  EXPECT_EQ(hub_.close_request(id), nullptr);
  EXPECT_EQ(hub_.stats().authenticated, 1u);
}

TEST_F(HubTest, name_and_color_default_from_the_token_sub) {
  jwt::Claims claims;
  claims.sub = "bob";
  claims.exp = kWallStart / 1000 + 60;
  OpenRequest request;
  request.token = jwt::mint(claims, kSecret);
  const ConnectionId id = hub_.open(request, now());
  auto frames = drain(id);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(as<protocol::Connected>(frames[0]).user, (protocol::UserInfo{"bob", "bob", color_for("bob")}));
}

TEST_F(HubTest, bad_url_token_closes_4401_with_the_reason_and_sends_nothing) {
  OpenRequest request;
  request.token = testing::token_for("alice", kWallStart / 1000 + 3600, "a-different-secret-0123456789abcdef");
  const ConnectionId id = hub_.open(request, now());
  expect_close(id, 4401, "bad signature");
  EXPECT_TRUE(drain(id).empty());
}

TEST_F(HubTest, expired_url_token_closes_4401_token_expired) {
  OpenRequest request;
  request.token = testing::token_for("alice", kWallStart / 1000 - 3600);
  const ConnectionId id = hub_.open(request, now());
  expect_close(id, 4401, "token expired");
}

TEST_F(HubTest, auth_message_authenticates_a_connection_opened_without_token) {
  const ConnectionId id = open_without_token();
  EXPECT_TRUE(drain(id).empty());  // nothing before auth
  hub_.receive(id, R"({"type":"auth","token":")" + valid_token() + R"("})", now());
  auto frames = drain(id);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(as<protocol::Connected>(frames[0]).user.id, "alice");
  EXPECT_EQ(hub_.close_request(id), nullptr);
}

TEST_F(HubTest, connected_echoes_the_auth_message_id) {
  const ConnectionId id = open_without_token();
  hub_.receive(id, R"({"type":"auth","id":"a1","token":")" + valid_token() + R"("})", now());
  auto frames = drain(id);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].id, "a1");
  EXPECT_EQ(as<protocol::Connected>(frames[0]).user.id, "alice");
}

TEST_F(HubTest, auth_message_with_bad_token_closes_4401) {
  const ConnectionId id = open_without_token();
  hub_.receive(id, R"({"type":"auth","token":"not-a-jwt-at-all"})", now());
  expect_close(id, 4401, "malformed token: expected three base64url parts");
}

TEST_F(HubTest, any_other_message_before_auth_closes_4401_authenticate_first) {
  const ConnectionId ping = open_without_token();
  hub_.receive(ping, R"({"type":"ping","id":"1"})", now());
  expect_close(ping, 4401, "authenticate first");
  EXPECT_TRUE(drain(ping).empty());

  const ConnectionId garbage = open_without_token();
  hub_.receive(garbage, "nonsense", now());
  expect_close(garbage, 4401, "authenticate first: malformed JSON near byte 0");

  const ConnectionId big = open_without_token();
  hub_.refuse(big, FrameProblem::TooBig, 5000, now());
  expect_close(big, 4401, "authenticate first");
}

TEST_F(HubTest, input_after_a_close_request_is_ignored) {
  const ConnectionId id = open_without_token();
  hub_.receive(id, R"({"type":"ping"})", now());
  hub_.receive(id, R"({"type":"auth","token":")" + valid_token() + R"("})", now());
  expect_close(id, 4401, "authenticate first");
  EXPECT_TRUE(drain(id).empty());
}

TEST_F(HubTest, no_auth_within_auth_timeout_closes_4408) {
  const ConnectionId id = open_without_token();
  advance(Millis(9999));
  hub_.tick(now());
  EXPECT_EQ(hub_.close_request(id), nullptr);
  advance(Millis(1));
  hub_.tick(now());
  expect_close(id, 4408, "no auth within 10000 ms");
}

TEST_F(HubTest, authenticated_connections_outlive_the_auth_timeout) {
  const ConnectionId id = open_without_token();
  hub_.receive(id, R"({"type":"auth","token":")" + valid_token() + R"("})", now());
  advance(Millis(60000));
  hub_.tick(now());
  EXPECT_EQ(hub_.close_request(id), nullptr);
}

TEST_F(HubTest, ping_is_answered_with_pong_carrying_id_and_server_time) {
  const ConnectionId id = open_with_token();
  drain(id);
  advance(Millis(250));
  hub_.receive(id, R"({"type":"ping","id":"p-1"})", now());
  hub_.receive(id, R"({"type":"ping"})", now());
  auto frames = drain(id);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].id, "p-1");
  EXPECT_EQ(as<protocol::Pong>(frames[0]).ts, now().wall);
  EXPECT_FALSE(frames[1].id.has_value());
}

TEST_F(HubTest, malformed_messages_get_errors_and_the_connection_stays) {
  const ConnectionId id = open_with_token();
  drain(id);

  hub_.receive(id, "{not json", now());
  EXPECT_EQ(single_error(id).code, "bad_json");

  std::optional<std::string> request_id;
  hub_.receive(id, R"({"type":"teleport","id":"t1"})", now());
  auto unknown = single_error(id, &request_id);
  EXPECT_EQ(unknown.code, "unknown_type");
  EXPECT_EQ(request_id, "t1");

  hub_.receive(id, R"({"type":"ping","id":"has space"})", now());
  EXPECT_EQ(single_error(id).code, "invalid_message");

  EXPECT_EQ(hub_.close_request(id), nullptr);
}

TEST_F(HubTest, second_auth_is_an_error_not_a_relogin) {
  const ConnectionId id = open_with_token();
  drain(id);
  hub_.receive(id, R"({"type":"auth","id":"a2","token":")" + valid_token() + R"("})", now());
  std::optional<std::string> request_id;
  auto error = single_error(id, &request_id);
  EXPECT_EQ(error.code, "invalid_message");
  EXPECT_EQ(error.message, "already authenticated");
  EXPECT_EQ(request_id, "a2");
}

TEST_F(HubTest, too_many_bad_frames_in_a_minute_close_4400_after_the_errors) {
  const ConnectionId id = open_with_token();
  drain(id);
  for (int i = 0; i < 3; ++i) hub_.receive(id, "bad", now());  // max_bad_frames = 3: still fine
  EXPECT_EQ(hub_.close_request(id), nullptr);
  hub_.receive(id, "bad", now());
  expect_close(id, 4400, "more than 3 bad messages in a minute");
  EXPECT_EQ(drain(id).size(), 3u);  // the three errors still go out before the close
}

TEST_F(HubTest, bad_frames_older_than_a_minute_are_forgotten) {
  const ConnectionId id = open_with_token();
  for (int i = 0; i < 3; ++i) hub_.receive(id, "bad", now());
  advance(kBadFrameWindow);
  for (int i = 0; i < 3; ++i) hub_.receive(id, "bad", now());
  EXPECT_EQ(hub_.close_request(id), nullptr);
}

TEST_F(HubTest, refused_frames_are_errors_or_closes) {
  const ConnectionId id = open_with_token();
  drain(id);
  hub_.refuse(id, FrameProblem::TooBig, 70000, now());
  auto too_big = single_error(id);
  EXPECT_EQ(too_big.code, "too_big");
  EXPECT_EQ(too_big.message, "message of 70000 bytes exceeds max_frame_bytes 1000");
  hub_.refuse(id, FrameProblem::WrongKind, 3, now());
  EXPECT_EQ(single_error(id).code, "invalid_message");
  EXPECT_EQ(hub_.close_request(id), nullptr);

  hub_.receive(id, std::string(1001, ' '), now());  // the hub checks the bound too
  EXPECT_EQ(single_error(id).code, "too_big");

  hub_.refuse(id, FrameProblem::OverHardLimit, 2000000, now());
  expect_close(id, 1009, "message over 1048576 bytes");
}

TEST_F(HubTest, queued_messages_go_out_as_one_batch_frame) {
  const ConnectionId id = open_with_token();
  for (int i = 0; i < 3; ++i) hub_.receive(id, R"({"type":"ping","id":"b)" + std::to_string(i) + R"("})", now());
  Bytes frame = hub_.next_frame(id);
  ASSERT_NE(frame, nullptr);
  EXPECT_EQ(frame->front(), '[');
  auto decoded = protocol::decode_server(*frame);
  ASSERT_EQ(decoded.size(), 4u);  // connected + 3 pongs
  EXPECT_TRUE(std::holds_alternative<protocol::Connected>(decoded[0].value().message));
  EXPECT_EQ(decoded[3].value().id, "b2");
  EXPECT_EQ(hub_.next_frame(id), nullptr);
}

TEST_F(HubTest, a_single_queued_message_is_sent_as_the_same_shared_bytes) {
  const ConnectionId id = open_with_token();
  drain(id);
  auto connection = hub_.find(id);
  auto bytes = std::make_shared<const std::string>(R"({"type":"ack","id":"x"})");
  hub_.send(*connection, bytes);
  EXPECT_EQ(hub_.next_frame(id), bytes);  // same pointer: encoded once, never copied
}

TEST_F(HubTest, batches_respect_max_batch_bytes) {
  const ConnectionId id = open_with_token();
  drain(id);
  auto connection = hub_.find(id);
  const std::string message = R"({"type":"ack","id":")" + std::string(400, 'a') + R"("})";
  for (int i = 0; i < 3; ++i) hub_.send(*connection, std::make_shared<const std::string>(message));
  std::vector<std::size_t> sizes;
  while (Bytes frame = hub_.next_frame(id)) sizes.push_back(protocol::decode_server(*frame).size());
  EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 1}));  // 2 x 420 B fit in 1024, the third does not
}

TEST_F(HubTest, wake_is_called_once_per_drain_cycle) {
  const ConnectionId id = open_with_token();  // connected queued: one wake
  EXPECT_EQ(edge_.wakes, std::vector<ConnectionId>{id});
  hub_.receive(id, R"({"type":"ping"})", now());
  EXPECT_EQ(edge_.wakes.size(), 1u);  // not yet drained: no second wake
  drain(id);
  hub_.receive(id, R"({"type":"ping"})", now());
  EXPECT_EQ(edge_.wakes.size(), 2u);
}

TEST_F(HubTest, slow_consumer_is_closed_4508_and_its_queue_dropped) {
  const ConnectionId id = open_with_token();
  auto connection = hub_.find(id);
  auto chunk = std::make_shared<const std::string>(std::string(1000, 'x'));
  for (int i = 0; i < 5; ++i) hub_.send(*connection, chunk);  // 4096-byte bound
  expect_close(id, 4508, "slow consumer");
  EXPECT_EQ(hub_.close_request(id)->queued, QueuedFrames::Drop);
  EXPECT_EQ(hub_.next_frame(id), nullptr);
}

TEST_F(HubTest, shutdown_closes_everyone_1012_and_refuses_newcomers) {
  const ConnectionId a = open_with_token();
  const ConnectionId b = open_without_token();
  hub_.shutdown();
  expect_close(a, 1012, "restart");
  expect_close(b, 1012, "restart");
  const ConnectionId late = open_with_token();
  expect_close(late, 1012, "restart");
  EXPECT_TRUE(drain(late).empty());
}

TEST_F(HubTest, closed_connections_are_forgotten) {
  const ConnectionId a = open_with_token();
  const ConnectionId b = open_without_token();
  EXPECT_EQ(hub_.stats().connections, 2u);
  EXPECT_EQ(hub_.stats().authenticated, 1u);
  hub_.closed(a);
  hub_.closed(b);
  EXPECT_EQ(hub_.stats().connections, 0u);
  EXPECT_EQ(hub_.stats().authenticated, 0u);
  EXPECT_EQ(hub_.find(a), nullptr);
  hub_.receive(a, R"({"type":"ping"})", now());  // late input for a gone connection: ignored
  hub_.tick(Now{mono_ + Millis(20000), 0});     // its auth deadline: ignored
  EXPECT_EQ(hub_.next_frame(b), nullptr);
}

TEST(hub_test, registrations_supply_handlers_and_lifecycle_hooks) {
  Settings settings;
  settings.jwt_secret = std::string(kSecret);
  testing::FakeEdge edge;
  testing::CountingIds ids;
  std::vector<std::string> events;
  Hub hub(settings, ids, edge, [&](HandlerRegistry& registry) {
    registry.on<protocol::Auth>([](HandlerContext& ctx, const protocol::Auth& auth) {
      ctx.hub.authenticate(ctx.connection, auth.token, auth.session, ctx.now);
    });
    registry.on<protocol::Ping>([&](HandlerContext& ctx, const protocol::Ping&) {
      events.push_back("ping " + ctx.frame.id.value_or("-"));
      ctx.ack();
    });
    registry.on_disconnect([&](Hub&, Connection& c) { events.push_back("gone " + c.user.id); });
    registry.on_tick([&](Hub&, Now now) { events.push_back("tick " + std::to_string(now.mono.count())); });
  });
  OpenRequest request;
  request.token = testing::token_for("alice", kWallStart / 1000 + 60);
  const Now now{Millis(5), kWallStart};
  const ConnectionId id = hub.open(request, now);
  hub.next_frame(id);  // connected
  hub.receive(id, R"({"type":"ping","id":"k"})", now);
  Bytes ack = hub.next_frame(id);
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(*ack, R"({"type":"ack","id":"k"})");

  // A type the codec knows but this registration does not handle.
  hub.receive(id, R"({"type":"subscribe","id":"s","room":"chat:lobby"})", now);
  Bytes error = hub.next_frame(id);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(error->find(R"("code":"unknown_type")"), std::string::npos) << *error;

  hub.tick(Now{Millis(7), kWallStart});
  hub.closed(id);
  EXPECT_EQ(events, (std::vector<std::string>{"ping k", "tick 7", "gone alice"}));
}

TEST(hub_test, frame_queue_stays_fifo_while_it_never_empties) {
  FrameQueue queue;
  int pushed = 0, taken = 0;
  auto push = [&] { queue.push(std::make_shared<const std::string>(std::to_string(pushed++))); };
  for (int i = 0; i < 10; ++i) push();
  for (int round = 0; round < 1000; ++round) {  // steady stream: compaction runs many times
    push();
    ASSERT_EQ(*queue.take_front(), std::to_string(taken++));
  }
  EXPECT_EQ(queue.count(), 10u);
  while (!queue.empty()) EXPECT_EQ(*queue.take_front(), std::to_string(taken++));
  EXPECT_EQ(taken, pushed);
}

TEST(hub_test, close_reasons_are_cut_to_123_bytes_on_a_character_boundary) {
  EXPECT_EQ(close_reason("short"), "short");
  EXPECT_EQ(close_reason(std::string(200, 'a')).size(), 123u);
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "é";  // 2 bytes each
  EXPECT_EQ(close_reason(accents).size(), 122u);
}

TEST(hub_test, close_reasons_quoting_broken_utf8_keep_only_the_valid_prefix) {
  // A reason that quotes client input cut mid-character ("\xc3" alone) must still be UTF-8,
  // or the peer fails the connection (RFC 6455 §8.1) and sees 1006 instead of the code.
  EXPECT_EQ(close_reason("unsupported alg \"a\xc3"), "unsupported alg \"a");
  EXPECT_EQ(close_reason("ok \xff tail"), "ok ");
}

}  // namespace
}  // namespace tandem::server
