// json.cpp — cJSON wrapper: bounded parsing, validated field reads, compact writing.
#include "tandem/json.h"

#include <cJSON.h>

#include <charconv>
#include <cmath>

#include "json_numbers.h"

namespace tandem::json {

void Deleter::operator()(cJSON* node) const { cJSON_Delete(node); }

bool is_valid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) { ++i; continue; }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// True when the text holds the escape \u0000. Every backslash in valid JSON starts an escape
// inside a string, so skipping the escaped character is enough to tell "\\u0000" (an escaped
// backslash followed by the letters u0000) from a real NUL escape.
static bool has_nul_escape(std::string_view text) {
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] != '\\') continue;
    if (text[i + 1] == 'u' && text.substr(i + 2, 4) == "0000") return true;
    ++i;  // skip the escaped character
  }
  return false;
}

// JSON allows no raw control characters (below U+0020) inside strings, and none but
// whitespace outside them. cJSON is lenient about both, and a raw NUL would silently end the
// C string it builds ("a\0b" read as "a"), so they are refused before parsing.
static bool has_raw_control_char(std::string_view text) {
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (in_string) {
      if (c < 0x20) return true;
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      return true;
    }
  }
  return false;
}

Result<JsonPtr> parse_json(std::string_view text) {
  if (!is_valid_utf8(text)) return Error{"bad_json", "frame is not valid UTF-8"};
  if (has_nul_escape(text)) return Error{"bad_json", "strings must not contain \\u0000"};
  if (has_raw_control_char(text)) return Error{"bad_json", "raw control characters are not allowed in JSON"};
  const char* end = nullptr;
  JsonPtr root(cJSON_ParseWithLengthOpts(text.data(), text.size(), &end, false));
  if (!root) {
    const std::size_t at = end ? static_cast<std::size_t>(end - text.data()) : 0;
    return Error{"bad_json", "malformed JSON near byte " + std::to_string(at)};
  }
  // cJSON stops after the first value; anything but whitespace after it is garbage.
  for (const char* p = end; p && p < text.data() + text.size(); ++p) {
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
      return Error{"bad_json", "trailing data after the JSON value"};
  }
  return root;
}

JsonPtr wrap(const char* key, JsonPtr value) {
  JsonPtr object(cJSON_CreateObject());
  cJSON_AddItemToObject(object.get(), key, value.release());
  return object;
}

// The printer is ours, not cJSON_PrintUnformatted: cJSON prints a number with 15 significant
// digits whenever its own relative check (within one DBL_EPSILON) accepts the result, so a
// value one unit in the last place away changed on its way through — 0.30000000000000004
// came out as 0.3, 17323456345679002 as 1.7323456345679e+16 (found by fuzz.json). Here a
// number gets 15 digits only when they read back as the same double, else 17 (always exact),
// and strings are escaped exactly as cJSON escapes them, so every other output is unchanged.
// (Not std::to_chars for doubles: Emscripten 3.1.6's libc++ has none.)
namespace {

// Cut at the first NUL, as cJSON's C strings are.
void append_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) break;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void append_number(std::string& out, double value) {
  if (!std::isfinite(value)) {  // JSON has no NaN or infinity (cJSON prints them as null too)
    out += "null";
    return;
  }
  char text[32];
  // Integers below 10^15 (ids, counts, most coordinates): their digits, as %.15g would print
  // them. Not -0, whose sign would be lost.
  if (value == std::floor(value) && std::fabs(value) < 1e15 && !(value == 0 && std::signbit(value))) {
    const auto end = std::to_chars(text, text + sizeof text, static_cast<std::int64_t>(value)).ptr;
    out.append(text, end);
    return;
  }
  append_double(out, value);
}

void append_value(std::string& out, const cJSON* node) {
  if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
    const bool object = cJSON_IsObject(node);
    out.push_back(object ? '{' : '[');
    for (const cJSON* child = node->child; child; child = child->next) {
      if (child != node->child) out.push_back(',');
      if (object) {
        append_string(out, child->string ? child->string : "");
        out.push_back(':');
      }
      append_value(out, child);
    }
    out.push_back(object ? '}' : ']');
  } else if (cJSON_IsString(node)) {
    append_string(out, node->valuestring ? node->valuestring : "");
  } else if (cJSON_IsNumber(node)) {
    append_number(out, node->valuedouble);
  } else if (cJSON_IsRaw(node) && node->valuestring) {
    out += node->valuestring;
  } else if (cJSON_IsTrue(node)) {
    out += "true";
  } else if (cJSON_IsFalse(node)) {
    out += "false";
  } else {
    out += "null";
  }
}

}  // namespace

