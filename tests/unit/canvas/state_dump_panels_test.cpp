// state_dump_panels_test.cpp — the chat and agent panels' part of the canvas state dump: the
// newest chat messages, who is typing, and the agent room's stream as the Agent panel shows it
// ("agent" only with --agent-room).
#include "state_dump.h"

#include <gtest/gtest.h>

#include "tandem/json.h"

namespace canvas {
namespace {

namespace protocol = tandem::protocol;

const std::string kRoom = "workflow:42";
const std::string kAgentRoom = "agent:42";

// The JSON text of member `key` of the dump, via the codec's own reader.
std::string member_json(const std::string& dump, const char* key) {
  auto parsed = tandem::json::parse_json(dump);
  EXPECT_TRUE(parsed.ok());
  if (!parsed.ok()) return "";
  tandem::json::Fields fields(parsed.value().get(), "dump");
  std::optional<std::string> raw;
  EXPECT_TRUE(fields.opt_raw(key, raw, tandem::json::RawKind::Any, 1 << 20));
  return raw.value_or("<absent>");
}

TEST(state_dump_panels_test, chat_and_typing_of_the_workflow_room) {
  // Joined at seq 55 with 55 messages of history.
  std::vector<protocol::ChatEntry> history;
  for (int i = 1; i <= static_cast<int>(kDumpedChatMessages) + 5; ++i) {
    history.push_back({"ben", "Ben", "#3366ff", "message " + std::to_string(i), i, 1000 + i});
  }
  tandem::RoomReplica replica(kRoom);
  (void)replica.apply(protocol::Subscribed{kRoom, "e1", static_cast<std::int64_t>(history.size()), false});
  (void)replica.apply(protocol::ChatHistory{kRoom, static_cast<std::int64_t>(history.size()), history});
  (void)replica.apply(protocol::TypingEvent{kRoom, "ben", "Ben", true});

  CanvasStateInput input;
  input.room = kRoom;
  input.replica = &replica;
  const std::string dump = canvas_state_json(input);

  const std::string chat = member_json(dump, "chat");
  EXPECT_EQ(chat.find("\"message 5\""), std::string::npos) << "only the newest are dumped";
  EXPECT_NE(chat.find(R"({"seq":6,"user":"ben","name":"Ben","text":"message 6"})"), std::string::npos) << chat;
  EXPECT_NE(chat.find("\"message 55\""), std::string::npos);
  EXPECT_EQ(member_json(dump, "typing"), R"([{"id":"ben","name":"Ben"}])");
  EXPECT_EQ(member_json(dump, "agent"), "<absent>");
}

TEST(state_dump_panels_test, the_agent_stream_as_the_panel_shows_it) {
  tandem::RoomReplica agent(kAgentRoom);
  (void)agent.apply(protocol::Subscribed{kAgentRoom, "e1", 0, false});
  (void)agent.apply(protocol::StreamEvent{kAgentRoom, "thinking", R"({"text":"Looking for a trigger"})", "bot", 1, 10});
  (void)agent.apply(protocol::StreamEvent{kAgentRoom, "node_created", R"({"id":"n1","type":"http","label":"Fetch"})",
                                          "bot", 2, 11});
  CanvasStateInput input;
  input.agent_room = kAgentRoom;
  input.agent_replica = &agent;
  const std::string dump = canvas_state_json(input);
  EXPECT_EQ(member_json(dump, "agent"),
            R"({"room":"agent:42","events":[{"seq":1,"event":"thinking","text":"Looking for a trigger"},)"
            R"json({"seq":2,"event":"node_created","text":"Fetch (http)"}]})json");
  EXPECT_EQ(member_json(dump, "chat"), "[]");

  input.agent_replica = nullptr;  // not joined yet
  EXPECT_EQ(member_json(canvas_state_json(input), "agent"), R"({"room":"agent:42","events":[]})");
}

}  // namespace
}  // namespace canvas
