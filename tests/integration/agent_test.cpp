// agent_test.cpp — tandem-agent end to end: the real binary as a child process building a
// workflow against a real tandem-server, watched and steered by a consumer on the client core.
// The consumer sees the agent's thinking, the nodes arriving in the workflow document one by one
// at the agent's pace, pauses it (no new node across several steps), resumes it (nodes again),
// and cancels it: the agent streams `cancelled` and exits 0 before finishing the plan.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "child_process.h"
#include "native_client.h"
#include "server_test_support.h"
#include "tcp_cutter.h"

namespace tandem::integration {
namespace {

constexpr const char* kAgentRoom = "agent:build-7";
constexpr const char* kWorkflowRoom = "workflow:77";
// Plans webhook -> http_request -> transform -> send_email: 4 nodes, 3 edges, 9 steps.
constexpr const char* kPrompt = "Fetch the orders and email the team";
constexpr milliseconds kStep{150};
constexpr milliseconds kAgentDeadline{15000};  // the whole plan takes ~1.5 s at kStep

class agent_test : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    ClientConfig config;
    config.session.url = server.ws_url();
    config.session.token = mint_token({.sub = "user-ben", .name = "Ben"});
    native::LwsTransportSettings quiet;
    quiet.log_level = native::LwsLogLevel::Silent;
    consumer = std::make_unique<native::NativeClient>(config, quiet, /*seed=*/7);
    consumer->client().rooms().on_change = [this](const std::string& room, RoomChanges what) {
      if (room == kWorkflowRoom && what.has(RoomChange::Doc)) node_counts.push_back(nodes());
    };
    consumer->start();
    for (const char* room : {kAgentRoom, kWorkflowRoom}) {
      std::optional<Result<protocol::Subscribed>> joined;
      consumer->client().rooms().join(room, std::nullopt, [&](Result<protocol::Subscribed> r) { joined = std::move(r); });
      ASSERT_TRUE(poll_until([&] { return joined.has_value(); })) << server.output();
      ASSERT_TRUE(joined->ok()) << joined->error().message;
    }
  }

  // url: where the agent connects (a TcpCutter in front of the server, or the server itself).
  void start_agent(const std::string& url = "") {
    agent = std::make_unique<ChildProcess>(
        std::vector<std::string>{TANDEM_AGENT_BINARY, "--url", url.empty() ? server.ws_url() : url, "--agent-room", kAgentRoom,
                                 "--workflow", kWorkflowRoom, "--prompt", kPrompt, "--step-ms",
                                 std::to_string(kStep.count())},
        std::map<std::string, std::string>{{"TANDEM_TOKEN", mint_token({.sub = "agent-1", .name = "Agent"})}});
  }

  bool poll_until(const std::function<bool()>& done, milliseconds timeout = kStepDeadline) {
    return pump_until(done, [&] { consumer->poll(milliseconds{10}); }, timeout);
  }
  // Polls for `span`, then says whether the node count stayed `count` all along.
  bool nodes_stay(std::size_t count, milliseconds span) {
    bool changed = false;
    const auto until = Clock::now() + span;
    pump_until([&] { return Clock::now() >= until; }, [&] {
      consumer->poll(milliseconds{10});
      changed |= nodes() != count;
    }, span + milliseconds{1000});
    return !changed && nodes() == count;
  }

  const RoomReplica& agent_room() { return *consumer->client().rooms().replica(kAgentRoom); }
  const RoomReplica& workflow() { return *consumer->client().rooms().replica(kWorkflowRoom); }
  std::size_t nodes() { return workflow().document().nodes().size(); }
  std::size_t stream_count(const std::string& event) {
    const auto& stream = agent_room().stream();
    return static_cast<std::size_t>(
        std::count_if(stream.begin(), stream.end(), [&](const protocol::StreamEvent& e) { return e.event == event; }));
  }
  Result<Acked> control(protocol::StreamAction action) {
    std::optional<Result<Acked>> answer;
    consumer->client().rooms().control_stream(kAgentRoom, action, [&](Result<Acked> r) { answer = std::move(r); });
    EXPECT_TRUE(poll_until([&] { return answer.has_value(); }));
    return answer.value_or(Error{"timeout", "no answer to stream_control"});
  }
  std::string agent_output() { return agent ? agent->output() : std::string("(no agent)"); }

  std::unique_ptr<native::NativeClient> consumer;
  std::unique_ptr<ChildProcess> agent;
  std::vector<std::size_t> node_counts;  // the document's node count after each Doc change
};

