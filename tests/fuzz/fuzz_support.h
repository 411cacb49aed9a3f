// tests/fuzz/fuzz_support.h — what the libFuzzer targets share: the entry point's signature,
// a check that stops the run on a broken invariant, and the split of an input into lines.
//
// A target returns normally for every input the code under test handles as documented (an
// input refused with an Error is handled). A crash, a sanitizer report or a failed
// FUZZ_CHECK is a bug: libFuzzer keeps the input as crash-<sha1>, which becomes a file under
// tests/fuzz/regressions/<target>/ once the bug is fixed (docs/FUZZING.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace tandem::fuzz {

// Stops the run: prints what broke and aborts, so libFuzzer records the input.
[[noreturn]] inline void invariant_failed(const char* file, int line, const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n%s\n", file, line, what, detail.c_str());
  std::abort();
}

#define FUZZ_CHECK(condition, detail)                                                          \
  do {                                                                                         \
    if (!(condition)) ::tandem::fuzz::invariant_failed(__FILE__, __LINE__, #condition, detail); \
  } while (0)

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The lines of `text` ('\n'-separated; a last line without '\n' counts, an empty text has none).
inline std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

}  // namespace tandem::fuzz
