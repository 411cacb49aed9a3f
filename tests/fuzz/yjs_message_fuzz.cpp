// tests/fuzz/yjs_message_fuzz.cpp — fuzzes the Yjs codec (server/src/yjs/): lib0 reads, the v1
// update and state vector checks, and the y-websocket and Hocuspocus decoders.
//
// Input: any bytes, read by every decoder: as a Yjs update, a state vector, a y-websocket
// message and a Hocuspocus message. Seeds: tests/fuzz/seeds/yjs_message/ (real updates and
// provider messages, made with yjs 13.6, y-protocols and @hocuspocus/provider 4.8).
//
// Invariants:
//   - lib0: the var uints read from the input write back to bytes that read as the same values;
//   - an accepted update's summary is sorted, merged, within 2^53, and covers itself; the same
//     bytes cut short by one, or with one more byte, are refused (the format is self-delimiting);
//   - an accepted state vector is sorted, without a client twice;
//   - a decoded message re-encoded with the server's encoders decodes to the same message, and
//     encoding that again gives the same bytes (where a server encoder exists for its kind);
//   - nothing reads outside the input (ASan) and nothing throws.
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "fuzz_support.h"
#include "yjs/lib0.h"
#include "yjs/messages.h"
#include "yjs/update_check.h"

namespace {

using namespace tandem::server::yjs;

void check_ranges(const std::vector<ClientRanges>& clients, const char* what) {
  for (std::size_t c = 0; c < clients.size(); ++c) {
    FUZZ_CHECK(c == 0 || clients[c - 1].client < clients[c].client, std::string(what) + ": clients not sorted");
    FUZZ_CHECK(!clients[c].ranges.empty(), std::string(what) + ": a client without ranges");
    for (std::size_t i = 0; i < clients[c].ranges.size(); ++i) {
      const Range& r = clients[c].ranges[i];
      FUZZ_CHECK(r.length > 0 && r.end() <= kMaxSafeInteger, std::string(what) + ": an empty range or one past 2^53");
      FUZZ_CHECK(i == 0 || clients[c].ranges[i - 1].end() < r.clock, std::string(what) + ": ranges not merged");
    }
  }
}

void lib0_round_trip(std::string_view data) {
  Lib0Reader in(data);
  std::vector<std::uint64_t> values;
  while (in.ok() && !in.at_end() && values.size() < 64) {
    const std::uint64_t value = in.read_var_uint();
    if (in.ok()) values.push_back(value);
  }
  Lib0Writer out;
  for (const std::uint64_t value : values) out.write_var_uint(value);
  Lib0Reader again(out.bytes());
  for (const std::uint64_t value : values) FUZZ_CHECK(again.read_var_uint() == value, "a var uint did not write back");
  FUZZ_CHECK(again.ok() && again.at_end(), "written var uints read differently");
}

void check_update_invariants(std::string_view data) {
  auto summary = check_update(data);
  if (!summary) return;
  check_ranges(summary->structs, "structs");
  check_ranges(summary->deletes, "deletes");
  FUZZ_CHECK(covers(*summary, *summary), "a summary does not cover itself");
  FUZZ_CHECK(!check_update(data.substr(0, data.size() - 1)).ok(), "an accepted update cut by one byte is accepted too");
  FUZZ_CHECK(!check_update(std::string(data) + '\0').ok(), "an accepted update with one more byte is accepted too");
  FUZZ_CHECK(is_empty_update(data) == (data.size() == 2 && summary->empty()), "is_empty_update disagrees");
}

void check_state_vector_invariants(std::string_view data) {
  auto clocks = check_state_vector(data);
  if (!clocks) return;
  for (std::size_t i = 1; i < clocks->size(); ++i)
    FUZZ_CHECK((*clocks)[i - 1].client < (*clocks)[i].client, "state vector not sorted or a client twice");
}

// The same message, field by field (the views may point into different bytes).
bool same(const SyncStep1& a, const SyncStep1& b) { return a.state_vector == b.state_vector && a.clocks == b.clocks; }
bool same(const SyncUpdatePayload& a, const SyncUpdatePayload& b) { return a.update == b.update && a.summary == b.summary; }
bool same(const AwarenessUpdate& a, const AwarenessUpdate& b) {
  if (a.entries.size() != b.entries.size()) return false;
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    const AwarenessEntry& x = a.entries[i];
    const AwarenessEntry& y = b.entries[i];
    if (x.client != y.client || x.clock != y.clock || x.state != y.state) return false;
  }
  return true;
}
bool same(const QueryAwareness&, const QueryAwareness&) { return true; }
bool same(const ywebsocket::PermissionDenied& a, const ywebsocket::PermissionDenied& b) { return a.reason == b.reason; }
bool same(const hocuspocus::Stateless& a, const hocuspocus::Stateless& b) { return a.payload == b.payload; }

