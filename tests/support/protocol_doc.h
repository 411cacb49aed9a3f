// tests/support/protocol_doc.h — the examples of docs/PROTOCOL.md, as the tests read them.
//
// Every fenced block opened with "```json <label>" is one example message (or batch) for one
// side: label client, server or publish. The codec's doc test decodes each on its side
// (tests/unit/codec_protocol_doc_test.cpp); the fuzz seed maker turns each into a seed input
// (tests/fuzz/make_seeds.cpp). Header-only: both link nothing else from here.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tandem::testing {

struct ProtocolDocExample {
  std::string label;  // client, server, publish
  std::string text;   // the block's lines, each ending in '\n'
  int line = 0;       // the line of the opening fence in PROTOCOL.md
};

// The whole file at `path`; "" when it cannot be read.
inline std::string read_protocol_doc(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The labelled json blocks of `doc`, in order.
inline std::vector<ProtocolDocExample> protocol_doc_examples(const std::string& doc) {
  std::vector<ProtocolDocExample> out;
  std::istringstream lines(doc);
  std::string line;
  int number = 0;
  ProtocolDocExample* open = nullptr;
  while (std::getline(lines, line)) {
    ++number;
    if (!open && line.rfind("```json ", 0) == 0) {
      out.push_back({line.substr(8), "", number});
      open = &out.back();
    } else if (open && line == "```") {
      open = nullptr;
    } else if (open) {
      open->text += line + "\n";
    }
  }
  return out;
}

}  // namespace tandem::testing