TEST_F(agent_test, a_consumer_watches_pauses_resumes_and_cancels_the_agent) {
  start_agent();

  // Thinking first, then the nodes, one by one at the agent's pace.
  ASSERT_TRUE(poll_until([&] { return stream_count("thinking") >= 1; }, kAgentDeadline)) << agent_output();
  EXPECT_EQ(agent_room().stream().front().user, "agent-1");
  ASSERT_TRUE(poll_until([&] { return nodes() >= 2; }, kAgentDeadline)) << agent_output();
  EXPECT_EQ(workflow().document().nodes()[0].type, "webhook");
  EXPECT_EQ(workflow().document().nodes()[1].type, "http_request");
  for (std::size_t i = 0; i + 1 < node_counts.size(); ++i) EXPECT_EQ(node_counts[i] + 1, node_counts[i + 1]);

  // Pause: once `paused` is announced, no node appears across three steps.
  ASSERT_TRUE(control(protocol::StreamAction::Pause).ok());
  ASSERT_TRUE(poll_until([&] { return stream_count("paused") == 1; })) << agent_output();
  const std::size_t paused_at = nodes();
  ASSERT_LT(paused_at, 4u) << "the plan finished before the pause took effect";
  EXPECT_TRUE(nodes_stay(paused_at, 3 * kStep)) << agent_output();

  // Resume: nodes come again.
  ASSERT_TRUE(control(protocol::StreamAction::Resume).ok());
  ASSERT_TRUE(poll_until([&] { return stream_count("resumed") == 1; })) << agent_output();
  ASSERT_TRUE(poll_until([&] { return nodes() > paused_at; }, kAgentDeadline)) << agent_output();

  // Cancel: the agent announces it and exits 0 without finishing the plan.
  ASSERT_TRUE(control(protocol::StreamAction::Cancel).ok());
  ASSERT_TRUE(poll_until([&] { return agent->exit_status().has_value(); }, kAgentDeadline)) << agent_output();
  EXPECT_EQ(agent->exit_status(), 0) << agent_output();
  EXPECT_NE(agent_output().find("tandem-agent: cancelled"), std::string::npos) << agent_output();
  ASSERT_TRUE(poll_until([&] { return stream_count("cancelled") == 1; })) << agent_output();
  EXPECT_EQ(stream_count("done"), 0u);
  EXPECT_LT(workflow().document().edges().size(), 3u);

  // Every node the agent announced is in the document, in the order announced.
  std::vector<std::string> announced;
  for (const auto& event : agent_room().stream())
    if (event.event == "node_created") announced.push_back(event.data.value_or(""));
  ASSERT_EQ(announced.size(), nodes());
  for (std::size_t i = 0; i < announced.size(); ++i)
    EXPECT_NE(announced[i].find("\"" + workflow().document().nodes()[i].id + "\""), std::string::npos) << announced[i];
  // Each node came at least about a step after the previous one (the server stamps ts).
  std::vector<std::int64_t> created_at;
  for (const auto& event : agent_room().stream())
    if (event.event == "node_created") created_at.push_back(event.ts);
  for (std::size_t i = 0; i + 1 < created_at.size(); ++i) EXPECT_GE(created_at[i + 1] - created_at[i], kStep.count() / 2);
}

// The server forgets a producer with its connection. An agent whose connection drops while
// paused announces `paused` again once it is back, so it can still be resumed.
TEST_F(agent_test, a_paused_agent_that_reconnects_can_still_be_resumed) {
  TcpCutter cutter(server.port());
  start_agent("ws://127.0.0.1:" + std::to_string(cutter.port()) + "/ws");
  ASSERT_TRUE(poll_until([&] { return nodes() >= 1; }, kAgentDeadline)) << agent_output();
  ASSERT_TRUE(control(protocol::StreamAction::Pause).ok());
  ASSERT_TRUE(poll_until([&] { return stream_count("paused") == 1; })) << agent_output();
  const std::size_t paused_at = nodes();

  cutter.cut();  // the agent's transport dies; it reconnects through the relay
  ASSERT_TRUE(poll_until([&] { return stream_count("paused") == 2; }, kAgentDeadline)) << agent_output();
  EXPECT_NE(agent_output().find("connection back while paused"), std::string::npos) << agent_output();
  EXPECT_EQ(nodes(), paused_at) << "still paused after the reconnect";

  ASSERT_TRUE(control(protocol::StreamAction::Resume).ok()) << agent_output();
  ASSERT_TRUE(poll_until([&] { return agent->exit_status().has_value(); }, kAgentDeadline)) << agent_output();
  EXPECT_EQ(agent->exit_status(), 0) << agent_output();
  EXPECT_EQ(stream_count("done"), 1u) << agent_output();
  EXPECT_EQ(nodes(), 4u);
}

TEST_F(agent_test, an_uninterrupted_run_builds_the_whole_plan_and_says_done) {
  start_agent();
  ASSERT_TRUE(poll_until([&] { return agent->exit_status().has_value(); }, kAgentDeadline)) << agent_output();
  EXPECT_EQ(agent->exit_status(), 0) << agent_output();
  ASSERT_TRUE(poll_until([&] { return stream_count("done") == 1; })) << agent_output();
  EXPECT_EQ(nodes(), 4u);
  ASSERT_EQ(workflow().document().edges().size(), 3u);
  const auto& doc = workflow().document();
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(doc.edges()[i].from, doc.nodes()[i].id);
    EXPECT_EQ(doc.edges()[i].to, doc.nodes()[i + 1].id);
  }
  EXPECT_EQ(stream_count("node_created"), 4u);
  EXPECT_EQ(stream_count("edge_created"), 3u);
  EXPECT_EQ(stream_count("thinking"), 2u);
}

}  // namespace
}  // namespace tandem::integration
