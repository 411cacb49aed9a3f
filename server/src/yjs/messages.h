// server/src/yjs/messages.h — the two Yjs wire framings, decode and encode side by side:
// y-websocket's (y-protocols) and Hocuspocus's (@hocuspocus/provider v4).
//
// One WebSocket binary message is one message; nothing is batched. Decoders take a whole
// message, check all of it — a sync message's update or state vector with update_check.h, an
// awareness update's JSON states — and hand out views into it (valid while its bytes are).
// They never throw and never read outside the message; trailing bytes are refused. Encoders
// build what a server sends, as the JavaScript servers (y-websocket's utils.js, Hocuspocus's
// OutgoingMessage.ts) write it.
//
// Sections:
//   Errors              the codes of every refusal
//   Sync and awareness  the parts both framings carry
//   ywebsocket::        y-protocols' framing: a message type, then its body
//   hocuspocus::        every message names its document first (except the bare Ping/Pong)
//
// Byte examples: "hi" typed into y.getText("t") by client 1 is the update
//   01 01 01 00 04 01 01 74 02 68 69 00   (update_check.h spells it out)
// and client 123's awareness state {"x":1} is the awareness update
//   01 7b 01 07 7b 22 78 22 3a 31 7d      (1 entry: client 123, clock 1, '{"x":1}')
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tandem/result.h"
#include "yjs/update_check.h"

