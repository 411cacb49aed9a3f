// wasm-client/canvas/execution_panel.h — the "Executions" window: the latest execution_update of
// each run in the workflow room (published by a backend, PROTOCOL.md §13), newest first, with
// its status, a progress bar (completed/total nodes, percent) and the node and message. Rows
// come from execution_view.h; this file only draws. (Node colours by status are the graph's.)
//
// stdout (through `print`): "execution: run-7 running 2/5 nodes · 40% at Fetch · page 2" for
// each update seen.
#pragma once

#include <functional>
#include <string>

#include "execution_view.h"
#include "tandem/rooms.h"

namespace canvas {

class ExecutionPanel {
 public:
  using Print = std::function<void(const std::string&)>;

  // The executions of `room` (joined by someone else: the graph editor).
  ExecutionPanel(const tandem::Rooms& rooms, std::string room, Print print);

  // Reports new updates (stdout), then draws the window. Call once per frame between
  // ImGui::NewFrame() and ImGui::Render().
  void draw();

 private:
  const tandem::Rooms& rooms_;
  std::string room_;
  Print print_;
  ExecutionRows rows_;
};

}  // namespace canvas
