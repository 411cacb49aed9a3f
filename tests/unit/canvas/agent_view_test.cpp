// agent_view_test.cpp — the agent panel's logic: stream data described as the web demo does
// (tandem-agent's events and other shapes), the status from announcements and controls, the
// tandem-agent command line with shell quoting, and the feed of new stream events.
#include "agent_view.h"

#include <gtest/gtest.h>

namespace canvas {
namespace {

using tandem::protocol::StreamAction;
using tandem::protocol::StreamEvent;

StreamEvent event(std::string name, std::optional<std::string> data, std::int64_t seq = 1) {
  StreamEvent e;
  e.room = "agent:demo";
  e.event = std::move(name);
  e.data = std::move(data);
  e.user = "tandem-agent";
  e.seq = seq;
  return e;
}

TEST(agent_view_test, describes_what_tandem_agent_streams) {
  EXPECT_EQ(describe_stream_data(R"({"text":"Looking for a trigger"})"), "Looking for a trigger");
  EXPECT_EQ(describe_stream_data(R"({"id":"n1","type":"http","label":"Fetch orders"})"), "Fetch orders (http)");
  EXPECT_EQ(describe_stream_data(R"({"id":"e1","from":"n1","to":"n2"})"), "n1 -> n2");
  EXPECT_EQ(describe_stream_data(R"({"nodes":5,"edges":4})"), "5 nodes, 4 edges");
  EXPECT_EQ(describe_stream_data(R"({"nodes":5})"), "5 nodes");
}

TEST(agent_view_test, describes_other_shapes_like_the_web_demo) {
  EXPECT_EQ(describe_stream_data(R"({"node":{"id":"n2","label":"","type":"filter"}})"), "n2 (filter)");
  EXPECT_EQ(describe_stream_data(R"({"edge":{"from":"a","to":"b"}})"), "a -> b");
  EXPECT_EQ(describe_stream_data(R"({"message":"rate limited"})"), "rate limited");
  EXPECT_EQ(describe_stream_data(R"({"text":42,"message":"fallback"})"), "fallback");
  EXPECT_EQ(describe_stream_data(R"({"rows":12})"), R"({"rows":12})");
  EXPECT_EQ(describe_stream_data("{}"), "");
  EXPECT_EQ(describe_stream_data(R"("a token")"), "a token");
  EXPECT_EQ(describe_stream_data("3.5"), "3.5");
  EXPECT_EQ(describe_stream_data("[1,2]"), "[1,2]");
  EXPECT_EQ(describe_stream_data(std::nullopt), "");
  EXPECT_EQ(describe_stream_data("null"), "");
  EXPECT_EQ(describe_stream_data("not json"), "not json");
  const auto line = stream_line(event("thinking", R"({"text":"Planning"})", 9));
  EXPECT_EQ(line.seq, 9);
  EXPECT_EQ(line.event, "thinking");
  EXPECT_EQ(line.text, "Planning");
}

TEST(agent_status_test, follows_the_producers_announcements) {
  AgentStatusTracker status;
  EXPECT_EQ(status.status(), AgentStatus::Idle);
  status.on_event(event("thinking", R"({"text":"x"})"));
  EXPECT_EQ(status.status(), AgentStatus::Running);
  status.on_event(event("paused", R"({"text":"Paused after 2 steps"})"));
  EXPECT_EQ(status.status(), AgentStatus::Paused);
  status.on_event(event("node_created", "{}"));  // a step in flight: still paused
  EXPECT_EQ(status.status(), AgentStatus::Paused);
  status.on_event(event("resumed", "{}"));
  EXPECT_EQ(status.status(), AgentStatus::Running);
  status.on_event(event("done", R"({"nodes":5,"edges":4})"));
  EXPECT_EQ(status.status(), AgentStatus::Done);
  EXPECT_EQ(status.text(), "done");
}

TEST(agent_status_test, our_controls_and_their_failures) {
  AgentStatusTracker status;
  status.on_control_sent(StreamAction::Pause);
  EXPECT_EQ(status.status(), AgentStatus::Paused);
  EXPECT_EQ(status.text(), "pause sent");
  status.on_control_sent(StreamAction::Cancel);
  status.on_event(event("thinking", "{}"));  // after a cancel, a late step does not revive it
  EXPECT_EQ(status.status(), AgentStatus::Cancelled);
  status.on_control_failed("not_found", "no producer");
  EXPECT_EQ(status.status(), AgentStatus::Error);
  EXPECT_EQ(status.text(), "no agent is streaming in this room");
  status.on_control_failed("timeout", "no answer");
  EXPECT_EQ(status.text(), "timeout: no answer");
}

TEST(agent_command_test, names_this_server_and_rooms_and_quotes_the_prompt) {
  EXPECT_EQ(agent_command("ws://127.0.0.1:8080/ws?token=secret", "agent:demo", "workflow:42",
                          "fetch new orders, keep the paid ones"),
            "tandem-agent --url ws://127.0.0.1:8080/ws --agent-room agent:demo --workflow workflow:42 "
            "--prompt 'fetch new orders, keep the paid ones'");
  EXPECT_EQ(agent_command("wss://tandem.example/ws", "agent:a", "workflow:b", ""),
            "tandem-agent --url wss://tandem.example/ws --agent-room agent:a --workflow workflow:b "
            "--prompt 'Fetch orders and email a summary'");
  EXPECT_EQ(shell_word("it's"), R"('it'\''s')");
  EXPECT_EQ(shell_word(""), "''");
  EXPECT_EQ(shell_word("$(rm -rf /)"), "'$(rm -rf /)'");
  EXPECT_EQ(ws_endpoint("ws://h:1/ws#x"), "ws://h:1/ws");
}

TEST(stream_feed_test, reports_each_event_once_and_again_after_a_reset) {
  StreamFeed feed;
  std::deque<StreamEvent> stream{event("thinking", "{}", 3), event("node_created", "{}", 4)};
  EXPECT_EQ(feed.take_new(stream).size(), 2u);
  EXPECT_TRUE(feed.take_new(stream).empty());
  stream.push_back(event("done", "{}", 5));
  const auto fresh = feed.take_new(stream);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].event, "done");
  EXPECT_EQ(feed.take_new({event("thinking", "{}", 1)}).size(), 1u);
}

}  // namespace
}  // namespace canvas
