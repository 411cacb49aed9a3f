// tests/server/yjs_codec_test.cpp — the Yjs codec (server/src/yjs/): lib0 primitives, the v1
// update and state vector checks, and the y-websocket and Hocuspocus framings. The good inputs
// are bytes the real yjs 13.6 / y-protocols / providers wrote (tests/server/yjs_interop.mjs
// checks many more against them); the bad ones are each refused with a reason naming the fault.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <variant>

#include "yjs/lib0.h"
#include "yjs/messages.h"
#include "yjs/update_check.h"

namespace tandem::server::yjs {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// Refused with `code`, the message containing `reason`.
template <class T>
void expect_refused(const Result<T>& result, std::string_view code, std::string_view reason) {
  ASSERT_FALSE(result.ok()) << "accepted; expected: " << reason;
  EXPECT_EQ(result.error().code, code);
  EXPECT_NE(result.error().message.find(reason), std::string::npos) << result.error().message;
}

Range r(std::uint64_t clock, std::uint64_t length) { return Range{clock, length}; }

// "hi" typed into y.getText("t") by client 1.
const std::string kHi = bytes({0x01, 0x01, 0x01, 0x00, 0x04, 0x01, 0x01, 0x74, 0x02, 0x68, 0x69, 0x00});
// Client 7 typed "hello" and deleted "ell": "h", Deleted(3) with origin 7:0, "o" with origin 7:3;
// delete set: client 7, clock 1, length 3.
const std::string kTextWithDeletion =
    bytes({0x01, 0x03, 0x07, 0x00, 0x04, 0x01, 0x01, 0x74, 0x01, 0x68, 0x81, 0x07, 0x00, 0x03, 0x84, 0x07, 0x03,
           0x01, 0x6f, 0x01, 0x07, 0x01, 0x01, 0x03});
// Client 9: y.getMap("m").set("k", {n: -3, f: 2.5, b: true, z: null, s: "é", a: [1, "x"],
// u: Uint8Array [1, 2]}) and .set("big", 10n): Any content with every kind of value.
const std::string kMapOfAnyValues = bytes(
    {0x01, 0x02, 0x09, 0x00, 0x28, 0x01, 0x01, 0x6d, 0x01, 0x6b, 0x01, 0x76, 0x07, 0x01, 0x6e, 0x7d, 0x43, 0x01, 0x66,
     0x7c, 0x40, 0x20, 0x00, 0x00, 0x01, 0x62, 0x78, 0x01, 0x7a, 0x7e, 0x01, 0x73, 0x77, 0x02, 0xc3, 0xa9, 0x01, 0x61,
     0x75, 0x02, 0x7d, 0x01, 0x77, 0x01, 0x78, 0x01, 0x75, 0x74, 0x02, 0x01, 0x02, 0x28, 0x01, 0x01, 0x6d, 0x03, 0x62,
     0x69, 0x67, 0x01, 0x7a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00});
// Client 3: <p class="c">a</p> in y.getXmlFragment("x"): XmlElement (type ref 3 + name),
// attribute (Any with a parent sub), XmlText (type ref 6), String.
const std::string kXml = bytes({0x01, 0x04, 0x03, 0x00, 0x07, 0x01, 0x01, 0x78, 0x03, 0x01, 0x70, 0x28, 0x00, 0x03,
                                0x00, 0x05, 0x63, 0x6c, 0x61, 0x73, 0x73, 0x01, 0x77, 0x01, 0x63, 0x07, 0x00, 0x03,
                                0x00, 0x06, 0x04, 0x00, 0x03, 0x02, 0x01, 0x61, 0x00});
// Client 4: y.getMap("docs").set("sub", new Y.Doc({guid: "g"})): Doc content, options {}.
const std::string kSubdocument = bytes({0x01, 0x01, 0x04, 0x00, 0x29, 0x01, 0x04, 0x64, 0x6f, 0x63, 0x73, 0x03,
                                        0x73, 0x75, 0x62, 0x01, 0x67, 0x76, 0x00, 0x00});
// Client 5: "ab" bold, an embed {"img":"x"} between: Format (key + JSON) and Embed (JSON).
const std::string kFormatAndEmbed = bytes(
    {0x01, 0x07, 0x05, 0x00, 0x06, 0x01, 0x01, 0x74, 0x04, 0x62, 0x6f, 0x6c, 0x64, 0x04, 0x74, 0x72, 0x75, 0x65, 0x84,
     0x05, 0x00, 0x01, 0x61, 0x84, 0x05, 0x01, 0x01, 0x62, 0x86, 0x05, 0x02, 0x04, 0x62, 0x6f, 0x6c, 0x64, 0x04, 0x6e,
     0x75, 0x6c, 0x6c, 0xc6, 0x05, 0x01, 0x05, 0x02, 0x04, 0x62, 0x6f, 0x6c, 0x64, 0x04, 0x6e, 0x75, 0x6c, 0x6c, 0xc5,
     0x05, 0x04, 0x05, 0x02, 0x0b, 0x7b, 0x22, 0x69, 0x6d, 0x67, 0x22, 0x3a, 0x22, 0x78, 0x22, 0x7d, 0xc6, 0x05, 0x05,
     0x05, 0x02, 0x04, 0x62, 0x6f, 0x6c, 0x64, 0x04, 0x74, 0x72, 0x75, 0x65, 0x00});

// One client (1, clock 0) with one struct: `item` (info byte onwards), then an empty delete set.
std::string one_struct(std::initializer_list<int> item) {
  std::string update = bytes({0x01, 0x01, 0x01, 0x00});
  update += bytes(item);
  return update + bytes({0x00});
}

// One Any item under y.getMap("m") key "k" holding `value` (tag onwards).
std::string any_item(const std::string& value) {
  return bytes({0x01, 0x01, 0x01, 0x00, 0x28, 0x01, 0x01, 0x6d, 0x01, 0x6b, 0x01}) + value + bytes({0x00});
}

// One JSON item (content ref 2) under y.getText("t") holding the given strings.
std::string json_item(std::initializer_list<std::string_view> texts) {
  std::string update = bytes({0x01, 0x01, 0x01, 0x00, 0x02, 0x01, 0x01, 0x74});
  Lib0Writer out(std::move(update));
  out.write_var_uint(texts.size());
  for (const std::string_view text : texts) out.write_var_string(text);
  out.write_uint8(0x00);
  return std::move(out).take();
}

std::string nested_arrays(int depth) {
  std::string value;
  for (int i = 0; i < depth; ++i) value += bytes({0x75, 0x01});  // array of one
  return value + bytes({0x7e});                                  // null
}

// ---- lib0 --------------------------------------------------------------------------------------

TEST(yjs_codec_test, var_uint_reads_seven_bit_groups_least_significant_first) {
  for (const auto& [encoded, value] : std::initializer_list<std::pair<std::string, std::uint64_t>>{
           {bytes({0x00}), 0}, {bytes({0x7f}), 127}, {bytes({0x80, 0x01}), 128}, {bytes({0xac, 0x02}), 300}}) {
    Lib0Reader in(encoded);
    EXPECT_EQ(in.read_var_uint(), value);
    EXPECT_TRUE(in.ok() && in.at_end());
  }
}

TEST(yjs_codec_test, var_uint_accepts_non_minimal_groups_as_lib0_does) {
  const std::string in_bytes = bytes({0x80, 0x80, 0x00});
  Lib0Reader in(in_bytes);
  EXPECT_EQ(in.read_var_uint(), 0u);
  EXPECT_TRUE(in.ok() && in.at_end());
}

TEST(yjs_codec_test, var_uint_holds_2_pow_53_minus_1_and_refuses_more) {
  Lib0Writer out;
  out.write_var_uint(kMaxSafeInteger);
  Lib0Reader max(out.bytes());
  EXPECT_EQ(max.read_var_uint(), kMaxSafeInteger);
  EXPECT_TRUE(max.ok());

  Lib0Writer over;
  over.write_var_uint(kMaxSafeInteger + 1);
  Lib0Reader in(over.bytes());
  EXPECT_EQ(in.read_var_uint(), 0u);
  EXPECT_EQ(in.failure(), "varint past 2^53 - 1 at byte 0");
  // A group past bit 53 that is not zero, after zero groups, too.
  const std::string far_bytes = bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
  Lib0Reader far(far_bytes);
  far.read_var_uint();
  EXPECT_EQ(far.failure(), "varint past 2^53 - 1 at byte 0");
}

TEST(yjs_codec_test, a_varint_cut_at_any_byte_is_refused) {
  Lib0Writer out;
  out.write_var_uint(std::uint64_t{1} << 40);  // 6 bytes
  ASSERT_EQ(out.bytes().size(), 6u);
  for (std::size_t cut = 0; cut < out.bytes().size(); ++cut) {
    Lib0Reader in(std::string_view(out.bytes()).substr(0, cut));
    in.read_var_uint();
    EXPECT_EQ(in.failure(), "truncated varint at byte 0") << cut;
    Lib0Reader signed_in(std::string_view(out.bytes()).substr(0, cut));
    signed_in.read_var_int();
    EXPECT_FALSE(signed_in.ok()) << cut;
  }
}

TEST(yjs_codec_test, var_int_carries_the_sign_and_six_bits_in_its_first_byte) {
  for (const auto& [encoded, value] : std::initializer_list<std::pair<std::string, std::int64_t>>{
           {bytes({0x03}), 3}, {bytes({0x43}), -3}, {bytes({0x80, 0x01}), 64}, {bytes({0xc1, 0x01}), -65}}) {
    Lib0Reader in(encoded);
    EXPECT_EQ(in.read_var_int(), value);
    EXPECT_TRUE(in.ok() && in.at_end());
  }
}

TEST(yjs_codec_test, writer_and_reader_round_trip_integers_at_the_edges) {
  const std::int64_t max = static_cast<std::int64_t>(kMaxSafeInteger);
  for (const std::int64_t value : {std::int64_t{0}, std::int64_t{63}, std::int64_t{64}, std::int64_t{-64}, max, -max}) {
    Lib0Writer out;
    out.write_var_int(value);
    if (value >= 0) out.write_var_uint(static_cast<std::uint64_t>(value));
    Lib0Reader in(out.bytes());
    EXPECT_EQ(in.read_var_int(), value);
    if (value >= 0) {
      EXPECT_EQ(in.read_var_uint(), static_cast<std::uint64_t>(value));
    }
    EXPECT_TRUE(in.ok() && in.at_end()) << value;
  }
}

TEST(yjs_codec_test, var_bytes_longer_than_the_input_are_refused) {
  const std::string in_bytes = bytes({0x05, 0x61, 0x62});
  Lib0Reader in(in_bytes);
  EXPECT_TRUE(in.read_var_bytes().empty());
  EXPECT_EQ(in.failure(), "length past the end at byte 1");
}

TEST(yjs_codec_test, var_string_must_be_utf8) {
  const std::string good_bytes = bytes({0x02, 0xc3, 0xa9});
  Lib0Reader good(good_bytes);
  EXPECT_EQ(good.read_var_string(), "\xc3\xa9");
  EXPECT_TRUE(good.ok());
  for (const std::string& bad : {bytes({0x02, 0xc3, 0x28}), bytes({0x03, 0xed, 0xa0, 0x80}), bytes({0x02, 0xc0, 0x80})}) {
    Lib0Reader in(bad);  // a broken sequence, a surrogate, an overlong NUL
    in.read_var_string();
    EXPECT_EQ(in.failure(), "string is not valid UTF-8 at byte 0");
  }
}

TEST(yjs_codec_test, the_first_failure_sticks_and_later_reads_return_nothing) {
  const std::string in_bytes = bytes({0x80});
  Lib0Reader in(in_bytes);
  in.read_var_uint();
  EXPECT_EQ(in.read_uint8(), 0u);
  EXPECT_TRUE(in.read_var_string().empty());
  in.fail("something else");
  EXPECT_EQ(in.failure(), "truncated varint at byte 0");
}

TEST(yjs_codec_test, a_count_that_cannot_fit_in_the_bytes_left_fails_before_any_loop) {
  const std::string in_bytes = bytes({0x00, 0x00, 0x00, 0x00});
  Lib0Reader in(in_bytes);
  EXPECT_TRUE(in.fits(2, 2));
  EXPECT_FALSE(in.fits(3, 2));
  EXPECT_EQ(in.failure(), "count past the end at byte 0");
  int calls = 0;
  const std::string hostile_bytes = bytes({0x00});
  Lib0Reader hostile(hostile_bytes);
  hostile.read_each(kMaxSafeInteger, 1, [&](std::uint64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

// ---- updates: good ones ------------------------------------------------------------------------

TEST(yjs_codec_test, the_empty_update_carries_nothing) {
  const std::string empty = bytes({0x00, 0x00});
  EXPECT_TRUE(is_empty_update(empty));
  EXPECT_FALSE(is_empty_update(kHi));
  auto summary = check_update(empty);
  ASSERT_TRUE(summary.ok());
  EXPECT_TRUE(summary->empty());
}

TEST(yjs_codec_test, a_text_insert_carries_its_clock_range) {
  auto summary = check_update(kHi);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->structs, (std::vector<ClientRanges>{{1, {r(0, 2)}}}));
  EXPECT_TRUE(summary->deletes.empty());
}

TEST(yjs_codec_test, a_deletion_shows_in_the_delete_set_and_deleted_content_keeps_its_ids) {
  auto summary = check_update(kTextWithDeletion);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->structs, (std::vector<ClientRanges>{{7, {r(0, 5)}}}));
  EXPECT_EQ(summary->deletes, (std::vector<ClientRanges>{{7, {r(1, 3)}}}));
}

TEST(yjs_codec_test, every_kind_of_content_yjs_writes_is_accepted) {
  for (const auto& [update, client, length] : std::initializer_list<std::tuple<std::string, std::uint64_t, std::uint64_t>>{
           {kMapOfAnyValues, 9, 2}, {kXml, 3, 4}, {kSubdocument, 4, 1}, {kFormatAndEmbed, 5, 7}}) {
    auto summary = check_update(update);
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(summary->structs, (std::vector<ClientRanges>{{client, {r(0, length)}}}));
  }
}

TEST(yjs_codec_test, a_string_is_as_long_as_its_utf16_code_units) {
  // "é😀": 2 + 4 bytes of UTF-8, 1 + 2 UTF-16 units.
  auto summary = check_update(one_struct({0x04, 0x01, 0x01, 0x74, 0x06, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80}));
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->structs, (std::vector<ClientRanges>{{1, {r(0, 3)}}}));
}

TEST(yjs_codec_test, skips_of_a_merged_update_carry_no_ids) {
  // Client 5: Skip 3, then "a" at clock 3 under y.getText("t").
  auto summary = check_update(bytes({0x01, 0x02, 0x05, 0x00, 0x0a, 0x03, 0x04, 0x01, 0x01, 0x74, 0x01, 0x61, 0x00}));
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->structs, (std::vector<ClientRanges>{{5, {r(3, 1)}}}));
}

