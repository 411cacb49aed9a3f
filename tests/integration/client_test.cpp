// client_test.cpp — tandem::Client over the native transport (NativeClient) against a real
// tandem-server: both ways of presenting the token, and a refused token ending in Closed.
#include "native_client.h"
#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

class client_test : public ServerTest {};

}  // namespace

TEST_F(client_test, connects_with_the_token_in_the_url) {
  ClientConfig config;
  config.session.url = server.ws_url();
  config.session.token = mint_token({.sub = "user-query"});
  native::NativeClient nc(config);
  std::vector<State> states;
  nc.client().on_state = [&](const StateChange& c) { states.push_back(c.state); };
  nc.start();
  ASSERT_TRUE(nc.poll_until([&] { return nc.client().state() == State::Open; }, kStepDeadline)) << server.output();
  EXPECT_EQ(nc.client().connected()->user.id, "user-query");
  EXPECT_EQ(states, (std::vector<State>{State::Connecting, State::Open}));
  nc.shutdown();
  EXPECT_EQ(nc.client().state(), State::Closed);
  EXPECT_EQ(nc.transport().phase(), native::TransportPhase::Idle);
}

TEST_F(client_test, connects_with_the_token_in_an_auth_message) {
  ClientConfig config;
  config.session.url = server.ws_url();
  config.session.token = mint_token({.sub = "user-auth-msg"});
  config.session.token_delivery = TokenDelivery::AuthMessage;
  native::NativeClient nc(config);
  nc.start();
  ASSERT_TRUE(nc.poll_until([&] { return nc.client().state() == State::Open; }, kStepDeadline)) << server.output();
  EXPECT_EQ(nc.client().connected()->user.id, "user-auth-msg");
  nc.shutdown();
}

TEST_F(client_test, expired_token_ends_in_closed_unauthorized_without_retrying) {
  ClientConfig config;
  config.session.url = server.ws_url();
  config.session.token = expired_token();
  native::NativeClient nc(config);
  std::vector<StateChange> changes;
  nc.client().on_state = [&](const StateChange& c) { changes.push_back(c); };
  nc.start();
  ASSERT_TRUE(nc.poll_until([&] { return nc.client().state() == State::Closed; }, kStepDeadline));
  const StateChange& last = changes.back();
  EXPECT_EQ(last.cause, Cause::Unauthorized);
  EXPECT_EQ(last.close_code, 4401);
  EXPECT_NE(last.close_reason.find("expired"), std::string::npos) << last.close_reason;
  // Closed means closed: a further second of polling dials nothing.
  nc.poll_until([] { return false; }, milliseconds{1000});
  EXPECT_EQ(nc.client().state(), State::Closed);
  EXPECT_EQ(changes.size(), 2u);  // Connecting, Closed
}
