// server/src/yjs/messages.cpp — the y-websocket and Hocuspocus framings: see messages.h.
#include "yjs/messages.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "yjs/lib0.h"

namespace tandem::server::yjs {
namespace {

enum SyncType : std::uint64_t { kStep1 = 0, kStep2 = 1, kUpdate = 2 };

// The reader's failure, or bytes left over, as a kBadMessage error; nothing when the reader
// is ok and at the end.
std::optional<Error> unfinished(const Lib0Reader& in, std::string_view framing) {
  if (!in.ok()) return Error{std::string(kBadMessage), std::string(framing) + ": " + in.failure()};
  if (!in.at_end())
    return Error{std::string(kBadMessage),
                 std::string(framing) + ": trailing bytes at byte " + std::to_string(in.position())};
  return std::nullopt;
}

Error with_context(Error error, std::string_view context) {
  error.message = std::string(context) + ": " + error.message;
  return error;
}

// The sync message `in` is at, which must end the message. Variant: the framing's message type.
template <class Variant>
Result<Variant> read_sync(Lib0Reader& in, std::string_view framing) {
  const std::uint64_t type = in.read_var_uint();
  if (in.ok() && type > kUpdate)
    return Error{std::string(kUnknownType), std::string(framing) + ": unknown sync message type " + std::to_string(type)};
  const std::string_view payload = in.read_var_bytes();
  if (auto error = unfinished(in, framing)) return *error;
  if (type == kStep1) {
    Result<StateVector> clocks = check_state_vector(payload);
    if (!clocks) return with_context(clocks.error(), std::string(framing) + " sync step 1");
    return Variant{SyncStep1{payload, std::move(clocks).value()}};
  }
  Result<UpdateSummary> summary = check_update(payload);
  if (!summary) return with_context(summary.error(), std::string(framing) + (type == kStep2 ? " sync step 2" : " sync update"));
  SyncUpdatePayload checked{payload, std::move(summary).value()};
  if (type == kStep2) return Variant{SyncStep2{std::move(checked)}};
  return Variant{SyncUpdate{std::move(checked)}};
}

// An awareness message's body (var bytes), which must end the message.
Result<AwarenessUpdate> read_awareness(Lib0Reader& in, std::string_view framing) {
  const std::string_view update = in.read_var_bytes();
  if (auto error = unfinished(in, framing)) return *error;
  Lib0Reader inner(update);
  AwarenessUpdate out{update, {}};
  inner.read_each(inner.read_var_uint(), 3, [&](std::uint64_t) {
    AwarenessEntry entry;
    entry.client = inner.read_var_uint();
    entry.clock = inner.read_var_uint();
    entry.state = inner.read_var_string();
    if (inner.ok() && !is_json_text(entry.state))
      inner.fail("the state of client " + std::to_string(entry.client) + " is not JSON");
    out.entries.push_back(entry);
  });
  if (auto error = unfinished(inner, std::string(framing) + " awareness update")) return *error;
  return out;
}

void write_awareness(Lib0Writer& out, std::span<const AwarenessEntry> entries) {
  Lib0Writer update;
  update.write_var_uint(entries.size());
  for (const AwarenessEntry& entry : entries) {
    update.write_var_uint(entry.client);
    update.write_var_uint(entry.clock);
    update.write_var_string(entry.state);
  }
  out.write_var_bytes(update.bytes());
}

// A message built by `write`.
template <class Write>
std::string build(Write write) {
  Lib0Writer out;
  write(out);
  return std::move(out).take();
}

}  // namespace

bool AwarenessEntry::removed() const {
  std::string_view text = state;
  const std::string_view space = " \t\n\r";  // JSON's whitespace
  text.remove_prefix(std::min(text.find_first_not_of(space), text.size()));
  text.remove_suffix(text.size() - std::min(text.find_last_not_of(space) + 1, text.size()));
  return text == "null";
}

// ---- y-websocket -------------------------------------------------------------------------------
namespace ywebsocket {
namespace {
constexpr std::string_view kFraming = "y-websocket message";
constexpr std::uint64_t kPermissionDenied = 0;  // y-protocols/auth.js messagePermissionDenied

std::string sync(std::uint64_t type, std::string_view payload) {
  return build([&](Lib0Writer& out) {
    out.write_var_uint(static_cast<std::uint64_t>(MessageType::Sync));
    out.write_var_uint(type);
    out.write_var_bytes(payload);
  });
}
}  // namespace

Result<Message> decode(std::string_view message) {
  Lib0Reader in(message);
  const std::uint64_t type = in.read_var_uint();
  if (!in.ok()) return *unfinished(in, kFraming);
  switch (type) {
    case static_cast<std::uint64_t>(MessageType::Sync): return read_sync<Message>(in, kFraming);
    case static_cast<std::uint64_t>(MessageType::Awareness): {
      Result<AwarenessUpdate> awareness = read_awareness(in, kFraming);
      if (!awareness) return awareness.error();
      return Message{std::move(awareness).value()};
    }
    case static_cast<std::uint64_t>(MessageType::Auth): {
      const std::uint64_t auth_type = in.read_var_uint();
      if (in.ok() && auth_type != kPermissionDenied)
        return Error{std::string(kUnknownType), "y-websocket message: unknown auth type " + std::to_string(auth_type)};
      const std::string_view reason = in.read_var_string();
      if (auto error = unfinished(in, kFraming)) return *error;
      return Message{PermissionDenied{reason}};
    }
    case static_cast<std::uint64_t>(MessageType::QueryAwareness):
      if (auto error = unfinished(in, kFraming)) return *error;
      return Message{QueryAwareness{}};
    default:
      return Error{std::string(kUnknownType), "y-websocket message: unknown message type " + std::to_string(type)};
  }
}

std::string encode_sync_step1(std::string_view state_vector) { return sync(kStep1, state_vector); }
std::string encode_sync_step2(std::string_view update) { return sync(kStep2, update); }
std::string encode_sync_update(std::string_view update) { return sync(kUpdate, update); }

std::string encode_awareness(std::span<const AwarenessEntry> entries) {
  return build([&](Lib0Writer& out) {
    out.write_var_uint(static_cast<std::uint64_t>(MessageType::Awareness));
    write_awareness(out, entries);
  });
}

std::string encode_query_awareness() {
  return build([](Lib0Writer& out) { out.write_var_uint(static_cast<std::uint64_t>(MessageType::QueryAwareness)); });
}

std::string encode_permission_denied(std::string_view reason) {
  return build([&](Lib0Writer& out) {
    out.write_var_uint(static_cast<std::uint64_t>(MessageType::Auth));
    out.write_var_uint(kPermissionDenied);
    out.write_var_string(reason);
  });
}

}  // namespace ywebsocket

// ---- Hocuspocus --------------------------------------------------------------------------------
namespace hocuspocus {
namespace {
constexpr std::string_view kFraming = "Hocuspocus message";

// address, then type, then what `write_body` adds.
template <class WriteBody>
std::string addressed(std::string_view address, MessageType type, WriteBody write_body) {
  return build([&](Lib0Writer& out) {
    out.write_var_string(address);
    out.write_var_uint(static_cast<std::uint64_t>(type));
    write_body(out);
  });
}

std::string sync(std::string_view address, std::uint64_t type, std::string_view payload) {
  return addressed(address, MessageType::Sync, [&](Lib0Writer& out) {
    out.write_var_uint(type);
    out.write_var_bytes(payload);
  });
}

std::string auth(std::string_view address, AuthType type, std::optional<std::string_view> text) {
  return addressed(address, MessageType::Auth, [&](Lib0Writer& out) {
    out.write_var_uint(static_cast<std::uint64_t>(type));
    if (text) out.write_var_string(*text);
  });
}

Message with_address(std::string_view address, Body body) { return Message{address, std::move(body)}; }
}  // namespace

std::string_view document_name(std::string_view address) { return address.substr(0, address.find('\0')); }

std::string_view session_id(std::string_view address) {
  const std::size_t separator = address.find('\0');
  return separator == std::string_view::npos ? std::string_view() : address.substr(separator + 1);
}

Result<Message> decode(std::string_view message) {
  // A bare Pong has no address: the provider writes just its type (a one-byte message cannot
  // hold an address of length 10 and a type, so this reads unambiguously).
  if (message.size() == 1 && static_cast<std::uint8_t>(message[0]) == static_cast<std::uint8_t>(MessageType::Pong))
    return Message{{}, Pong{}};
  Lib0Reader in(message);
  const std::string_view address = in.read_var_string();
  const std::uint64_t type = in.read_var_uint();
  if (!in.ok()) return *unfinished(in, kFraming);
  switch (type) {
    case static_cast<std::uint64_t>(MessageType::Sync): {
      Result<Body> body = read_sync<Body>(in, kFraming);
      if (!body) return body.error();
      return with_address(address, std::move(body).value());
    }
    case static_cast<std::uint64_t>(MessageType::Awareness): {
      Result<AwarenessUpdate> awareness = read_awareness(in, kFraming);
      if (!awareness) return awareness.error();
      return with_address(address, std::move(awareness).value());
    }
    case static_cast<std::uint64_t>(MessageType::Auth): {
      const std::uint64_t auth_type = in.read_var_uint();
      if (in.ok() && auth_type != static_cast<std::uint64_t>(AuthType::Token))
        return Error{std::string(kUnknownType), "Hocuspocus message: auth type " + std::to_string(auth_type) +
                                                    " (a provider sends only 0, its token)"};
      Token token;
      token.token = in.read_var_string();
      if (in.ok() && !in.at_end()) token.provider_version = in.read_var_string();
      if (auto error = unfinished(in, kFraming)) return *error;
      return with_address(address, token);
    }
    case static_cast<std::uint64_t>(MessageType::QueryAwareness):
      if (auto error = unfinished(in, kFraming)) return *error;
      return with_address(address, QueryAwareness{});
    case static_cast<std::uint64_t>(MessageType::Stateless): {
      const std::string_view payload = in.read_var_string();
      if (auto error = unfinished(in, kFraming)) return *error;
      return with_address(address, Stateless{payload});
    }
    case static_cast<std::uint64_t>(MessageType::Close):
      if (auto error = unfinished(in, kFraming)) return *error;
      return with_address(address, Close{});
    default:
      return Error{std::string(kUnknownType), "Hocuspocus message: type " + std::to_string(type) +
                                                  " is not one a provider sends"};
  }
}

std::string encode_sync_step1(std::string_view address, std::string_view state_vector) {
  return sync(address, kStep1, state_vector);
}
std::string encode_sync_step2(std::string_view address, std::string_view update) { return sync(address, kStep2, update); }
std::string encode_sync_update(std::string_view address, std::string_view update) {
  return sync(address, kUpdate, update);
}

std::string encode_awareness(std::string_view address, std::span<const AwarenessEntry> entries) {
  return addressed(address, MessageType::Awareness, [&](Lib0Writer& out) { write_awareness(out, entries); });
}

std::string encode_query_awareness(std::string_view address) {
  return addressed(address, MessageType::QueryAwareness, [](Lib0Writer&) {});
}

std::string encode_token_request(std::string_view address) { return auth(address, AuthType::Token, std::nullopt); }

std::string encode_authenticated(std::string_view address, Scope scope) {
  return auth(address, AuthType::Authenticated, scope == Scope::ReadOnly ? "readonly" : "read-write");
}

std::string encode_permission_denied(std::string_view address, std::string_view reason) {
  return auth(address, AuthType::PermissionDenied, reason);
}

std::string encode_stateless(std::string_view address, std::string_view payload) {
  return addressed(address, MessageType::Stateless, [&](Lib0Writer& out) { out.write_var_string(payload); });
}

std::string encode_sync_status(std::string_view address, bool applied) {
  return addressed(address, MessageType::SyncStatus, [&](Lib0Writer& out) { out.write_var_uint(applied ? 1 : 0); });
}

std::string encode_close(std::string_view address, std::string_view reason) {
  return addressed(address, MessageType::Close, [&](Lib0Writer& out) { out.write_var_string(reason); });
}

std::string encode_ping() { return std::string(1, static_cast<char>(MessageType::Ping)); }

}  // namespace hocuspocus

}  // namespace tandem::server::yjs
