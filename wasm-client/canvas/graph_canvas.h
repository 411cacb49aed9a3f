// wasm-client/canvas/graph_canvas.h — the workflow graph drawn with Dear ImGui and edited with
// the mouse and keyboard: a full-window background layer under the other windows.
//
//   draw   grid; edges as bezier curves between ports; nodes as boxes (status-coloured title
//          strip, label, type, ports); the execution overlay (a running run's current node
//          ringed, with its progress); a lock badge on nodes someone else holds (their name
//          and colour); other people's cursors with their names.
//   input  wheel zooms toward the mouse; middle drag, or left drag on empty canvas, pans;
//          click selects a node or an edge; drag a node moves it; drag from a node's output
//          port (right) to another node connects them; Delete removes the selected node or
//          edge; right click on empty canvas offers a new node; double click (or Enter on the
//          selected node) edits a label (takes the node's lock first; Enter saves, Escape
//          cancels; the lock is released either way); Home fits the whole graph in view.
//
// The view state (GraphCanvasState) belongs to main(); every edit goes through GraphEditor.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "graph_editor.h"
#include "graph_view.h"

namespace canvas {

struct GraphCanvasState {
  Viewport viewport;
  std::optional<std::string> selected_node;
  std::optional<std::string> selected_edge;
  // The mouse interaction in progress (one at a time).
  enum class Gesture { None, Panning, DraggingNode, Connecting };
  Gesture gesture = Gesture::None;
  Vec2 grab_offset;                  // DraggingNode: node position - mouse (canvas units)
  std::string connect_from;          // Connecting: the source node
  Vec2 connect_to;                   // Connecting: the loose end (canvas units)
  Vec2 new_node_at;                  // where the context menu's new node goes
  std::optional<Vec2> mouse_canvas;  // last mouse position over the canvas (canvas units)
  bool share_mouse_cursor = true;    // false once a script placed our cursor: it owns it
  // Label editing: the node, and the text being typed (the lock is asked for first).
  std::optional<std::string> editing_node;
  std::array<char, 257> label_buffer{};  // labels are at most 256 bytes (PROTOCOL.md §9)
  bool focus_label = false;
};

// Draws the graph of `editor`'s room and handles the input over it. Call between
// ImGui::NewFrame() and ImGui::Render(), before the other windows so they draw on top.
void draw_graph_canvas(GraphEditor& editor, GraphCanvasState& state);

// Zooms and pans so the whole graph fits right of the left-hand windows (what the Home key
// does). Call between ImGui::NewFrame() and ImGui::Render().
void fit_graph(const GraphEditor& editor, GraphCanvasState& state);

// Opens the label editor on `node` (asks for the lock); what a double click does.
void start_label_edit(GraphEditor& editor, GraphCanvasState& state, const std::string& node);

}  // namespace canvas
