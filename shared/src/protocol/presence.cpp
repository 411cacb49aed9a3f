// presence.cpp — read/write for the presence family (presence, presence_list, presence_state,
// presence_diff, presence_update, presence_count) and its nested values (state, metas, members).
#include "tandem/protocol/presence.h"

#include <limits>

#include "read_util.h"

namespace tandem::protocol {

namespace {

void read_state(json::Fields& f, Presence& p) {
  f.nested("cursor", false, [&](json::Fields& c) {
    Cursor cursor;
    detail::read_coordinate(c, "x", cursor.x);
    detail::read_coordinate(c, "y", cursor.y);
    p.cursor = cursor;
  });
  f.opt_str("node", p.node, rules::entity_id);
  f.opt_boolean("typing", p.typing);
  f.nested("media", false, [&](json::Fields& m) {
    std::optional<bool> audio, video, screen;
    m.opt_boolean("audio", audio);
    m.opt_boolean("video", video);
    m.opt_boolean("screen", screen);
    p.media = Media{audio.value_or(false), video.value_or(false), screen.value_or(false)};
  });
  f.opt_raw("data", p.data, json::RawKind::Object, bounds::max_presence_bytes);
}

json::JsonWriter write_state(const Presence& p) {
  json::JsonWriter w;
  if (p.cursor) {
    json::JsonWriter c;
    c.num("x", p.cursor->x).num("y", p.cursor->y);
    w.child("cursor", std::move(c));
  }
  w.opt_str("node", p.node).opt_boolean("typing", p.typing);
  if (p.media) {
    json::JsonWriter m;
    m.boolean("audio", p.media->audio).boolean("video", p.media->video).boolean("screen", p.media->screen);
    w.child("media", std::move(m));
  }
  w.opt_raw("data", p.data);
  return w;
}

void read_metas(json::Fields& f, std::vector<PresenceMeta>& out) {
  f.each("metas", true, bounds::max_metas, [&](json::Fields& e) {
    PresenceMeta meta;
    e.str("connection", meta.connection, rules::opaque);
    e.nested("state", true, [&](json::Fields& s) { read_state(s, meta.state); });
    out.push_back(std::move(meta));
  });
}

json::JsonWriter write_metas(const std::vector<PresenceMeta>& metas) {
  auto list = json::JsonWriter::array();
  for (const auto& meta : metas) {
    json::JsonWriter e;
    e.str("connection", meta.connection).child("state", write_state(meta.state));
    list.push(std::move(e));
  }
  return list;
}

void read_members(json::Fields& f, const char* key, std::vector<PresenceMember>& out) {
  f.each(key, true, bounds::max_list_items, [&](json::Fields& e) {
    PresenceMember member;
    e.nested("user", true, [&](json::Fields& u) {
      u.str("id", member.user.id, rules::user_id);
      u.str("name", member.user.name, rules::display_name);
      u.str("color", member.user.color, rules::color);
    });
    read_metas(e, member.metas);
    out.push_back(std::move(member));
  });
}

json::JsonWriter write_members(const std::vector<PresenceMember>& members) {
  auto list = json::JsonWriter::array();
  for (const auto& member : members) {
    json::JsonWriter user;
    user.str("id", member.user.id).str("name", member.user.name).str("color", member.user.color);
    json::JsonWriter e;
    e.child("user", std::move(user)).child("metas", write_metas(member.metas));
    list.push(std::move(e));
  }
  return list;
}

}  // namespace

void read(json::Fields& f, PresenceSet& m) {
  detail::read_room(f, m.room);
  f.nested("state", true, [&](json::Fields& s) { read_state(s, m.state); });
}
void write(json::JsonWriter& w, const PresenceSet& m) {
  w.str("room", m.room).child("state", write_state(m.state));
}

void read(json::Fields& f, PresenceListRequest& m) {
  detail::read_room(f, m.room);
  f.opt_str("after", m.after, rules::user_id);
  f.opt_int64("limit", m.limit, 1, static_cast<std::int64_t>(bounds::max_list_items));
}
void write(json::JsonWriter& w, const PresenceListRequest& m) {
  w.str("room", m.room).opt_str("after", m.after).opt_int64("limit", m.limit);
}

void read(json::Fields& f, PresenceSnapshot& m) {
  detail::read_room(f, m.room);
  read_members(f, "members", m.members);
  f.opt_int64("count", m.count, 0, std::numeric_limits<std::int64_t>::max());
  std::optional<bool> partial;
  f.opt_boolean("partial", partial);
  m.partial = partial.value_or(false);
}
void write(json::JsonWriter& w, const PresenceSnapshot& m) {
  w.str("room", m.room).child("members", write_members(m.members)).opt_int64("count", m.count);
  if (m.partial) w.boolean("partial", true);
}

void read(json::Fields& f, PresenceDiff& m) {
  detail::read_room(f, m.room);
  read_members(f, "joins", m.joins);
  read_members(f, "leaves", m.leaves);
}
void write(json::JsonWriter& w, const PresenceDiff& m) {
  w.str("room", m.room).child("joins", write_members(m.joins)).child("leaves", write_members(m.leaves));
}

void read(json::Fields& f, PresenceUpdate& m) {
  detail::read_room(f, m.room);
  f.str("user", m.user, rules::user_id);
  read_metas(f, m.metas);
}
void write(json::JsonWriter& w, const PresenceUpdate& m) {
  w.str("room", m.room).str("user", m.user).child("metas", write_metas(m.metas));
}

void read(json::Fields& f, PresenceCount& m) {
  detail::read_room(f, m.room);
  f.int64("count", m.count, 0, std::numeric_limits<std::int64_t>::max());
}
void write(json::JsonWriter& w, const PresenceCount& m) { w.str("room", m.room).int64("count", m.count); }

void read(json::Fields& f, PresenceListPage& m) {
  detail::read_room(f, m.room);
  read_members(f, "members", m.members);
  f.int64("count", m.count, 0, std::numeric_limits<std::int64_t>::max());
  f.opt_str("next", m.next, rules::user_id);
}
void write(json::JsonWriter& w, const PresenceListPage& m) {
  w.str("room", m.room).child("members", write_members(m.members)).int64("count", m.count).opt_str("next", m.next);
}

}  // namespace tandem::protocol
