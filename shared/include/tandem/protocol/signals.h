// tandem/protocol/signals.h — the signals family: a small JSON payload relayed from one
// connection to exactly one other in the same room, e.g. WebRTC offer/answer/ICE
// (PROTOCOL.md §12 Signals). Signals are ephemeral: no seq, never stored or replayed.
#pragma once

#include <string>

#include "tandem/json.h"

namespace tandem::protocol {

// Client → server: relay `data` to connection `to`.
struct SignalSend {
  static constexpr const char* kType = "signal";
  std::string room;
  std::string to;    // target connection id (from presence metas)
  std::string data;  // JSON object text, ≤ bounds::max_signal_bytes
  bool operator==(const SignalSend&) const = default;
};

// Server → client (the target only).
struct SignalMessage {
  static constexpr const char* kType = "signal";
  std::string room;
  std::string from;  // sender's connection id (reply `to` this)
  std::string user;  // sender's user id
  std::string data;
  bool operator==(const SignalMessage&) const = default;
};

void read(json::Fields& f, SignalSend& m);
void write(json::JsonWriter& w, const SignalSend& m);
void read(json::Fields& f, SignalMessage& m);
void write(json::JsonWriter& w, const SignalMessage& m);

}  // namespace tandem::protocol
