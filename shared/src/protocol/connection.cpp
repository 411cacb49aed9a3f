// connection.cpp — read/write for the connection family (auth, ping, connected, pong, ack, error).
#include "tandem/protocol/connection.h"

#include <cstdint>
#include <limits>

#include "tandem/protocol/rules.h"

namespace tandem::protocol {

namespace {
constexpr std::int64_t kMaxInt = std::numeric_limits<std::int32_t>::max();
}

void read(json::Fields& f, Auth& m) {
  f.str("token", m.token, rules::token);
  f.opt_str("session", m.session, rules::opaque);
}
void write(json::JsonWriter& w, const Auth& m) { w.str("token", m.token).opt_str("session", m.session); }

void read(json::Fields&, Ping&) {}
void write(json::JsonWriter&, const Ping&) {}

void read(json::Fields& f, Connected& m) {
  f.str("connection_id", m.connection_id, rules::opaque);
  f.str("session", m.session, rules::opaque);
  f.boolean("resumed", m.resumed);
  if (const cJSON* user = f.object("user", true)) {
    json::Fields u(user, "connected.user");
    u.str("id", m.user.id, rules::user_id);
    u.str("name", m.user.name, rules::display_name);
    u.str("color", m.user.color, rules::color);
    if (!u.ok()) f.fail(u.error().message, u.error().code);
  }
  f.int64("heartbeat_ms", m.heartbeat_ms, 100, kMaxInt);
  if (const cJSON* limits = f.object("limits", true)) {
    json::Fields l(limits, "connected.limits");
    l.int64("max_frame_bytes", m.limits.max_frame_bytes, 1, kMaxInt);
    l.int64("max_rooms", m.limits.max_rooms, 1, kMaxInt);
    l.int64("rate_per_sec", m.limits.rate_per_sec, 1, kMaxInt);
    if (!l.ok()) f.fail(l.error().message, l.error().code);
  }
  f.str("server_version", m.server_version, {1, 64, false});
}
void write(json::JsonWriter& w, const Connected& m) {
  json::JsonWriter user;
  user.str("id", m.user.id).str("name", m.user.name).str("color", m.user.color);
  json::JsonWriter limits;
  limits.int64("max_frame_bytes", m.limits.max_frame_bytes)
      .int64("max_rooms", m.limits.max_rooms)
      .int64("rate_per_sec", m.limits.rate_per_sec);
  w.str("connection_id", m.connection_id)
      .str("session", m.session)
      .boolean("resumed", m.resumed)
      .child("user", std::move(user))
      .int64("heartbeat_ms", m.heartbeat_ms)
      .child("limits", std::move(limits))
      .str("server_version", m.server_version);
}

void read(json::Fields& f, Pong& m) { f.int64("ts", m.ts, 0, std::numeric_limits<std::int64_t>::max()); }
void write(json::JsonWriter& w, const Pong& m) { w.int64("ts", m.ts); }

void read(json::Fields& f, Ack& m) {
  std::optional<bool> duplicate;
  f.opt_boolean("duplicate", duplicate);
  m.duplicate = duplicate.value_or(false);
}
void write(json::JsonWriter& w, const Ack& m) {
  if (m.duplicate) w.boolean("duplicate", true);
}

void read(json::Fields& f, ErrorReply& m) {
  f.str("code", m.code, rules::code);
  f.str("message", m.message, rules::message);
  f.opt_str("room", m.room, rules::room);
}
void write(json::JsonWriter& w, const ErrorReply& m) {
  w.str("code", m.code).str("message", m.message).opt_str("room", m.room);
}

}  // namespace tandem::protocol
