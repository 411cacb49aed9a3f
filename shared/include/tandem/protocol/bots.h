// tandem/protocol/bots.h — the chat bots family (PROTOCOL.md "Chat bots", issue 19): turning a
// bot on or off in a room, asking it, its reply growing as partial text, cancelling it.
//
// "ai_request", "ai_cancel" and "chat_partial" are type strings in both directions and each is
// one struct for both (the server fills the fields marked S→C; a client's copy of them is
// ignored). A bot's worker sends its reply as chat_partial (done = the last one); members get
// chat_partial (conflated) and then the final `chat` carrying `reply` (chat.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tandem/json.h"

namespace tandem::protocol {

// C→S: turns `bot` on or off in `room` (needs the "chat:bots" permission).
struct BotToggle {
  static constexpr const char* kType = "bot_toggle";
  std::string room;
  std::string bot;  // rules::type_name
  bool enabled = false;
  bool operator==(const BotToggle&) const = default;
};

// S→C room event: `user` turned `bot` on or off.
struct BotToggled {
  static constexpr const char* kType = "bot_toggled";
  std::string room;
  std::string bot;
  bool enabled = false;
  std::string user;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool operator==(const BotToggled&) const = default;
};

// C→S from a member: ask `bot`. S→C to the bot's worker, with `reply` (the id its answer
// goes under) and `user` (who asked).
struct AiRequest {
  static constexpr const char* kType = "ai_request";
  std::string room;
  std::string bot;
  std::string prompt;                 // 1 .. bounds::max_chat_bytes
  std::optional<std::string> reply = std::nullopt;   // S→C
  std::optional<std::string> user = std::nullopt;    // S→C
  bool operator==(const AiRequest&) const = default;
};

// C→S from a member: stop reply `reply`. S→C to the bot's worker, with `user`.
struct AiCancel {
  static constexpr const char* kType = "ai_cancel";
  std::string room;
  std::string reply;
  std::optional<std::string> user = std::nullopt;  // S→C
  bool operator==(const AiCancel&) const = default;
};

// C→S from a bot's worker: the whole reply text so far (done: the final text). S→C to every
// member (ephemeral, conflated): the newest text of a reply still growing, with its `bot`.
struct ChatPartial {
  static constexpr const char* kType = "chat_partial";
  std::string room;
  std::string reply;
  std::string text;                 // 0 .. bounds::max_chat_bytes
  std::optional<std::string> bot = std::nullopt;   // S→C
  bool done = false;                // C→S; written only when true
  bool operator==(const ChatPartial&) const = default;
};

void read(json::Fields& f, BotToggle& m);
void write(json::JsonWriter& w, const BotToggle& m);
void read(json::Fields& f, BotToggled& m);
void write(json::JsonWriter& w, const BotToggled& m);
void read(json::Fields& f, AiRequest& m);
void write(json::JsonWriter& w, const AiRequest& m);
void read(json::Fields& f, AiCancel& m);
void write(json::JsonWriter& w, const AiCancel& m);
void read(json::Fields& f, ChatPartial& m);
void write(json::JsonWriter& w, const ChatPartial& m);

}  // namespace tandem::protocol
