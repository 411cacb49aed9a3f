// bots.cpp — read/write for the chat bots family (bot_toggle, bot_toggled, ai_request and
// ai_cancel both ways, chat_partial both ways). Kept small: it is in the browser client too.
#include "tandem/protocol/bots.h"

#include "read_util.h"

namespace tandem::protocol {

namespace {
constexpr json::StringRule kPrompt{1, bounds::max_chat_bytes, false};
constexpr json::StringRule kReplyText{0, bounds::max_chat_bytes, false};
}  // namespace

void read(json::Fields& f, BotToggle& m) {
  detail::read_room(f, m.room);
  f.str("bot", m.bot, rules::type_name);
  f.boolean("enabled", m.enabled);
}
void write(json::JsonWriter& w, const BotToggle& m) {
  w.str("room", m.room).str("bot", m.bot).boolean("enabled", m.enabled);
}

void read(json::Fields& f, BotToggled& m) {
  BotToggle toggle;
  read(f, toggle);
  m.room = std::move(toggle.room);
  m.bot = std::move(toggle.bot);
  m.enabled = toggle.enabled;
  detail::read_stamp(f, m.user, m.seq, m.ts);
}
void write(json::JsonWriter& w, const BotToggled& m) {
  w.str("room", m.room).str("bot", m.bot).boolean("enabled", m.enabled);
  detail::write_stamp(w, m.user, m.seq, m.ts);
}

void read(json::Fields& f, AiRequest& m) {
  detail::read_room(f, m.room);
  f.str("bot", m.bot, rules::type_name);
  f.str("prompt", m.prompt, kPrompt);
  f.opt_str("reply", m.reply, rules::entity_id);
  f.opt_str("user", m.user, rules::user_id);
}
void write(json::JsonWriter& w, const AiRequest& m) {
  w.str("room", m.room).str("bot", m.bot).str("prompt", m.prompt).opt_str("reply", m.reply).opt_str("user", m.user);
}

void read(json::Fields& f, AiCancel& m) {
  detail::read_room(f, m.room);
  f.str("reply", m.reply, rules::entity_id);
  f.opt_str("user", m.user, rules::user_id);
}
void write(json::JsonWriter& w, const AiCancel& m) {
  w.str("room", m.room).str("reply", m.reply).opt_str("user", m.user);
}

void read(json::Fields& f, ChatPartial& m) {
  detail::read_room(f, m.room);
  f.str("reply", m.reply, rules::entity_id);
  f.str("text", m.text, kReplyText);
  f.opt_str("bot", m.bot, rules::type_name);
  std::optional<bool> done;
  f.opt_boolean("done", done);
  m.done = done.value_or(false);
}
void write(json::JsonWriter& w, const ChatPartial& m) {
  w.str("room", m.room).str("reply", m.reply).str("text", m.text).opt_str("bot", m.bot);
  if (m.done) w.boolean("done", true);
}

}  // namespace tandem::protocol
