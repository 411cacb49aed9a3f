// document_test.cpp — the workflow document's editing rules without a hub (documents/document.h):
// create/update/delete of nodes and edges, per-field last-writer-wins, conflict / not_found /
// limit_exceeded / validation errors that change nothing, node_delete dropping its edges, and
// the encoded-size bound.
#include "documents/document.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "tandem/json.h"
#include "tandem/protocol/codec.h"

namespace tandem::server::documents {
namespace {

using protocol::Edge;
using protocol::Node;
using protocol::NodeFields;
using protocol::NodeStatus;

Node node(const std::string& id, const std::string& type = "step") {
  Node n;
  n.id = id;
  n.type = type;
  return n;
}

Edge edge(const std::string& id, const std::string& from, const std::string& to) { return Edge{id, from, to}; }

// The document as a value, to check that a refused edit changed nothing.
struct Contents {
  std::vector<Node> nodes;
  std::vector<Edge> edges;
  std::size_t bytes;
  bool operator==(const Contents&) const = default;
};
Contents contents(const Document& doc) { return {doc.nodes(), doc.edges(), doc.bytes()}; }

class document_test : public ::testing::Test {
 protected:
  // n1 -> n2 -> n3, and n1 -> n3.
  void SetUp() override {
    for (const char* id : {"n1", "n2", "n3"}) ASSERT_TRUE(doc.create_node(node(id), limits));
    ASSERT_TRUE(doc.create_edge(edge("e1", "n1", "n2"), limits));
    ASSERT_TRUE(doc.create_edge(edge("e2", "n2", "n3"), limits));
    ASSERT_TRUE(doc.create_edge(edge("e3", "n1", "n3"), limits));
  }
  // Expects `result` to be refused with `code` and the document unchanged.
  template <class R>
  void expect_refused(const R& result, std::string_view code, const Contents& before) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, code) << result.error().message;
    EXPECT_EQ(contents(doc), before);
  }

  Document doc;
  DocumentLimits limits;
};

TEST_F(document_test, nodes_and_edges_keep_creation_order_and_are_found_by_id) {
  ASSERT_EQ(doc.nodes().size(), 3u);
  EXPECT_EQ(doc.nodes()[0].id, "n1");
  EXPECT_EQ(doc.nodes()[2].id, "n3");
  ASSERT_NE(doc.find_edge("e2"), nullptr);
  EXPECT_EQ(doc.find_edge("e2")->from, "n2");
  EXPECT_EQ(doc.find_node("n4"), nullptr);
}

TEST_F(document_test, a_created_node_keeps_every_field) {
  Node full = node("n4", "http_request");
  full.label = "Fetch orders";
  full.x = 300;
  full.y = -120.5;
  full.status = NodeStatus::Running;
  full.data = R"({"url":"https://example.com"})";
  auto created = doc.create_node(full, limits);
  ASSERT_TRUE(created);
  EXPECT_EQ(created.value(), full);
  EXPECT_EQ(*doc.find_node("n4"), full);
}

TEST_F(document_test, an_update_changes_only_the_given_fields_and_the_later_write_wins) {
  Node before = *doc.find_node("n2");
  NodeFields first;
  first.label = "Ana's label";
  first.x = 10;
  ASSERT_TRUE(doc.update_node("n2", first, limits));
  NodeFields second;
  second.x = 20;
  second.data = R"({"k":1})";
  auto updated = doc.update_node("n2", second, limits);
  ASSERT_TRUE(updated);
  before.label = "Ana's label";  // kept: the second write did not touch it
  before.x = 20;                 // the later write wins
  before.data = R"({"k":1})";
  EXPECT_EQ(updated.value(), before);
  EXPECT_EQ(*doc.find_node("n2"), before);
}

TEST_F(document_test, data_replaces_the_whole_object) {
  NodeFields fields;
  fields.data = R"({"a":1,"b":2})";
  ASSERT_TRUE(doc.update_node("n1", fields, limits));
  fields.data = R"({"c":3})";
  ASSERT_TRUE(doc.update_node("n1", fields, limits));
  EXPECT_EQ(doc.find_node("n1")->data, R"({"c":3})");
}

