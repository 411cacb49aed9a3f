// streams.cpp — read/write for the streams family (stream and stream_control, both ways).
#include "tandem/protocol/streams.h"

#include "read_util.h"

namespace tandem::protocol {

namespace {
void read_agent_room(json::Fields& f, std::string& room) {
  detail::read_room_of(f, room, rules::RoomKind::Agent, "agent:");
}
}  // namespace

void read(json::Fields& f, StreamSend& m) {
  read_agent_room(f, m.room);
  f.str("event", m.event, rules::type_name);
  f.opt_raw("data", m.data, json::RawKind::Any, bounds::max_stream_data_bytes);
}
void write(json::JsonWriter& w, const StreamSend& m) {
  w.str("room", m.room).str("event", m.event).opt_raw("data", m.data);
}

void read(json::Fields& f, StreamControlSend& m) {
  read_agent_room(f, m.room);
  detail::read_enum(f, "action", m.action);
}
void write(json::JsonWriter& w, const StreamControlSend& m) {
  w.str("room", m.room).str("action", to_string(m.action));
}

void read(json::Fields& f, StreamEvent& m) {
  read_agent_room(f, m.room);
  f.str("event", m.event, rules::type_name);
  f.opt_raw("data", m.data, json::RawKind::Any, bounds::max_stream_data_bytes);
  detail::read_stamp(f, m.user, m.seq, m.ts);
}
void write(json::JsonWriter& w, const StreamEvent& m) {
  w.str("room", m.room).str("event", m.event).opt_raw("data", m.data);
  detail::write_stamp(w, m.user, m.seq, m.ts);
}

void read(json::Fields& f, StreamControl& m) {
  read_agent_room(f, m.room);
  detail::read_enum(f, "action", m.action);
  f.str("user", m.user, rules::user_id);
}
void write(json::JsonWriter& w, const StreamControl& m) {
  w.str("room", m.room).str("action", to_string(m.action)).str("user", m.user);
}

}  // namespace tandem::protocol
