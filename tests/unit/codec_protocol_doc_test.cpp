// codec_protocol_doc_test.cpp — docs/PROTOCOL.md and the codec cannot drift apart: every
// example block labelled `json client`, `json server` or `json publish` must decode on that
// side, and every message type of ClientMessage / ServerMessage must have an example.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "protocol_doc.h"
#include "tandem/protocol/codec.h"

using namespace tandem::protocol;

namespace {

using Example = tandem::testing::ProtocolDocExample;

std::string read_protocol_doc() {
  // tests/unit/<this file> -> <repo>/docs/PROTOCOL.md
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "docs" / "PROTOCOL.md";
  return tandem::testing::read_protocol_doc(path.string());
}

std::vector<Example> examples(const std::string& doc) { return tandem::testing::protocol_doc_examples(doc); }

template <class Variant, std::size_t... I>
std::set<std::string> all_types(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I, Variant>::kType...};
}
template <class Variant>
std::set<std::string> all_types() {
  return all_types<Variant>(std::make_index_sequence<std::variant_size_v<Variant>>{});
}

}  // namespace

TEST(codec_protocol_doc_test, every_example_decodes_on_its_side) {
  const std::string doc = read_protocol_doc();
  ASSERT_FALSE(doc.empty()) << "docs/PROTOCOL.md not found";
  const auto blocks = examples(doc);
  ASSERT_GT(blocks.size(), 40u);
  for (const auto& b : blocks) {
    SCOPED_TRACE("PROTOCOL.md line " + std::to_string(b.line) + ": " + b.text);
    if (b.label == "client") {
      auto decoded = decode_client(b.text);
      EXPECT_TRUE(decoded.ok()) << decoded.error().message;
    } else if (b.label == "server") {
      for (const auto& frame : decode_server(b.text)) EXPECT_TRUE(frame.ok()) << frame.error().message;
    } else if (b.label == "publish") {
      auto decoded = decode_publish(b.text);
      EXPECT_TRUE(decoded.ok()) << decoded.error().message;
    } else {
      ADD_FAILURE() << "unknown example label \"" << b.label << "\"";
    }
  }
}

TEST(codec_protocol_doc_test, every_message_type_has_an_example) {
  std::set<std::string> client_seen, server_seen;
  for (const auto& b : examples(read_protocol_doc())) {
    if (b.label == "client") {
      auto decoded = decode_client(b.text);
      if (decoded.ok()) client_seen.insert(type_of(decoded->message));
    } else if (b.label == "server") {
      for (const auto& frame : decode_server(b.text))
        if (frame.ok()) server_seen.insert(type_of(frame->message));
    }
  }
  for (const auto& type : all_types<ClientMessage>()) EXPECT_TRUE(client_seen.count(type)) << "no client example of " << type;
  for (const auto& type : all_types<ServerMessage>()) EXPECT_TRUE(server_seen.count(type)) << "no server example of " << type;
}