std::string print(const cJSON* node) {
  std::string out;
  if (!node) return "null";
  out.reserve(128);
  append_value(out, node);
  return out;
}

// ---- Fields -------------------------------------------------------------------------------

Fields::Fields(const cJSON* object, std::string_view context) : object_(object), context_(context) {
  if (!cJSON_IsObject(object_)) fail(context_ + ": expected a JSON object");
}

bool Fields::fail(std::string message, std::string code) {
  if (!error_) error_ = Error{std::move(code), std::move(message)};
  return false;
}

const cJSON* Fields::member(const char* key, bool required) {
  if (error_) return nullptr;
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object_, key);
  if (item && cJSON_IsNull(item)) item = nullptr;  // null means absent
  if (!item && required) fail(context_ + "." + key + ": required field is missing");
  return item;
}

bool Fields::wrong_type(const char* key, const char* expected) {
  return fail(context_ + "." + key + ": expected " + expected);
}

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':' || c == '.' || c == '@' || c == '-';
}

bool Fields::str(const char* key, std::string& out, StringRule rule) {
  std::optional<std::string> v;
  if (!member(key, true)) return false;
  if (!opt_str(key, v, rule)) return false;
  out = std::move(*v);
  return true;
}

bool Fields::opt_str(const char* key, std::optional<std::string>& out, StringRule rule) {
  const cJSON* item = member(key, false);
  if (error_) return false;
  if (!item) return true;
  if (!cJSON_IsString(item)) return wrong_type(key, "a string");
  std::string_view value(item->valuestring);
  if (value.size() < rule.min || value.size() > rule.max)
    return fail(context_ + "." + key + ": length must be " + std::to_string(rule.min) + ".." +
                    std::to_string(rule.max) + " bytes",
                value.size() > rule.max ? "too_big" : "invalid_message");
  if (rule.identifier) {
    for (char c : value)
      if (!is_identifier_char(c))
        return fail(context_ + "." + key + ": only letters, digits and _:.@- are allowed");
  }
  out = std::string(value);
  return true;
}

bool Fields::int64(const char* key, std::int64_t& out, std::int64_t min, std::int64_t max) {
  std::optional<std::int64_t> v;
  if (!member(key, true)) return false;
  if (!opt_int64(key, v, min, max)) return false;
  out = *v;
  return true;
}

bool Fields::opt_int64(const char* key, std::optional<std::int64_t>& out, std::int64_t min, std::int64_t max) {
  const cJSON* item = member(key, false);
  if (error_) return false;
  if (!item) return true;
  if (!cJSON_IsNumber(item)) return wrong_type(key, "an integer");
  const double d = item->valuedouble;
  // 2^53: beyond it doubles cannot hold every integer, so the value would not be exact.
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740992.0)
    return wrong_type(key, "an integer");
  const auto v = static_cast<std::int64_t>(d);
  if (v < min || v > max)
    return fail(context_ + "." + key + ": must be within " + std::to_string(min) + ".." + std::to_string(max));
  out = v;
  return true;
}

bool Fields::num(const char* key, double& out, double min, double max) {
  std::optional<double> v;
  if (!member(key, true)) return false;
  if (!opt_num(key, v, min, max)) return false;
  out = *v;
  return true;
}

bool Fields::opt_num(const char* key, std::optional<double>& out, double min, double max) {
  const cJSON* item = member(key, false);
  if (error_) return false;
  if (!item) return true;
  if (!cJSON_IsNumber(item) || !std::isfinite(item->valuedouble)) return wrong_type(key, "a number");
  if (item->valuedouble < min || item->valuedouble > max)
    return fail(context_ + "." + key + ": out of range");
  out = item->valuedouble;
  return true;
}