TEST(yjs_codec_test, delete_ranges_are_sorted_and_merged_per_client) {
  // Delete set: client 2 → (10,2) (0,3) (3,1); client 1 → (5,1); client 2 again → (12,1).
  auto summary = check_update(bytes({0x00, 0x03, 0x02, 0x03, 0x0a, 0x02, 0x00, 0x03, 0x03, 0x01, 0x01, 0x01, 0x05,
                                     0x01, 0x02, 0x01, 0x0c, 0x01}));
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->deletes, (std::vector<ClientRanges>{{1, {r(5, 1)}}, {2, {r(0, 4), r(10, 3)}}}));
}

TEST(yjs_codec_test, json_content_may_hold_the_word_undefined_but_embeds_may_not) {
  EXPECT_TRUE(check_update(json_item({"undefined", R"({"a":[1,2]})"})).ok());
  expect_refused(check_update(one_struct({0x05, 0x01, 0x01, 0x74, 0x09, 'u', 'n', 'd', 'e', 'f', 'i', 'n', 'e', 'd'})),
                 kBadUpdate, "JSON string is not JSON");
}

TEST(yjs_codec_test, json_text_follows_json_parse_not_a_lenient_parser) {
  for (const char* good : {"0", "-0", "1.5e-3", "1E+2", "\"\\ud800\"", " [1, {\"a\": null}] ", "\"é\\n\"", "true"})
    EXPECT_TRUE(is_json_text(good)) << good;
  for (const char* bad : {"01", "1.", ".5", "-", "+1", "1e", "0x10", "NaN", "[1,]", "{\"a\":1,}", "\"a\tb\"",
                          "\"\\x\"", "\"\\u00\"", "nul", "[", "1 2", "", "{a:1}", "'a'"})
    EXPECT_FALSE(is_json_text(bad)) << bad;
}

