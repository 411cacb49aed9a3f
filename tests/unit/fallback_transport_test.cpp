// fallback_transport_test.cpp — FallbackTransport over two fake transports ("websocket",
// "sse"): which option opens, when the next one is tried, what reaches the core (exactly one
// on_closed per open()), stale events, and a Client connecting over the second option;
// sse_url_of.
#include "tandem/fallback_transport.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "fakes.h"
#include "tandem/client.h"
#include "tandem/protocol/errors.h"

using namespace tandem;
using namespace std::chrono_literals;
using tandem::testing::FakeTransport;
using tandem::testing::ScriptedRng;
using tandem::testing::ack_frame;
using tandem::testing::connected_frame;

namespace {

constexpr const char* kUrl = "ws://h:8080/p/ws?token=t";
constexpr const char* kSseUrl = "http://h:8080/p/sse?token=t";

// The core's side: what reached it, in order.
struct Recorder final : TransportEvents {
  std::vector<std::string> events;
  void on_open() override { events.push_back("open"); }
  void on_message(std::string_view frame) override { events.push_back("message " + std::string(frame)); }
  void on_binary(std::string_view message) override { events.push_back("binary " + std::string(message)); }
  void on_closed(int code, std::string_view reason) override {
    events.push_back("closed " + std::to_string(code) + " " + std::string(reason));
  }
  std::size_t closes() const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.rfind("closed", 0) == 0 ? 1 : 0;
    return n;
  }
};

class fallback_transport_test : public ::testing::Test {
 protected:
  FakeTransport ws;
  FakeTransport sse;
  FallbackTransport fallback{{{"websocket", &ws}, {"sse", &sse, &sse_url_of}}};
  Recorder core;

  using Events = std::vector<std::string>;
};

}  // namespace

TEST_F(fallback_transport_test, opens_the_first_option_with_the_core_url) {
  EXPECT_EQ(fallback.active(), "");
  fallback.open(kUrl, core);
  ASSERT_EQ(ws.opened_urls, std::vector<std::string>{kUrl});
  EXPECT_TRUE(sse.opened_urls.empty());
  EXPECT_EQ(fallback.active(), "websocket");
  ws.accept();
  ws.deliver("m1");
  EXPECT_EQ(core.events, (Events{"open", "message m1"}));
}

TEST_F(fallback_transport_test, a_dial_that_fails_opens_the_next_option_at_once) {
  fallback.open(kUrl, core);
  ws.drop(1006, "refused");
  ASSERT_EQ(sse.opened_urls, std::vector<std::string>{kSseUrl});
  EXPECT_EQ(fallback.active(), "sse");
  EXPECT_TRUE(core.events.empty()) << "the failed option is not the core's business";
  sse.accept();
  sse.deliver("m1");
  EXPECT_EQ(core.events, (Events{"open", "message m1"}));
}

TEST_F(fallback_transport_test, an_upgrade_killed_before_the_first_message_opens_the_next_option) {
  fallback.open(kUrl, core);
  ws.accept();  // a proxy accepted the upgrade...
  ws.drop(1006);  // ...and killed it
  ASSERT_EQ(sse.opened_urls.size(), 1u);
  sse.accept();
  sse.deliver("m1");
  // on_open twice within one open(): the core sends its auth again on the new carrier.
  EXPECT_EQ(core.events, (Events{"open", "open", "message m1"}));
}

TEST_F(fallback_transport_test, a_close_after_the_first_message_reaches_the_core) {
  fallback.open(kUrl, core);
  ws.accept();
  ws.deliver("m1");
  ws.drop(1006, "lost");
  EXPECT_TRUE(sse.opened_urls.empty());
  EXPECT_EQ(core.events, (Events{"open", "message m1", "closed 1006 lost"}));
  EXPECT_EQ(fallback.active(), "");
}

TEST_F(fallback_transport_test, a_clean_close_before_the_first_message_reaches_the_core) {
  fallback.open(kUrl, core);
  ws.accept();
  ws.drop(1012, "restart");  // the server answered: not a carrier problem
  EXPECT_TRUE(sse.opened_urls.empty());
  EXPECT_EQ(core.events, (Events{"open", "closed 1012 restart"}));
}

