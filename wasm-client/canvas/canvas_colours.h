// wasm-client/canvas/canvas_colours.h — the colours the canvas draws with: a user's "#rrggbb"
// from their token, and a node's run status. Shared by the graph and the presence sidebar.
#pragma once

#include <cstdlib>
#include <string>

#include "imgui.h"
#include "tandem/protocol/documents.h"

namespace canvas {

// "#rrggbb" -> opaque colour; `fallback` for anything else (the server validated it, but a
// replica is data from the network).
inline ImU32 colour_from_hex(const std::string& text, ImU32 fallback = IM_COL32(150, 150, 150, 255)) {
  if (text.size() != 7 || text[0] != '#') return fallback;
  char* end = nullptr;
  const unsigned long rgb = std::strtoul(text.c_str() + 1, &end, 16);
  if (end != text.c_str() + text.size()) return fallback;
  return IM_COL32((rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff, 255);
}

// The title strip of a node: grey at rest, blue queued, amber running, green succeeded, red
// failed, dark grey skipped (the same meaning as the connection light's colours).
inline ImU32 status_colour(tandem::protocol::NodeStatus status) {
  using tandem::protocol::NodeStatus;
  switch (status) {
    case NodeStatus::Idle: return IM_COL32(88, 96, 112, 255);
    case NodeStatus::Queued: return IM_COL32(70, 120, 200, 255);
    case NodeStatus::Running: return IM_COL32(235, 170, 40, 255);
    case NodeStatus::Succeeded: return IM_COL32(60, 175, 90, 255);
    case NodeStatus::Failed: return IM_COL32(215, 70, 60, 255);
    case NodeStatus::Skipped: return IM_COL32(60, 60, 66, 255);
  }
  return IM_COL32(88, 96, 112, 255);
}

}  // namespace canvas
