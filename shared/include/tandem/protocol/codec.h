// tandem/protocol/codec.h — text frames in, typed messages out, and back.
//
// Decoding never crashes and never yields a partial object: it returns a fully validated
// frame or an Error whose code is one of protocol::errc (bad_json, invalid_message,
// unknown_type, too_big). Encoding always produces one compact JSON object per message.
// Server frames may also be a JSON array of messages (a batch, PROTOCOL.md §Framing).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tandem/json.h"
#include "tandem/protocol/messages.h"
#include "tandem/result.h"

namespace tandem::protocol {

// Decodes one client frame (a single JSON object; clients never batch). `id_out` receives the
// frame's request id whenever it was readable, even when decoding failed, so that the error
// reply can carry it.
Result<ClientFrame> decode_client(std::string_view text, std::optional<std::string>* id_out = nullptr);

// Decodes one server frame: a JSON object, or a JSON array of objects (a batch). A frame that
// is not JSON yields one Error; otherwise one Result per element, in order.
std::vector<Result<ServerFrame>> decode_server(std::string_view text);

std::string encode(const ClientFrame& frame);
std::string encode(const ServerFrame& frame);

// Convenience: encode a message without an id, or with one. The same text as encode() of a
// frame holding it, written straight from the message (no copy into a frame).
template <class M>
std::string encode_message(const M& message, const std::optional<std::string>& id = std::nullopt) {
  json::JsonWriter w(M::kType);
  w.opt_str("id", id);
  write(w, message);
  return w.finish();
}
// M: one message type, or the whole ClientMessage / ServerMessage variant.
template <class M>
std::string encode_client(const M& message, const std::optional<std::string>& id = std::nullopt) {
  if constexpr (std::is_same_v<M, ClientMessage>) return encode(ClientFrame{id, message});
  else return encode_message(message, id);
}
template <class M>
std::string encode_server(const M& message, const std::optional<std::string>& id = std::nullopt) {
  if constexpr (std::is_same_v<M, ServerMessage>) return encode(ServerFrame{id, message});
  else return encode_message(message, id);
}

// Joins already-encoded messages into one batch frame: "[m1,m2,...]". One message is sent as
// itself (no array), so batching costs nothing at light load.
std::string batch(const std::vector<std::string_view>& encoded);

}  // namespace tandem::protocol
