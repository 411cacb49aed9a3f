// codec_test_util.h — helpers shared by the codec_<family>_test.cpp files: round trips in both
// directions and table-driven checks of malformed frames (exact error code, salvaged id).
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tandem/protocol/codec.h"
#include "tandem/protocol/errors.h"

namespace tandem::protocol::test {

// encode → decode gives the same message and id, and re-encoding gives the same bytes.
template <class M>
void expect_client_round_trip(const M& message, std::optional<std::string> id = "7") {
  const std::string text = encode_client(message, id);
  std::optional<std::string> seen_id;
  auto decoded = decode_client(text, &seen_id);
  ASSERT_TRUE(decoded.ok()) << text << "\n -> " << decoded.error().code << ": " << decoded.error().message;
  EXPECT_EQ(decoded->id, id) << text;
  EXPECT_EQ(seen_id, id) << text;
  ASSERT_TRUE(std::holds_alternative<M>(decoded->message)) << text;
  EXPECT_EQ(std::get<M>(decoded->message), message) << text;
  EXPECT_EQ(encode(decoded.value()), text);
}

template <class M>
void expect_server_round_trip(const M& message, std::optional<std::string> id = std::nullopt) {
  const std::string text = encode_server(message, id);
  auto frames = decode_server(text);
  ASSERT_EQ(frames.size(), 1u) << text;
  ASSERT_TRUE(frames[0].ok()) << text << "\n -> " << frames[0].error().code << ": " << frames[0].error().message;
  EXPECT_EQ(frames[0]->id, id) << text;
  ASSERT_TRUE(std::holds_alternative<M>(frames[0]->message)) << text;
  EXPECT_EQ(std::get<M>(frames[0]->message), message) << text;
  EXPECT_EQ(encode(frames[0].value()), text);
}

// One malformed frame and what decoding must report.
struct Malformed {
  const char* name;
  std::string text;
  std::string_view code;              // errc::...
  std::optional<std::string> id = {};  // the id decode_client must still report
};

inline void expect_client_rejects(const std::vector<Malformed>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::optional<std::string> id;
    auto decoded = decode_client(c.text, &id);
    ASSERT_FALSE(decoded.ok()) << c.text;
    EXPECT_EQ(decoded.error().code, c.code) << c.text << "\n -> " << decoded.error().message;
    EXPECT_FALSE(decoded.error().message.empty());
    EXPECT_EQ(id, c.id) << c.text;
  }
}

inline void expect_server_rejects(const std::vector<Malformed>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto frames = decode_server(c.text);
    ASSERT_EQ(frames.size(), 1u) << c.text;
    ASSERT_FALSE(frames[0].ok()) << c.text;
    EXPECT_EQ(frames[0].error().code, c.code) << c.text << "\n -> " << frames[0].error().message;
  }
}

// Repeats `unit` until the result has `bytes` bytes (for oversize strings).
inline std::string repeat(std::string_view unit, std::size_t bytes) {
  std::string out;
  while (out.size() + unit.size() <= bytes) out += unit;
  return out;
}

}  // namespace tandem::protocol::test
