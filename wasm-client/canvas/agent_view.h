// wasm-client/canvas/agent_view.h — the agent panel's logic without Dear ImGui: a stream event
// (PROTOCOL.md §11) as a display line the way the web demo shows it (web/agent.js), the
// producer's state from its own announcements and our pause / resume / cancel, the command
// line that starts tandem-agent against this server and rooms, and which stream events are new
// since the last frame (for stdout). Unit-tested in tests/unit/canvas/agent_view_test.cpp;
// agent_panel.h draws it and sends stream_control.
//
// tandem-agent (wasm-client/native/agent/) streams `thinking` {text}, `node_created` {id, type,
// label}, `edge_created` {id, from, to}, `paused` / `resumed` / `cancelled` {text} and `done`
// {nodes, edges}; other producers may stream anything, shown as compact JSON.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "seq_feed.h"
#include "tandem/protocol/streams.h"

namespace canvas {

// One stream event as shown: its name and a readable text of its data.
struct StreamLine {
  std::int64_t seq = 0;
  std::string event;  // "thinking"
  std::string text;   // "Looking for a trigger"; "Fetch orders (http)"; "n1 -> n2"; "5 nodes, 4 edges"
};

// `data` (JSON value text, or none) as the web demo's describe() reads it: an object's "text";
// a node ({node:{...}} or bare {label, type}) as "Label (type)"; an edge as "from -> to" (ASCII:
// Dear ImGui's default font has no arrow); {nodes, edges} as "5 nodes, 4 edges"; "message";
// else the compact JSON ("" for {}); a string value as itself; anything else as its JSON text.
std::string describe_stream_data(const std::optional<std::string>& data);
StreamLine stream_line(const tandem::protocol::StreamEvent& event);

// What the panel says the producer is doing.
enum class AgentStatus {
  Idle,       // nothing streamed since we joined
  Running,    // streaming, or told to resume
  Paused,     // announced `paused`, or we sent pause
  Cancelled,  // announced `cancelled`, or we sent cancel (a step in flight may still stream)
  Done,       // announced `done`
  Error,      // our last stream_control failed (text says why)
};
const char* to_string(AgentStatus status);

// The producer's status from the events it streams and the answers to our controls.
class AgentStatusTracker {
 public:
  void on_event(const tandem::protocol::StreamEvent& event);
  void on_control_sent(tandem::protocol::StreamAction action);  // the ack: routed to the producer
  // The control failed with `error_code` ("not_found": no producer in the room).
  void on_control_failed(const std::string& error_code, const std::string& message);

  AgentStatus status() const { return status_; }
  const std::string& text() const { return text_; }  // "paused", "pause sent", "no agent is streaming..."

 private:
  AgentStatus status_ = AgentStatus::Idle;
  std::string text_ = "idle";
};

// A shell word: as is when it holds only safe characters, else in single quotes.
std::string shell_word(const std::string& text);
// "ws://host:port/ws" from the canvas's --url without its query (a ?token= stays private).
std::string ws_endpoint(const std::string& url);
// The command that runs tandem-agent against `url` (query dropped), building `workflow_room`
// while streaming in `agent_room`, for `prompt` (tandem-agent --prompt is required: an empty
// one becomes the demo's default).
std::string agent_command(const std::string& url, const std::string& agent_room, const std::string& workflow_room,
                          const std::string& prompt);
inline constexpr const char* kDefaultAgentPrompt = "Fetch orders and email a summary";

// The stream events that arrived since the last take_new() (the replay on join included).
using StreamFeed = SeqFeed<tandem::protocol::StreamEvent>;

}  // namespace canvas