// Encodes `message` as the server would send it: y-websocket.
std::string reencode(const ywebsocket::Message& message) {
  return std::visit(
      [](const auto& m) -> std::string {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, SyncStep1>) return ywebsocket::encode_sync_step1(m.state_vector);
        else if constexpr (std::is_same_v<M, SyncStep2>) return ywebsocket::encode_sync_step2(m.update);
        else if constexpr (std::is_same_v<M, SyncUpdate>) return ywebsocket::encode_sync_update(m.update);
        else if constexpr (std::is_same_v<M, AwarenessUpdate>) return ywebsocket::encode_awareness(m.entries);
        else if constexpr (std::is_same_v<M, QueryAwareness>) return ywebsocket::encode_query_awareness();
        else return ywebsocket::encode_permission_denied(m.reason);
      },
      message);
}

void ywebsocket_round_trip(std::string_view data) {
  auto message = ywebsocket::decode(data);
  if (!message) return;
  const std::string encoded = reencode(*message);
  auto again = ywebsocket::decode(encoded);
  FUZZ_CHECK(again.ok(), "a re-encoded y-websocket message is refused: " + again.error().message);
  FUZZ_CHECK(again->index() == message->index(), "a re-encoded y-websocket message changed kind");
  std::visit([&](const auto& m) { FUZZ_CHECK(same(m, std::get<std::decay_t<decltype(m)>>(*again)), "re-encoded y-websocket message differs"); },
             *message);
  FUZZ_CHECK(reencode(*again) == encoded, "encoding is not stable");
}

// Hocuspocus: the kinds a server sends in the same format as a provider (Token, Close and Pong
// differ between the directions).
void hocuspocus_round_trip(std::string_view data) {
  auto message = hocuspocus::decode(data);
  if (!message) return;
  const std::string_view address = message->address;
  std::string encoded;
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, SyncStep1>) encoded = hocuspocus::encode_sync_step1(address, m.state_vector);
        else if constexpr (std::is_same_v<M, SyncStep2>) encoded = hocuspocus::encode_sync_step2(address, m.update);
        else if constexpr (std::is_same_v<M, SyncUpdate>) encoded = hocuspocus::encode_sync_update(address, m.update);
        else if constexpr (std::is_same_v<M, AwarenessUpdate>) encoded = hocuspocus::encode_awareness(address, m.entries);
        else if constexpr (std::is_same_v<M, QueryAwareness>) encoded = hocuspocus::encode_query_awareness(address);
        else if constexpr (std::is_same_v<M, hocuspocus::Stateless>) encoded = hocuspocus::encode_stateless(address, m.payload);
        else if constexpr (std::is_same_v<M, hocuspocus::Pong>) FUZZ_CHECK(data.size() == 1 && address.empty(), "a Pong with more than its byte");
      },
      message->body);
  FUZZ_CHECK(hocuspocus::document_name(address).size() + hocuspocus::session_id(address).size() <= address.size(),
             "an address splits into more than it holds");
  if (encoded.empty()) return;
  auto again = hocuspocus::decode(encoded);
  FUZZ_CHECK(again.ok(), "a re-encoded Hocuspocus message is refused: " + again.error().message);
  FUZZ_CHECK(again->address == address && again->body.index() == message->body.index(),
             "a re-encoded Hocuspocus message changed address or kind");
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (!std::is_same_v<M, hocuspocus::Token> && !std::is_same_v<M, hocuspocus::Close> &&
                      !std::is_same_v<M, hocuspocus::Pong>)
          FUZZ_CHECK(same(m, std::get<M>(again->body)), "re-encoded Hocuspocus message differs");
      },
      message->body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = tandem::fuzz::as_text(data, size);
  lib0_round_trip(bytes);
  check_update_invariants(bytes);
  check_state_vector_invariants(bytes);
  ywebsocket_round_trip(bytes);
  hocuspocus_round_trip(bytes);
  return 0;
}
