// state_dump_test.cpp — the canvas state dump: the JSON a test reads (nodes, edges, members with
// cursors, locks with holders and "mine", executions, connection, script) and the atomic file write.
#include "state_dump.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <cJSON.h>

#include "tandem/json.h"

namespace canvas {
namespace {

namespace protocol = tandem::protocol;

const std::string kRoom = "workflow:42";

tandem::RoomReplica filled_replica() {
  tandem::RoomReplica replica(kRoom);
  (void)replica.apply(protocol::Subscribed{kRoom, "e1", 5, false});
  protocol::Node fetch;
  fetch.id = "n1";
  fetch.type = "http_request";
  fetch.label = "Fetch \"orders\"";
  fetch.x = 120.5;
  fetch.y = -40;
  fetch.status = protocol::NodeStatus::Running;
  protocol::Node filter;
  filter.id = "n2";
  filter.type = "filter";
  (void)replica.apply(protocol::DocSnapshot{kRoom, 5, {fetch, filter}, {protocol::Edge{"e1", "n1", "n2"}}});
  protocol::PresenceMember ana{{"ana", "Ana", "#e91e63"}, {{"c1", protocol::Presence{protocol::Cursor{7, 8}, {}, {}, {}, {}}}}};
  protocol::PresenceMember ben{{"ben", "Ben", "#3366ff"}, {{"c2", protocol::Presence{}}}};
  (void)replica.apply(protocol::PresenceSnapshot{kRoom, {ana, ben}});
  (void)replica.apply(protocol::LockState{kRoom, 5, {protocol::LockInfo{"n1", {"ben", "Ben", "#3366ff"}, 3, 0}}});
  protocol::ExecutionUpdate run;
  run.room = kRoom;
  run.execution = "run-1";
  run.status = protocol::ExecutionStatus::Running;
  run.node = "n1";
  run.progress = 0.4;
  run.seq = 6;
  (void)replica.apply(run);
  return replica;
}

TEST(state_dump_test, holds_the_document_members_locks_and_connection) {
  const auto replica = filled_replica();
  CanvasStateInput input;
  input.connection = "open";
  input.user = protocol::UserInfo{"ana", "Ana", "#e91e63"};
  input.room = kRoom;
  input.joined = true;
  input.replica = &replica;
  input.pending_moves = 2;
  input.script_step = 1;
  input.script_steps = 3;
  input.script_status = "running";
  input.frame = 9;
  const std::string text = canvas_state_json(input);

  auto parsed = tandem::json::parse_json(text);
  ASSERT_TRUE(parsed) << text;
  const cJSON* root = parsed->get();
  EXPECT_STREQ(cJSON_GetObjectItem(root, "connection")->valuestring, "open");
  EXPECT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(root, "joined")));
  const cJSON* nodes = cJSON_GetObjectItem(root, "nodes");
  ASSERT_EQ(cJSON_GetArraySize(nodes), 2);
  const cJSON* n1 = cJSON_GetArrayItem(nodes, 0);
  EXPECT_STREQ(cJSON_GetObjectItem(n1, "label")->valuestring, "Fetch \"orders\"");
  EXPECT_EQ(cJSON_GetObjectItem(n1, "x")->valuedouble, 120.5);
  EXPECT_EQ(cJSON_GetObjectItem(n1, "y")->valuedouble, -40);
  EXPECT_STREQ(cJSON_GetObjectItem(n1, "status")->valuestring, "running");
  EXPECT_STREQ(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "edges"), 0), "to")->valuestring, "n2");
  const cJSON* members = cJSON_GetObjectItem(root, "members");
  ASSERT_EQ(cJSON_GetArraySize(members), 2);
  const cJSON* ana = cJSON_GetArrayItem(members, 0);
  EXPECT_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(ana, "cursor"), "y")->valuedouble, 8);
  EXPECT_EQ(cJSON_GetObjectItem(cJSON_GetArrayItem(members, 1), "cursor"), nullptr);
  const cJSON* lock = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "locks"), 0);
  EXPECT_STREQ(cJSON_GetObjectItem(lock, "resource")->valuestring, "n1");
  EXPECT_STREQ(cJSON_GetObjectItem(lock, "holder")->valuestring, "Ben");
  EXPECT_TRUE(cJSON_IsFalse(cJSON_GetObjectItem(lock, "mine")));
  const cJSON* execution = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "executions"), 0);
  ASSERT_NE(execution, nullptr) << text;
  EXPECT_STREQ(cJSON_GetObjectItem(execution, "status")->valuestring, "running");
  EXPECT_STREQ(cJSON_GetObjectItem(execution, "node")->valuestring, "n1");
  EXPECT_EQ(cJSON_GetObjectItem(execution, "progress")->valuedouble, 0.4);
  EXPECT_EQ(cJSON_GetObjectItem(root, "pending_moves")->valueint, 2);
  EXPECT_STREQ(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "script"), "status")->valuestring, "running");
  // "frame" comes last: the app compares dumps without it to skip rewriting an idle state.
  EXPECT_EQ(text.substr(text.rfind(",\"frame\"")), ",\"frame\":9}");
}

