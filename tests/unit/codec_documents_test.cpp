// codec_documents_test.cpp — the documents family: node/edge edits, doc_snapshot and the
// node_*/edge_* events; Node defaults, NodeFields, node status enum, raw node data.
#include <gtest/gtest.h>

#include "codec_test_util.h"

using namespace tandem::protocol;
using namespace tandem::protocol::test;

namespace {
Node fetch_node() {
  return {"n4", "http_request", "Fetch orders", 300, 120.25, NodeStatus::Running,
          R"({"url":"https://example.com/orders","retries":3,"headers":{"a":"b"}})"};
}
NodeFields label_and_x() {
  NodeFields f;
  f.label = "Fetch paid orders";
  f.x = 320;
  return f;
}
NodeFields every_field() {
  NodeFields f;
  f.type = "transform";
  f.label = "";
  f.x = -1.5;
  f.y = 1e6;
  f.status = NodeStatus::Failed;
  f.data = R"({"k":[1,2,3]})";
  return f;
}
}  // namespace

TEST(codec_documents_test, messages_round_trip) {
  expect_client_round_trip(NodeCreate{"workflow:42", fetch_node()}, "20");
  expect_client_round_trip(NodeUpdate{"workflow:42", "n4", label_and_x(), 57}, "21");
  expect_client_round_trip(NodeUpdate{"workflow:42", "n4", every_field(), std::nullopt}, "21");
  expect_client_round_trip(NodeDelete{"workflow:42", "n4", 57}, "22");
  expect_client_round_trip(NodeDelete{"workflow:42", "n4", std::nullopt}, "22");
  expect_client_round_trip(EdgeCreate{"workflow:42", {"e9", "n3", "n4"}}, "23");
  expect_client_round_trip(EdgeDelete{"workflow:42", "e9"}, "24");
  expect_server_round_trip(DocSnapshot{"workflow:42", 121, {fetch_node(), Node{"n3", "trigger", "", 0, 0, NodeStatus::Idle, "{}"}}, {{"e9", "n3", "n4"}}});
  expect_server_round_trip(DocSnapshot{"workflow:42", 0, {}, {}});
  expect_server_round_trip(NodeCreated{"workflow:42", fetch_node(), "ana", 122, 1732345678901});
  expect_server_round_trip(NodeUpdated{"workflow:42", "n4", every_field(), "ana", 123, 1732345679001});
  expect_server_round_trip(NodeDeleted{"workflow:42", "n4", "ana", 126, 1732345679301});
  expect_server_round_trip(EdgeCreated{"workflow:42", {"e9", "n3", "n4"}, "ana", 124, 1732345679101});
  expect_server_round_trip(EdgeDeleted{"workflow:42", "e9", "ana", 125, 1732345679201});
}

TEST(codec_documents_test, node_create_fills_documented_defaults) {
  auto decoded = decode_client(R"({"type":"node_create","room":"workflow:1","node":{"id":"n1","type":"trigger"}})");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(std::get<NodeCreate>(decoded->message).node, (Node{"n1", "trigger", "", 0, 0, NodeStatus::Idle, "{}"}));
}

TEST(codec_documents_test, every_node_status_round_trips) {
  for (auto status : {NodeStatus::Idle, NodeStatus::Queued, NodeStatus::Running, NodeStatus::Succeeded,
                      NodeStatus::Failed, NodeStatus::Skipped}) {
    Node n = fetch_node();
    n.status = status;
    expect_server_round_trip(NodeCreated{"workflow:42", n, "ana", 1, 1});
  }
}

TEST(codec_documents_test, malformed_messages_report_exact_codes) {
  const std::string create = R"({"type":"node_create","id":"5","room":"workflow:1","node":)";
  const std::string update = R"({"type":"node_update","id":"5","room":"workflow:1","node":"n1",)";
  expect_client_rejects({
      {"edit in a chat room", R"({"type":"node_delete","id":"5","room":"chat:1","node":"n1"})", errc::invalid_message, "5"},
      {"node not an object", create + R"("n1"})", errc::invalid_message, "5"},
      {"node without id", create + R"({"type":"t"}})", errc::invalid_message, "5"},
      {"node without type", create + R"({"id":"n1"}})", errc::invalid_message, "5"},
      {"node type with spaces", create + R"({"id":"n1","type":"http request"}})", errc::invalid_message, "5"},
      {"node label too long", create + R"({"id":"n1","type":"t","label":")" + std::string(257, 'l') + R"("}})", errc::too_big, "5"},
      {"node x as string", create + R"({"id":"n1","type":"t","x":"3"}})", errc::invalid_message, "5"},
      {"node y overflowing", create + R"({"id":"n1","type":"t","y":1e999}})", errc::invalid_message, "5"},
      {"node y out of range", create + R"({"id":"n1","type":"t","y":-2e9}})", errc::invalid_message, "5"},
      {"node bad status", create + R"({"id":"n1","type":"t","status":"exploded"}})", errc::invalid_message, "5"},
      {"node status wrong case", create + R"({"id":"n1","type":"t","status":"Running"}})", errc::invalid_message, "5"},
      {"node data not an object", create + R"({"id":"n1","type":"t","data":"x"}})", errc::invalid_message, "5"},
      {"node data over 16 KiB", create + R"({"id":"n1","type":"t","data":{"blob":")" + std::string(16400, 'b') + R"("}}})", errc::too_big, "5"},
      {"update without fields", R"({"type":"node_update","id":"5","room":"workflow:1","node":"n1"})", errc::invalid_message, "5"},
      {"update with empty fields", update + R"("fields":{}})", errc::invalid_message, "5"},
      {"update with only unknown fields", update + R"("fields":{"colour":"red"}})", errc::invalid_message, "5"},
      {"update fence zero", update + R"("fields":{"x":1},"fence":0})", errc::invalid_message, "5"},
      {"update fence fractional", update + R"("fields":{"x":1},"fence":2.5})", errc::invalid_message, "5"},
      {"update node as object", R"({"type":"node_update","id":"5","room":"workflow:1","node":{"id":"n1"},"fields":{"x":1}})", errc::invalid_message, "5"},
      {"edge without to", R"({"type":"edge_create","id":"5","room":"workflow:1","edge":{"id":"e1","from":"n1"}})", errc::invalid_message, "5"},
      {"edge from with bad chars", R"({"type":"edge_create","id":"5","room":"workflow:1","edge":{"id":"e1","from":"n/1","to":"n2"}})", errc::invalid_message, "5"},
      {"edge_delete edge empty", R"({"type":"edge_delete","id":"5","room":"workflow:1","edge":""})", errc::invalid_message, "5"},
  });
  expect_server_rejects({
      {"snapshot without edges", R"({"type":"doc_snapshot","room":"workflow:1","seq":1,"nodes":[]})", errc::invalid_message},
      {"snapshot node wrong type", R"({"type":"doc_snapshot","room":"workflow:1","seq":1,"nodes":["n1"],"edges":[]})", errc::invalid_message},
      {"snapshot in agent room", R"({"type":"doc_snapshot","room":"agent:1","seq":1,"nodes":[],"edges":[]})", errc::invalid_message},
      {"node_created without user", R"({"type":"node_created","room":"workflow:1","node":{"id":"n1","type":"t"},"seq":1,"ts":1})", errc::invalid_message},
      {"node_updated seq negative", R"({"type":"node_updated","room":"workflow:1","node":"n1","fields":{"x":1},"user":"a","seq":-1,"ts":1})", errc::invalid_message},
      {"edge_deleted ts as string", R"({"type":"edge_deleted","room":"workflow:1","edge":"e1","user":"a","seq":1,"ts":"now"})", errc::invalid_message},
  });
}
