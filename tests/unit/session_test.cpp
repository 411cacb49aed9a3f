// session_test.cpp — the connection state machine: every transition, close-code policy,
// heartbeat watchdog, backoff reset, session resume, decoding of server frames.
#include "tandem/session.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "fakes.h"
#include "tandem/protocol/errors.h"

using namespace tandem;
using namespace std::chrono_literals;
using tandem::testing::FakeTransport;
using tandem::testing::ScriptedRng;
using tandem::testing::connected_frame;
using tandem::testing::pong_frame;

namespace {

class session_fixture : public ::testing::Test {
 protected:
  FakeTransport transport;
  ScriptedRng rng;  // 0.5: every backoff delay is exactly its nominal value
  SessionConfig config = make_config();
  std::optional<Session> session;
  std::vector<StateChange> changes;
  std::vector<protocol::ServerFrame> frames;
  std::vector<Error> decode_errors;

  static SessionConfig make_config() {
    SessionConfig c;
    c.url = "ws://127.0.0.1:9000/ws";
    c.token = "header.claims.sig";
    return c;
  }
  void SetUp() override { make(); }
  void make() {
    session.emplace(config, transport, rng);
    session->on_state = [this](const StateChange& c) { changes.push_back(c); };
    session->on_frame = [this](const protocol::ServerFrame& f) { frames.push_back(f); };
    session->on_decode_error = [this](const Error& e) { decode_errors.push_back(e); };
  }
  // Start (or retry) and complete the handshake: dial accepted, `connected` received.
  void open_at(Millis now, const std::string& session_id = "s-1", std::int64_t heartbeat_ms = 25'000) {
    if (session->state() == State::Idle || session->state() == State::Closed) session->start(now);
    else session->tick(now);
    ASSERT_EQ(session->state(), State::Connecting);
    transport.accept();
    transport.deliver(connected_frame(session_id, heartbeat_ms));
    ASSERT_EQ(session->state(), State::Open);
  }
  const StateChange& last() const { return changes.back(); }
};

}  // namespace

using session_test = session_fixture;