TEST_F(fallback_transport_test, the_server_s_own_refusal_is_not_fallen_back_from) {
  fallback.open(kUrl, core);
  ws.drop(4401, "token expired");  // before on_open: an SSE stream refused at once, say
  EXPECT_TRUE(sse.opened_urls.empty());
  EXPECT_EQ(core.events, (Events{"closed 4401 token expired"}));
}

TEST_F(fallback_transport_test, on_closed_reaches_the_core_once_when_every_option_failed) {
  fallback.open(kUrl, core);
  ws.drop(1006, "ws refused");
  sse.drop(1006, "sse refused");
  EXPECT_EQ(core.events, (Events{"closed 1006 sse refused"}));
  EXPECT_EQ(fallback.active(), "");
  EXPECT_EQ(fallback.send("x"), SendStatus::NotOpen);
}

TEST_F(fallback_transport_test, the_option_that_worked_is_opened_first_next_time) {
  fallback.open(kUrl, core);
  ws.drop(1006);
  sse.accept();
  sse.deliver("m1");
  sse.drop(1012, "restart");
  ASSERT_EQ(core.closes(), 1u);

  fallback.open(kUrl, core);
  EXPECT_EQ(ws.opened_urls.size(), 1u) << "no second WebSocket dial";
  ASSERT_EQ(sse.opened_urls.size(), 2u);
  EXPECT_EQ(fallback.active(), "sse");
}

TEST_F(fallback_transport_test, a_round_wraps_around_and_after_a_failed_round_starts_at_the_first) {
  fallback.open(kUrl, core);
  ws.drop(1006);
  sse.accept();
  sse.deliver("m1");
  sse.drop(1006);  // after a message: the core's
  ASSERT_EQ(core.closes(), 1u);

  fallback.open(kUrl, core);  // starts at sse, the option that worked
  sse.drop(1006);             // the server is down
  ASSERT_EQ(ws.opened_urls.size(), 2u) << "the round goes on with the first option";
  ws.drop(1006);
  EXPECT_EQ(core.closes(), 2u);

  fallback.open(kUrl, core);  // every option failed last round: the first again
  EXPECT_EQ(ws.opened_urls.size(), 3u);
  EXPECT_EQ(sse.opened_urls.size(), 2u);
  EXPECT_EQ(fallback.active(), "websocket");
}

TEST_F(fallback_transport_test, send_goes_to_the_option_in_use) {
  fallback.open(kUrl, core);
  ws.drop(1006);
  sse.accept();
  EXPECT_EQ(fallback.send("hello"), SendStatus::Sent);
  EXPECT_EQ(fallback.send_binary("bin"), SendStatus::Sent);
  EXPECT_TRUE(ws.sent.empty());
  EXPECT_EQ(sse.sent, std::vector<std::string>{"hello"});
  EXPECT_EQ(sse.sent_binary, std::vector<std::string>{"bin"});
}

TEST_F(fallback_transport_test, close_goes_to_the_option_in_use_and_its_end_is_passed_on) {
  fallback.open(kUrl, core);
  ws.drop(1006);
  fallback.close(4000, "connect timeout");  // the core gave up on this attempt
  ASSERT_EQ(sse.closes.size(), 1u);
  EXPECT_EQ(sse.closes[0].code, 4000);
  EXPECT_TRUE(ws.closes.empty());
  sse.drop(1006);  // before on_open, but the core asked for it: no next option
  EXPECT_EQ(ws.opened_urls.size(), 1u);
  EXPECT_EQ(core.events, (Events{"closed 1006 "}));
}

TEST_F(fallback_transport_test, an_attempt_given_up_before_any_message_starts_the_next_at_the_next_option) {
  fallback.open(kUrl, core);
  ws.accept();              // a proxy holds the upgrade...
  fallback.close(4000, "connect timeout");  // ...until the core's connect timeout
  ws.drop(1006);
  EXPECT_EQ(core.events, (Events{"open", "closed 1006 "}));
  fallback.open(kUrl, core);
  EXPECT_EQ(ws.opened_urls.size(), 1u);
  ASSERT_EQ(sse.opened_urls.size(), 1u);
  EXPECT_EQ(fallback.active(), "sse");
}