TEST(yjs_codec_test, nesting_up_to_the_limit_is_accepted) {
  EXPECT_TRUE(check_update(any_item(nested_arrays(kMaxNesting))).ok());
  EXPECT_TRUE(is_json_text(std::string(kMaxNesting, '[') + std::string(kMaxNesting, ']')));
}

// ---- updates: malformed ones -------------------------------------------------------------------

TEST(yjs_codec_test, an_update_cut_at_any_byte_is_refused) {
  for (const std::string* update : {&kHi, &kTextWithDeletion, &kMapOfAnyValues, &kXml, &kSubdocument, &kFormatAndEmbed}) {
    for (std::size_t cut = 0; cut < update->size(); ++cut) {
      auto result = check_update(std::string_view(*update).substr(0, cut));
      ASSERT_FALSE(result.ok()) << "cut at " << cut;
      EXPECT_EQ(result.error().code, kBadUpdate);
    }
  }
}

TEST(yjs_codec_test, a_truncated_struct_names_the_struct_and_the_byte) {
  expect_refused(check_update(std::string_view(kTextWithDeletion).substr(0, 13)), kBadUpdate,
                 "Yjs update: struct 1 of client 7: truncated varint at byte 13");
}

TEST(yjs_codec_test, bytes_after_the_delete_set_are_refused) {
  expect_refused(check_update(kHi + bytes({0x00})), kBadUpdate, "trailing bytes after the delete set at byte 12");
}

