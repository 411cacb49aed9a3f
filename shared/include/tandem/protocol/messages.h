// tandem/protocol/messages.h — the closed sets of messages each side may send, and the frame
// envelope that carries a request id beside a message.
//
// Adding a message: declare its struct and read/write in its family header, then list it in
// ClientMessage or ServerMessage below. The codec (codec.h) picks it up from the list.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "tandem/protocol/connection.h"

namespace tandem::protocol {

// Everything a client may send.
using ClientMessage = std::variant<Auth, Ping>;

// Everything a server may send.
using ServerMessage = std::variant<Connected, Pong, Ack, ErrorReply>;

// One message and the request id it carries (client requests; server replies echo it).
struct ClientFrame {
  std::optional<std::string> id;
  ClientMessage message;
  bool operator==(const ClientFrame&) const = default;
};

struct ServerFrame {
  std::optional<std::string> id;
  ServerMessage message;
  bool operator==(const ServerFrame&) const = default;
};

// The "type" string of whatever a variant holds.
template <class Variant>
const char* type_of(const Variant& message) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kType; }, message);
}

}  // namespace tandem::protocol