TEST_F(fallback_transport_test, an_attempt_closed_after_a_message_starts_where_it_was) {
  fallback.open(kUrl, core);
  ws.accept();
  ws.deliver("m1");
  fallback.close(4000, "heartbeat timeout");
  ws.drop(4000, "heartbeat timeout");
  fallback.open(kUrl, core);
  EXPECT_EQ(ws.opened_urls.size(), 2u);
  EXPECT_TRUE(sse.opened_urls.empty());
}

TEST_F(fallback_transport_test, events_of_an_abandoned_option_never_reach_the_core) {
  fallback.open(kUrl, core);
  ws.drop(1006);
  // The WebSocket reports again although it ended (a late event of its attempt).
  ws.events->on_open();
  ws.events->on_message("stale");
  ws.events->on_closed(1000, "stale");
  EXPECT_TRUE(core.events.empty());
  sse.accept();
  EXPECT_EQ(core.events, (Events{"open"}));
}

TEST_F(fallback_transport_test, open_without_waiting_for_on_closed_drops_the_older_attempt) {
  fallback.open(kUrl, core);
  ws.accept();
  ws.deliver("m1");
  fallback.open(kUrl, core);  // a new attempt before the old one reported its end
  ASSERT_EQ(ws.closes.size(), 1u) << "the older attempt is closed";
  ASSERT_EQ(ws.opened_urls.size(), 2u);
  core.events.clear();
  ws.accept();
  ws.deliver("m2");
  ws.drop(1000, "bye");
  EXPECT_EQ(core.events, (Events{"open", "message m2", "closed 1000 bye"}));
}

TEST_F(fallback_transport_test, one_option_reports_its_own_failure) {
  FakeTransport only;
  FallbackTransport single{{{"sse", &only, &sse_url_of}}};
  single.open(kUrl, core);
  EXPECT_EQ(only.opened_urls, std::vector<std::string>{kSseUrl});
  only.drop(1006, "refused");
  EXPECT_EQ(core.events, (Events{"closed 1006 refused"}));
  single.open(kUrl, core);
  EXPECT_EQ(only.opened_urls.size(), 2u);
}

TEST_F(fallback_transport_test, a_client_connects_over_the_second_option_and_sends_there) {
  ScriptedRng rng;
  ClientConfig config;
  config.session.url = "ws://127.0.0.1:9000/ws";
  config.session.token = "t";
  Client client(config, fallback, rng);
  std::vector<State> states;
  client.on_state = [&](const StateChange& change) { states.push_back(change.state); };
  std::optional<Result<protocol::ServerFrame>> answer;

  client.request(protocol::ChatSend{"chat:lobby", "sent while connecting"},
                 [&](Result<protocol::ServerFrame> reply) { answer = std::move(reply); });
  client.start(0ms);
  ws.drop(1006);  // WebSocket upgrades do not get through
  ASSERT_EQ(sse.opened_urls, std::vector<std::string>{"http://127.0.0.1:9000/sse?token=t"});
  sse.accept();
  sse.deliver(connected_frame());
  ASSERT_EQ(client.state(), State::Open);
  EXPECT_EQ(fallback.active(), "sse");
  EXPECT_EQ(states, (std::vector<State>{State::Connecting, State::Open})) << "one attempt as the core sees it";

  ASSERT_EQ(sse.count_sent("chat"), 1u) << "the queued request went out over the stream's POSTs";
  EXPECT_TRUE(ws.sent.empty());
  sse.deliver(ack_frame(sse.sent_ids().at(0)));
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->ok());

  // The stream breaks for good: the core reconnects, and SSE (which worked) is tried first.
  sse.drop(1006);
  EXPECT_EQ(client.state(), State::Reconnecting);
  client.tick(60s);
  EXPECT_EQ(sse.opened_urls.size(), 2u);
  EXPECT_EQ(ws.opened_urls.size(), 1u);
  EXPECT_NE(sse.opened_urls[1].find("session=s-1"), std::string::npos) << "the session is resumed";
}

