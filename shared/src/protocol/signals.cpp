// signals.cpp — read/write for the signals family (signal, both ways).
#include "tandem/protocol/signals.h"

#include "read_util.h"

namespace tandem::protocol {

void read(json::Fields& f, SignalSend& m) {
  detail::read_room(f, m.room);
  f.str("to", m.to, rules::opaque);
  f.raw("data", m.data, json::RawKind::Object, bounds::max_signal_bytes);
}
void write(json::JsonWriter& w, const SignalSend& m) { w.str("room", m.room).str("to", m.to).raw("data", m.data); }

void read(json::Fields& f, SignalMessage& m) {
  detail::read_room(f, m.room);
  f.str("from", m.from, rules::opaque);
  f.str("user", m.user, rules::user_id);
  f.raw("data", m.data, json::RawKind::Object, bounds::max_signal_bytes);
}
void write(json::JsonWriter& w, const SignalMessage& m) {
  w.str("room", m.room).str("from", m.from).str("user", m.user).raw("data", m.data);
}

}  // namespace tandem::protocol