TEST(yjs_codec_test, unknown_content_refs_are_refused) {
  expect_refused(check_update(one_struct({0x0b, 0x01, 0x01, 0x74, 0x01})), kBadUpdate, "unknown content ref 11");
  expect_refused(check_update(one_struct({0x1f, 0x01, 0x01, 0x74, 0x01})), kBadUpdate, "unknown content ref 31");
}

TEST(yjs_codec_test, unknown_type_refs_are_refused) {
  expect_refused(check_update(one_struct({0x07, 0x01, 0x01, 0x74, 0x07})), kBadUpdate, "unknown type ref 7");
}

TEST(yjs_codec_test, json_content_that_is_not_json_is_refused) {
  expect_refused(check_update(json_item({"{x"})), kBadUpdate, "JSON string is not JSON");
  expect_refused(check_update(json_item({"1", "01"})), kBadUpdate, "JSON string is not JSON");
  expect_refused(check_update(json_item({"\"a\tb\""})), kBadUpdate, "JSON string is not JSON");
}

TEST(yjs_codec_test, a_format_value_that_is_not_json_is_refused) {
  expect_refused(check_update(one_struct({0x06, 0x01, 0x01, 0x74, 0x01, 0x62, 0x02, 0x74, 0x72})), kBadUpdate,
                 "JSON string is not JSON");
}

TEST(yjs_codec_test, unknown_any_tags_are_refused) {
  expect_refused(check_update(any_item(bytes({0x73}))), kBadUpdate, "unknown any tag 115");
  expect_refused(check_update(any_item(bytes({0x00}))), kBadUpdate, "unknown any tag 0");
}

TEST(yjs_codec_test, any_values_nested_past_the_limit_are_refused) {
  expect_refused(check_update(any_item(nested_arrays(kMaxNesting + 1))), kBadUpdate, "any value nested past 256");
  // 100000 levels: refused at level 257, without recursing further.
  expect_refused(check_update(any_item(nested_arrays(100000))), kBadUpdate, "any value nested past 256");
  expect_refused(check_update(json_item({std::string(kMaxNesting + 1, '[') + std::string(kMaxNesting + 1, ']')})),
                 kBadUpdate, "JSON string is not JSON");
}

TEST(yjs_codec_test, a_truncated_any_number_is_refused) {
  expect_refused(check_update(any_item(bytes({0x7b, 0x40, 0x04, 0x00, 0x00}))), kBadUpdate, "length past the end");
  expect_refused(check_update(any_item(bytes({0x7a, 0x00}))), kBadUpdate, "length past the end");
}

