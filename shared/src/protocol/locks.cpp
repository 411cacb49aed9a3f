// locks.cpp — read/write for the locks family (lock, renew, unlock, takeover, lock_granted,
// lock_denied, locked, unlocked, takeover_requested, lock_state).
#include "tandem/protocol/locks.h"

#include "read_util.h"

namespace tandem::protocol {

namespace {

void read_target(json::Fields& f, std::string& room, std::string& resource) {
  detail::read_room(f, room);
  f.str("resource", resource, rules::resource);
}

void read_holder(json::Fields& f, const char* key, LockHolder& out) {
  f.nested(key, true, [&](json::Fields& h) {
    h.str("user", out.user, rules::user_id);
    h.str("name", out.name, rules::display_name);
    h.str("color", out.color, rules::color);
  });
}

json::JsonWriter write_holder(const LockHolder& h) {
  json::JsonWriter w;
  w.str("user", h.user).str("name", h.name).str("color", h.color);
  return w;
}

void read_ttl(json::Fields& f, std::optional<std::int64_t>& out) {
  f.opt_int64("ttl_ms", out, bounds::min_ttl_ms, bounds::max_ttl_ms);
}

}  // namespace

void read(json::Fields& f, Lock& m) {
  read_target(f, m.room, m.resource);
  read_ttl(f, m.ttl_ms);
}
void write(json::JsonWriter& w, const Lock& m) {
  w.str("room", m.room).str("resource", m.resource).opt_int64("ttl_ms", m.ttl_ms);
}

void read(json::Fields& f, Renew& m) {
  read_target(f, m.room, m.resource);
  read_ttl(f, m.ttl_ms);
}
void write(json::JsonWriter& w, const Renew& m) {
  w.str("room", m.room).str("resource", m.resource).opt_int64("ttl_ms", m.ttl_ms);
}

void read(json::Fields& f, Unlock& m) { read_target(f, m.room, m.resource); }
void write(json::JsonWriter& w, const Unlock& m) { w.str("room", m.room).str("resource", m.resource); }

void read(json::Fields& f, Takeover& m) { read_target(f, m.room, m.resource); }
void write(json::JsonWriter& w, const Takeover& m) { w.str("room", m.room).str("resource", m.resource); }

void read(json::Fields& f, LockGranted& m) {
  read_target(f, m.room, m.resource);
  detail::read_fence(f, "fence", m.fence);
  detail::read_count(f, "expires_at", m.expires_at);
}
void write(json::JsonWriter& w, const LockGranted& m) {
  w.str("room", m.room).str("resource", m.resource).int64("fence", m.fence).int64("expires_at", m.expires_at);
}

void read(json::Fields& f, LockDenied& m) {
  read_target(f, m.room, m.resource);
  read_holder(f, "holder", m.holder);
  detail::read_count(f, "expires_at", m.expires_at);
}
void write(json::JsonWriter& w, const LockDenied& m) {
  w.str("room", m.room)
      .str("resource", m.resource)
      .child("holder", write_holder(m.holder))
      .int64("expires_at", m.expires_at);
}

void read(json::Fields& f, Locked& m) {
  read_target(f, m.room, m.resource);
  read_holder(f, "holder", m.holder);
  detail::read_fence(f, "fence", m.fence);
  detail::read_count(f, "expires_at", m.expires_at);
  detail::read_count(f, "seq", m.seq);
  detail::read_count(f, "ts", m.ts);
}
void write(json::JsonWriter& w, const Locked& m) {
  w.str("room", m.room)
      .str("resource", m.resource)
      .child("holder", write_holder(m.holder))
      .int64("fence", m.fence)
      .int64("expires_at", m.expires_at)
      .int64("seq", m.seq)
      .int64("ts", m.ts);
}

void read(json::Fields& f, Unlocked& m) {
  read_target(f, m.room, m.resource);
  detail::read_enum(f, "reason", m.reason);
  detail::read_count(f, "seq", m.seq);
  detail::read_count(f, "ts", m.ts);
}
void write(json::JsonWriter& w, const Unlocked& m) {
  w.str("room", m.room)
      .str("resource", m.resource)
      .str("reason", to_string(m.reason))
      .int64("seq", m.seq)
      .int64("ts", m.ts);
}

void read(json::Fields& f, TakeoverRequested& m) {
  read_target(f, m.room, m.resource);
  read_holder(f, "by", m.by);
  f.int64("grace_ms", m.grace_ms, 0, bounds::max_grace_ms);
}
void write(json::JsonWriter& w, const TakeoverRequested& m) {
  w.str("room", m.room).str("resource", m.resource).child("by", write_holder(m.by)).int64("grace_ms", m.grace_ms);
}

void read(json::Fields& f, LockState& m) {
  detail::read_room(f, m.room);
  detail::read_count(f, "seq", m.seq);
  f.each("locks", true, bounds::max_list_items, [&](json::Fields& e) {
    LockInfo info;
    e.str("resource", info.resource, rules::resource);
    read_holder(e, "holder", info.holder);
    detail::read_fence(e, "fence", info.fence);
    detail::read_count(e, "expires_at", info.expires_at);
    m.locks.push_back(std::move(info));
  });
}
void write(json::JsonWriter& w, const LockState& m) {
  auto locks = json::JsonWriter::array();
  for (const auto& info : m.locks) {
    json::JsonWriter e;
    e.str("resource", info.resource)
        .child("holder", write_holder(info.holder))
        .int64("fence", info.fence)
        .int64("expires_at", info.expires_at);
    locks.push(std::move(e));
  }
  w.str("room", m.room).int64("seq", m.seq).child("locks", std::move(locks));
}

}  // namespace tandem::protocol