TEST_F(document_test, deleting_a_node_drops_its_edges_and_returns_them_in_order) {
  auto dropped = doc.delete_node("n1");
  ASSERT_TRUE(dropped);
  ASSERT_EQ(dropped.value().size(), 2u);
  EXPECT_EQ(dropped.value()[0].id, "e1");
  EXPECT_EQ(dropped.value()[1].id, "e3");
  EXPECT_EQ(doc.find_node("n1"), nullptr);
  EXPECT_EQ(doc.find_edge("e1"), nullptr);
  EXPECT_EQ(doc.find_edge("e3"), nullptr);
  ASSERT_NE(doc.find_edge("e2"), nullptr);  // the index survives the removal before it
  EXPECT_EQ(doc.find_edge("e2")->to, "n3");
  ASSERT_NE(doc.find_node("n3"), nullptr);
  EXPECT_EQ(doc.find_node("n3")->id, "n3");
  // The id is free again.
  EXPECT_TRUE(doc.create_node(node("n1"), limits));
}

TEST_F(document_test, deleting_an_edge_keeps_the_others_findable) {
  auto deleted = doc.delete_edge("e1");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted.value(), edge("e1", "n1", "n2"));
  EXPECT_EQ(doc.find_edge("e1"), nullptr);
  EXPECT_EQ(doc.find_edge("e3")->from, "n1");
  EXPECT_EQ(doc.edges().size(), 2u);
}

TEST_F(document_test, existing_ids_conflict_and_missing_ones_are_not_found) {
  const Contents before = contents(doc);
  expect_refused(doc.create_node(node("n2"), limits), "conflict", before);
  expect_refused(doc.create_edge(edge("e1", "n2", "n3"), limits), "conflict", before);
  NodeFields fields;
  fields.x = 1;
  expect_refused(doc.update_node("nope", fields, limits), "not_found", before);
  expect_refused(doc.delete_node("nope"), "not_found", before);
  expect_refused(doc.delete_edge("nope"), "not_found", before);
  expect_refused(doc.create_edge(edge("e9", "n1", "nope"), limits), "not_found", before);
  expect_refused(doc.create_edge(edge("e9", "nope", "n1"), limits), "not_found", before);
}

TEST_F(document_test, invalid_fields_are_refused_with_the_codec_codes) {
  const Contents before = contents(doc);
  expect_refused(doc.create_node(node("n 9"), limits), "invalid_message", before);
  expect_refused(doc.create_node(node("n9", ""), limits), "invalid_message", before);
  expect_refused(doc.create_node(node(std::string(129, 'n')), limits), "too_big", before);
  Node bad = node("n9");
  bad.label = std::string(257, 'l');
  expect_refused(doc.create_node(bad, limits), "too_big", before);
  bad = node("n9");
  bad.x = std::numeric_limits<double>::infinity();
  expect_refused(doc.create_node(bad, limits), "invalid_message", before);
  bad = node("n9");
  bad.y = -2e9;
  expect_refused(doc.create_node(bad, limits), "invalid_message", before);
  bad = node("n9");
  bad.data = "[1,2]";
  expect_refused(doc.create_node(bad, limits), "invalid_message", before);
  bad.data = "{not json";
  expect_refused(doc.create_node(bad, limits), "invalid_message", before);
  bad.data = R"({"blob":")" + std::string(17 * 1024, 'd') + R"("})";
  expect_refused(doc.create_node(bad, limits), "too_big", before);
  expect_refused(doc.create_edge(edge("e 9", "n1", "n2"), limits), "invalid_message", before);

  expect_refused(doc.update_node("n1", NodeFields{}, limits), "invalid_message", before);
  NodeFields fields;
  fields.type = "has space";
  expect_refused(doc.update_node("n1", fields, limits), "invalid_message", before);
  fields = {};
  fields.x = std::nan("");
  expect_refused(doc.update_node("n1", fields, limits), "invalid_message", before);
}

TEST_F(document_test, node_and_edge_counts_are_bounded) {
  limits.max_nodes = 4;
  limits.max_edges = 4;
  ASSERT_TRUE(doc.create_node(node("n4"), limits));
  Contents before = contents(doc);
  expect_refused(doc.create_node(node("n5"), limits), "limit_exceeded", before);
  ASSERT_TRUE(doc.create_edge(edge("e4", "n3", "n4"), limits));
  before = contents(doc);
  expect_refused(doc.create_edge(edge("e5", "n4", "n1"), limits), "limit_exceeded", before);
  // Freeing one makes room again.
  ASSERT_TRUE(doc.delete_edge("e4"));
  EXPECT_TRUE(doc.create_edge(edge("e5", "n4", "n1"), limits));
}

