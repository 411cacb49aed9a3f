// wasm-client/canvas/presence_sidebar.h — the "People" window: who is in the workflow room
// (from the replica's members), each with their colour, how many connections (tabs) they
// have, the node they have selected, and the nodes they hold locked. Read-only, drawn with
// Dear ImGui from the replica; no protocol logic.
#pragma once

#include <string>

#include "tandem/room_replica.h"

namespace canvas {

// Draws the window at the right edge. `replica` may be null (not joined yet); `self_user` marks
// "(you)". Call between ImGui::NewFrame() and ImGui::Render().
void draw_presence_sidebar(const tandem::RoomReplica* replica, const std::string& room, const std::string& self_user,
                           int pending_moves);

}  // namespace canvas
