// wasm-client/canvas/agent_panel.h — the "Agent" window for an agent:{id} room: what its
// producer streams (thinking, nodes and edges created, done) as readable lines, its status,
// Pause / Resume / Cancel (stream_control, routed to the producer, PROTOCOL.md §11), and the
// tandem-agent command line for this server, this agent room and the workflow room, with the
// prompt field's text as its --prompt. The logic lives in agent_view.h; this file draws,
// joins the room and sends the controls.
//
// stdout (through `print`): "agent: thinking: Looking for a trigger" for each stream event
// (the replay on join too), "agent: control pause sent" / "agent: control pause failed CODE".
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent_view.h"
#include "tandem/rooms.h"

namespace canvas {

class AgentPanel {
 public:
  using Print = std::function<void(const std::string&)>;

  // `url`: the server's WebSocket URL (its query is left out of the command); `workflow_room`:
  // the room tandem-agent should build in.
  AgentPanel(tandem::Rooms& rooms, std::string agent_room, std::string workflow_room, std::string url, Print print);
  AgentPanel(const AgentPanel&) = delete;
  AgentPanel& operator=(const AgentPanel&) = delete;

  // Joins the agent room (prints "room: joined agent:...").
  void join();
  // Reports new stream events (stdout), then draws the window. Call once per frame between
  // ImGui::NewFrame() and ImGui::Render().
  void draw();

 private:
  // What the control callbacks touch, held weakly by them (see ChatPanel::Shared).
  struct Shared {
    AgentStatusTracker status;
    bool control_in_flight = false;
    Print print;
  };

  void control(tandem::protocol::StreamAction action);

  tandem::Rooms& rooms_;
  std::string room_;
  std::string workflow_room_;
  std::string url_;
  std::shared_ptr<Shared> shared_;
  StreamFeed feed_;
  std::vector<StreamLine> lines_;   // the newest kShownLines, oldest first
  bool scroll_to_bottom_ = false;
  std::array<char, 4097> prompt_{};  // tandem-agent takes at most 4096 bytes
};

}  // namespace canvas