TEST(state_dump_test, while_reconnecting_it_holds_the_countdown_and_only_then) {
  CanvasStateInput input;
  input.connection = "reconnecting";
  input.retry_in = tandem::Millis{1'250};
  auto reconnecting = tandem::json::parse_json(canvas_state_json(input));
  ASSERT_TRUE(reconnecting);
  EXPECT_EQ(cJSON_GetObjectItem(reconnecting->get(), "retry_in_ms")->valuedouble, 1250);
  input.connection = "open";
  input.retry_in.reset();
  auto open = tandem::json::parse_json(canvas_state_json(input));
  ASSERT_TRUE(open);
  EXPECT_EQ(cJSON_GetObjectItem(open->get(), "retry_in_ms"), nullptr);
}

TEST(state_dump_test, it_holds_the_view_and_where_widgets_were_drawn_for_tests_to_aim_at) {
  Viewport viewport;
  viewport.pan_by({460, 60});
  viewport.zoom_at({460, 60}, 0.5);
  const WidgetPlaces widgets{{"agent.pause", WidgetPlace{672, 468, 43, 19}}, {"window.Chat", WidgetPlace{16, 494, 360, 250}}};
  CanvasStateInput input;
  input.connection = "open";
  input.viewport = &viewport;
  input.widgets = &widgets;
  auto state = tandem::json::parse_json(canvas_state_json(input));
  ASSERT_TRUE(state);
  const cJSON* view = cJSON_GetObjectItem(state->get(), "view");
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(cJSON_GetObjectItem(view, "x")->valuedouble, 460);
  EXPECT_EQ(cJSON_GetObjectItem(view, "y")->valuedouble, 60);
  EXPECT_EQ(cJSON_GetObjectItem(view, "zoom")->valuedouble, 0.5);
  const cJSON* node = cJSON_GetObjectItem(view, "node");
  EXPECT_EQ(cJSON_GetObjectItem(node, "width")->valuedouble, kNodeWidth);
  EXPECT_EQ(cJSON_GetObjectItem(node, "height")->valuedouble, kNodeHeight);
  EXPECT_EQ(cJSON_GetObjectItem(node, "header")->valuedouble, kNodeHeaderHeight);
  const cJSON* pause = cJSON_GetObjectItem(cJSON_GetObjectItem(state->get(), "widgets"), "agent.pause");
  ASSERT_NE(pause, nullptr);
  EXPECT_EQ(cJSON_GetObjectItem(pause, "x")->valuedouble, 672);
  EXPECT_EQ(cJSON_GetObjectItem(pause, "y")->valuedouble, 468);
  EXPECT_EQ(cJSON_GetObjectItem(pause, "width")->valuedouble, 43);
  EXPECT_EQ(cJSON_GetObjectItem(pause, "height")->valuedouble, 19);
  EXPECT_NE(cJSON_GetObjectItem(cJSON_GetObjectItem(state->get(), "widgets"), "window.Chat"), nullptr);
}

TEST(state_dump_test, without_a_room_there_is_no_view) {
  CanvasStateInput input;
  input.connection = "open";
  auto state = tandem::json::parse_json(canvas_state_json(input));
  ASSERT_TRUE(state);
  EXPECT_EQ(cJSON_GetObjectItem(state->get(), "view"), nullptr);
}

TEST(state_dump_test, before_joining_the_lists_are_empty_and_there_is_no_script) {
  CanvasStateInput input;
  input.connection = "connecting";
  const std::string text = canvas_state_json(input);
  EXPECT_NE(text.find("\"nodes\":[]"), std::string::npos) << text;
  EXPECT_NE(text.find("\"locks\":[]"), std::string::npos) << text;
  EXPECT_EQ(text.find("\"script\""), std::string::npos) << text;
  EXPECT_EQ(text.find("\"user\""), std::string::npos) << text;
}

TEST(state_dump_test, the_file_is_replaced_whole_and_no_temporary_stays) {
  const auto dir = std::filesystem::temp_directory_path() / ("canvas-state-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "state.json").string();
  ASSERT_EQ(write_file_atomically(path, "{\"a\":1}"), std::nullopt);
  ASSERT_EQ(write_file_atomically(path, "{\"b\":2}"), std::nullopt);
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  EXPECT_EQ(content.str(), "{\"b\":2}");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::filesystem::remove_all(dir);
}

TEST(state_dump_test, an_unwritable_path_is_reported) {
  const auto error = write_file_atomically("/nonexistent-dir/state.json", "{}");
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("/nonexistent-dir/state.json.tmp"), std::string::npos);
}

}  // namespace
}  // namespace canvas