TEST(yjs_codec_test, clocks_past_2_pow_53_are_refused) {
  // Client 1 from clock 2^53 - 1: a struct of length 2 would end past 2^53.
  Lib0Writer out;
  out.write_var_uint(1);
  out.write_var_uint(1);
  out.write_var_uint(1);
  out.write_var_uint(kMaxSafeInteger);
  out.write_bytes(bytes({0x00, 0x02, 0x00}));  // GC of length 2, empty delete set
  expect_refused(check_update(out.bytes()), kBadUpdate, "struct 0 of client 1: clock past 2^53 - 1");
  // The same in the delete set.
  Lib0Writer deletes;
  deletes.write_bytes(bytes({0x00, 0x01, 0x01, 0x01}));
  deletes.write_var_uint(kMaxSafeInteger);
  deletes.write_var_uint(1);
  expect_refused(check_update(deletes.bytes()), kBadUpdate, "delete range 0 of client 1: clock past 2^53 - 1");
}

TEST(yjs_codec_test, a_client_id_past_2_pow_53_is_refused) {
  expect_refused(check_update(bytes({0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00})), kBadUpdate,
                 "varint past 2^53 - 1 at byte 2");
}

TEST(yjs_codec_test, hostile_counts_are_refused_at_once) {
  expect_refused(check_update(bytes({0x7f, 0x00, 0x00})), kBadUpdate, "client group header: count past the end at byte 1");
  expect_refused(check_update(bytes({0x01, 0xff, 0xff, 0xff, 0x7f, 0x01, 0x00, 0x00})), kBadUpdate, "count past the end");
  expect_refused(check_update(bytes({0x00, 0x01, 0x01, 0x7f, 0x00})), kBadUpdate, "count past the end");
  expect_refused(check_update(bytes({0x01, 0x01, 0x01, 0x00, 0x02, 0x01, 0x01, 0x74, 0x7f, 0x00})), kBadUpdate,
                 "struct 0 of client 1: count past the end at byte 9");  // 127 JSON strings in 1 byte
}

TEST(yjs_codec_test, structs_and_delete_ranges_of_length_zero_are_refused) {
  expect_refused(check_update(one_struct({0x00, 0x00})), kBadUpdate, "length 0");                    // GC
  expect_refused(check_update(one_struct({0x01, 0x01, 0x01, 0x74, 0x00})), kBadUpdate, "length 0");  // Deleted
  expect_refused(check_update(one_struct({0x04, 0x01, 0x01, 0x74, 0x00})), kBadUpdate, "length 0");  // ""
  expect_refused(check_update(bytes({0x00, 0x01, 0x01, 0x01, 0x00, 0x00})), kBadUpdate, "length 0");
}

TEST(yjs_codec_test, gc_and_skip_structs_with_flag_bits_are_refused) {
  expect_refused(check_update(one_struct({0x80, 0x01})), kBadUpdate, "GC or Skip struct with flag bits");
  expect_refused(check_update(one_struct({0x2a, 0x01})), kBadUpdate, "GC or Skip struct with flag bits");
}

TEST(yjs_codec_test, parent_info_other_than_0_or_1_is_refused) {
  expect_refused(check_update(one_struct({0x04, 0x02, 0x01, 0x74, 0x01, 0x61})), kBadUpdate, "parent info 2");
}

TEST(yjs_codec_test, a_client_with_two_struct_groups_is_refused) {
  expect_refused(check_update(bytes({0x02, 0x01, 0x01, 0x00, 0x00, 0x01, 0x01, 0x01, 0x05, 0x00, 0x01, 0x00})),
                 kBadUpdate, "client 1 has two struct groups");
}

TEST(yjs_codec_test, invalid_utf8_in_content_is_refused) {
  expect_refused(check_update(one_struct({0x04, 0x01, 0x01, 0x74, 0x02, 0xc3, 0x28})), kBadUpdate,
                 "string is not valid UTF-8");
  expect_refused(check_update(one_struct({0x04, 0x01, 0x01, 0xff, 0x01, 0x61})), kBadUpdate,
                 "string is not valid UTF-8");  // the parent type's name
}

TEST(yjs_codec_test, subdocument_options_must_be_an_object) {
  expect_refused(check_update(one_struct({0x09, 0x01, 0x01, 0x74, 0x01, 0x67, 0x7e})), kBadUpdate,
                 "subdocument options are not an object");
}

// ---- covers ------------------------------------------------------------------------------------

TEST(yjs_codec_test, covers_holds_when_every_range_lies_inside_one_of_the_others) {
  const UpdateSummary log{{{1, {r(0, 10), r(20, 5)}}, {2, {r(0, 3)}}}, {{1, {r(2, 4)}}}};
  EXPECT_TRUE(covers(log, UpdateSummary{}));
  EXPECT_TRUE(covers(log, log));
  EXPECT_TRUE(covers(log, UpdateSummary{{{1, {r(0, 2), r(21, 4)}}}, {{1, {r(3, 1)}}}}));
  EXPECT_FALSE(covers(log, UpdateSummary{{{1, {r(9, 2)}}}, {}}));     // across a gap
  EXPECT_FALSE(covers(log, UpdateSummary{{{3, {r(0, 1)}}}, {}}));     // an unknown client
  EXPECT_FALSE(covers(log, UpdateSummary{{}, {{1, {r(5, 2)}}}}));     // a new deletion
  EXPECT_FALSE(covers(UpdateSummary{}, log));
}

