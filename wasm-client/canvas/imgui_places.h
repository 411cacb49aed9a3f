// wasm-client/canvas/imgui_places.h — records where this frame drew a window or a widget
// (widget_places.h), called by the panels right after drawing it. One record for the app: Dear
// ImGui's own context is one per app too, and the frame is built on one thread.
#pragma once

#include "imgui.h"

#include <string_view>

#include "widget_places.h"

namespace canvas {

// The app's record, read by the state dump.
inline WidgetPlaces& drawn_widget_places() {
  static WidgetPlaces places;
  return places;
}

// The last item drawn (ImGui::Button, InputText...) under `name`.
inline void note_item_place(std::string_view name) {
  const ImVec2 min = ImGui::GetItemRectMin();
  const ImVec2 max = ImGui::GetItemRectMax();
  drawn_widget_places().insert_or_assign(std::string(name), WidgetPlace{min.x, min.y, max.x - min.x, max.y - min.y});
}

// The window being built (between ImGui::Begin and End) as "window.<title>".
inline void note_window_place(std::string_view title) {
  const ImVec2 pos = ImGui::GetWindowPos();
  const ImVec2 size = ImGui::GetWindowSize();
  drawn_widget_places().insert_or_assign("window." + std::string(title), WidgetPlace{pos.x, pos.y, size.x, size.y});
}

}  // namespace canvas
