// server/src/handlers/handlers.h — the list of message families the server handles.
//
// Each family lives in one file, handlers/<family>.cpp, exposing one register function.
// Adding a family: write that file (it is compiled by the glob in server/CMakeLists.txt) and
// add one line to register_all(). Explicit calls instead of static self-registration: a static
// library drops objects nothing references, and an explicit list is greppable.
#pragma once

#include "../hub.h"

namespace tandem::server::handlers {

void register_connection(HandlerRegistry& registry);  // auth, ping
void register_rooms(HandlerRegistry& registry);       // subscribe, unsubscribe, user:{sub}
void register_presence(HandlerRegistry& registry);    // presence; snapshots, diffs, conflated updates
void register_locks(HandlerRegistry& registry);       // lock, renew, unlock, takeover; lock_state
void register_documents(HandlerRegistry& registry);   // node_*/edge_* edits of workflow:{id} rooms; doc_snapshot
void register_chat(HandlerRegistry& registry);        // chat, typing (auto-clear), clear; history on join
void register_streams(HandlerRegistry& registry);     // stream events in agent:{id} rooms; stream_control to the producer
void register_signals(HandlerRegistry& registry);     // signal: relayed to one connection in the room
void register_broadcast(HandlerRegistry& registry);   // broadcast: an app event to every member of the room
void register_bots(HandlerRegistry& registry);        // chat bots: bot_toggle, ai_request/ai_cancel routed to workers, chat_partial

// Order matters for hooks: rooms first (membership), then the families that react to it, in
// the order PROTOCOL.md §4 sends their snapshots (presence_state, lock_state, doc_snapshot,
// history, stream replay).
inline void register_all(HandlerRegistry& registry) {
  register_connection(registry);
  register_rooms(registry);
  register_presence(registry);
  register_locks(registry);
  register_documents(registry);
  register_chat(registry);
  register_streams(registry);
  register_signals(registry);
  register_broadcast(registry);
  register_bots(registry);
}

}  // namespace tandem::server::handlers
