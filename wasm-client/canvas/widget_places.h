// wasm-client/canvas/widget_places.h — where the canvas drew the windows and widgets that a
// test drives or inspects, by name, in window pixels (Dear ImGui's display coordinates: the
// desktop window's, or the browser <canvas> element's CSS pixels). The state dump carries them
// as "widgets", so an e2e test clicks "agent.pause" where the canvas says it is, not at a
// position found by trial.
//
// Names: "window.<title>" for a window ("window.Chat", "window.Executions", "window.Agent"),
// "<panel>.<widget>" for a widget ("chat.input", "agent.pause", "agent.resume", "agent.cancel").
// A place is what the last frame that drew it drew; it stays until the app exits (a window
// closed since keeps its last place).
#pragma once

#include <functional>
#include <map>
#include <string>

namespace canvas {

struct WidgetPlace {
  double x = 0;  // top left
  double y = 0;
  double width = 0;
  double height = 0;
};

using WidgetPlaces = std::map<std::string, WidgetPlace, std::less<>>;

}  // namespace canvas
