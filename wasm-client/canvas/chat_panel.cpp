// wasm-client/canvas/chat_panel.cpp — draws the "Chat" window (chat_panel.h).
#include "chat_panel.h"

#include <cstring>
#include <string_view>
#include <utility>

#include "canvas_colours.h"
#include "imgui.h"
#include "imgui_places.h"
#include "panel_room.h"

namespace canvas {

namespace {

constexpr std::size_t kShownMessages = 200;  // the newest; older ones stay in the replica
const ImVec4 kFailedColour{0.9f, 0.35f, 0.3f, 1.0f};

std::string trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

}  // namespace

ChatPanel::ChatPanel(tandem::Rooms& rooms, std::string room, Print print)
    : rooms_(rooms), room_(std::move(room)), shared_(std::make_shared<Shared>()) {
  shared_->print = std::move(print);
}

void ChatPanel::join() {
  join_panel_room(rooms_, room_, shared_);
}

void ChatPanel::report(const tandem::RoomReplica& replica, const std::string& self_user) {
  const auto fresh = feed_.take_new(replica.chat());
  for (const auto& message : fresh) shared_->print("chat: " + chat_line(message));
  if (!fresh.empty()) scroll_to_bottom_ = true;
  const std::string typing = typing_line(replica.typing(), self_user);
  if (typing != typing_shown_) {
    typing_shown_ = typing;
    shared_->print("typing: " + (typing.empty() ? std::string("nobody") : typing));
  }
  shared_->pending.reconcile(replica.chat(), self_user, shared_->now);
}

void ChatPanel::set_typing(bool active) {
  if (rooms_.set_typing(room_, active) != tandem::SendStatus::Sent && active) typing_.send_failed();
}

void ChatPanel::send(const tandem::RoomReplica* replica) {
  const std::string text = trimmed(input_.data());
  if (text.empty()) return;
  input_.fill('\0');
  typing_.message_sent();
  const std::int64_t after_seq = replica && replica->position() ? replica->position()->seq : 0;
  const std::uint64_t local_id = shared_->pending.add(text, after_seq);
  scroll_to_bottom_ = true;
  std::weak_ptr<Shared> weak = shared_;
  rooms_.send_chat(room_, text, [weak, local_id, text](tandem::Result<tandem::Acked> answer) {
    const auto shared = weak.lock();
    if (!shared) return;
    if (answer) {
      shared->pending.acked(local_id, shared->now);
      shared->print("chat: acked " + text);
    } else {
      shared->pending.failed(local_id, answer.error().code);
      shared->print("chat: failed " + answer.error().code + " " + text);
    }
  });
}

void ChatPanel::draw(tandem::Millis now, const tandem::protocol::UserInfo* self) {
  shared_->now = now;
  const std::string self_user = self ? self->id : std::string();
  const tandem::RoomReplica* replica = rooms_.replica(room_);
  const bool joined = rooms_.status(room_) == tandem::RoomStatus::Joined;
  if (replica) report(*replica, self_user);
  if (const auto stop = typing_.tick(now)) set_typing(*stop);

  constexpr float kWidth = 360;
  constexpr float kHeight = 250;
  constexpr float kMargin = 16;
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  ImGui::SetNextWindowPos({kMargin, display.y - kHeight - kMargin}, ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize({kWidth, kHeight}, ImGuiCond_FirstUseEver);
  ImGui::Begin("Chat", nullptr, ImGuiWindowFlags_NoSavedSettings);
  note_window_place("Chat");
  ImGui::TextDisabled("%s%s", room_.c_str(), joined ? "" : " (joining...)");

  // History and our pending lines, above the typing line and the input.
  const float footer = ImGui::GetFrameHeightWithSpacing() + ImGui::GetTextLineHeightWithSpacing();
  ImGui::BeginChild("messages", {0, -footer}, true);
  if (replica) {
    const auto& chat = replica->chat();
    const std::size_t first = chat.size() > kShownMessages ? chat.size() - kShownMessages : 0;
    for (std::size_t i = first; i < chat.size(); ++i) {
      const auto& message = chat[i];
      ImGui::TextColored(ImColor(colour_from_hex(message.color)), "%s",
                         (message.name.empty() ? message.user : message.name).c_str());
      ImGui::SameLine();
      ImGui::TextWrapped("%s", message.text.c_str());
    }
  }
  std::optional<std::uint64_t> dismissed;
  for (const auto& line : shared_->pending.lines()) {
    ImGui::PushID(static_cast<int>(line.local_id));
    const std::string name = self ? self->name : std::string("you");
    ImGui::TextColored(ImColor(colour_from_hex(self ? self->color : std::string())), "%s", name.c_str());
    ImGui::SameLine();
    if (line.state == PendingState::Failed) {
      ImGui::TextColored(kFailedColour, "[not sent: %s]", line.error.c_str());
      ImGui::SameLine();
      if (ImGui::SmallButton("x")) dismissed = line.local_id;
    } else {
      ImGui::TextDisabled("[%s]", line.state == PendingState::Sending ? "sending..." : "sent");
    }
    ImGui::SameLine();
    ImGui::TextWrapped("%s", line.text.c_str());
    ImGui::PopID();
  }
  if (dismissed) shared_->pending.dismiss(*dismissed);
  if (scroll_to_bottom_) ImGui::SetScrollHereY(1.0f);
  scroll_to_bottom_ = false;
  ImGui::EndChild();

  ImGui::TextDisabled("%s", typing_shown_.c_str());
  ImGui::BeginDisabled(!joined);
  ImGui::SetNextItemWidth(-1);
  const bool enter = ImGui::InputTextWithHint("##chat-input", "Message (Enter sends)", input_.data(), input_.size(),
                                              ImGuiInputTextFlags_EnterReturnsTrue);
  note_item_place("chat.input");
  const bool edited = ImGui::IsItemEdited();
  if (enter) {
    send(replica);
    ImGui::SetKeyboardFocusHere(-1);  // keep typing in the input after Enter
  } else if (edited) {
    if (const auto typing = typing_.input_changed(now, input_[0] != '\0')) set_typing(*typing);
  }
  ImGui::EndDisabled();
  ImGui::End();
}

}  // namespace canvas
