// tandem/json.h — the thin layer between the codec and cJSON.
//
// Sections:
//   JsonPtr      owning pointer to a cJSON tree (frees on scope exit)
//   parse_json   bounded parse of one frame (size, UTF-8) into a tree; wrap() nests one
//   Fields       validated reads of an object's members; the first failure is kept as an Error
//   JsonWriter   writes one object (or array) as compact JSON text, member by member
//
// Only the codec (shared/src/protocol) uses this header; nothing outside shared/ touches cJSON
// types directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/result.h"

struct cJSON;

namespace tandem::json {

struct Deleter {
  void operator()(cJSON* node) const;
};
using JsonPtr = std::unique_ptr<cJSON, Deleter>;

// Parses `text` (not necessarily NUL-terminated). Fails with "bad_json" on invalid JSON,
// invalid UTF-8, a \u0000 escape (cJSON keeps strings NUL-terminated, so it would silently cut
// the string there) or trailing garbage. The size bound is the caller's job (the frame limit).
Result<JsonPtr> parse_json(std::string_view text);

// A new object holding `value` as its member `key` ({key: value}), so that Fields — which
// reads members of objects — can read a parsed top-level array or value with its rules and
// error contexts. Takes `value` over.
JsonPtr wrap(const char* key, JsonPtr value);

// True for the characters ids, room names and user ids may hold: [A-Za-z0-9_:.@-] (ASCII only,
// whatever the locale). StringRule::identifier and the server's token checks share it.
bool is_identifier_char(char c);

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF).
bool is_valid_utf8(std::string_view text);

// Prints a subtree compactly ("raw JSON" fields such as node data and stream payloads).
std::string print(const cJSON* node);

// A non-owning reference to a callable, for callbacks that run before the call taking them
// returns (Fields::nested, Fields::each): nothing is copied or allocated. A std::function
// there cost each reading lambda ~65 bytes of WebAssembly for copying and destroying it,
// never used (issue 15). Valid only while the callable it was made from lives.
template <class Signature>
class FunctionRef;
template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& callable)  // NOLINT(google-explicit-constructor): takes lambdas as they are
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(callable)))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

// What a string field may contain.
struct StringRule {
  std::size_t min = 1;      // bytes
  std::size_t max = 256;    // bytes
  bool identifier = false;  // when true: only [A-Za-z0-9_:.@-]
};

// What a raw JSON field may be.
enum class RawKind { Any, Object };

// Validated reads from one JSON object. Each read returns false once any read has failed,
// so a decoder reads every field and then checks ok() once. Missing optional fields leave the
// output untouched (std::nullopt). Numbers must be finite; integers must be exact.
// Error codes: a value over its upper bound (string bytes, raw bytes, array items) is
// "too_big"; anything else wrong (missing, wrong type, too short, bad characters, out of
// range) is "invalid_message". Messages name the field path: "node_create.node.label: ...".
class Fields {
 public:
  explicit Fields(const cJSON* object, std::string_view context);

  bool str(const char* key, std::string& out, StringRule rule = {});
  bool opt_str(const char* key, std::optional<std::string>& out, StringRule rule = {});
  bool int64(const char* key, std::int64_t& out, std::int64_t min, std::int64_t max);
  bool opt_int64(const char* key, std::optional<std::int64_t>& out, std::int64_t min, std::int64_t max);
  bool num(const char* key, double& out, double min, double max);
  bool opt_num(const char* key, std::optional<double>& out, double min, double max);
  bool boolean(const char* key, bool& out);
  bool opt_boolean(const char* key, std::optional<bool>& out);
  // Copies a member verbatim as compact JSON text, bounded in printed bytes. Numbers inside
  // must be finite (cJSON would print an overflowed 1e999 as null, silently changing it).
  bool raw(const char* key, std::string& out, RawKind kind, std::size_t max_bytes);
  bool opt_raw(const char* key, std::optional<std::string>& out, RawKind kind, std::size_t max_bytes);
  // A nested object (or nullptr when absent and not required; an error when required).
  const cJSON* object(const char* key, bool required);
  // A nested array (same rules as object()).
  const cJSON* array(const char* key, bool required);

