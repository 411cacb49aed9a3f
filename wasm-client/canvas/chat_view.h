// wasm-client/canvas/chat_view.h — the chat panel's logic without Dear ImGui: what a message
// line and the "Ben is typing..." line say, when to tell the server we are typing, our sent lines
// until the server has them, and which messages are new since the last frame (for stdout).
// No client core calls and no clock of its own, so all of it is unit-tested
// (tests/unit/canvas/chat_view_test.cpp); chat_panel.h draws it and talks to Rooms.
//
// Sections:
//   chat_line, typing_line   the text of a message and of the typing indicator
//   TypingThrottle           typing on / refresh / off from input changes and time
//   PendingChat              our messages from send to echo: sending, acked, failed
//   ChatFeed                 the messages not reported yet
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "seq_feed.h"
#include "tandem/clock.h"
#include "tandem/protocol/chat.h"

namespace canvas {

// ---- lines ----------------------------------------------------------------------------------

// "Ana: hello" (the user id when the message carries no name).
std::string chat_line(const tandem::protocol::ChatEntry& message);

// The typing indicator for `typing` (user id -> name, as RoomReplica::typing() keeps it),
// without ourselves: "" (nobody), "Ben is typing...", "Ben and Cy are typing...",
// "3 people are typing..." — the web demo's wording (web/chat.js), with three dots because
// Dear ImGui's default font has no "…".
std::string typing_line(const std::map<std::string, std::string>& typing, const std::string& self_user);

// ---- TypingThrottle -------------------------------------------------------------------------

// Decides when the chat input's state becomes a `typing` message (PROTOCOL.md §10: about once a
// second while typing; the server clears an indicator 5 s after the last one). Each call returns
// what to send now: true (typing), false (stopped), or nothing.
class TypingThrottle {
 public:
  // Resend while typing at most this often (the protocol's "about once per second").
  static constexpr tandem::Millis kRefresh{1'000};
  // Input left untouched this long stops the indicator, well before the server's 5 s
  // auto-clear, so "is typing..." does not outlive the typist by seconds.
  static constexpr tandem::Millis kIdle{3'000};

  // The input changed at `now`; `has_text`: it is not empty. Empty input stops at once.
  std::optional<bool> input_changed(tandem::Millis now, bool has_text);
  // Called every frame: stops the indicator once the input has been idle for kIdle.
  std::optional<bool> tick(tandem::Millis now);
  // A chat message was sent: the server ends the indicator itself, nothing to send.
  void message_sent() { active_ = false; }
  // The last true could not be sent (offline): the next input change tries again.
  void send_failed() { active_ = false; }
  bool active() const { return active_; }

 private:
  bool active_ = false;
  tandem::Millis sent_at_{0};
  tandem::Millis last_input_{0};
};

// ---- PendingChat ----------------------------------------------------------------------------

enum class PendingState {
  Sending,  // sent (or queued while offline), no answer yet
  Acked,    // the server has it; shown until its echo is in the replica's chat
  Failed,   // refused or given up (error says why); shown until dismissed
};
const char* to_string(PendingState state);

struct PendingLine {
  std::uint64_t local_id = 0;
  std::string text;
  PendingState state = PendingState::Sending;
  std::string error;            // Failed: the error code
  std::int64_t after_seq = 0;   // the room's seq when it was sent: its echo comes later
  tandem::Millis acked_at{0};   // Acked: when
};

// Our chat messages from send() until the replica shows them. A line leaves when its echo
// (a message of ours with the same text, later than the line was sent) is in the chat; an
// acked line whose echo never comes (the history was cleared, or trimmed) leaves kEchoGrace
// after the ack. Echoes are matched in send order, each to one line, so "ok" sent twice
// needs two echoes.
class PendingChat {
 public:
  static constexpr tandem::Millis kEchoGrace{3'000};

  // Adds a line; `after_seq` is the room's position seq now. Returns its local id.
  std::uint64_t add(std::string text, std::int64_t after_seq);
  void acked(std::uint64_t local_id, tandem::Millis now);
  void failed(std::uint64_t local_id, std::string error_code);
  void dismiss(std::uint64_t local_id);  // removes a Failed line; others stay
  // Removes the lines the chat now shows, and acked ones past the grace.
  void reconcile(const std::deque<tandem::protocol::ChatEntry>& chat, const std::string& self_user,
                 tandem::Millis now);

  const std::vector<PendingLine>& lines() const { return lines_; }  // in send order
  const PendingLine* find(std::uint64_t local_id) const;

 private:
  std::vector<PendingLine> lines_;
  std::uint64_t next_id_ = 1;
  std::int64_t last_echo_seq_ = 0;  // echoes at or below were matched to earlier lines
};

// ---- ChatFeed -------------------------------------------------------------------------------

// The messages that arrived since the last take_new(), by seq (history on join included).
using ChatFeed = SeqFeed<tandem::protocol::ChatEntry>;

}  // namespace canvas
