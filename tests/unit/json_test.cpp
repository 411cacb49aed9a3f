// json_test.cpp — the cJSON layer: UTF-8 validation, bounded parsing, field rules.
#include "tandem/json.h"

#include <cJSON.h>
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

using namespace tandem::json;

TEST(json_test, accepts_valid_utf8_and_rejects_broken_sequences) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // UTF-16 surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xff"));
}

TEST(json_test, parse_rejects_trailing_garbage) {
  EXPECT_TRUE(parse_json("{\"a\":1}  \n").ok());
  auto r = parse_json(R"({"a":1} {"b":2})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "bad_json");
}

TEST(json_test, fields_keep_the_first_error) {
  auto root = parse_json(R"({"room":"x","n":1.5})");
  ASSERT_TRUE(root.ok());
  Fields f(root.value().get(), "subscribe");
  std::string room;
  std::int64_t n = 0;
  EXPECT_FALSE(f.str("room", room, {3, 128, true}));
  EXPECT_FALSE(f.int64("n", n, 0, 10));
  EXPECT_EQ(f.error().message, "subscribe.room: length must be 3..128 bytes");
}

TEST(json_test, integers_must_be_exact) {
  auto root = parse_json(R"({"a":1e300,"b":9007199254740992,"c":-3})");
  ASSERT_TRUE(root.ok());
  std::int64_t v = 0;
  { Fields f(root.value().get(), "m"); EXPECT_FALSE(f.int64("a", v, INT64_MIN, INT64_MAX)); }
  { Fields f(root.value().get(), "m"); EXPECT_TRUE(f.int64("b", v, 0, INT64_MAX)); EXPECT_EQ(v, 9007199254740992); }
  { Fields f(root.value().get(), "m"); EXPECT_FALSE(f.int64("c", v, 0, 10)); }
}

TEST(json_test, writer_escapes_and_nests) {
  JsonWriter inner;
  inner.int64("x", 3);
  JsonWriter w("t");
  w.str("s", "a\"b\n").child("o", std::move(inner)).raw("r", R"([1,2])");
  EXPECT_EQ(w.finish(), R"({"type":"t","s":"a\"b\n","o":{"x":3},"r":[1,2]})");
}

TEST(json_test, oversize_strings_are_too_big_and_short_ones_invalid) {
  auto root = parse_json(R"({"long":"abcdef","short":""})");
  ASSERT_TRUE(root.ok());
  std::string out;
  { Fields f(root.value().get(), "m"); EXPECT_FALSE(f.str("long", out, {1, 5, false})); EXPECT_EQ(f.error().code, "too_big"); }
  { Fields f(root.value().get(), "m"); EXPECT_FALSE(f.str("short", out, {1, 5, false})); EXPECT_EQ(f.error().code, "invalid_message"); }
}

TEST(json_test, nul_escapes_are_refused_but_escaped_backslashes_are_not) {
  auto nul = parse_json(R"({"s":"a\u0000b"})");
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().code, "bad_json");
  EXPECT_TRUE(parse_json(R"({"s":"a\\u0000b"})").ok());  // backslash, then the letters u0000
}

TEST(json_test, nested_and_each_name_the_failing_path) {
  auto root = parse_json(R"({"o":{"list":[{"n":1},{"n":"x"}]}})");
  ASSERT_TRUE(root.ok());
  Fields f(root.value().get(), "msg");
  std::vector<std::int64_t> seen;
  EXPECT_FALSE(f.nested("o", true, [&](Fields& o) {
    o.each("list", true, 10, [&](Fields& e) {
      std::int64_t n = 0;
      if (e.int64("n", n, 0, 10)) seen.push_back(n);
    });
  }));
  EXPECT_EQ(seen, std::vector<std::int64_t>{1});
  EXPECT_EQ(f.error().message, "msg.o.list[1].n: expected an integer");
}

TEST(json_test, each_bounds_the_item_count_and_requires_objects) {
  auto root = parse_json(R"({"a":[{},{},{}],"b":[1]})");
  ASSERT_TRUE(root.ok());
  auto noop = [](Fields&) {};
  { Fields f(root.value().get(), "m"); EXPECT_FALSE(f.each("a", true, 2, noop)); EXPECT_EQ(f.error().code, "too_big"); }
  { Fields f(root.value().get(), "m"); EXPECT_TRUE(f.each("a", true, 3, noop)); }
  { Fields f(root.value().get(), "m"); EXPECT_FALSE(f.each("b", true, 3, noop)); EXPECT_EQ(f.error().code, "invalid_message"); }
  { Fields f(root.value().get(), "m"); EXPECT_TRUE(f.each("absent", false, 3, noop)); }
  { Fields f(root.value().get(), "m"); EXPECT_FALSE(f.each("absent", true, 3, noop)); }
}

