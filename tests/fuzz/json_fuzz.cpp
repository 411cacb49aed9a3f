// tests/fuzz/json_fuzz.cpp — fuzzes the JSON layer every decoder stands on (shared/src/json.cpp):
// parse_json on any bytes, then every Fields read on whatever members the value has, and the
// writer's string escaping.
//
// Invariants:
//   - what parse_json accepts prints (compactly) to text that parse_json accepts again as the
//     same value — same members in the same order, same strings, every number the same double
//     (a raw field carries an app's data through the server unchanged; only a number beyond a
//     double's range becomes null) — and prints the same;
//   - a raw member Fields hands out is such text too, for that member's value;
//   - any valid UTF-8 string without NUL written by JsonWriter::str reads back unchanged.
#include <cJSON.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "tandem/json.h"

namespace {

using namespace tandem;

// The same JSON value, numbers compared exactly (cJSON_Compare allows a relative epsilon). A
// number too large for a double (1e999) parses as infinity and prints as null: JSON has no
// infinity (Fields::raw refuses such values, so they never travel).
bool same_value(const cJSON* a, const cJSON* b) {
  if (cJSON_IsNumber(a) && !std::isfinite(a->valuedouble)) return cJSON_IsNull(b);
  if ((a->type & 0xff) != (b->type & 0xff)) return false;
  if (cJSON_IsNumber(a))
    return a->valuedouble == b->valuedouble && std::signbit(a->valuedouble) == std::signbit(b->valuedouble);
  if (cJSON_IsString(a)) return std::strcmp(a->valuestring, b->valuestring) == 0;
  const cJSON* x = a->child;
  const cJSON* y = b->child;
  for (; x && y; x = x->next, y = y->next) {
    if (cJSON_IsObject(a) && std::strcmp(x->string, y->string) != 0) return false;
    if (!same_value(x, y)) return false;
  }
  return !x && !y;
}

// `printed`, the text of `value`, must parse back to the same value and print back to itself.
void check_printed_form(const cJSON* value, const std::string& printed, const char* what) {
  auto again = json::parse_json(printed);
  FUZZ_CHECK(again.ok(), std::string(what) + " does not parse again: " + printed);
  FUZZ_CHECK(same_value(value, again.value().get()), std::string(what) + " changed when printed: " + printed);
  const std::string reprinted = json::print(again.value().get());
  FUZZ_CHECK(reprinted == printed, std::string(what) + " prints differently: " + printed + " vs " + reprinted);
}

// Every kind of read on member `key`, each in a fresh Fields (a Fields stops at its first error).
void read_member_every_way(const cJSON* object, const char* key) {
  {
    json::Fields f(object, "fuzz");
    std::optional<std::string> s;
    f.opt_str(key, s, {0, 1 << 20, false});
    json::Fields g(object, "fuzz");
    g.opt_str(key, s, {1, 64, true});
  }
  {
    json::Fields f(object, "fuzz");
    std::optional<std::int64_t> i;
    f.opt_int64(key, i, INT64_MIN, INT64_MAX);
    std::optional<double> d;
    json::Fields g(object, "fuzz");
    g.opt_num(key, d, -1e308, 1e308);
    std::optional<bool> b;
    json::Fields h(object, "fuzz");
    h.opt_boolean(key, b);
  }
  for (json::RawKind kind : {json::RawKind::Any, json::RawKind::Object}) {
    json::Fields f(object, "fuzz");
    std::optional<std::string> raw;
    if (f.opt_raw(key, raw, kind, 1 << 20) && raw)
      check_printed_form(cJSON_GetObjectItemCaseSensitive(object, key), *raw, "a raw member");
  }
  {
    json::Fields f(object, "fuzz");
    std::vector<std::string> strings;
    f.str_array(key, strings, false, 64);
    json::Fields g(object, "fuzz");
    g.each(key, false, 64, [](json::Fields& element) {
      std::optional<std::string> s;
      element.opt_str("type", s);
    });
    json::Fields h(object, "fuzz");
    h.nested(key, false, [](json::Fields& inner) {
      std::optional<std::int64_t> seq;
      inner.opt_int64("seq", seq, 0, INT64_MAX);
    });
    (void)h.has(key);
    (void)h.peek_string(key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);

  // The writer's escaping: any string the protocol could carry reads back as it was written.
  if (json::is_valid_utf8(text) && text.find('\0') == std::string_view::npos) {
    json::JsonWriter writer;
    writer.str("s", text);
    const std::string written = writer.finish();
    auto root = json::parse_json(written);
    FUZZ_CHECK(root.ok(), "JsonWriter::str wrote what parse_json refuses: " + written);
    json::Fields f(root.value().get(), "fuzz");
    std::string back;
    FUZZ_CHECK(f.str("s", back, {0, text.size(), false}) && back == text, "a string did not read back: " + written);
  }

  auto root = json::parse_json(text);
  if (!root) return 0;
  check_printed_form(root.value().get(), json::print(root.value().get()), "a parsed value");

  const cJSON* value = root.value().get();
  if (cJSON_IsObject(value)) {
    int members = 0;
    for (const cJSON* member = value->child; member && members < 32; member = member->next, ++members)
      read_member_every_way(value, member->string);
  }
  return 0;
}