TEST(yjs_codec_test, an_update_covers_itself_and_its_parts) {
  auto whole = check_update(kTextWithDeletion);
  auto part = check_update(kHi);
  ASSERT_TRUE(whole.ok() && part.ok());
  EXPECT_TRUE(covers(*whole, *whole));
  EXPECT_FALSE(covers(*whole, *part));  // client 1 is not in it
}

// ---- state vectors -----------------------------------------------------------------------------

TEST(yjs_codec_test, a_state_vector_reads_as_sorted_client_clocks) {
  auto empty = check_state_vector(bytes({0x00}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto two = check_state_vector(bytes({0x02, 0x09, 0x05, 0x01, 0x02}));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, (StateVector{{1, 2}, {9, 5}}));
}

TEST(yjs_codec_test, malformed_state_vectors_are_refused) {
  expect_refused(check_state_vector(""), kBadUpdate, "Yjs state vector: truncated varint at byte 0");
  expect_refused(check_state_vector(bytes({0x01, 0x01})), kBadUpdate, "count past the end");
  expect_refused(check_state_vector(bytes({0x01, 0x01, 0x02, 0x00})), kBadUpdate, "trailing bytes");
  expect_refused(check_state_vector(bytes({0x02, 0x01, 0x02, 0x01, 0x03})), kBadUpdate, "client 1 listed twice");
}

// ---- y-websocket -------------------------------------------------------------------------------

// Decoded messages hold views into their input: each input is kept in a named string.
TEST(yjs_codec_test, ywebsocket_sync_messages_decode_with_their_payload_checked) {
  const std::string step1_bytes = bytes({0x00, 0x00, 0x03, 0x01, 0x01, 0x02});
  auto step1 = ywebsocket::decode(step1_bytes);
  ASSERT_TRUE(step1.ok()) << step1.error().message;
  EXPECT_EQ(std::get<SyncStep1>(*step1).clocks, (StateVector{{1, 2}}));

  const std::string step2_bytes = bytes({0x00, 0x01, 0x02, 0x00, 0x00});

  auto step2 = ywebsocket::decode(step2_bytes);
  ASSERT_TRUE(step2.ok());
  EXPECT_TRUE(is_empty_update(std::get<SyncStep2>(*step2).update));

  const std::string update_bytes = bytes({0x00, 0x02, 0x0c}) + kHi;

  auto update = ywebsocket::decode(update_bytes);
  ASSERT_TRUE(update.ok());
  EXPECT_EQ(std::get<SyncUpdate>(*update).update, kHi);
  EXPECT_EQ(std::get<SyncUpdate>(*update).summary.structs, (std::vector<ClientRanges>{{1, {r(0, 2)}}}));
}

TEST(yjs_codec_test, ywebsocket_awareness_decodes_entries_and_removals) {
  const std::string message_bytes =
      bytes({0x01, 0x12, 0x02, 0x7b, 0x01, 0x07, '{', '"', 'x', '"', ':', '1', '}', 0x05, 0x02, 0x04, 'n', 'u', 'l', 'l'});
  auto message = ywebsocket::decode(message_bytes);
  ASSERT_TRUE(message.ok()) << message.error().message;
  const auto& awareness = std::get<AwarenessUpdate>(*message);
  ASSERT_EQ(awareness.entries.size(), 2u);
  EXPECT_EQ(awareness.entries[0].client, 123u);
  EXPECT_EQ(awareness.entries[0].state, R"({"x":1})");
  EXPECT_FALSE(awareness.entries[0].removed());
  EXPECT_TRUE(awareness.entries[1].removed());
  EXPECT_TRUE((AwarenessEntry{1, 1, " null\n"}).removed());
  EXPECT_FALSE((AwarenessEntry{1, 1, "\"null\""}).removed());
  EXPECT_EQ(awareness.update.size(), 18u);
}

TEST(yjs_codec_test, ywebsocket_query_awareness_and_permission_denied_decode) {
  EXPECT_TRUE(std::holds_alternative<QueryAwareness>(ywebsocket::decode(bytes({0x03})).value()));
  const std::string denied_bytes = bytes({0x02, 0x00, 0x02, 'n', 'o'});
  auto denied = ywebsocket::decode(denied_bytes);
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(std::get<ywebsocket::PermissionDenied>(*denied).reason, "no");
}

TEST(yjs_codec_test, ywebsocket_encoders_write_what_y_protocols_writes) {
  EXPECT_EQ(ywebsocket::encode_sync_step1(bytes({0x00})), bytes({0x00, 0x00, 0x01, 0x00}));
  EXPECT_EQ(ywebsocket::encode_sync_step2(bytes({0x00, 0x00})), bytes({0x00, 0x01, 0x02, 0x00, 0x00}));
  EXPECT_EQ(ywebsocket::encode_sync_update(kHi), bytes({0x00, 0x02, 0x0c}) + kHi);
  const AwarenessEntry states[] = {{123, 1, R"({"x":1})"}};
  EXPECT_EQ(ywebsocket::encode_awareness(states),
            bytes({0x01, 0x0b, 0x01, 0x7b, 0x01, 0x07, 0x7b, 0x22, 0x78, 0x22, 0x3a, 0x31, 0x7d}));
  EXPECT_EQ(ywebsocket::encode_query_awareness(), bytes({0x03}));
  EXPECT_EQ(ywebsocket::encode_permission_denied("no way"), bytes({0x02, 0x00, 0x06, 'n', 'o', ' ', 'w', 'a', 'y'}));
}

TEST(yjs_codec_test, ywebsocket_unknown_types_are_refused_as_unknown) {
  expect_refused(ywebsocket::decode(bytes({0x04})), kUnknownType, "unknown message type 4");
  expect_refused(ywebsocket::decode(bytes({0x00, 0x03, 0x00})), kUnknownType, "unknown sync message type 3");
  expect_refused(ywebsocket::decode(bytes({0x02, 0x01, 0x00})), kUnknownType, "unknown auth type 1");
}

TEST(yjs_codec_test, ywebsocket_malformed_messages_are_refused) {
  expect_refused(ywebsocket::decode(""), kBadMessage, "y-websocket message: truncated varint at byte 0");
  expect_refused(ywebsocket::decode(bytes({0x00})), kBadMessage, "truncated varint at byte 1");
  expect_refused(ywebsocket::decode(bytes({0x00, 0x01, 0x05, 0x00, 0x00})), kBadMessage, "length past the end");
  expect_refused(ywebsocket::decode(bytes({0x00, 0x01, 0x02, 0x00, 0x00, 0x00})), kBadMessage, "trailing bytes at byte 5");
  expect_refused(ywebsocket::decode(bytes({0x03, 0x00})), kBadMessage, "trailing bytes");
  expect_refused(ywebsocket::decode(bytes({0x00, 0x01, 0x01, 0x00})), kBadUpdate, "y-websocket message sync step 2: Yjs update");
  expect_refused(ywebsocket::decode(bytes({0x00, 0x00, 0x01, 0x01})), kBadUpdate, "sync step 1: Yjs state vector");
}

TEST(yjs_codec_test, ywebsocket_malformed_awareness_is_refused) {
  expect_refused(ywebsocket::decode(bytes({0x01, 0x06, 0x01, 0x01, 0x01, 0x02, '{', 'x'})), kBadMessage,
                 "the state of client 1 is not JSON");
  expect_refused(ywebsocket::decode(bytes({0x01, 0x07, 0x01, 0x01, 0x01, 0x01, '1', 0x00, 0x00})), kBadMessage,
                 "awareness update: trailing bytes at byte 5");
  expect_refused(ywebsocket::decode(bytes({0x01, 0x03, 0x05, 0x01, 0x01})), kBadMessage, "count past the end");
}

// ---- Hocuspocus --------------------------------------------------------------------------------

TEST(yjs_codec_test, hocuspocus_token_decodes_with_or_without_the_provider_version) {
  const std::string v4_bytes = bytes({0x01, 'd', 0x02, 0x00, 0x03, 'a', 'b', 'c', 0x05, '4', '.', '8', '.', '0'});
  auto v4 = hocuspocus::decode(v4_bytes);
  ASSERT_TRUE(v4.ok()) << v4.error().message;
  EXPECT_EQ(v4->address, "d");
  EXPECT_EQ(std::get<hocuspocus::Token>(v4->body).token, "abc");
  EXPECT_EQ(std::get<hocuspocus::Token>(v4->body).provider_version, "4.8.0");
  const std::string older_bytes = bytes({0x01, 'd', 0x02, 0x00, 0x00});
  auto older = hocuspocus::decode(older_bytes);
  ASSERT_TRUE(older.ok());
  EXPECT_EQ(std::get<hocuspocus::Token>(older->body).provider_version, "");
}

TEST(yjs_codec_test, hocuspocus_session_addresses_split_at_the_nul) {
  const std::string message_bytes = bytes({0x05, 'd', 0x00, 's', 'i', 'd', 0x03});
  auto message = hocuspocus::decode(message_bytes);
  ASSERT_TRUE(message.ok());
  EXPECT_EQ(message->address, std::string_view("d\0sid", 5));
  EXPECT_EQ(hocuspocus::document_name(message->address), "d");
  EXPECT_EQ(hocuspocus::session_id(message->address), "sid");
  EXPECT_EQ(hocuspocus::session_id("plain"), "");
  EXPECT_TRUE(std::holds_alternative<QueryAwareness>(message->body));
}

TEST(yjs_codec_test, hocuspocus_client_messages_decode) {
  const std::string sync_bytes = bytes({0x01, 'd', 0x00, 0x00, 0x01, 0x00});
  auto sync = hocuspocus::decode(sync_bytes);
  ASSERT_TRUE(sync.ok());
  EXPECT_TRUE(std::holds_alternative<SyncStep1>(sync->body));
  const std::string update_bytes = bytes({0x01, 'd', 0x00, 0x02, 0x0c}) + kHi;
  auto update = hocuspocus::decode(update_bytes);
  ASSERT_TRUE(update.ok());
  EXPECT_EQ(std::get<SyncUpdate>(update->body).update, kHi);
  const std::string stateless_bytes = bytes({0x01, 'd', 0x05, 0x02, 'h', 'i'});
  auto stateless = hocuspocus::decode(stateless_bytes);
  ASSERT_TRUE(stateless.ok());
  EXPECT_EQ(std::get<hocuspocus::Stateless>(stateless->body).payload, "hi");
  const std::string close_bytes = bytes({0x01, 'd', 0x07});
  EXPECT_TRUE(std::holds_alternative<hocuspocus::Close>(hocuspocus::decode(close_bytes)->body));
  const std::string awareness_bytes = bytes({0x01, 'd', 0x01, 0x01, 0x00});
  auto awareness = hocuspocus::decode(awareness_bytes);
  ASSERT_TRUE(awareness.ok());
  EXPECT_TRUE(std::get<AwarenessUpdate>(awareness->body).entries.empty());
}

TEST(yjs_codec_test, hocuspocus_pong_is_one_bare_byte) {
  const std::string pong_bytes = bytes({0x0a});
  auto pong = hocuspocus::decode(pong_bytes);
  ASSERT_TRUE(pong.ok());
  EXPECT_TRUE(std::holds_alternative<hocuspocus::Pong>(pong->body));
  EXPECT_EQ(pong->address, "");
  // A ping (server to client) read as a client message: an address of 9 bytes that is not there.
  expect_refused(hocuspocus::decode(bytes({0x09})), kBadMessage, "length past the end");
}

TEST(yjs_codec_test, hocuspocus_messages_a_provider_never_sends_are_refused_as_unknown) {
  for (const int type : {4, 6, 8, 9, 11})
    expect_refused(hocuspocus::decode(bytes({0x01, 'd', type})), kUnknownType, "is not one a provider sends");
  expect_refused(hocuspocus::decode(bytes({0x01, 'd', 0x02, 0x02, 0x02, 'r', 'w'})), kUnknownType, "auth type 2");
}

TEST(yjs_codec_test, hocuspocus_malformed_messages_are_refused) {
  expect_refused(hocuspocus::decode(""), kBadMessage, "Hocuspocus message: truncated varint at byte 0");
  expect_refused(hocuspocus::decode(bytes({0x01, 'd'})), kBadMessage, "truncated varint at byte 2");
  expect_refused(hocuspocus::decode(bytes({0x02, 0xc3, 0x28, 0x03})), kBadMessage, "string is not valid UTF-8");
  expect_refused(hocuspocus::decode(bytes({0x01, 'd', 0x07, 0x00})), kBadMessage, "trailing bytes at byte 3");
  expect_refused(hocuspocus::decode(bytes({0x01, 'd', 0x02, 0x00, 0x01, 'a', 0x01, '4', 0x00})), kBadMessage,
                 "trailing bytes");
  expect_refused(hocuspocus::decode(bytes({0x01, 'd', 0x00, 0x02, 0x02, 0x01, 0x00})), kBadUpdate,
                 "Hocuspocus message sync update: Yjs update");
}

TEST(yjs_codec_test, hocuspocus_encoders_write_what_the_hocuspocus_server_writes) {
  EXPECT_EQ(hocuspocus::encode_authenticated("d", hocuspocus::Scope::ReadWrite),
            bytes({0x01, 'd', 0x02, 0x02, 0x0a, 'r', 'e', 'a', 'd', '-', 'w', 'r', 'i', 't', 'e'}));
  EXPECT_EQ(hocuspocus::encode_authenticated("d", hocuspocus::Scope::ReadOnly),
            bytes({0x01, 'd', 0x02, 0x02, 0x08, 'r', 'e', 'a', 'd', 'o', 'n', 'l', 'y'}));
  EXPECT_EQ(hocuspocus::encode_permission_denied("d", "no"), bytes({0x01, 'd', 0x02, 0x01, 0x02, 'n', 'o'}));
  EXPECT_EQ(hocuspocus::encode_token_request("d"), bytes({0x01, 'd', 0x02, 0x00}));
  EXPECT_EQ(hocuspocus::encode_sync_step1("d", bytes({0x00})), bytes({0x01, 'd', 0x00, 0x00, 0x01, 0x00}));
  EXPECT_EQ(hocuspocus::encode_sync_step2("d", bytes({0x00, 0x00})), bytes({0x01, 'd', 0x00, 0x01, 0x02, 0x00, 0x00}));
  EXPECT_EQ(hocuspocus::encode_sync_update("d", kHi), bytes({0x01, 'd', 0x00, 0x02, 0x0c}) + kHi);
  EXPECT_EQ(hocuspocus::encode_sync_status("d", true), bytes({0x01, 'd', 0x08, 0x01}));
  EXPECT_EQ(hocuspocus::encode_sync_status("d", false), bytes({0x01, 'd', 0x08, 0x00}));
  EXPECT_EQ(hocuspocus::encode_stateless("d", "hi"), bytes({0x01, 'd', 0x05, 0x02, 'h', 'i'}));
  EXPECT_EQ(hocuspocus::encode_close("d", "by"), bytes({0x01, 'd', 0x07, 0x02, 'b', 'y'}));
  EXPECT_EQ(hocuspocus::encode_query_awareness("d"), bytes({0x01, 'd', 0x03}));
  const AwarenessEntry gone[] = {{5, 2, "null"}};
  EXPECT_EQ(hocuspocus::encode_awareness("d", gone), bytes({0x01, 'd', 0x01, 0x08, 0x01, 0x05, 0x02, 0x04, 'n', 'u', 'l', 'l'}));
  EXPECT_EQ(hocuspocus::encode_ping(), bytes({0x09}));
  EXPECT_EQ(hocuspocus::encode_sync_status(std::string_view("d\0s", 3), true), bytes({0x03, 'd', 0x00, 's', 0x08, 0x01}));
}

}  // namespace
}  // namespace tandem::server::yjs
