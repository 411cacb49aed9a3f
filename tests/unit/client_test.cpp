// client_test.cpp — the façade: requests through the Outbox across connection changes,
// fire-and-forget sends, what reaches on_message, stop().
#include "tandem/client.h"

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
using tandem::testing::ack_frame;
using tandem::testing::connected_frame;
using tandem::testing::error_frame;
using tandem::testing::pong_frame;

namespace {

struct Answers {
  std::vector<Result<protocol::ServerFrame>> got;
  RequestCallback callback() {
    return [this](Result<protocol::ServerFrame> r) { got.push_back(std::move(r)); };
  }
};

class client_fixture : public ::testing::Test {
 protected:
  FakeTransport transport;
  ScriptedRng rng;
  ClientConfig config = make_config();
  std::optional<Client> client;
  std::vector<StateChange> changes;
  std::vector<protocol::ServerFrame> messages;
  std::vector<Error> decode_errors;

  static ClientConfig make_config() {
    ClientConfig c;
    c.session.url = "ws://127.0.0.1:9000/ws";
    c.session.token = "t";
    return c;
  }
  void SetUp() override { make(); }
  void make() {
    client.emplace(config, transport, rng);
    client->on_state = [this](const StateChange& c) { changes.push_back(c); };
    client->on_message = [this](const protocol::ServerFrame& f) { messages.push_back(f); };
    client->on_decode_error = [this](const Error& e) { decode_errors.push_back(e); };
  }
  // The server accepts the pending dial and says `connected`.
  void server_accepts(const std::string& session_id = "s-1") {
    transport.accept();
    transport.deliver(connected_frame(session_id));
  }
};

}  // namespace

using client_test = client_fixture;

TEST_F(client_test, requests_made_before_start_are_sent_once_open) {
  Answers answers;
  EXPECT_EQ(client->request(protocol::Ping{}, answers.callback()), RequestStatus::Queued);
  EXPECT_EQ(client->queued_count(), 1u);
  client->start(0ms);
  EXPECT_EQ(client->state(), State::Connecting);
  transport.accept();
  EXPECT_TRUE(transport.sent.empty());  // not before `connected`
  transport.deliver(connected_frame());
  EXPECT_EQ(client->state(), State::Open);
  EXPECT_EQ(transport.sent_ids(), (std::vector<std::string>{"1"}));
  EXPECT_EQ(client->queued_count(), 0u);
  EXPECT_EQ(client->pending_count(), 1u);
  transport.deliver(ack_frame("1"));
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_TRUE(answers.got[0].ok());
  EXPECT_EQ(client->pending_count(), 0u);
}

TEST_F(client_test, unacked_requests_are_resent_with_their_ids_after_reconnect_then_the_queue) {
  Answers answers;
  client->start(0ms);
  server_accepts();
  client->request(protocol::Ping{}, answers.callback());  // "1", on the wire
  client->request(protocol::Ping{}, answers.callback());  // "2", on the wire
  transport.deliver(ack_frame("1"));
  transport.drop(1006);
  EXPECT_EQ(client->state(), State::Reconnecting);
  EXPECT_EQ(client->request(protocol::Ping{}, answers.callback()), RequestStatus::Queued);  // "3"
  EXPECT_EQ(client->queued_count(), 2u);
  transport.sent.clear();
  client->tick(500ms);
  server_accepts("s-2");
  EXPECT_EQ(transport.sent_ids(), (std::vector<std::string>{"2", "3"}));
  transport.deliver(ack_frame("2", true));  // the server had applied it: a duplicate ack
  transport.deliver(ack_frame("3"));
  EXPECT_EQ(answers.got.size(), 3u);
  for (const auto& answer : answers.got) EXPECT_TRUE(answer.ok());
}

TEST_F(client_test, requests_from_the_open_callback_go_after_the_resends) {
  Answers answers;
  client->request(protocol::Ping{}, answers.callback());  // "1", queued
  client->on_state = [&](const StateChange& c) {
    if (c.state == State::Open) client->request(protocol::Ping{}, answers.callback());  // "2"
  };
  client->start(0ms);
  server_accepts();
  EXPECT_EQ(transport.sent_ids(), (std::vector<std::string>{"1", "2"}));
}

TEST_F(client_test, send_is_fire_and_forget_and_dropped_when_not_open) {
  EXPECT_EQ(client->send(protocol::Ping{}), SendStatus::NotOpen);
  client->start(0ms);
  EXPECT_EQ(client->send(protocol::Ping{}), SendStatus::NotOpen);
  server_accepts();
  EXPECT_EQ(client->send(protocol::Ping{}), SendStatus::Sent);
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0], R"({"type":"ping"})");  // no id: nobody waits for an answer
  EXPECT_EQ(client->queued_count(), 0u);
}