bool Fields::boolean(const char* key, bool& out) {
  std::optional<bool> v;
  if (!member(key, true)) return false;
  if (!opt_boolean(key, v)) return false;
  out = *v;
  return true;
}

bool Fields::opt_boolean(const char* key, std::optional<bool>& out) {
  const cJSON* item = member(key, false);
  if (error_) return false;
  if (!item) return true;
  if (!cJSON_IsBool(item)) return wrong_type(key, "true or false");
  out = cJSON_IsTrue(item) != 0;
  return true;
}

// Walks a subtree; false when any number in it overflowed to ±inf (JSON has no NaN literal).
static bool all_numbers_finite(const cJSON* node) {
  if (cJSON_IsNumber(node)) return std::isfinite(node->valuedouble);
  for (const cJSON* child = node->child; child; child = child->next)
    if (!all_numbers_finite(child)) return false;
  return true;
}

bool Fields::raw(const char* key, std::string& out, RawKind kind, std::size_t max_bytes) {
  std::optional<std::string> v;
  if (!member(key, true)) return false;
  if (!opt_raw(key, v, kind, max_bytes)) return false;
  out = std::move(*v);
  return true;
}

bool Fields::opt_raw(const char* key, std::optional<std::string>& out, RawKind kind, std::size_t max_bytes) {
  const cJSON* item = member(key, false);
  if (error_) return false;
  if (!item) return true;
  if (kind == RawKind::Object && !cJSON_IsObject(item)) return wrong_type(key, "an object");
  if (!all_numbers_finite(item)) return fail(context_ + "." + key + ": numbers must be finite");
  std::string text = print(item);
  if (text.size() > max_bytes)
    return fail(context_ + "." + key + ": larger than " + std::to_string(max_bytes) + " bytes", "too_big");
  out = std::move(text);
  return true;
}

const cJSON* Fields::object(const char* key, bool required) {
  const cJSON* item = member(key, required);
  if (!item) return nullptr;
  if (!cJSON_IsObject(item)) { wrong_type(key, "an object"); return nullptr; }
  return item;
}

const cJSON* Fields::array(const char* key, bool required) {
  const cJSON* item = member(key, required);
  if (!item) return nullptr;
  if (!cJSON_IsArray(item)) { wrong_type(key, "an array"); return nullptr; }
  return item;
}

bool Fields::nested(const char* key, bool required, FunctionRef<void(Fields&)> read_members) {
  const cJSON* item = object(key, required);
  if (error_) return false;
  if (!item) return true;
  Fields inner(item, context_ + "." + key);
  read_members(inner);
  if (!inner.ok()) return fail(inner.error().message, inner.error().code);
  return true;
}

bool Fields::each(const char* key, bool required, std::size_t max_items,
                  FunctionRef<void(Fields&)> read_element) {
  const cJSON* list = array(key, required);
  if (error_) return false;
  if (!list) return true;
  if (static_cast<std::size_t>(cJSON_GetArraySize(list)) > max_items)
    return fail(context_ + "." + key + ": more than " + std::to_string(max_items) + " items", "too_big");
  std::size_t index = 0;
  for (const cJSON* element = list->child; element; element = element->next, ++index) {
    Fields inner(element, context_ + "." + key + "[" + std::to_string(index) + "]");
    if (inner.ok()) read_element(inner);
    if (!inner.ok()) return fail(inner.error().message, inner.error().code);
  }
  return true;
}

bool Fields::str_array(const char* key, std::vector<std::string>& out, bool required, std::size_t max_items,
                       StringRule rule) {
  const cJSON* list = array(key, required);
  if (error_) return false;
  if (!list) return true;
  if (static_cast<std::size_t>(cJSON_GetArraySize(list)) > max_items)
    return fail(context_ + "." + key + ": more than " + std::to_string(max_items) + " items", "too_big");
  std::vector<std::string> values;
  std::size_t index = 0;
  for (const cJSON* element = list->child; element; element = element->next, ++index) {
    const std::string where = context_ + "." + key + "[" + std::to_string(index) + "]";
    if (!cJSON_IsString(element)) return fail(where + ": expected a string");
    std::string_view value(element->valuestring);
    if (value.size() < rule.min) return fail(where + ": shorter than " + std::to_string(rule.min) + " bytes");
    if (value.size() > rule.max) return fail(where + ": longer than " + std::to_string(rule.max) + " bytes", "too_big");
    values.emplace_back(value);
  }
  out = std::move(values);
  return true;
}