TEST(sse_url_of_test, maps_the_websocket_url_to_the_stream_url) {
  EXPECT_EQ(sse_url_of("ws://h/ws"), "http://h/sse");
  EXPECT_EQ(sse_url_of("wss://h:8443/ws?token=a.b.c&session=s"), "https://h:8443/sse?token=a.b.c&session=s");
  EXPECT_EQ(sse_url_of("ws://h/p/ws?q"), "http://h/p/sse?q");
  EXPECT_EQ(sse_url_of("ws://h/p/ws#f"), "http://h/p/sse#f");
}

TEST(sse_url_of_test, only_a_last_ws_segment_changes) {
  EXPECT_EQ(sse_url_of("ws://h/p"), "http://h/p");
  EXPECT_EQ(sse_url_of("ws://h/news"), "http://h/news");
  EXPECT_EQ(sse_url_of("ws://h/ws/x?a=/ws"), "http://h/ws/x?a=/ws");
  EXPECT_EQ(sse_url_of("ws://ws"), "http://ws");
  EXPECT_EQ(sse_url_of("ws://h/"), "http://h/");
  EXPECT_EQ(sse_url_of("http://h/ws"), "http://h/sse") << "an http URL keeps its scheme";
  EXPECT_EQ(sse_url_of("not a url"), "not a url");
}

// The WebSocket opens and delivers a message (it has worked), then the server restarts.
static void websocket_worked_then_restart(FallbackTransport& fallback, FakeTransport& ws, Recorder& core, const char* message) {
  fallback.open(kUrl, core);
  ws.accept();
  ws.deliver(message);
  ws.drop(1012, "restart");
}

// A server restart after the WebSocket worked: it refuses every dial for a while. The WebSocket
// is retried alone (the core backs off between rounds), so a server back between a refused
// WebSocket and the SSE dial does not leave the client on the fallback.
TEST_F(fallback_transport_test, a_websocket_that_worked_is_retried_alone_before_falling_back) {
  websocket_worked_then_restart(fallback, ws, core, "m1");
  for (unsigned round = 1; round <= FallbackTransport::kFirstOptionHeldRounds; ++round) {
    fallback.open(kUrl, core);
    ws.drop(1006, "refused");
    EXPECT_TRUE(sse.opened_urls.empty()) << "round " << round;
    EXPECT_EQ(core.closes(), 1u + round) << "the round ends at the WebSocket";
  }
  fallback.open(kUrl, core);  // still refused: now the fallback is tried in the same round
  ws.drop(1006, "refused");
  ASSERT_EQ(sse.opened_urls.size(), 1u);
  sse.drop(1006, "refused");
  EXPECT_EQ(core.closes(), 2u + FallbackTransport::kFirstOptionHeldRounds);
}

TEST_F(fallback_transport_test, the_websocket_back_after_a_restart_is_held_afresh) {
  websocket_worked_then_restart(fallback, ws, core, "m1");
  fallback.open(kUrl, core);
  ws.drop(1006, "refused");
  websocket_worked_then_restart(fallback, ws, core, "m2");  // back: the count starts again
  for (unsigned round = 1; round <= FallbackTransport::kFirstOptionHeldRounds; ++round) {
    fallback.open(kUrl, core);
    ws.drop(1006, "refused");
  }
  EXPECT_TRUE(sse.opened_urls.empty());
}

TEST_F(fallback_transport_test, a_websocket_that_never_worked_falls_back_at_once) {
  fallback.open(kUrl, core);
  ws.drop(1006, "refused");
  EXPECT_EQ(sse.opened_urls.size(), 1u);
  EXPECT_EQ(core.closes(), 0u);
}

TEST_F(fallback_transport_test, a_connect_timeout_on_a_websocket_that_worked_keeps_it_first) {
  websocket_worked_then_restart(fallback, ws, core, "m1");
  fallback.open(kUrl, core);
  ws.accept();                              // the restarted server is slow to answer...
  fallback.close(4000, "connect timeout");  // ...past the core's connect timeout
  ws.drop(1006);
  fallback.open(kUrl, core);
  EXPECT_EQ(fallback.active(), "websocket");
  EXPECT_TRUE(sse.opened_urls.empty());
}
