// wasm-client/canvas/state_dump.h — the canvas's state as JSON, for tests and demos: what the
// client's replica of the room holds (nodes, edges, executions, members with their cursors, locks
// with their holders) plus the connection and the script's progress. Desktop: --state-file PATH is
// rewritten atomically (write PATH.tmp, rename) when something changed, at most every
// kStateWriteInterval. Browser: web/canvas.html's window.tandemCanvasState() calls the
// exported tandem_canvas_state() (main.cpp).
//
// {"connection":"open","retry_in_ms":900 (reconnecting only),"user":{"id","name","color"},
//  "room":"workflow:42","joined":true,
//  "nodes":[{"id","type","label","x","y","status"}],"edges":[{"id","from","to"}],
//  "executions":[{"id","status","node","progress"}],
//  "members":[{"id","name","color","cursor":{"x","y"}}],
//  "locks":[{"resource","holder","holder_id","color","mine"}],
//  "chat":[{"seq","user","name","text"}],"typing":[{"id","name"}],
//  "agent":{"room","events":[{"seq","event","text"}]},
//  "pending_moves":0,"queued":0,"unanswered":0,"script":{"step":3,"of":7,"status":"running"},
//  "view":{"x":460,"y":60,"zoom":1,"node":{"width":180,"height":64,"header":22}} (with a room:
//    the screen position of the graph's origin, the zoom, graph_view.h's node layout),
//  "widgets":{"chat.input":{"x","y","width","height"},"window.Chat":{...}} (widget_places.h),
//  "frame":120}
// Screen positions are window pixels; a graph point (gx, gy) is at (x + gx*zoom, y + gy*zoom).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "graph_view.h"
#include "tandem/clock.h"
#include "tandem/protocol/connection.h"
#include "tandem/room_replica.h"
#include "widget_places.h"

namespace canvas {

// Often enough for a test waiting on a condition, rare enough to cost nothing while dragging.
inline constexpr tandem::Millis kStateWriteInterval{100};
// The newest chat messages and stream events dumped (the replica keeps up to 1000 of each): a
// test looks at what just arrived, and the file is rewritten on every change.
inline constexpr std::size_t kDumpedChatMessages = 50;
inline constexpr std::size_t kDumpedStreamEvents = 50;

struct CanvasStateInput {
  std::string connection;                          // link_state_name(): "open", ...
  std::optional<tandem::Millis> retry_in;          // reconnecting: the countdown shown
  std::optional<tandem::protocol::UserInfo> user;  // from `connected`
  std::string room;                                // empty: no --room
  bool joined = false;
  const tandem::RoomReplica* replica = nullptr;    // null until the join is sent
  std::string agent_room;                          // empty: no --agent-room (no "agent" key)
  const tandem::RoomReplica* agent_replica = nullptr;  // the agent room's, once joined
  int pending_moves = 0;                           // position updates not yet answered
  std::size_t queued = 0;                          // requests waiting for the connection
  std::size_t unanswered = 0;                      // requests sent, not yet answered
  std::size_t script_step = 0;
  std::size_t script_steps = 0;
  std::string script_status;                       // empty: no script
  const Viewport* viewport = nullptr;              // the graph's pan and zoom (with a room)
  const WidgetPlaces* widgets = nullptr;           // where the last frame drew them
  int frame = 0;
};

std::string canvas_state_json(const CanvasStateInput& input);

// Writes `text` to `path` through `path`.tmp and a rename, so a reader never sees half a file.
// Returns an error message, or nothing on success.
std::optional<std::string> write_file_atomically(const std::string& path, const std::string& text);

}  // namespace canvas
