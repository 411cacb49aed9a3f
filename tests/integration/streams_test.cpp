// streams_test.cpp — the streams family against a real tandem-server (PROTOCOL.md §11): a
// producer's stream events reach every member (the producer included) with seqs; a consumer's
// pause / resume / cancel reach the producer only, in order; without a producer (none yet, or
// it disconnected) stream_control is not_found; a later joiner gets the stream so far; stream
// messages outside agent: rooms are invalid_message.
#include <gtest/gtest.h>

#include <variant>

#include "server_test_support.h"

namespace tandem::integration {
namespace {

constexpr const char* kRoom = "agent:build-7";

template <class M>
std::vector<M> all_of(const TransportProbe& probe) {
  std::vector<M> out;
  for (const auto& frame : decoded(probe.log))
    if (const M* m = std::get_if<M>(&frame.message)) out.push_back(*m);
  return out;
}

class streams_test : public ServerTest {
 protected:
  void connect_and_join(TransportProbe& probe, const std::string& sub) {
    TokenSpec spec;
    spec.sub = sub;
    spec.name = sub;
    open_with_token(probe, mint_token(spec));
    ASSERT_TRUE(wait_for_message<protocol::Connected>(probe).has_value()) << server.output();
    probe.send(protocol::encode_client(protocol::Subscribe{kRoom, std::nullopt}, "sub"));
    ASSERT_TRUE(wait_for_message<protocol::Subscribed>(probe, "sub").has_value());
    ASSERT_TRUE(wait_for_message<protocol::ChatHistory>(probe).has_value());  // the last snapshot but the stream
  }
  static void stream(TransportProbe& probe, const std::string& event, const std::string& data,
                     std::optional<std::string> id = std::nullopt) {
    probe.send(protocol::encode_client(protocol::StreamSend{kRoom, event, data}, std::move(id)));
  }
  static void control(TransportProbe& probe, protocol::StreamAction action, const std::string& id) {
    probe.send(protocol::encode_client(protocol::StreamControlSend{kRoom, action}, id));
  }
};

TEST_F(streams_test, a_consumer_pauses_resumes_and_cancels_the_producer) {
  TransportProbe agent, ana, ben;
  connect_and_join(agent, "agent-1");
  connect_and_join(ana, "ana");
  connect_and_join(ben, "ben");

  // Nobody has streamed yet: there is no producer to ask.
  control(ana, protocol::StreamAction::Pause, "early");
  auto early = wait_for_message<protocol::ErrorReply>(ana, "early");
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->first.code, "not_found");

  stream(agent, "thinking", R"({"text":"Adding an HTTP node"})", "s1");
  ASSERT_TRUE(wait_for_message<protocol::Ack>(agent, "s1").has_value());
  auto at_ana = wait_for_message<protocol::StreamEvent>(ana);
  ASSERT_TRUE(at_ana.has_value());
  EXPECT_EQ(at_ana->first.event, "thinking");
  EXPECT_EQ(at_ana->first.data, R"({"text":"Adding an HTTP node"})");
  EXPECT_EQ(at_ana->first.user, "agent-1");
  EXPECT_GT(at_ana->first.seq, 0);
  auto at_agent = wait_for_message<protocol::StreamEvent>(agent);  // the producer learns its seq
  ASSERT_TRUE(at_agent.has_value());
  EXPECT_EQ(at_agent->first.seq, at_ana->first.seq);

  control(ana, protocol::StreamAction::Pause, "c1");
  ASSERT_TRUE(wait_for_message<protocol::Ack>(ana, "c1").has_value());
  control(ana, protocol::StreamAction::Resume, "c2");
  ASSERT_TRUE(wait_for_message<protocol::Ack>(ana, "c2").has_value());
  control(ben, protocol::StreamAction::Cancel, "c3");
  ASSERT_TRUE(wait_for_message<protocol::Ack>(ben, "c3").has_value());

  ASSERT_TRUE(agent.wait_for([&] { return all_of<protocol::StreamControl>(agent).size() >= 3; }));
  const auto controls = all_of<protocol::StreamControl>(agent);
  ASSERT_EQ(controls.size(), 3u);
  EXPECT_EQ(controls[0].action, protocol::StreamAction::Pause);
  EXPECT_EQ(controls[0].user, "ana");
  EXPECT_EQ(controls[0].room, kRoom);
  EXPECT_EQ(controls[1].action, protocol::StreamAction::Resume);
  EXPECT_EQ(controls[2].action, protocol::StreamAction::Cancel);
  EXPECT_EQ(controls[2].user, "ben");

  // Only the producer hears about them.
  ana.send(R"({"type":"ping","id":"p"})");
  ASSERT_TRUE(wait_for_message<protocol::Pong>(ana, "p").has_value());
  EXPECT_TRUE(all_of<protocol::StreamControl>(ana).empty());
  EXPECT_TRUE(all_of<protocol::StreamControl>(ben).empty());
}

TEST_F(streams_test, without_its_producer_a_room_answers_not_found) {
  TransportProbe ana;
  connect_and_join(ana, "ana");
  {
    TransportProbe agent;
    connect_and_join(agent, "agent-1");
    stream(agent, "token", R"("partial")", "s1");
    ASSERT_TRUE(wait_for_message<protocol::Ack>(agent, "s1").has_value());
    control(ana, protocol::StreamAction::Pause, "c1");
    ASSERT_TRUE(wait_for_message<protocol::Ack>(ana, "c1").has_value());
  }  // the producer disconnects
  ASSERT_TRUE(ana.wait_for([&] {
    for (const auto& d : all_of<protocol::PresenceDiff>(ana))
      if (!d.leaves.empty()) return true;
    return false;
  })) << "the producer's leave was not seen";
  control(ana, protocol::StreamAction::Resume, "c2");
  auto refused = wait_for_message<protocol::ErrorReply>(ana, "c2");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->first.code, "not_found");
}

TEST_F(streams_test, a_late_joiner_gets_the_stream_so_far_in_order) {
  TransportProbe agent, late;
  connect_and_join(agent, "agent-1");
  for (int i = 1; i <= 5; ++i) stream(agent, "token", "\"part " + std::to_string(i) + "\"");
  stream(agent, "done", "{}", "last");
  ASSERT_TRUE(wait_for_message<protocol::Ack>(agent, "last").has_value());

  connect_and_join(late, "late");
  ASSERT_TRUE(late.wait_for([&] { return all_of<protocol::StreamEvent>(late).size() >= 6; }));
  const auto replayed = all_of<protocol::StreamEvent>(late);
  ASSERT_EQ(replayed.size(), 6u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(replayed[i].data, "\"part " + std::to_string(i + 1) + "\"");
  }
  EXPECT_EQ(replayed[5].event, "done");
  for (std::size_t i = 1; i < replayed.size(); ++i) {
    EXPECT_EQ(replayed[i].seq, replayed[i - 1].seq + 1);
  }
}

TEST_F(streams_test, stream_messages_outside_agent_rooms_are_invalid) {
  TransportProbe ana;
  connect_and_join(ana, "ana");
  ana.send(R"({"type":"stream","id":"x1","room":"chat:lobby","event":"token"})");
  auto refused = wait_for_message<protocol::ErrorReply>(ana, "x1");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->first.code, "invalid_message");
  ana.send(R"({"type":"stream_control","id":"x2","room":"workflow:1","action":"pause"})");
  auto refused_control = wait_for_message<protocol::ErrorReply>(ana, "x2");
  ASSERT_TRUE(refused_control.has_value());
  EXPECT_EQ(refused_control->first.code, "invalid_message");
}

}  // namespace
}  // namespace tandem::integration