  // Reads a nested object through `read_members`, which gets a Fields scoped to it (context
  // "<ours>.<key>"); its first error becomes ours. Absent and not required: returns true
  // without calling `read_members`.
  bool nested(const char* key, bool required, FunctionRef<void(Fields&)> read_members);
  // Reads an array of at most `max_items` objects, calling `read_element` once per element
  // with a Fields scoped to it (context "<ours>.<key>[i]"); stops at the first error.
  bool each(const char* key, bool required, std::size_t max_items,
            FunctionRef<void(Fields&)> read_element);
  // Reads an array of at most `max_items` strings, each checked against `rule` (the element
  // context is "<ours>.<key>[i]"). Absent and not required: leaves `out` empty.
  bool str_array(const char* key, std::vector<std::string>& out, bool required, std::size_t max_items,
                 StringRule rule = {});
  // True when `key` is present and not null, whatever its type.
  bool has(const char* key) const;
  // The present member `key` as a string, or nullptr when absent/not a string. For decoders
  // that must branch on a value before validating it (e.g. salvaging an id).
  const char* peek_string(const char* key) const;

  // Records a custom validation failure ("invalid_message" unless a code is given).
  bool fail(std::string message, std::string code = "invalid_message");

  bool ok() const { return !error_.has_value(); }
  const Error& error() const { return *error_; }
  const std::string& context() const { return context_; }

 private:
  const cJSON* member(const char* key, bool required);
  bool wrong_type(const char* key, const char* expected);

  const cJSON* object_;
  std::string context_;  // e.g. "subscribe", used in messages: "subscribe.room: ..."
  std::optional<Error> error_;
};

// Sizes of values as JsonWriter writes them, without writing them: a string quoted and
// escaped (cut at a NUL), a number exact.
std::size_t string_size(std::string_view value);
std::size_t number_size(double value);

// Writes one JSON object (or array) straight into its text, member by member — no tree, one
// growing string. The output is exactly what printing the equivalent cJSON tree with
// json::print gave: strings escaped as cJSON escapes them (and cut at a NUL, as cJSON's C
// strings are), numbers exact. Raw members are parsed and printed back, so a malformed raw
// value is dropped rather than corrupting the output (the codec validated it).
class JsonWriter {
 public:
  JsonWriter();
  explicit JsonWriter(std::string_view type);  // starts with {"type": type}
  // Moving hands over the text; the moved-from writer is left empty (an empty object), so a
  // family codec can build a nested value in a helper and return it.
  JsonWriter(JsonWriter&& other) noexcept;
  JsonWriter& operator=(JsonWriter&&) = delete;
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& str(const char* key, std::string_view value);
  JsonWriter& opt_str(const char* key, const std::optional<std::string>& value);
  JsonWriter& int64(const char* key, std::int64_t value);
  JsonWriter& opt_int64(const char* key, const std::optional<std::int64_t>& value);
  JsonWriter& num(const char* key, double value);
  JsonWriter& opt_num(const char* key, const std::optional<double>& value);
  JsonWriter& boolean(const char* key, bool value);
  JsonWriter& opt_boolean(const char* key, const std::optional<bool>& value);
  JsonWriter& raw(const char* key, std::string_view json_text);
  JsonWriter& opt_raw(const char* key, const std::optional<std::string>& json_text);
  // Adds `json_text` as it is, without parsing it back: one copy instead of a parse and a
  // print, for payloads passed on unchanged (broadcast data). The caller vouches that it is
  // valid JSON — text that Fields::raw produced, never text straight from an app.
  JsonWriter& verbatim(const char* key, const std::string& json_text);
  // Adds a nested object/array built by another writer.
  JsonWriter& child(const char* key, JsonWriter&& nested);
  // Turns this writer into an array builder; push() appends built objects.
  static JsonWriter array();
  JsonWriter& push(JsonWriter&& element);
  JsonWriter& push_str(std::string_view value);

  std::string finish() const&;  // compact JSON text
  std::string finish() &&;      // the same, without a copy

 private:
  struct ArrayTag {};
  explicit JsonWriter(ArrayTag);
  void key(const char* name);  // the separator, and `"name":` in an object
  void element();              // the separator before an array element

  std::string text_;  // without the closing bracket
  bool array_ = false;
  bool empty_ = true;
};

}  // namespace tandem::json
