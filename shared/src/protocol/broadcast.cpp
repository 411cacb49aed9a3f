// broadcast.cpp — read/write for the broadcast family (broadcast, both ways).
#include "tandem/protocol/broadcast.h"

#include "read_util.h"

namespace tandem::protocol {

void read(json::Fields& f, BroadcastSend& m) {
  detail::read_room(f, m.room);
  f.str("event", m.event, rules::type_name);
  f.opt_raw("data", m.data, json::RawKind::Any, bounds::max_broadcast_data_bytes);
  std::optional<bool> self;
  f.opt_boolean("self", self);
  m.self = self.value_or(false);
}
void write(json::JsonWriter& w, const BroadcastSend& m) {
  // `data` may come from an app: raw() parses it, so text that is not JSON is left out rather
  // than corrupting the frame (Rooms::broadcast refuses it before it gets here).
  w.str("room", m.room).str("event", m.event).opt_raw("data", m.data);
  if (m.self) w.boolean("self", true);
}

void read(json::Fields& f, BroadcastMessage& m) {
  detail::read_room(f, m.room);
  f.str("event", m.event, rules::type_name);
  f.opt_raw("data", m.data, json::RawKind::Any, bounds::max_broadcast_data_bytes);
  f.str("user", m.user, rules::user_id);
  f.str("name", m.name, rules::display_name);
  f.str("color", m.color, rules::color);
  f.str("connection", m.connection, rules::opaque);
}
void write(json::JsonWriter& w, const BroadcastMessage& m) {
  w.str("room", m.room).str("event", m.event);
  if (m.data) w.verbatim("data", *m.data);
  w.str("user", m.user).str("name", m.name).str("color", m.color).str("connection", m.connection);
}

}  // namespace tandem::protocol
