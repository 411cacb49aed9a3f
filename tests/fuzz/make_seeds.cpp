// tests/fuzz/make_seeds.cpp — writes the fuzz targets' seed corpora from docs/PROTOCOL.md's
// examples (tests/support/protocol_doc.h reads them), at build time, into the build tree:
//
//   <out>/client_frame/doc-L<line>   each `json client` example as one line (the target reads lines)
//   <out>/server_frame/doc-L<line>   each `json server` example as one line
//   <out>/publish_body/doc-L<line>   each `json publish` example as it is
//   <out>/json/doc-L<line>           every example as it is
//   <out>/protocol.dict              every string in the examples ("subscribe", "room", ...) up to
//                                    48 bytes as a libFuzzer dictionary entry (its limit is 64),
//                                    for the JSON-reading targets
//
// Usage: tandem_fuzz_seeds PROTOCOL.md OUT_DIR (OUT_DIR is replaced).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "protocol_doc.h"

namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

// The example on one line: newlines are whitespace in JSON and cannot occur inside its strings.
std::string one_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// Every "..." literal of the JSON text, quotes included (escapes are kept as written).
void collect_strings(const std::string& text, std::set<std::string>& out) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '"') continue;
    std::size_t end = i + 1;
    while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2 : 1;
    if (end >= text.size()) return;
    out.insert(text.substr(i, end - i + 1));
    i = end;
  }
}

// A libFuzzer dictionary line: the bytes in double quotes, with \\, \" and \xNN escapes.
std::string dictionary_entry(const std::string& bytes) {
  std::string line = "\"";
  for (unsigned char c : bytes) {
    if (c == '\\' || c == '"') {
      line += '\\';
      line += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      line += hex;
    } else {
      line += static_cast<char>(c);
    }
  }
  return line + "\"\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PROTOCOL.md OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string doc = tandem::testing::read_protocol_doc(argv[1]);
  const auto examples = tandem::testing::protocol_doc_examples(doc);
  if (examples.empty()) {
    std::fprintf(stderr, "%s: no examples found in %s\n", argv[0], argv[1]);
    return 1;
  }
  const fs::path out = argv[2];
  fs::remove_all(out);

  std::set<std::string> strings;
  for (const auto& example : examples) {
    const std::string name = "doc-L" + std::to_string(example.line);
    write_file(out / "json" / name, example.text);
    if (example.label == "client") write_file(out / "client_frame" / name, one_line(example.text));
    if (example.label == "server") write_file(out / "server_frame" / name, one_line(example.text));
    if (example.label == "publish") write_file(out / "publish_body" / name, example.text);
    collect_strings(example.text, strings);
  }
  std::string dictionary = "# Every string in docs/PROTOCOL.md's examples (tests/fuzz/make_seeds.cpp).\n";
  for (const std::string& s : strings)
    if (s.size() <= 48) dictionary += dictionary_entry(s);
  write_file(out / "protocol.dict", dictionary);
  std::printf("fuzz seeds: %zu examples, %zu dictionary entries -> %s\n", examples.size(), strings.size(),
              out.string().c_str());
  return 0;
}