TEST_F(document_test, bytes_are_the_encoded_nodes_and_edges_and_are_bounded) {
  // bytes() is what the nodes and edges weigh in the doc_snapshot.
  const std::string snapshot =
      protocol::encode_server(protocol::DocSnapshot{"workflow:1", 0, doc.nodes(), doc.edges()});
  const std::string empty = protocol::encode_server(protocol::DocSnapshot{"workflow:1", 0, {}, {}});
  const std::size_t commas = doc.nodes().size() - 1 + doc.edges().size() - 1;
  EXPECT_EQ(doc.bytes(), snapshot.size() - empty.size() - commas);

  limits.max_bytes = doc.bytes() + 100;
  Node big = node("n4");
  big.label = std::string(200, 'x');
  Contents before = contents(doc);
  expect_refused(doc.create_node(big, limits), "limit_exceeded", before);
  ASSERT_TRUE(doc.create_node(node("n4"), limits));
  NodeFields grow;
  grow.label = std::string(200, 'x');
  before = contents(doc);
  expect_refused(doc.update_node("n4", grow, limits), "limit_exceeded", before);

  // A document already over the bound (the setting was lowered) may still shrink.
  limits.max_bytes = 10;
  NodeFields shrink;
  shrink.label = "";
  EXPECT_TRUE(doc.update_node("n4", shrink, limits));
  const std::size_t after_delete = doc.bytes() - Document::encoded_size(*doc.find_node("n4"));
  ASSERT_TRUE(doc.delete_node("n4"));
  EXPECT_EQ(doc.bytes(), after_delete);
}

TEST_F(document_test, load_replaces_everything_and_recounts_bytes) {
  Document other;
  other.load(doc.nodes(), doc.edges());
  EXPECT_EQ(contents(other), contents(doc));
  EXPECT_EQ(other.find_edge("e3")->to, "n3");
  other.load({node("x")}, {});
  EXPECT_EQ(other.nodes().size(), 1u);
  EXPECT_EQ(other.find_node("n1"), nullptr);
  EXPECT_EQ(other.bytes(), Document::encoded_size(node("x")));
}

// encoded_size counts what the codec writes for a node or an edge, without writing it.
TEST(document_sizes, are_the_lengths_of_the_written_json) {
  auto written = [](const Node& n) {
    json::JsonWriter w;
    w.str("id", n.id).str("type", n.type).str("label", n.label).num("x", n.x).num("y", n.y);
    w.str("status", protocol::to_string(n.status)).raw("data", n.data);
    return std::move(w).finish();
  };
  Node plain = node("n1");
  Node escaped = node("quote\"back\\slash", "tab\tnew\nline\x01");
  escaped.label = "caf\xc3\xa9 \xe2\x82\xac";
  escaped.x = 0.30000000000000004;
  escaped.y = -1e300;
  escaped.data = R"({"rows":[1,2.5,"x"],"ok":true})";
  Node no_data = node("n3");
  no_data.data.clear();
  no_data.x = -0.0;
  no_data.status = NodeStatus::Failed;
  for (const Node* n : {&plain, &escaped, &no_data})
    EXPECT_EQ(Document::encoded_size(*n), written(*n).size()) << written(*n);
  const protocol::Edge edge{"e\"1", "from\n", "to"};
  json::JsonWriter w;
  w.str("id", edge.id).str("from", edge.from).str("to", edge.to);
  EXPECT_EQ(Document::encoded_size(edge), std::move(w).finish().size());
}

TEST_F(document_test, apply_status_sets_status_and_data_of_an_existing_node_only) {
  const protocol::Node* changed = doc.apply_status("n2", NodeStatus::Succeeded, std::string(R"({"rows":2400})"));
  ASSERT_NE(changed, nullptr);
  EXPECT_EQ(changed->status, NodeStatus::Succeeded);
  EXPECT_EQ(changed->data, R"({"rows":2400})");
  EXPECT_EQ(doc.find_node("n2")->type, "step");
  const Contents before = contents(doc);
  EXPECT_EQ(doc.apply_status("nope", NodeStatus::Failed, std::nullopt), nullptr);
  EXPECT_EQ(contents(doc), before);
  Document reloaded;
  reloaded.load(doc.nodes(), doc.edges());
  EXPECT_EQ(reloaded.bytes(), doc.bytes());  // the byte count followed the change
}

}  // namespace
}  // namespace tandem::server::documents
