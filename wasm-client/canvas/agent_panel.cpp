// wasm-client/canvas/agent_panel.cpp — draws the "Agent" window (agent_panel.h).
#include "agent_panel.h"

#include <cstring>
#include <utility>

#include "imgui.h"
#include "imgui_places.h"
#include "panel_room.h"

namespace canvas {

namespace {

constexpr std::size_t kShownLines = 200;  // the newest stream events on screen (web/agent.js)

}  // namespace

AgentPanel::AgentPanel(tandem::Rooms& rooms, std::string agent_room, std::string workflow_room, std::string url,
                       Print print)
    : rooms_(rooms),
      room_(std::move(agent_room)),
      workflow_room_(std::move(workflow_room)),
      url_(std::move(url)),
      shared_(std::make_shared<Shared>()) {
  shared_->print = std::move(print);
  std::strncpy(prompt_.data(), kDefaultAgentPrompt, prompt_.size() - 1);
}

void AgentPanel::join() {
  join_panel_room(rooms_, room_, shared_);
}

void AgentPanel::control(tandem::protocol::StreamAction action) {
  shared_->control_in_flight = true;
  std::weak_ptr<Shared> weak = shared_;
  rooms_.control_stream(room_, action, [weak, action](tandem::Result<tandem::Acked> answer) {
    const auto shared = weak.lock();
    if (!shared) return;
    shared->control_in_flight = false;
    const std::string name(tandem::protocol::to_string(action));
    if (answer) {
      shared->status.on_control_sent(action);
      shared->print("agent: control " + name + " sent");
    } else {
      shared->status.on_control_failed(answer.error().code, answer.error().message);
      shared->print("agent: control " + name + " failed " + answer.error().code);
    }
  });
}

void AgentPanel::draw() {
  if (const tandem::RoomReplica* replica = rooms_.replica(room_)) {
    for (const auto& event : feed_.take_new(replica->stream())) {
      shared_->status.on_event(event);
      lines_.push_back(stream_line(event));
      shared_->print("agent: " + lines_.back().event + ": " + lines_.back().text);
      scroll_to_bottom_ = true;
    }
    if (lines_.size() > kShownLines) lines_.erase(lines_.begin(), lines_.end() - kShownLines);
  }
  const bool joined = rooms_.status(room_) == tandem::RoomStatus::Joined;

  constexpr float kWidth = 420;
  constexpr float kHeight = 320;
  constexpr float kMargin = 16;
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  ImGui::SetNextWindowPos({display.x - kWidth - kMargin, display.y - kHeight - kMargin}, ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize({kWidth, kHeight}, ImGuiCond_FirstUseEver);
  ImGui::Begin("Agent", nullptr, ImGuiWindowFlags_NoSavedSettings);
  note_window_place("Agent");
  ImGui::TextDisabled("%s%s", room_.c_str(), joined ? "" : " (joining...)");
  ImGui::SameLine();
  ImGui::Text("status: %s", shared_->status.text().c_str());

  ImGui::BeginDisabled(!joined || shared_->control_in_flight);
  if (ImGui::Button("Pause")) control(tandem::protocol::StreamAction::Pause);
  note_item_place("agent.pause");
  ImGui::SameLine();
  if (ImGui::Button("Resume")) control(tandem::protocol::StreamAction::Resume);
  note_item_place("agent.resume");
  ImGui::SameLine();
  if (ImGui::Button("Cancel")) control(tandem::protocol::StreamAction::Cancel);
  note_item_place("agent.cancel");
  ImGui::EndDisabled();

  // What the producer streamed, newest at the bottom; below it the prompt, a caption and the
  // command, wrapped to the window (long room names take more lines).
  const std::string command = agent_command(url_, room_, workflow_room_, prompt_.data());
  const ImGuiStyle& style = ImGui::GetStyle();
  const float command_height =
      ImGui::CalcTextSize(command.c_str(), nullptr, false, ImGui::GetContentRegionAvail().x).y;
  const float footer = ImGui::GetFrameHeightWithSpacing() + ImGui::GetTextLineHeightWithSpacing() + command_height +
                       2 * style.ItemSpacing.y;
  ImGui::BeginChild("stream", {0, -footer}, true);
  if (lines_.empty()) ImGui::TextDisabled("Nothing streamed yet: start tandem-agent with the command below");
  for (const auto& line : lines_) {
    ImGui::TextDisabled("%s", line.event.c_str());
    ImGui::SameLine();
    ImGui::TextWrapped("%s", line.text.c_str());
  }
  if (scroll_to_bottom_) ImGui::SetScrollHereY(1.0f);
  scroll_to_bottom_ = false;
  ImGui::EndChild();

  ImGui::SetNextItemWidth(-1);
  ImGui::InputTextWithHint("##agent-prompt", "Prompt for tandem-agent", prompt_.data(), prompt_.size());
  ImGui::TextDisabled("Run the agent:");
  ImGui::SameLine();
  if (ImGui::SmallButton("Copy")) ImGui::SetClipboardText(command.c_str());
  ImGui::PushTextWrapPos(0.0f);
  ImGui::TextUnformatted(command.c_str());
  ImGui::PopTextWrapPos();
  ImGui::End();
}

}  // namespace canvas