TEST(json_test, raw_payloads_are_bounded_and_finite) {
  auto root = parse_json(R"({"d":{"k":[1,2,"x"]},"big":{"v":1e999},"s":"str"})");
  ASSERT_TRUE(root.ok());
  std::string out;
  { Fields f(root.value().get(), "m"); EXPECT_TRUE(f.raw("d", out, RawKind::Object, 64)); EXPECT_EQ(out, R"({"k":[1,2,"x"]})"); }
  { Fields f(root.value().get(), "m"); EXPECT_FALSE(f.raw("d", out, RawKind::Object, 10)); EXPECT_EQ(f.error().code, "too_big"); }
  { Fields f(root.value().get(), "m"); EXPECT_FALSE(f.raw("big", out, RawKind::Any, 64)); EXPECT_EQ(f.error().code, "invalid_message"); }
  { Fields f(root.value().get(), "m"); EXPECT_FALSE(f.raw("s", out, RawKind::Object, 64)); }
  { Fields f(root.value().get(), "m"); EXPECT_TRUE(f.raw("s", out, RawKind::Any, 64)); EXPECT_EQ(out, R"("str")"); }
}

TEST(json_test, writer_can_be_returned_from_a_helper) {
  auto make = [] {
    JsonWriter w;
    w.int64("x", 1);
    return w;
  };
  JsonWriter outer("t");
  outer.child("inner", make());
  EXPECT_EQ(outer.finish(), R"({"type":"t","inner":{"x":1}})");
}

TEST(json_test, raw_control_characters_are_refused) {
  using namespace std::string_literals;
  EXPECT_EQ(parse_json("{\"id\":\"a\0b\"}"s).error().code, "bad_json");  // raw NUL would cut the string
  EXPECT_EQ(parse_json("{\"s\":\"tab\there\"}"s).error().code, "bad_json");
  EXPECT_EQ(parse_json("{\"a\":1}\0"s).error().code, "bad_json");          // NUL after the value
  EXPECT_EQ(parse_json("{\"a\":1}\x01"s).error().code, "bad_json");
  EXPECT_TRUE(parse_json("{\"s\":\"esc \\\" \\n ok\"}\r\n"s).ok());        // escapes and whitespace are fine
}

TEST(json_test, wrap_nests_a_parsed_value_under_a_key) {
  auto batch = parse_json(R"([{"type":"a"},2])");
  ASSERT_TRUE(batch.ok());
  JsonPtr root = wrap("batch", std::move(batch).value());
  EXPECT_EQ(print(root.get()), R"({"batch":[{"type":"a"},2]})");
  Fields f(root.get(), "publish");
  EXPECT_NE(f.array("batch", true), nullptr);
}

TEST(json_test, numbers_print_as_the_same_double) {
  // cJSON's printer gave 15 digits when within its epsilon: 0.3, 9.00719925474099e+15 (fuzz.json).
  for (const char* text : {"0.30000000000000004", "9007199254740991", "17323456345679002", "-0", "1e-07", "5e-324",
                           "1.7976931348623157e+308", "120.5", "300"}) {
    auto root = parse_json(std::string(R"({"n":)") + text + "}");
    ASSERT_TRUE(root.ok()) << text;
    const std::string printed = print(root.value().get());
    auto again = parse_json(printed);
    ASSERT_TRUE(again.ok()) << printed;
    Fields a(root.value().get(), "a"), b(again.value().get(), "b");
    constexpr double kMax = std::numeric_limits<double>::max();
    double x = 0, y = 1;
    ASSERT_TRUE(a.num("n", x, -kMax, kMax) && b.num("n", y, -kMax, kMax)) << printed;
    EXPECT_EQ(std::memcmp(&x, &y, sizeof x), 0) << text << " printed as " << printed;
  }
  auto root = parse_json(R"({"n":0.30000000000000004,"i":300,"s":"a\"\\\n\u0001é/"})");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(print(root.value().get()), R"({"n":0.30000000000000004,"i":300,"s":"a\"\\\n\u0001é/"})");
}
