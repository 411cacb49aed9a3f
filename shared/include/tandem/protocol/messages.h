// tandem/protocol/messages.h — the closed sets of messages each side may send, and the frame
// envelope that carries a request id beside a message.
//
// Adding a message: declare its struct and read/write in its family header, then list it in
// ClientMessage or ServerMessage below. The codec (codec.h) picks it up from the list.
//
// TANDEM_BROWSER_CORE (set for the WebAssembly build of the core, wasm-client/CMakeLists.txt):
// the browser client leaves out the messages only a chat bot's worker sends (chat_partial) or
// receives (ai_request, ai_cancel) — workers are native (tandem-bot) — because every
// alternative costs the browser client's size budget (issue 15) through each variant's copy,
// move and dispatch tables.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "tandem/protocol/bots.h"
#include "tandem/protocol/broadcast.h"
#include "tandem/protocol/chat.h"
#include "tandem/protocol/connection.h"
#include "tandem/protocol/documents.h"
#include "tandem/protocol/locks.h"
#include "tandem/protocol/presence.h"
#include "tandem/protocol/publish.h"
#include "tandem/protocol/rooms.h"
#include "tandem/protocol/signals.h"
#include "tandem/protocol/streams.h"

namespace tandem::protocol {

// Everything a client may send (PROTOCOL.md §18, direction C→S).
using ClientMessage = std::variant<
    Auth, Ping,                                            // connection
    Subscribe, Unsubscribe,                                // rooms
    PresenceSet, PresenceListRequest,                      // presence
    Lock, Renew, Unlock, Takeover,                         // locks
    NodeCreate, NodeUpdate, NodeDelete, EdgeCreate, EdgeDelete,  // documents
    ChatSend, TypingSend, ChatClear,                       // chat
    StreamSend, StreamControlSend,                         // streams
    SignalSend,                                            // signals
    BroadcastSend,                                         // broadcast
#if TANDEM_BROWSER_CORE
    BotToggle, AiRequest, AiCancel>;                       // chat bots (a member's side)
#else
    BotToggle, AiRequest, AiCancel, ChatPartial>;          // chat bots
#endif

// Everything a server may send (PROTOCOL.md §18, direction S→C).
using ServerMessage = std::variant<
    Connected, Pong, Ack, ErrorReply,                                          // connection
    Subscribed,                                                                // rooms
    PresenceSnapshot, PresenceDiff, PresenceUpdate, PresenceCount, PresenceListPage,  // presence
    LockGranted, LockDenied, Locked, Unlocked, TakeoverRequested, LockState,   // locks
    DocSnapshot, NodeCreated, NodeUpdated, NodeDeleted, EdgeCreated, EdgeDeleted,  // documents
    ChatMessage, ChatHistory, TypingEvent, Cleared,                            // chat
    StreamEvent, StreamControl,                                                // streams
    SignalMessage,                                                             // signals
    BroadcastMessage,                                                          // broadcast
    ExecutionUpdate, PublishedNodeUpdate,                                      // published
#if TANDEM_BROWSER_CORE
    BotToggled, ChatPartial>;                                                  // chat bots (a member's side)
#else
    BotToggled, AiRequest, AiCancel, ChatPartial>;                             // chat bots
#endif

// One message and the request id it carries (client requests; server replies echo it).
struct ClientFrame {
  std::optional<std::string> id;
  ClientMessage message;
  bool operator==(const ClientFrame&) const = default;
};

struct ServerFrame {
  std::optional<std::string> id;
  ServerMessage message;
  bool operator==(const ServerFrame&) const = default;
};

// The "type" string of whatever a variant holds.
template <class Variant>
const char* type_of(const Variant& message) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kType; }, message);
}

}  // namespace tandem::protocol
