// wasm-client/canvas/presence_sidebar.cpp — draws the "People" window (presence_sidebar.h).
#include "presence_sidebar.h"

#include <string>

#include "canvas_colours.h"
#include "imgui.h"
#include "imgui_places.h"

namespace canvas {

void draw_presence_sidebar(const tandem::RoomReplica* replica, const std::string& room, const std::string& self_user,
                           int pending_moves) {
  constexpr float kWidth = 240;
  constexpr float kMargin = 16;
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  ImGui::SetNextWindowPos({display.x - kWidth - kMargin, kMargin}, ImGuiCond_Always);
  ImGui::SetNextWindowSizeConstraints({kWidth, 0}, {kWidth, display.y - 2 * kMargin});
  ImGui::Begin("People", nullptr, ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings);
  note_window_place("People");
  ImGui::TextDisabled("%s", room.c_str());
  if (replica == nullptr) {
    ImGui::TextUnformatted("joining...");
    ImGui::End();
    return;
  }
  ImGui::Text("%zu nodes, %zu edges", replica->document().nodes().size(), replica->document().edges().size());
  if (pending_moves > 0) ImGui::TextDisabled("%d moves unanswered", pending_moves);
  ImGui::Separator();
  for (const auto& [user_id, member] : replica->members()) {
    ImGui::PushID(user_id.c_str());
    const float line = ImGui::GetTextLineHeight();
    const ImVec2 corner = ImGui::GetCursorScreenPos();
    ImGui::GetWindowDrawList()->AddRectFilled(corner, {corner.x + line, corner.y + line},
                                              colour_from_hex(member.user.color), 3);
    ImGui::Dummy({line, line});
    ImGui::SameLine();
    ImGui::Text("%s%s", member.user.name.c_str(), user_id == self_user ? " (you)" : "");
    if (member.metas.size() > 1) {
      ImGui::SameLine();
      ImGui::TextDisabled("x%zu", member.metas.size());
    }
    for (const auto& meta : member.metas) {
      if (meta.state.node) ImGui::TextDisabled("   on %s", meta.state.node->c_str());
    }
    for (const auto& [resource, lock] : replica->locks()) {
      if (lock.holder.user == user_id) ImGui::TextDisabled("   editing %s", resource.c_str());
    }
    ImGui::PopID();
  }
  ImGui::End();
}

}  // namespace canvas
