// server/src/yjs/update_check.h — checks a Yjs v1 update (or state vector) byte by byte without
// applying it, and says which struct ids and deletions it carries.
//
// Tandem stores and relays Yjs updates without a CRDT library: it never integrates them, but
// it must never keep or pass on bytes a client's Y.applyUpdate would throw on. check_update()
// walks the whole structure as yjs's UpdateDecoderV1 reads it (yjs 13.6: utils/encoding.js
// readClientsStructRefs, structs/Item.js readItemContent, utils/DeleteSet.js readDeleteSet),
// and is stricter wherever yjs's own encoder never writes what the decoder would tolerate.
//
// Sections:
//   Limits         the bounds a hostile update meets
//   UpdateSummary  per client, the struct ranges and delete ranges an update carries
//   check_update   the validator; is_empty_update, covers
//   StateVector    check_state_vector
//   is_json_text   the JSON grammar JSON.parse accepts (content, embeds, formats, awareness)
//
// The v1 update format (all integers lib0 var uints unless said otherwise):
//   update      = client_count, client_group*, delete_set
//   client_group= struct_count, client, first_clock, struct*   (clocks follow on: clock += length)
//   struct      = info byte, then by info & 31:
//     0  GC      length                          (deleted content, collapsed; info must be 0)
//     10 Skip    length                          (a gap in a merged update; info must be 10)
//     else Item: [origin id if info & 0x80] [right origin id if info & 0x40]
//                if neither: parent info 1 + parent type name (var string) | 0 + parent id,
//                            and parent sub (var string, a map key) if info & 0x20
//                content by ref = info & 31:
//                1 Deleted length | 2 JSON count, var strings (JSON text or "undefined") |
//                3 Binary var bytes | 4 String var string (length: its UTF-16 code units) |
//                5 Embed JSON text | 6 Format key, JSON text | 7 Type type ref 0..6 (3
//                XmlElement and 5 XmlHook: + a name) | 8 Any count, lib0 any values |
//                9 Doc guid, any (an object: the subdocument's options)
//     an id     = client, clock
//   delete_set  = client_count, (client, range_count, (clock, length)*)*
// Examples: the empty update is 00 00. Inserting "hi" as client 1 into y.getText("t"):
//   01 01 01 00  04 01 01 74 02 68 69  00
//   (1 client: 1 struct, client 1, clock 0; info 04 = String, parent info 1 = named type "t",
//    content "hi"; no deletions)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tandem/result.h"

namespace tandem::server::yjs {

// ---- Limits ------------------------------------------------------------------------------------
// Any values and JSON texts nest: yjs reads them recursively (lib0 readAny, JSON.parse), and so
// does this validator (~100 bytes of stack a level). 256 levels is far past any document
// structure apps store, and far inside the stacks of both: a hostile 100000-level value (2
// bytes a level) is refused instead of overflowing a client's stack.
inline constexpr int kMaxNesting = 256;

// Error code of every refusal here.
inline constexpr std::string_view kBadUpdate = "bad_update";

// ---- UpdateSummary -----------------------------------------------------------------------------
struct Range {
  std::uint64_t clock = 0;
  std::uint64_t length = 0;  // > 0
  std::uint64_t end() const { return clock + length; }
  bool operator==(const Range&) const = default;
};

struct ClientRanges {
  std::uint64_t client = 0;
  std::vector<Range> ranges;  // sorted by clock, disjoint, not adjacent (merged), never empty
  bool operator==(const ClientRanges&) const = default;
};

// What an update carries. Both lists are sorted by client, one entry per client.
struct UpdateSummary {
  std::vector<ClientRanges> structs;  // ids of the items and GCs it holds (Skips hold none)
  std::vector<ClientRanges> deletes;  // its delete set
  bool empty() const { return structs.empty() && deletes.empty(); }
  bool operator==(const UpdateSummary&) const = default;
};

// ---- check_update ------------------------------------------------------------------------------
// Walks a whole v1 update. Refuses ("bad_update", the message naming the client, the struct and
// the byte): anything truncated; an unknown content ref, type ref or any tag; a JSON string that
// is not JSON; invalid UTF-8 in any string; any nesting past kMaxNesting; a struct or delete
// range of length 0; a clock past 2^53 - 1; a client with two struct groups (yjs would keep only
// the last); a count that cannot fit in the bytes left; bytes after the delete set. Allocates
// only the summary (a few small vectors); the time is linear in the size of the update.
Result<UpdateSummary> check_update(std::string_view update);

// True for the update that carries nothing, 00 00 (no clients, no deletions): what
// Y.encodeStateAsUpdate gives for an empty document, and what a sync step 2 holds when the
// other side already has everything.
bool is_empty_update(std::string_view update);

// True when every struct range and every delete range of `b` lies inside one of `a`'s (for the
// same client): an update summarised by `b` brings nothing that one summarised by `a` lacks.
bool covers(const UpdateSummary& a, const UpdateSummary& b);

// Adds `more`'s ranges to `into` (the union, still sorted and merged): what a log of updates
// holds, summarised as it grows.
void merge_into(UpdateSummary& into, const UpdateSummary& more);

// ---- StateVector -------------------------------------------------------------------------------
// A state vector (Y.encodeStateVector, sync step 1): count, then (client, clock) pairs — for
// each client, the clock its next struct will have. 00 is the empty one.
struct ClientClock {
  std::uint64_t client = 0;
  std::uint64_t clock = 0;
  bool operator==(const ClientClock&) const = default;
};
using StateVector = std::vector<ClientClock>;  // sorted by client

// Refuses ("bad_update") truncation, a count that cannot fit, a client listed twice and
// trailing bytes.
Result<StateVector> check_state_vector(std::string_view state_vector);

// ---- is_json_text ------------------------------------------------------------------------------
// True when JSON.parse would accept `text` (RFC 8259: no leading zeros, no "1.", no raw
// control characters in strings, only space/tab/CR/LF around values; a lone surrogate escape
// such as "\ud800" is fine, as JSON.stringify writes one for a lone surrogate), nested at most
// kMaxNesting deep. `text` must already be valid UTF-8 (lib0 strings are checked on reading).
// A syntax check, not a parse: nothing is allocated. Not cJSON: it accepts "01", "1." and raw
// tabs in strings, which make JSON.parse — and so every client's Y.applyUpdate — throw, and it
// refuses "\ud800", which JSON.stringify writes.
bool is_json_text(std::string_view text);

}  // namespace tandem::server::yjs