bool Fields::has(const char* key) const {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object_, key);
  return item && !cJSON_IsNull(item);
}

const char* Fields::peek_string(const char* key) const {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object_, key);
  return cJSON_IsString(item) ? item->valuestring : nullptr;
}

std::size_t string_size(std::string_view value) {
  std::size_t size = 2;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) break;
    if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') {
      size += 2;
    } else {
      size += c < 0x20 ? 6 : 1;
    }
  }
  return size;
}

std::size_t number_size(double value) {
  std::string text;
  append_number(text, value);
  return text.size();
}

// ---- JsonWriter ---------------------------------------------------------------------------

JsonWriter::JsonWriter() : text_("{") {}
JsonWriter::JsonWriter(std::string_view type) : JsonWriter() { str("type", type); }
JsonWriter::JsonWriter(ArrayTag) : text_("["), array_(true) {}
JsonWriter::JsonWriter(JsonWriter&& other) noexcept
    : text_(std::exchange(other.text_, "{")), array_(std::exchange(other.array_, false)),
      empty_(std::exchange(other.empty_, true)) {}

JsonWriter JsonWriter::array() { return JsonWriter(ArrayTag{}); }

void JsonWriter::key(const char* name) {
  if (!empty_) text_.push_back(',');
  empty_ = false;
  append_string(text_, name);
  text_.push_back(':');
}
void JsonWriter::element() {
  if (!empty_) text_.push_back(',');
  empty_ = false;
}

JsonWriter& JsonWriter::str(const char* name, std::string_view value) {
  key(name);
  append_string(text_, value);
  return *this;
}
JsonWriter& JsonWriter::opt_str(const char* name, const std::optional<std::string>& value) {
  return value ? str(name, *value) : *this;
}
JsonWriter& JsonWriter::int64(const char* name, std::int64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  key(name);
  text_.append(digits, end);
  return *this;
}
JsonWriter& JsonWriter::opt_int64(const char* name, const std::optional<std::int64_t>& value) {
  return value ? int64(name, *value) : *this;
}
JsonWriter& JsonWriter::num(const char* name, double value) {
  key(name);
  append_number(text_, value);
  return *this;
}
JsonWriter& JsonWriter::opt_num(const char* name, const std::optional<double>& value) {
  return value ? num(name, *value) : *this;
}
JsonWriter& JsonWriter::boolean(const char* name, bool value) {
  key(name);
  text_ += value ? "true" : "false";
  return *this;
}
JsonWriter& JsonWriter::opt_boolean(const char* name, const std::optional<bool>& value) {
  return value ? boolean(name, *value) : *this;
}
JsonWriter& JsonWriter::raw(const char* name, std::string_view json_text) {
  JsonPtr parsed(cJSON_ParseWithLength(json_text.data(), json_text.size()));
  if (!parsed) return *this;
  key(name);
  append_value(text_, parsed.get());
  return *this;
}
JsonWriter& JsonWriter::verbatim(const char* name, const std::string& json_text) {
  key(name);
  text_.append(json_text.c_str());  // up to a NUL, as the C string it was
  return *this;
}
JsonWriter& JsonWriter::opt_raw(const char* name, const std::optional<std::string>& json_text) {
  return json_text ? raw(name, *json_text) : *this;
}
JsonWriter& JsonWriter::child(const char* name, JsonWriter&& nested) {
  key(name);
  text_ += std::move(nested).finish();
  return *this;
}
JsonWriter& JsonWriter::push(JsonWriter&& element_writer) {
  element();
  text_ += std::move(element_writer).finish();
  return *this;
}
JsonWriter& JsonWriter::push_str(std::string_view value) {
  element();
  append_string(text_, value);
  return *this;
}
std::string JsonWriter::finish() const& { return text_ + (array_ ? ']' : '}'); }
std::string JsonWriter::finish() && {
  text_.push_back(array_ ? ']' : '}');
  std::string out = std::exchange(text_, array_ ? "[" : "{");
  empty_ = true;
  return out;
}

}  // namespace tandem::json
