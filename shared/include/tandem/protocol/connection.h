// tandem/protocol/connection.h — the connection family: authentication, liveness, acks, errors
// (PROTOCOL.md §Connection). Every other family's requests are answered with Ack or ErrorReply.
//
// Each message is a plain struct with kType (its "type" on the wire) and a read/write pair the
// codec finds by argument-dependent lookup. The request `id` is not part of the struct: it
// travels in the frame envelope (ClientFrame/ServerFrame in messages.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tandem/json.h"

namespace tandem::protocol {

// ---- client → server ----------------------------------------------------------------------

// First message when the token is not in the URL; also used to resume a session.
struct Auth {
  static constexpr const char* kType = "auth";
  std::string token;                    // HS256 JWT
  std::optional<std::string> session;   // from a previous `connected`, to resume it
  bool operator==(const Auth&) const = default;
};

// App-level liveness probe (browsers cannot see WS ping frames). Answered with Pong.
struct Ping {
  static constexpr const char* kType = "ping";
  bool operator==(const Ping&) const = default;
};

// ---- server → client ----------------------------------------------------------------------

struct UserInfo {
  std::string id;     // token `sub`
  std::string name;
  std::string color;  // "#rrggbb"
  bool operator==(const UserInfo&) const = default;
};

// The limits a client should respect; see PROTOCOL.md §Limits for the defaults.
struct Limits {
  std::int64_t max_frame_bytes = 0;
  std::int64_t max_rooms = 0;
  std::int64_t rate_per_sec = 0;
  bool operator==(const Limits&) const = default;
};

// Sent once a connection is authenticated. Nothing else is sent before it.
struct Connected {
  static constexpr const char* kType = "connected";
  std::string connection_id;
  std::string session;          // opaque; present it in `auth.session` / `?session=` to resume
  bool resumed = false;         // true when a previous session's state was kept
  UserInfo user;
  std::int64_t heartbeat_ms = 0;  // the client should hear something at least this often
  Limits limits;
  std::string server_version;
  bool operator==(const Connected&) const = default;
};

struct Pong {
  static constexpr const char* kType = "pong";
  std::int64_t ts = 0;  // server time, Unix ms
  bool operator==(const Pong&) const = default;
};

// Positive answer to a request that needs no data back; carries the request id.
struct Ack {
  static constexpr const char* kType = "ack";
  bool duplicate = false;  // true when the id was already applied (idempotent resend)
  bool operator==(const Ack&) const = default;
};

// Negative answer (with the request id when there was one) or a standalone problem report.
struct ErrorReply {
  static constexpr const char* kType = "error";
  std::string code;                   // protocol::errc
  std::string message;                // for humans
  std::optional<std::string> room;    // when the error concerns one room
  bool operator==(const ErrorReply&) const = default;
};

void read(json::Fields& f, Auth& m);
void write(json::JsonWriter& w, const Auth& m);
void read(json::Fields& f, Ping& m);
void write(json::JsonWriter& w, const Ping& m);
void read(json::Fields& f, Connected& m);
void write(json::JsonWriter& w, const Connected& m);
void read(json::Fields& f, Pong& m);
void write(json::JsonWriter& w, const Pong& m);
void read(json::Fields& f, Ack& m);
void write(json::JsonWriter& w, const Ack& m);
void read(json::Fields& f, ErrorReply& m);
void write(json::JsonWriter& w, const ErrorReply& m);

}  // namespace tandem::protocol