namespace tandem::server::yjs {

// ---- Errors ------------------------------------------------------------------------------------
inline constexpr std::string_view kBadMessage = "bad_message";    // truncated, trailing bytes, bad UTF-8 or JSON
inline constexpr std::string_view kUnknownType = "unknown_type";  // a (sub-)message type this side never receives
// A sync message's update or state vector that is not well-formed: kBadUpdate (update_check.h).

// ---- Sync and awareness ------------------------------------------------------------------------
// y-protocols/sync.js: a sync message is a var uint sub-type, then var bytes.
//   0 step 1   the sender's state vector: "send me what I lack"   00 01 00 (empty state vector)
//   1 step 2   the answer to a step 1: a v1 update                01 02 00 00 (the empty update)
//   2 update   a v1 update made locally, to relay                 02 0c 01 01 01 00 04 ...
struct SyncStep1 {
  std::string_view state_vector;  // as sent (for Y.encodeStateAsUpdate-like diffs)
  StateVector clocks;             // checked and sorted
};
struct SyncUpdatePayload {
  std::string_view update;  // a v1 update, checked: store or relay it as it is
  UpdateSummary summary;
};
struct SyncStep2 : SyncUpdatePayload {};
struct SyncUpdate : SyncUpdatePayload {};

// y-protocols/awareness.js encodeAwarenessUpdate: var bytes holding a count, then per client
// its id (var uint), clock (var uint) and state (var string: JSON.stringify of the state; "null"
// when the client is gone). Providers pass on states they received: y-websocket re-broadcasts
// every awareness change, remote ones included, and both answer a query with all they know —
// so one connection's message may carry other connections' clients.
struct AwarenessEntry {
  std::uint64_t client = 0;
  std::uint64_t clock = 0;
  std::string_view state;  // JSON text, checked with is_json_text
  bool removed() const;    // the state is JSON null (as JSON.parse reads it: " null" too)
};
struct AwarenessUpdate {
  std::string_view update;  // the inner var bytes as sent, to relay unchanged
  std::vector<AwarenessEntry> entries;
};

// Empty bodies.
struct QueryAwareness {};  // "send me every awareness state you know"

// ---- y-websocket -------------------------------------------------------------------------------
// y-websocket 3.1 src/y-websocket.js: a var uint message type, then its body.
//   0 sync             a sync message                     00 00 01 00  (step 1, empty doc)
//   1 awareness        var bytes: an awareness update     01 0b 01 7b 01 07 7b 22 78 22 3a 31 7d
//   2 auth             var uint 0 (permission denied), var string reason
//                                                         02 00 06 6e 6f 20 77 61 79  ("no way")
//   3 query awareness  nothing                            03
// A client sends sync, awareness and query awareness; a server sends all four (auth only to
// refuse: y-websocket logs the reason and stays connected, so close the socket after it).
namespace ywebsocket {

enum class MessageType : std::uint8_t { Sync = 0, Awareness = 1, Auth = 2, QueryAwareness = 3 };
struct PermissionDenied {
  std::string_view reason;
};
using Message = std::variant<SyncStep1, SyncStep2, SyncUpdate, AwarenessUpdate, PermissionDenied, QueryAwareness>;

// Errors: kBadMessage, kUnknownType (message type > 3, sync or auth sub-type unknown), kBadUpdate.
Result<Message> decode(std::string_view message);

std::string encode_sync_step1(std::string_view state_vector);  // e.g. the empty state vector, 00
std::string encode_sync_step2(std::string_view update);        // e.g. the empty update 00 00
std::string encode_sync_update(std::string_view update);
// Each entry's state must be JSON text (from a decoded AwarenessEntry, or "null" to remove).
std::string encode_awareness(std::span<const AwarenessEntry> entries);
std::string encode_query_awareness();
std::string encode_permission_denied(std::string_view reason);

}  // namespace ywebsocket

// ---- Hocuspocus --------------------------------------------------------------------------------
// @hocuspocus/provider 4.8 and @hocuspocus/server 4.x. Every message but Ping and Pong starts
// with the address (var string): the document name, or with the provider's sessionAwareness
// option "name\0sessionId" — answers must carry the same address back (the provider routes by
// it). Then a var uint type and its body. Examples for the document "d" (01 64):
//   0 Sync            a sync message              01 64 00 00 01 00  (step 1, empty doc)
//   1 Awareness       var bytes (awareness)       01 64 01 0b 01 7b 01 07 7b 22 78 22 3a 31 7d
//   2 Auth            var uint auth type, then:
//       client → server  0 Token: var string token, var string provider version (v4: "4.8.0";
//                           older providers send none)
//                                                 01 64 02 00 03 61 62 63 05 34 2e 38 2e 30
//       server → client  0 Token: nothing — asks the provider to send its token again
//                                                 01 64 02 00
//                        1 PermissionDenied: var string reason
//                                                 01 64 02 01 06 6e 6f 20 77 61 79
//                        2 Authenticated: var string scope, "readonly" or "read-write"
//                                                 01 64 02 02 0a 72 65 61 64 2d 77 72 69 74 65
//   3 QueryAwareness  nothing                     01 64 03
//   5 Stateless       var string payload          01 64 05 02 68 69
//   7 CLOSE           client → server: nothing (the provider detached the document)
//                                                 01 64 07
//                     server → client: var string reason; the provider treats the document as
//                     closed (code 1000) but keeps the socket
//                                                 01 64 07 02 62 79
//   8 SyncStatus      server → client: var uint 1 = the update was applied, 0 = refused (the
//                     provider reads it with readVarInt; 00 and 01 read the same)
//                                                 01 64 08 01
//   9 Ping            server → client, no address: the single byte 09 (v4 providers answer;
//                     older ones throw on it: send only to a provider that sent a version)
//  10 Pong            client → server, no address: the single byte 0a
// Types 4 (SyncReply) and 6 (BroadcastStateless) pass between Hocuspocus servers only.
namespace hocuspocus {

enum class MessageType : std::uint8_t {
  Sync = 0, Awareness = 1, Auth = 2, QueryAwareness = 3, SyncReply = 4, Stateless = 5,
  BroadcastStateless = 6, Close = 7, SyncStatus = 8, Ping = 9, Pong = 10,
};
enum class AuthType : std::uint8_t { Token = 0, PermissionDenied = 1, Authenticated = 2 };
enum class Scope { ReadOnly, ReadWrite };  // on the wire "readonly" / "read-write"

struct Token {
  std::string_view token;
  std::string_view provider_version;  // empty when the provider sent none (before v4)
};
struct Stateless {
  std::string_view payload;  // any string (apps usually send JSON; not checked)
};
struct Close {};  // the provider is done with this document
struct Pong {};
using Body = std::variant<SyncStep1, SyncStep2, SyncUpdate, AwarenessUpdate, Token, QueryAwareness, Stateless,
                          Close, Pong>;
struct Message {
  std::string_view address;  // as sent: answer with it; empty for Pong
  Body body;
};

// The parts of an address: the document name (up to the first NUL) and the session id (after
// it; empty when there is none).
std::string_view document_name(std::string_view address);
std::string_view session_id(std::string_view address);

// What a provider sends. Errors: kBadMessage, kUnknownType (types 4, 6, 8, 9, 10 after an
// address and > 10; auth types other than Token; sync sub-types > 2), kBadUpdate.
Result<Message> decode(std::string_view message);

std::string encode_sync_step1(std::string_view address, std::string_view state_vector);
std::string encode_sync_step2(std::string_view address, std::string_view update);
std::string encode_sync_update(std::string_view address, std::string_view update);
std::string encode_awareness(std::string_view address, std::span<const AwarenessEntry> entries);
std::string encode_query_awareness(std::string_view address);
std::string encode_token_request(std::string_view address);
std::string encode_authenticated(std::string_view address, Scope scope);
std::string encode_permission_denied(std::string_view address, std::string_view reason);
std::string encode_stateless(std::string_view address, std::string_view payload);
std::string encode_sync_status(std::string_view address, bool applied);
std::string encode_close(std::string_view address, std::string_view reason);
std::string encode_ping();

}  // namespace hocuspocus

}  // namespace tandem::server::yjs