TEST_F(session_test, idle_then_connecting_then_open_on_connected) {
  EXPECT_EQ(session->state(), State::Idle);
  session->start(0ms);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(last().previous, State::Idle);
  EXPECT_EQ(last().state, State::Connecting);
  EXPECT_EQ(last().cause, Cause::Started);
  ASSERT_EQ(transport.opened_urls.size(), 1u);
  EXPECT_EQ(transport.opened_urls[0], "ws://127.0.0.1:9000/ws?token=header.claims.sig");

  transport.accept();  // the socket is up, but Open means the server said `connected`
  EXPECT_EQ(session->state(), State::Connecting);
  transport.deliver(connected_frame("s-1", 20'000));
  EXPECT_EQ(session->state(), State::Open);
  EXPECT_EQ(last().previous, State::Connecting);
  EXPECT_EQ(last().cause, Cause::Connected);

  ASSERT_TRUE(session->connected().has_value());
  EXPECT_EQ(session->connected()->session, "s-1");
  EXPECT_EQ(session->connected()->connection_id, "c-1");
  EXPECT_EQ(session->connected()->user.name, "Ana");
  EXPECT_EQ(session->connected()->limits.max_frame_bytes, 65536);
  EXPECT_EQ(session->heartbeat(), 20'000ms);
  // `connected` itself is delivered too, like every server message.
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<protocol::Connected>(frames[0].message));
}

TEST_F(session_test, token_and_session_are_url_encoded_into_the_query) {
  EXPECT_EQ(connect_url("ws://h:1/ws", "a b+c/=é", std::nullopt), "ws://h:1/ws?token=a%20b%2Bc%2F%3D%C3%A9");
  EXPECT_EQ(connect_url("ws://h:1/ws", "t", std::string("s&1")), "ws://h:1/ws?token=t&session=s%261");
  EXPECT_EQ(connect_url("ws://h:1/ws?v=2", "t", std::nullopt), "ws://h:1/ws?v=2&token=t");
  EXPECT_EQ(connect_url("ws://h:1/ws", "", std::nullopt), "ws://h:1/ws");
}

TEST_F(session_test, open_goes_reconnecting_with_backoff_on_1006) {
  open_at(0ms);
  session->tick(3s);
  transport.drop(1006);
  EXPECT_EQ(session->state(), State::Reconnecting);
  EXPECT_EQ(last().previous, State::Open);
  EXPECT_EQ(last().cause, Cause::ConnectionLost);
  EXPECT_EQ(last().close_code, 1006);
  EXPECT_EQ(last().retry_delay, 500ms);
  EXPECT_EQ(last().retry_at, 3500ms);
  EXPECT_EQ(last().attempt, 1);
}

TEST_F(session_test, reconnecting_goes_connecting_when_the_delay_passes) {
  open_at(0ms);
  transport.drop(1006);
  session->tick(499ms);
  EXPECT_EQ(session->state(), State::Reconnecting);
  EXPECT_EQ(transport.opened_urls.size(), 1u);
  session->tick(500ms);
  EXPECT_EQ(session->state(), State::Connecting);
  EXPECT_EQ(last().cause, Cause::RetryDue);
  EXPECT_EQ(last().attempt, 1);
  EXPECT_EQ(transport.opened_urls.size(), 2u);
}

TEST_F(session_test, session_id_is_presented_on_reconnect) {
  open_at(0ms, "s-1");
  transport.drop(1006);
  open_at(500ms, "s-2");
  EXPECT_EQ(transport.opened_urls[1], "ws://127.0.0.1:9000/ws?token=header.claims.sig&session=s-1");
  transport.drop(1011);
  session->tick(2s);
  EXPECT_EQ(transport.opened_urls[2], "ws://127.0.0.1:9000/ws?token=header.claims.sig&session=s-2");
}

TEST_F(session_test, failed_dial_retries_with_growing_backoff) {
  session->start(0ms);
  transport.drop(1006);  // connection refused
  EXPECT_EQ(session->state(), State::Reconnecting);
  EXPECT_EQ(last().retry_delay, 500ms);
  session->tick(500ms);
  transport.drop(1006);
  EXPECT_EQ(last().retry_delay, 1000ms);
  EXPECT_EQ(last().attempt, 2);
  session->tick(1500ms);
  transport.drop(1006);
  EXPECT_EQ(last().retry_delay, 2000ms);
  EXPECT_EQ(last().attempt, 3);
}

TEST_F(session_test, connect_timeout_abandons_the_attempt_and_retries) {
  session->start(0ms);
  transport.accept();  // socket up, but the server never says `connected`
  session->tick(9'999ms);
  EXPECT_EQ(session->state(), State::Connecting);
  EXPECT_TRUE(transport.closes.empty());
  session->tick(10s);
  EXPECT_EQ(session->state(), State::Reconnecting);
  EXPECT_EQ(last().cause, Cause::ConnectTimeout);
  EXPECT_EQ(last().retry_delay, 500ms);
  ASSERT_EQ(transport.closes.size(), 1u);
  EXPECT_EQ(transport.closes[0].code, kCloseConnectTimeout);
  EXPECT_EQ(transport.closes[0].reason, "connect timeout");
  const std::size_t reported = changes.size();
  transport.drop(kCloseConnectTimeout, "connect timeout");  // the end of our own close
  EXPECT_EQ(changes.size(), reported);                      // already accounted for
  session->tick(10'500ms);
  EXPECT_EQ(session->state(), State::Connecting);
  EXPECT_EQ(transport.opened_urls.size(), 2u);
}

TEST_F(session_test, no_new_open_before_the_abandoned_connection_reports_closed) {
  session->start(0ms);
  session->tick(10s);  // connect timeout; the transport is slow to report the close
  session->tick(11s);  // retry due
  EXPECT_EQ(session->state(), State::Connecting);
  EXPECT_EQ(transport.opened_urls.size(), 1u);  // one connection at a time
  transport.drop(4000);
  EXPECT_EQ(transport.opened_urls.size(), 2u);  // dialled as soon as the old one ended
  transport.accept();
  transport.deliver(connected_frame());
  EXPECT_EQ(session->state(), State::Open);
}

TEST_F(session_test, unauthorized_4401_closes_and_never_reconnects) {
  open_at(0ms);
  transport.drop(4401, "token expired");
  EXPECT_EQ(session->state(), State::Closed);
  EXPECT_EQ(last().cause, Cause::Unauthorized);
  EXPECT_EQ(last().close_code, 4401);
  EXPECT_EQ(last().close_reason, "token expired");
  session->tick(10min);
  EXPECT_EQ(transport.opened_urls.size(), 1u);
  EXPECT_EQ(session->state(), State::Closed);
}

TEST_F(session_test, unauthorized_during_the_handshake_closes_too) {
  session->start(0ms);
  transport.accept();
  transport.drop(4401, "bad signature");
  EXPECT_EQ(session->state(), State::Closed);
  EXPECT_EQ(last().cause, Cause::Unauthorized);
  session->tick(1h);
  EXPECT_EQ(transport.opened_urls.size(), 1u);
}

TEST_F(session_test, a_new_token_and_start_recover_from_unauthorized) {
  open_at(0ms);
  transport.drop(4401, "token expired");
  session->set_token("fresh.token.sig");
  session->start(1s);
  EXPECT_EQ(session->state(), State::Connecting);
  ASSERT_EQ(transport.opened_urls.size(), 2u);
  EXPECT_EQ(transport.opened_urls[1], "ws://127.0.0.1:9000/ws?token=fresh.token.sig&session=s-1");
}

TEST_F(session_test, protocol_violation_4400_closes_without_reconnecting) {
  open_at(0ms);
  transport.drop(4400, "too many bad frames");
  EXPECT_EQ(session->state(), State::Closed);
  EXPECT_EQ(last().cause, Cause::ServerClosed);
  EXPECT_EQ(last().close_code, 4400);
  session->tick(1h);
  EXPECT_EQ(transport.opened_urls.size(), 1u);
}

TEST_F(session_test, restart_1012_and_going_away_1001_reconnect_promptly_without_growing_backoff) {
  for (int code : {1012, 1001}) {
    SCOPED_TRACE(code);
    changes.clear();
    transport = FakeTransport{};
    rng = ScriptedRng({0.5, 0.5, 0.5, 0.999});  // three backoff draws, then the prompt spread
    make();
    open_at(0ms);
    // Grow the backoff first: three quick failures.
    for (int i = 0; i < 3; ++i) {
      transport.drop(1006);
      session->tick(session->state() == State::Reconnecting ? last().retry_at : 0ms);
    }
    ASSERT_EQ(session->backoff().attempts(), 3);
    transport.accept();
    transport.deliver(connected_frame());
    ASSERT_EQ(session->state(), State::Open);
    const Millis now = 3500ms;  // 500 + 1000 + 2000 ms of retries
    transport.drop(code, "restart");
    EXPECT_EQ(session->state(), State::Reconnecting);
    EXPECT_EQ(last().cause, Cause::ServerClosed);
    EXPECT_EQ(last().close_code, code);
    EXPECT_LE(last().retry_delay, 250ms);
    EXPECT_EQ(last().retry_delay, 249ms);  // 0.999 x 250 ms: jittered, not fixed
    EXPECT_EQ(session->backoff().attempts(), 3);  // no growth
    session->tick(now + 249ms);
    EXPECT_EQ(session->state(), State::Connecting);
  }
}

TEST_F(session_test, prompt_reconnect_delays_spread_over_the_window) {
  for (double u : {0.0, 0.4, 0.999}) {
    transport = FakeTransport{};
    rng = ScriptedRng({u});
    make();
    open_at(0ms);
    transport.drop(1012, "restart");
    EXPECT_EQ(last().retry_delay, Millis{static_cast<long>(u * 250)});
  }
}

TEST_F(session_test, other_close_codes_reconnect_with_backoff) {
  for (int code : {1009, 1011, 4408, 4429, 4508, 3999}) {
    SCOPED_TRACE(code);
    transport = FakeTransport{};
    make();
    open_at(0ms);
    transport.drop(code, "x");
    EXPECT_EQ(session->state(), State::Reconnecting);
    EXPECT_EQ(last().cause, Cause::ServerClosed);
    EXPECT_EQ(last().retry_delay, 500ms);
  }
}

TEST_F(session_test, silent_server_gets_a_ping_then_the_connection_is_dropped_and_retried) {
  open_at(0ms, "s-1", 1'000);
  session->tick(999ms);
  EXPECT_EQ(transport.count_sent("ping"), 0u);
  session->tick(1'000ms);
  EXPECT_EQ(transport.count_sent("ping"), 1u);
  EXPECT_EQ(transport.sent.back(), R"({"type":"ping"})");
  session->tick(1'500ms);
  EXPECT_EQ(transport.count_sent("ping"), 1u);  // one probe per silence
  EXPECT_EQ(session->state(), State::Open);
  session->tick(2'000ms);  // 2 x heartbeat without a byte
  EXPECT_EQ(session->state(), State::Reconnecting);
  EXPECT_EQ(last().cause, Cause::HeartbeatTimeout);
  EXPECT_EQ(last().close_code, kCloseHeartbeatTimeout);
  ASSERT_EQ(transport.closes.size(), 1u);
  EXPECT_EQ(transport.closes[0].code, 4000);
  EXPECT_EQ(transport.closes[0].reason, "heartbeat timeout");
  transport.drop(1006);  // the dead socket finally reports
  session->tick(2'500ms);
  EXPECT_EQ(session->state(), State::Connecting);
  EXPECT_EQ(transport.opened_urls.size(), 2u);
}

TEST_F(session_test, anything_received_keeps_the_connection_alive) {
  open_at(0ms, "s-1", 1'000);
  session->tick(1'000ms);
  ASSERT_EQ(transport.count_sent("ping"), 1u);
  session->tick(1'200ms);
  transport.deliver(pong_frame());
  session->tick(2'100ms);  // 900 ms since the pong
  EXPECT_EQ(session->state(), State::Open);
  EXPECT_EQ(transport.count_sent("ping"), 1u);
  session->tick(2'200ms);  // silent again for a heartbeat: probe again
  EXPECT_EQ(transport.count_sent("ping"), 2u);
  session->tick(3'199ms);
  EXPECT_EQ(session->state(), State::Open);
  EXPECT_TRUE(transport.closes.empty());
}

TEST_F(session_test, heartbeat_comes_from_the_config_until_the_server_gives_one) {
  config.heartbeat = 7s;
  make();
  EXPECT_EQ(session->heartbeat(), 7s);
  open_at(0ms, "s-1", 2'000);
  EXPECT_EQ(session->heartbeat(), 2s);
}

TEST_F(session_test, backoff_resets_after_a_stable_connection_but_not_when_it_flaps) {
  open_at(0ms);
  transport.drop(1006);  // attempt 1: 500 ms
  EXPECT_EQ(last().retry_delay, 500ms);
  open_at(500ms);
  session->tick(5s);  // open 4.5 s: not yet stable
  transport.drop(1006);
  EXPECT_EQ(last().retry_delay, 1000ms);  // kept growing
  EXPECT_EQ(last().attempt, 2);
  open_at(6s);
  session->tick(15'999ms);  // 9.999 s: still not stable
  EXPECT_EQ(session->backoff().attempts(), 2);
  session->tick(16s);  // stable_after reached: fresh backoff
  EXPECT_EQ(session->backoff().attempts(), 0);
  transport.drop(1006);
  EXPECT_EQ(last().retry_delay, 500ms);
  EXPECT_EQ(last().attempt, 1);
}

TEST_F(session_test, stop_closes_the_connection_and_reports_closed) {
  open_at(0ms);
  session->stop();
  EXPECT_EQ(session->state(), State::Closed);
  EXPECT_EQ(last().cause, Cause::Stopped);
  ASSERT_EQ(transport.closes.size(), 1u);
  EXPECT_EQ(transport.closes[0].code, 1000);
  const std::size_t reported = changes.size();
  transport.deliver(pong_frame());  // late events of the closed connection are ignored
  transport.drop(1000);
  EXPECT_EQ(changes.size(), reported);
  EXPECT_EQ(frames.size(), 1u);  // only the `connected`
  session->tick(1h);
  EXPECT_EQ(transport.opened_urls.size(), 1u);
  EXPECT_EQ(session->send("{}"), SendStatus::NotOpen);
}

TEST_F(session_test, stop_while_reconnecting_cancels_the_retry) {
  open_at(0ms);
  transport.drop(1006);
  session->stop();
  EXPECT_EQ(session->state(), State::Closed);
  EXPECT_TRUE(transport.closes.empty());  // nothing to close
  session->tick(1h);
  EXPECT_EQ(transport.opened_urls.size(), 1u);
}

TEST_F(session_test, restart_after_stop_waits_for_the_old_connection_to_end) {
  open_at(0ms);
  session->stop();
  session->start(1s);
  EXPECT_EQ(session->state(), State::Connecting);
  EXPECT_EQ(transport.opened_urls.size(), 1u);
  transport.drop(1000, "client stopped");
  EXPECT_EQ(transport.opened_urls.size(), 2u);
}

TEST_F(session_test, send_works_only_when_open) {
  EXPECT_EQ(session->send(R"({"type":"ping"})"), SendStatus::NotOpen);
  session->start(0ms);
  transport.accept();
  EXPECT_EQ(session->send(R"({"type":"ping"})"), SendStatus::NotOpen);  // not authenticated yet
  transport.deliver(connected_frame());
  EXPECT_EQ(session->send(R"({"type":"ping"})"), SendStatus::Sent);
  EXPECT_EQ(transport.sent.size(), 1u);
}

TEST_F(session_test, batches_are_delivered_one_message_at_a_time_in_order) {
  session->start(0ms);
  transport.accept();
  transport.deliver("[" + connected_frame() + "," + pong_frame("a") + "," + pong_frame("b") + "]");
  EXPECT_EQ(session->state(), State::Open);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<protocol::Connected>(frames[0].message));
  EXPECT_EQ(frames[1].id, "a");
  EXPECT_EQ(frames[2].id, "b");
}

TEST_F(session_test, decode_errors_are_reported_and_the_rest_still_delivered) {
  open_at(0ms);
  transport.deliver("not json");
  ASSERT_EQ(decode_errors.size(), 1u);
  EXPECT_EQ(decode_errors[0].code, protocol::errc::bad_json);
  transport.deliver(R"([{"type":"from_the_future"},{"type":"pong","ts":5},{"type":"pong"},42])");
  EXPECT_EQ(decode_errors.size(), 4u);  // unknown type, missing field, not an object
  EXPECT_EQ(decode_errors[1].code, protocol::errc::unknown_type);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(std::get<protocol::Pong>(frames[1].message).ts, 5);
  EXPECT_EQ(session->state(), State::Open);
}

TEST_F(session_test, a_callback_that_stops_the_session_ends_the_batch) {
  open_at(0ms);
  session->on_frame = [this](const protocol::ServerFrame& f) {
    frames.push_back(f);
    session->stop();
  };
  transport.deliver("[" + pong_frame("a") + "," + pong_frame("b") + "]");
  EXPECT_EQ(session->state(), State::Closed);
  ASSERT_EQ(frames.size(), 2u);  // `connected` and "a"; "b" belonged to the stopped connection
  EXPECT_EQ(frames[1].id, "a");
}

TEST_F(session_test, auth_message_delivery_keeps_the_token_out_of_the_url) {
  config.token_delivery = TokenDelivery::AuthMessage;
  make();
  session->start(0ms);
  EXPECT_EQ(transport.opened_urls[0], "ws://127.0.0.1:9000/ws");
  transport.accept();
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0], R"({"type":"auth","token":"header.claims.sig"})");
  transport.deliver(connected_frame("s-9"));
  transport.drop(1006);
  session->tick(500ms);
  transport.accept();
  EXPECT_EQ(transport.opened_urls[1], "ws://127.0.0.1:9000/ws");
  EXPECT_EQ(transport.sent.back(), R"({"type":"auth","token":"header.claims.sig","session":"s-9"})");
}

TEST_F(session_test, validate_rejects_a_bad_url_and_accepts_the_defaults) {
  EXPECT_FALSE(validate(config).has_value());
  config.url = "http://127.0.0.1:9000/ws";
  auto error = validate(config);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->message.find("ws://"), std::string::npos);
  const SessionConfig defaults;
  EXPECT_EQ(defaults.connect_timeout, 10s);
  EXPECT_EQ(defaults.stable_after, 10s);
  EXPECT_EQ(defaults.heartbeat, 25s);
  EXPECT_EQ(defaults.prompt_delay_max, 250ms);
}

TEST_F(session_test, stop_from_the_connecting_callback_prevents_the_dial) {
  session->on_state = [this](const StateChange& c) {
    changes.push_back(c);
    if (c.state == State::Connecting) session->stop();
  };
  session->start(0ms);
  EXPECT_EQ(session->state(), State::Closed);
  EXPECT_TRUE(transport.opened_urls.empty());
}
