// codec.cpp — frame-level decoding and encoding: envelope (type, id), dispatch on "type" to
// the message's read/write, batches. Message fields live in the family files.
#include "tandem/protocol/codec.h"

#include <cJSON.h>

#include <array>
#include <cstring>
#include <utility>
#include <variant>

#include "tandem/protocol/errors.h"
#include "tandem/protocol/rules.h"

namespace tandem::protocol {

namespace {

// The per-message code of the decoder and the encoder is one table entry each, built from
// the variant's list of alternatives: its "type" string, and a function that reads the
// message into the variant (resp. writes it). Everything else — finding the type (a linear
// scan of a few dozen short strings, cheaper than building a map), the field context, the
// error check, the envelope — is written once, not once per message: the per-message
// scaffolding the compiler used to stamp out (decode_as<I> and a visit per encoder) was a
// third of the codec's WebAssembly (issue 15).
template <class Variant>
struct Alternatives {
  using Read = void (*)(json::Fields&, Variant&);
  using Write = void (*)(json::JsonWriter&, const Variant&);
  static constexpr std::size_t size = std::variant_size_v<Variant>;

  template <std::size_t... I>
  static constexpr std::array<const char*, size> types(std::index_sequence<I...>) {
    return {std::variant_alternative_t<I, Variant>::kType...};
  }
  template <std::size_t I>
  static void read_one(json::Fields& fields, Variant& message) {
    read(fields, message.template emplace<I>());
  }
  template <std::size_t... I>
  static constexpr std::array<Read, size> readers(std::index_sequence<I...>) {
    return {&read_one<I>...};
  }
  template <std::size_t I>
  static void write_one(json::JsonWriter& writer, const Variant& message) {
    write(writer, *std::get_if<I>(&message));
  }
  template <std::size_t... I>
  static constexpr std::array<Write, size> writers(std::index_sequence<I...>) {
    return {&write_one<I>...};
  }

  static constexpr auto kTypes = types(std::make_index_sequence<size>{});
  static constexpr auto kReaders = readers(std::make_index_sequence<size>{});
  static constexpr auto kWriters = writers(std::make_index_sequence<size>{});
};

// Decodes `object` as the variant alternative whose kType equals `type`.
template <class Variant>
Result<Variant> decode_as(std::string_view type, const cJSON* object) {
  using Table = Alternatives<Variant>;
  for (std::size_t i = 0; i < Table::size; ++i) {
    if (type != Table::kTypes[i]) continue;
    Variant message;
    json::Fields fields(object, Table::kTypes[i]);
    Table::kReaders[i](fields, message);
    if (!fields.ok()) return fields.error();
    return message;
  }
  return Error{std::string(errc::unknown_type), "unknown message type \"" + std::string(type) + "\""};
}

// Reads the envelope ("type" and optional "id") of one message object.
struct Envelope {
  std::string type;
  std::optional<std::string> id;
};
Result<Envelope> read_envelope(const cJSON* object) {
  if (!cJSON_IsObject(object)) return Error{std::string(errc::invalid_message), "a message must be a JSON object"};
  Envelope env;
  json::Fields f(object, "message");
  f.opt_str("id", env.id, rules::request_id);
  f.str("type", env.type, {1, 64, true});
  if (!f.ok()) return f.error();
  return env;
}

template <class Frame, class Variant>
Result<Frame> decode_object(const cJSON* object, std::optional<std::string>* id_out) {
  auto env = read_envelope(object);
  if (!env) {
    // Salvage the id for the error reply if it alone is readable.
    if (id_out && cJSON_IsObject(object)) {
      const cJSON* id = cJSON_GetObjectItemCaseSensitive(object, "id");
      json::Fields f(object, "message");
      std::optional<std::string> salvaged;
      if (cJSON_IsString(id) && f.opt_str("id", salvaged, rules::request_id)) *id_out = salvaged;
    }
    return env.error();
  }
  if (id_out) *id_out = env->id;
  auto message = decode_as<Variant>(env->type, object);
  if (!message) return message.error();
  return Frame{std::move(env.value().id), std::move(message).value()};
}

template <class Frame>
std::string encode_frame(const Frame& frame) {
  using Table = Alternatives<decltype(frame.message)>;
  const std::size_t index = frame.message.index();
  json::JsonWriter w(Table::kTypes[index]);
  w.opt_str("id", frame.id);
  Table::kWriters[index](w, frame.message);
  return std::move(w).finish();
}

}  // namespace

Result<ClientFrame> decode_client(std::string_view text, std::optional<std::string>* id_out) {
  auto root = json::parse_json(text);
  if (!root) return root.error();
  return decode_object<ClientFrame, ClientMessage>(root.value().get(), id_out);
}

std::vector<Result<ServerFrame>> decode_server(std::string_view text) {
  std::vector<Result<ServerFrame>> out;
  auto root = json::parse_json(text);
  if (!root) {
    out.emplace_back(root.error());
    return out;
  }
  const cJSON* node = root.value().get();
  if (cJSON_IsArray(node)) {
    for (const cJSON* element = node->child; element; element = element->next)
      out.push_back(decode_object<ServerFrame, ServerMessage>(element, nullptr));
    if (out.empty()) out.emplace_back(Error{std::string(errc::invalid_message), "empty batch"});
  } else {
    out.push_back(decode_object<ServerFrame, ServerMessage>(node, nullptr));
  }
  return out;
}

std::string encode(const ClientFrame& frame) { return encode_frame(frame); }
std::string encode(const ServerFrame& frame) { return encode_frame(frame); }

std::string batch(const std::vector<std::string_view>& encoded) {
  if (encoded.size() == 1) return std::string(encoded.front());
  std::size_t total = 2 + encoded.size();
  for (auto e : encoded) total += e.size();
  std::string out;
  out.reserve(total);
  out.push_back('[');
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (i) out.push_back(',');
    out.append(encoded[i]);
  }
  out.push_back(']');
  return out;
}

}  // namespace tandem::protocol
