// wasm-client/canvas/side_panels.h — the canvas's side panels, chosen from the flags: Chat (the
// workflow room's chat, or --chat-room's), Executions (the workflow room's runs) and Agent
// (--agent-room). Owns them, joins the rooms nobody else joins, and draws them each frame, so
// main() needs three calls: construct, join_rooms(), draw().
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent_panel.h"
#include "canvas_options.h"
#include "chat_panel.h"
#include "execution_panel.h"
#include "tandem/clock.h"
#include "tandem/protocol/connection.h"
#include "tandem/rooms.h"

namespace canvas {

class SidePanels {
 public:
  // `print` gets the panels' stdout lines (chat_panel.h, execution_panel.h, agent_panel.h).
  SidePanels(tandem::Rooms& rooms, const CanvasOptions& options, std::function<void(const std::string&)> print);

  // Joins --chat-room (when it is not the workflow room, which the graph editor joins) and
  // --agent-room. Call once, after the client has started.
  void join_rooms();
  // Draws the panels there are. `self`: our user once connected (null before). Call once per
  // frame between ImGui::NewFrame() and ImGui::Render().
  void draw(tandem::Millis now, const tandem::protocol::UserInfo* self);

 private:
  bool chat_joins_its_room_ = false;
  std::unique_ptr<ChatPanel> chat_;
  std::unique_ptr<ExecutionPanel> executions_;
  std::unique_ptr<AgentPanel> agent_;
};

}  // namespace canvas
