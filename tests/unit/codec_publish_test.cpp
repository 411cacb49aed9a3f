// codec_publish_test.cpp — the published-events family: execution_update and node_update as
// server messages, and the HTTP publish body (decode_publish / encode_publish).
#include <gtest/gtest.h>

#include "codec_test_util.h"

using namespace tandem::protocol;
using namespace tandem::protocol::test;

namespace {
ExecutionUpdate running() {
  ExecutionUpdate e;
  e.room = "workflow:42";
  e.execution = "run-881";
  e.status = ExecutionStatus::Running;
  e.node = "n4";
  e.progress = 0.5;
  e.message = "fetching page 2";
  e.data = R"({"rows":1200})";
  e.seq = 130;
  e.ts = 1732345690000;
  return e;
}
}  // namespace

TEST(codec_publish_test, server_messages_round_trip) {
  expect_server_round_trip(running());
  for (auto status : {ExecutionStatus::Queued, ExecutionStatus::Running, ExecutionStatus::Succeeded,
                      ExecutionStatus::Failed, ExecutionStatus::Cancelled})
    expect_server_round_trip(ExecutionUpdate{"chat:ops", "r1", status, std::nullopt, std::nullopt, std::nullopt, std::nullopt, 1, 2});
  expect_server_round_trip(PublishedNodeUpdate{"workflow:42", "n4", NodeStatus::Succeeded, R"({"rows":2400})", 131, 1732345691000});
  expect_server_round_trip(PublishedNodeUpdate{"workflow:42", "n4", std::nullopt, R"({})", 132, 1});
  expect_server_round_trip(PublishedNodeUpdate{"workflow:42", "n4", NodeStatus::Skipped, std::nullopt, 133, 1});
}

TEST(codec_publish_test, execution_update_node_counts_are_optional_and_consistent) {
  ExecutionUpdate e = running();
  e.completed_nodes = 3;
  e.total_nodes = 8;
  expect_server_round_trip(e);
  auto body = decode_publish(R"({"type":"execution_update","room":"execution:1","execution":"r","status":"running","completed_nodes":3,"total_nodes":8})");
  ASSERT_TRUE(body.ok());
  const auto& update = std::get<ExecutionUpdate>(body.value());
  EXPECT_EQ(update.completed_nodes, 3);
  EXPECT_EQ(update.total_nodes, 8);
  EXPECT_FALSE(decode_publish(R"({"type":"execution_update","room":"execution:1","execution":"r","status":"running","completed_nodes":9,"total_nodes":8})").ok());
  EXPECT_FALSE(decode_publish(R"({"type":"execution_update","room":"execution:1","execution":"r","status":"running","total_nodes":-1})").ok());
}

TEST(codec_publish_test, publish_body_round_trips_without_seq_and_ts) {
  ExecutionUpdate e = running();
  e.seq = 0;
  e.ts = 0;
  const std::string body = encode_publish(e);
  EXPECT_EQ(body.find("\"seq\""), std::string::npos);
  auto decoded = decode_publish(body);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(std::get<ExecutionUpdate>(decoded.value()), e);

  PublishedNodeUpdate n{"workflow:42", "n4", NodeStatus::Failed, std::nullopt, 0, 0};
  auto decoded_node = decode_publish(encode_publish(n));
  ASSERT_TRUE(decoded_node.ok()) << decoded_node.error().message;
  EXPECT_EQ(std::get<PublishedNodeUpdate>(decoded_node.value()), n);
}

TEST(codec_publish_test, publish_body_ignores_stamps_a_backend_sends) {
  auto decoded = decode_publish(R"({"type":"execution_update","room":"chat:a","execution":"r","status":"queued","seq":99,"ts":5})");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<ExecutionUpdate>(decoded.value()).seq, 0);
}

TEST(codec_publish_test, malformed_publish_bodies_report_exact_codes) {
  struct Case {
    const char* name;
    std::string body;
    std::string_view code;
  };
  const std::vector<Case> cases = {
      {"not JSON", "status=running", errc::bad_json},
      {"array body", R"([{"type":"execution_update"}])", errc::invalid_message},
      {"missing type", R"({"room":"chat:a"})", errc::invalid_message},
      {"unpublishable type", R"({"type":"chat","room":"chat:a","text":"x"})", errc::unknown_type},
      {"execution without status", R"({"type":"execution_update","room":"chat:a","execution":"r"})", errc::invalid_message},
      {"execution bad status", R"({"type":"execution_update","room":"chat:a","execution":"r","status":"done"})", errc::invalid_message},
      {"progress above 1", R"({"type":"execution_update","room":"chat:a","execution":"r","status":"running","progress":1.5})", errc::invalid_message},
      {"message too long", R"({"type":"execution_update","room":"chat:a","execution":"r","status":"running","message":")" + std::string(1025, 'm') + R"("})", errc::too_big},
      {"data over 16 KiB", R"({"type":"execution_update","room":"chat:a","execution":"r","status":"running","data":")" + std::string(16400, 'd') + R"("})", errc::too_big},
      {"node_update outside workflow", R"({"type":"node_update","room":"chat:a","node":"n1","status":"running"})", errc::invalid_message},
      {"node_update with nothing", R"({"type":"node_update","room":"workflow:1","node":"n1"})", errc::invalid_message},
      {"node_update data not object", R"({"type":"node_update","room":"workflow:1","node":"n1","data":[1]})", errc::invalid_message},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto decoded = decode_publish(c.body);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().code, c.code) << decoded.error().message;
  }
}

TEST(codec_publish_test, malformed_server_events_report_exact_codes) {
  expect_server_rejects({
      {"execution_update without seq", R"({"type":"execution_update","room":"chat:a","execution":"r","status":"queued","ts":1})", errc::invalid_message},
      {"execution_update progress NaN-ish", R"({"type":"execution_update","room":"chat:a","execution":"r","status":"queued","progress":1e999,"seq":1,"ts":1})", errc::invalid_message},
      {"node_update bad status", R"({"type":"node_update","room":"workflow:1","node":"n1","status":"boom","seq":1,"ts":1})", errc::invalid_message},
  });
}

TEST(codec_publish_test, client_edit_and_published_node_update_share_a_type_string) {
  // Client → server "node_update" is an edit (needs fields); server → client is a published status.
  auto edit = decode_client(R"({"type":"node_update","room":"workflow:1","node":"n1","fields":{"x":1}})");
  ASSERT_TRUE(edit.ok());
  EXPECT_TRUE(std::holds_alternative<NodeUpdate>(edit->message));
  auto published = decode_server(R"({"type":"node_update","room":"workflow:1","node":"n1","status":"running","seq":1,"ts":1})");
  ASSERT_TRUE(published[0].ok());
  EXPECT_TRUE(std::holds_alternative<PublishedNodeUpdate>(published[0]->message));
}
