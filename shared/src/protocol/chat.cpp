// chat.cpp — read/write for the chat family (chat both ways, typing both ways, clear,
// history, cleared).
#include "tandem/protocol/chat.h"

#include "read_util.h"

namespace tandem::protocol {

namespace {

constexpr json::StringRule kText{1, bounds::max_chat_bytes, false};

void read_entry(json::Fields& f, ChatEntry& e) {
  f.str("user", e.user, rules::user_id);
  f.str("name", e.name, rules::display_name);
  f.str("color", e.color, rules::color);
  f.str("text", e.text, kText);
  detail::read_count(f, "seq", e.seq);
  detail::read_count(f, "ts", e.ts);
}

void write_entry(json::JsonWriter& w, const ChatEntry& e) {
  w.str("user", e.user)
      .str("name", e.name)
      .str("color", e.color)
      .str("text", e.text)
      .int64("seq", e.seq)
      .int64("ts", e.ts);
}

}  // namespace

void read(json::Fields& f, ChatSend& m) {
  detail::read_room(f, m.room);
  f.str("text", m.text, kText);
}
void write(json::JsonWriter& w, const ChatSend& m) { w.str("room", m.room).str("text", m.text); }

void read(json::Fields& f, TypingSend& m) {
  detail::read_room(f, m.room);
  std::optional<bool> active;
  f.opt_boolean("active", active);
  m.active = active.value_or(true);
}
void write(json::JsonWriter& w, const TypingSend& m) {
  w.str("room", m.room);
  if (!m.active) w.boolean("active", false);
}

void read(json::Fields& f, ChatClear& m) { detail::read_room(f, m.room); }
void write(json::JsonWriter& w, const ChatClear& m) { w.str("room", m.room); }

void read(json::Fields& f, ChatMessage& m) {
  detail::read_room(f, m.room);
  ChatEntry e;
  read_entry(f, e);
  m.user = std::move(e.user);
  m.name = std::move(e.name);
  m.color = std::move(e.color);
  m.text = std::move(e.text);
  m.seq = e.seq;
  m.ts = e.ts;
  f.opt_str("reply", m.reply, rules::entity_id);
}
void write(json::JsonWriter& w, const ChatMessage& m) {
  w.str("room", m.room);
  write_entry(w, m.entry());
  w.opt_str("reply", m.reply);
}

void read(json::Fields& f, ChatHistory& m) {
  detail::read_room(f, m.room);
  detail::read_count(f, "seq", m.seq);
  f.each("messages", true, bounds::max_list_items, [&](json::Fields& e) {
    ChatEntry entry;
    read_entry(e, entry);
    m.messages.push_back(std::move(entry));
  });
  std::optional<std::string> bots;
  f.opt_str("bots", bots, {1, bounds::max_chat_bytes, false});
  m.bots = bots.value_or("");
}
void write(json::JsonWriter& w, const ChatHistory& m) {
  auto list = json::JsonWriter::array();
  for (const auto& entry : m.messages) {
    json::JsonWriter e;
    write_entry(e, entry);
    list.push(std::move(e));
  }
  w.str("room", m.room).int64("seq", m.seq).child("messages", std::move(list));
  if (!m.bots.empty()) w.str("bots", m.bots);
}

void read(json::Fields& f, TypingEvent& m) {
  detail::read_room(f, m.room);
  f.str("user", m.user, rules::user_id);
  f.str("name", m.name, rules::display_name);
  f.boolean("active", m.active);
}
void write(json::JsonWriter& w, const TypingEvent& m) {
  w.str("room", m.room).str("user", m.user).str("name", m.name).boolean("active", m.active);
}

void read(json::Fields& f, Cleared& m) {
  detail::read_room(f, m.room);
  detail::read_stamp(f, m.user, m.seq, m.ts);
}
void write(json::JsonWriter& w, const Cleared& m) {
  w.str("room", m.room);
  detail::write_stamp(w, m.user, m.seq, m.ts);
}

}  // namespace tandem::protocol
