// tandem/protocol/chat.h — the chat family: messages with server seq/ts, the history
// snapshot, typing indicators that clear themselves, clearing a room (PROTOCOL.md §10 Chat).
//
// "chat" and "typing" are type strings in both directions, so each has two structs: ChatSend /
// TypingSend (client → server) and ChatMessage / TypingEvent (server → client).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tandem/json.h"

namespace tandem::protocol {

// ---- client → server ----------------------------------------------------------------------

struct ChatSend {
  static constexpr const char* kType = "chat";
  std::string room;
  std::string text;  // 1 .. bounds::max_chat_bytes
  bool operator==(const ChatSend&) const = default;
};

// "I am typing" (active = false: stopped). Auto-clears after typing_timeout on the server.
struct TypingSend {
  static constexpr const char* kType = "typing";
  std::string room;
  bool active = true;  // written only when false
  bool operator==(const TypingSend&) const = default;
};

// Deletes the room's chat history.
struct ChatClear {
  static constexpr const char* kType = "clear";
  std::string room;
  bool operator==(const ChatClear&) const = default;
};

// ---- server → client ----------------------------------------------------------------------

// One stored message, as listed in history. name/color are the sender's when it was sent.
struct ChatEntry {
  std::string user;
  std::string name;
  std::string color;
  std::string text;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool operator==(const ChatEntry&) const = default;
};

// Room event: a new message.
struct ChatMessage {
  static constexpr const char* kType = "chat";
  std::string room;
  std::string user;
  std::string name;
  std::string color;
  std::string text;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  // A bot's finished reply: the id its chat_partial messages carried (bots.h), so clients
  // replace the growing text with this message. Not kept in history entries.
  std::optional<std::string> reply = std::nullopt;
  ChatEntry entry() const { return {user, name, color, text, seq, ts}; }
  bool operator==(const ChatMessage&) const = default;
};

// The last chat_history messages, oldest first, on a non-recovered join.
struct ChatHistory {
  static constexpr const char* kType = "history";
  std::string room;
  std::int64_t seq = 0;
  std::vector<ChatEntry> messages;
  // The chat bots turned on in the room (bots.h), comma-separated ("helper,pirate"; bot ids hold
  // no commas); written when any. A string, not a list: the browser client's size budget.
  std::string bots = {};
  bool operator==(const ChatHistory&) const = default;
};

// Ephemeral: a user started or stopped typing (also sent by the server's auto-clear).
struct TypingEvent {
  static constexpr const char* kType = "typing";
  std::string room;
  std::string user;
  std::string name;
  bool active = false;
  bool operator==(const TypingEvent&) const = default;
};

// Room event: the history was cleared by `user`.
struct Cleared {
  static constexpr const char* kType = "cleared";
  std::string room;
  std::string user;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool operator==(const Cleared&) const = default;
};

void read(json::Fields& f, ChatSend& m);
void write(json::JsonWriter& w, const ChatSend& m);
void read(json::Fields& f, TypingSend& m);
void write(json::JsonWriter& w, const TypingSend& m);
void read(json::Fields& f, ChatClear& m);
void write(json::JsonWriter& w, const ChatClear& m);
void read(json::Fields& f, ChatMessage& m);
void write(json::JsonWriter& w, const ChatMessage& m);
void read(json::Fields& f, ChatHistory& m);
void write(json::JsonWriter& w, const ChatHistory& m);
void read(json::Fields& f, TypingEvent& m);
void write(json::JsonWriter& w, const TypingEvent& m);
void read(json::Fields& f, Cleared& m);
void write(json::JsonWriter& w, const Cleared& m);

}  // namespace tandem::protocol