TEST_F(client_test, on_message_gets_every_frame_not_answering_a_request) {
  Answers answers;
  client->start(0ms);
  server_accepts();
  client->request(protocol::Ping{}, answers.callback());
  transport.deliver(pong_frame());                               // no id: the app's
  transport.deliver(error_frame("9", "rate_limited", "slow down"));  // not our id: the app's
  transport.deliver(pong_frame("1"));                            // answers request 1
  transport.deliver(ack_frame("1"));                             // duplicate: dropped
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<protocol::Connected>(messages[0].message));
  EXPECT_TRUE(std::holds_alternative<protocol::Pong>(messages[1].message));
  EXPECT_EQ(messages[2].id, "9");
  ASSERT_EQ(answers.got.size(), 1u);
  ASSERT_TRUE(answers.got[0].ok());
  EXPECT_TRUE(std::holds_alternative<protocol::Pong>(answers.got[0].value().message));
}

TEST_F(client_test, error_reply_reaches_the_request_callback) {
  Answers answers;
  client->start(0ms);
  server_accepts();
  client->request(protocol::Ping{}, answers.callback());
  transport.deliver(error_frame("1", "forbidden", "room not allowed"));
  ASSERT_EQ(answers.got.size(), 1u);
  ASSERT_FALSE(answers.got[0].ok());
  EXPECT_EQ(answers.got[0].error(), (Error{"forbidden", "room not allowed"}));
  EXPECT_EQ(messages.size(), 1u);  // only `connected`
}

TEST_F(client_test, ack_timeout_is_driven_by_tick) {
  Answers answers;
  client->start(0ms);
  server_accepts();
  client->tick(1s);
  client->request(protocol::Ping{}, answers.callback());
  client->tick(10'999ms);
  EXPECT_TRUE(answers.got.empty());
  transport.deliver(pong_frame());  // keep the heartbeat watchdog quiet: this is about acks
  client->tick(11s);
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_EQ(answers.got[0].error().code, protocol::errc::timeout);
}

TEST_F(client_test, offline_queue_overflow_fails_only_that_request) {
  config.outbox.max_queued = 2;
  make();
  Answers answers;
  client->request(protocol::Ping{}, answers.callback());
  client->request(protocol::Ping{}, answers.callback());
  EXPECT_EQ(client->request(protocol::Ping{}, answers.callback()), RequestStatus::QueueFull);
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_EQ(answers.got[0].error().code, protocol::errc::queue_full);
  EXPECT_EQ(client->queued_count(), 2u);
  client->start(0ms);
  server_accepts();
  EXPECT_EQ(transport.sent_ids(), (std::vector<std::string>{"1", "2"}));
}

TEST_F(client_test, stop_fails_pending_requests_with_closed) {
  Answers answers;
  client->start(0ms);
  server_accepts();
  client->request(protocol::Ping{}, answers.callback());
  client->stop();
  EXPECT_EQ(client->state(), State::Closed);
  EXPECT_EQ(changes.back().cause, Cause::Stopped);
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_EQ(answers.got[0].error().code, protocol::errc::closed);
  EXPECT_EQ(client->pending_count(), 0u);
}

TEST_F(client_test, queued_requests_survive_unauthorized_and_go_out_with_the_new_token) {
  Answers answers;
  client->start(0ms);
  server_accepts();
  client->request(protocol::Ping{}, answers.callback());
  transport.drop(4401, "token expired");
  EXPECT_EQ(client->state(), State::Closed);
  EXPECT_EQ(changes.back().cause, Cause::Unauthorized);
  EXPECT_TRUE(answers.got.empty());  // kept: the app refreshes the token and carries on
  client->set_token("t2");
  client->start(1s);
  EXPECT_EQ(transport.opened_urls.back(), "ws://127.0.0.1:9000/ws?token=t2&session=s-1");
  transport.sent.clear();
  server_accepts();
  EXPECT_EQ(transport.sent_ids(), (std::vector<std::string>{"1"}));
}

TEST_F(client_test, decode_errors_are_forwarded) {
  client->start(0ms);
  server_accepts();
  transport.deliver("{");
  ASSERT_EQ(decode_errors.size(), 1u);
  EXPECT_EQ(decode_errors[0].code, protocol::errc::bad_json);
  EXPECT_EQ(client->state(), State::Open);
}

TEST_F(client_test, state_changes_reach_the_app_in_order) {
  client->start(0ms);
  server_accepts();
  transport.drop(1012, "restart");
  client->tick(250ms);
  server_accepts();
  std::vector<State> seen;
  for (const auto& c : changes) seen.push_back(c.state);
  EXPECT_EQ(seen, (std::vector<State>{State::Connecting, State::Open, State::Reconnecting, State::Connecting,
                                       State::Open}));
}

TEST_F(client_test, validate_checks_session_and_outbox_settings) {
  EXPECT_FALSE(validate(config).has_value());
  config.outbox.max_queued = 0;
  auto error = validate(config);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->message.find("max_queued"), std::string::npos);
  config = make_config();
  config.session.url = "127.0.0.1:9000";
  error = validate(config);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->message.find("url"), std::string::npos);
  const OutboxSettings defaults;
  EXPECT_EQ(defaults.ack_timeout, 10s);
  EXPECT_EQ(defaults.max_queued, 1000u);
}
