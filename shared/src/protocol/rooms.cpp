// rooms.cpp — read/write for the rooms family (subscribe, unsubscribe, subscribed).
#include "tandem/protocol/rooms.h"

#include "read_util.h"

namespace tandem::protocol {

void read(json::Fields& f, Subscribe& m) {
  detail::read_room(f, m.room);
  f.nested("since", false, [&](json::Fields& s) {
    StreamPosition since;
    s.str("epoch", since.epoch, rules::opaque);
    detail::read_count(s, "seq", since.seq);
    m.since = std::move(since);
  });
}
void write(json::JsonWriter& w, const Subscribe& m) {
  w.str("room", m.room);
  if (m.since) {
    json::JsonWriter since;
    since.str("epoch", m.since->epoch).int64("seq", m.since->seq);
    w.child("since", std::move(since));
  }
}

void read(json::Fields& f, Unsubscribe& m) { detail::read_room(f, m.room); }
void write(json::JsonWriter& w, const Unsubscribe& m) { w.str("room", m.room); }

void read(json::Fields& f, Subscribed& m) {
  detail::read_room(f, m.room);
  f.str("epoch", m.epoch, rules::opaque);
  detail::read_count(f, "seq", m.seq);
  f.boolean("recovered", m.recovered);
}
void write(json::JsonWriter& w, const Subscribed& m) {
  w.str("room", m.room).str("epoch", m.epoch).int64("seq", m.seq).boolean("recovered", m.recovered);
}

}  // namespace tandem::protocol
