// restart_test.cpp — a real tandem-server restarted under connected clients: SIGTERM closes
// every client with 1012 and exits 0; the client core (tandem::Client over the native
// transport) reconnects by itself and delivers the requests made while the server was down,
// with the ids they were given.
#include "native_client.h"
#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

class restart_test : public ServerTest {};

// Everything a client reported, for assertions.
struct ClientRecord {
  std::vector<StateChange> changes;
  std::vector<std::pair<std::string, Result<protocol::ServerFrame>>> answers;  // request label, answer

  int count(State state) const {
    int n = 0;
    for (const StateChange& c : changes) n += c.state == state;
    return n;
  }
};

}  // namespace

TEST_F(restart_test, sigterm_closes_clients_with_1012_and_exits_0) {
  TransportProbe a;
  TransportProbe b;
  open_with_token(a, mint_token({.sub = "user-a"}));
  open_with_token(b, mint_token({.sub = "user-b"}));
  ASSERT_TRUE(wait_for_message<protocol::Connected>(a).has_value());
  ASSERT_TRUE(wait_for_message<protocol::Connected>(b).has_value());

  // The server exits only after its clients are closed, and our probes must keep reading for
  // that, so stop it on another thread while this one pumps both probes.
  std::optional<StopResult> stopped;
  std::thread stopper([&] { stopped = server.stop(); });
  const bool closed = pump_until([&] { return a.log.closed && b.log.closed; },
                                 [&] {
                                   a.transport.poll(milliseconds{10});
                                   b.transport.poll(milliseconds{10});
                                 });
  stopper.join();
  ASSERT_TRUE(closed);
  EXPECT_EQ(a.log.closed->code, 1012);
  EXPECT_EQ(a.log.closed->reason, "restart");
  EXPECT_EQ(b.log.closed->code, 1012);
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(stopped->outcome, StopOutcome::Exited);
  EXPECT_EQ(stopped->exit_code, 0);
  EXPECT_LT(stopped->took, milliseconds{5000});  // shutdown_timeout default
}

TEST_F(restart_test, client_reconnects_after_restart_and_delivers_requests_made_while_down) {
  ClientConfig config;
  config.session.url = server.ws_url();
  config.session.token = mint_token({.sub = "user-rita", .name = "Rita"});
  native::LwsTransportSettings quiet;
  quiet.log_level = native::LwsLogLevel::Silent;
  native::NativeClient nc(config, quiet, /*seed=*/7);
  ClientRecord record;
  nc.client().on_state = [&](const StateChange& change) { record.changes.push_back(change); };
  auto ping = [&](std::string label) {
    return nc.client().request(protocol::Ping{}, [&record, label](Result<protocol::ServerFrame> answer) {
      record.answers.emplace_back(label, std::move(answer));
    });
  };

  nc.start();
  ASSERT_TRUE(nc.poll_until([&] { return nc.client().state() == State::Open; }, kStepDeadline)) << server.output();
  EXPECT_EQ(nc.client().connected()->user.id, "user-rita");
  const std::string first_session = nc.client().connected()->session;
  EXPECT_EQ(ping("before"), RequestStatus::Sent);
  ASSERT_TRUE(nc.poll_until([&] { return record.answers.size() == 1; }, kStepDeadline));

  // Stop the server while the client keeps polling: it must see 1012 and start reconnecting.
  std::optional<StopResult> stopped;
  std::thread stopper([&] { stopped = server.stop(); });
  ASSERT_TRUE(nc.poll_until([&] { return nc.client().state() == State::Reconnecting; }, kStepDeadline));
  stopper.join();
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(stopped->exit_code, 0);
  const auto down = std::find_if(record.changes.begin(), record.changes.end(),
                                 [](const StateChange& c) { return c.state == State::Reconnecting; });
  ASSERT_NE(down, record.changes.end());
  EXPECT_EQ(down->previous, State::Open);
  EXPECT_EQ(down->close_code, 1012);
  EXPECT_EQ(down->cause, Cause::ServerClosed);

  // Requests made while the server is down wait in the offline queue.
  EXPECT_EQ(ping("while-down-1"), RequestStatus::Queued);
  EXPECT_EQ(ping("while-down-2"), RequestStatus::Queued);
  EXPECT_EQ(nc.client().queued_count(), 2u);

  ASSERT_NO_THROW(server.start());  // same port
  ASSERT_TRUE(nc.poll_until([&] { return nc.client().state() == State::Open; }, milliseconds{15000}))
      << "state " << to_string(nc.client().state());
  // The session outlives the restart: the store still knows it, so it is continued (and the
  // requests it applied stay applied: PROTOCOL.md §3).
  EXPECT_EQ(nc.client().connected()->session, first_session);
  EXPECT_TRUE(nc.client().connected()->resumed);
  ASSERT_TRUE(nc.poll_until([&] { return record.answers.size() == 3; }, kStepDeadline));

  // Answered in order, each by a pong carrying the id the request was given: "1" before the
  // restart, then "2" and "3".
  const char* expected_ids[] = {"1", "2", "3"};
  const char* expected_labels[] = {"before", "while-down-1", "while-down-2"};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& [label, answer] = record.answers[i];
    EXPECT_EQ(label, expected_labels[i]);
    ASSERT_TRUE(answer.ok()) << label << ": " << answer.error().message;
    EXPECT_TRUE(std::holds_alternative<protocol::Pong>(answer.value().message)) << label;
    EXPECT_EQ(answer.value().id, std::optional<std::string>(expected_ids[i])) << label;
  }
  EXPECT_EQ(nc.client().pending_count(), 0u);

  // open -> reconnecting -> (dials failing while the server is down) -> open.
  ASSERT_GE(record.changes.size(), 3u);
  EXPECT_EQ(record.changes.back().state, State::Open);
  EXPECT_EQ(record.count(State::Open), 2);
  EXPECT_EQ(record.count(State::Closed), 0);
  nc.shutdown();
}
