// wasm-client/canvas/execution_panel.cpp — draws the "Executions" window (execution_panel.h).
#include "execution_panel.h"

#include <utility>

#include "imgui.h"
#include "imgui_places.h"

namespace canvas {

namespace {

// The same meaning as the node status colours (canvas_colours.h): blue queued, amber running,
// green succeeded, red failed, grey cancelled.
ImVec4 status_colour(tandem::protocol::ExecutionStatus status) {
  using tandem::protocol::ExecutionStatus;
  switch (status) {
    case ExecutionStatus::Queued: return {0.45f, 0.62f, 0.95f, 1.0f};
    case ExecutionStatus::Running: return {0.92f, 0.67f, 0.16f, 1.0f};
    case ExecutionStatus::Succeeded: return {0.35f, 0.80f, 0.45f, 1.0f};
    case ExecutionStatus::Failed: return {0.90f, 0.35f, 0.30f, 1.0f};
    case ExecutionStatus::Cancelled: return {0.60f, 0.60f, 0.62f, 1.0f};
  }
  return {0.6f, 0.6f, 0.6f, 1.0f};
}

}  // namespace

ExecutionPanel::ExecutionPanel(const tandem::Rooms& rooms, std::string room, Print print)
    : rooms_(rooms), room_(std::move(room)), print_(std::move(print)) {}

void ExecutionPanel::draw() {
  const tandem::RoomReplica* replica = rooms_.replica(room_);
  if (replica) {
    const auto label = [replica](const std::string& node_id) {
      const auto* node = replica->document().node(node_id);
      return node && !node->label.empty() ? node->label : node_id;
    };
    rows_.update(replica->executions(), label);
    for (const auto& row : rows_.take_changed()) print_("execution: " + execution_line(row));
  }

  constexpr float kWidth = 360;
  constexpr float kHeight = 170;
  constexpr float kMargin = 16;
  constexpr float kChatHeight = 250;  // chat_panel.cpp's window sits below this one
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  ImGui::SetNextWindowPos({kMargin, display.y - kChatHeight - kHeight - 2 * kMargin}, ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize({kWidth, kHeight}, ImGuiCond_FirstUseEver);
  ImGui::Begin("Executions", nullptr, ImGuiWindowFlags_NoSavedSettings);
  note_window_place("Executions");
  if (rows_.rows().empty()) ImGui::TextDisabled("No executions yet");
  for (const auto& row : rows_.rows()) {
    ImGui::PushID(row.execution.c_str());
    ImGui::TextUnformatted(row.execution.c_str());
    ImGui::SameLine();
    ImGui::TextColored(status_colour(row.status), "%s", std::string(tandem::protocol::to_string(row.status)).c_str());
    ImGui::PushStyleColor(ImGuiCol_PlotHistogram, status_colour(row.status));
    ImGui::ProgressBar(row.fraction, {-1, 0}, row.progress.c_str());
    ImGui::PopStyleColor();
    if (!row.detail.empty()) ImGui::TextDisabled("%s", row.detail.c_str());
    ImGui::Separator();
    ImGui::PopID();
  }
  ImGui::End();
}

}  // namespace canvas
