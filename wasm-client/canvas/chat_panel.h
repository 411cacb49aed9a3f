// wasm-client/canvas/chat_panel.h — the "Chat" window: a room's chat history with each sender's
// name in their colour, our lines until the server has them (sending / not sent), "Ben is
// typing...", and an input line that sends on Enter through Rooms::send_chat and tells the room
// we are typing (throttled). The logic lives in chat_view.h; this file draws and calls Rooms.
//
// stdout (through `print`, one line per event): "chat: Ben: hi" for each message (the history
// on join too), "chat: acked hi" / "chat: failed CODE hi" for ours, "typing: Ben is typing..."
// and "typing: nobody" when the indicator changes.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "chat_view.h"
#include "tandem/clock.h"
#include "tandem/protocol/connection.h"
#include "tandem/rooms.h"

namespace canvas {

class ChatPanel {
 public:
  using Print = std::function<void(const std::string&)>;

  // The chat of `room`, which someone joins (join() below, or the graph editor's own join).
  ChatPanel(tandem::Rooms& rooms, std::string room, Print print);
  ChatPanel(const ChatPanel&) = delete;
  ChatPanel& operator=(const ChatPanel&) = delete;

  // Joins the room, for a chat room apart from the workflow room; prints "room: joined ...".
  void join();
  // Reports what changed (stdout), then draws the window. `self`: our user once connected
  // (null before). Call once per frame between ImGui::NewFrame() and ImGui::Render().
  void draw(tandem::Millis now, const tandem::protocol::UserInfo* self);

  const std::string& room() const { return room_; }

 private:
  // What the ack callbacks touch; they hold it weakly, so an answer arriving after the panel
  // is gone (the client fails what is unanswered when it stops) is ignored.
  struct Shared {
    PendingChat pending;
    tandem::Millis now{0};
    Print print;
  };

  void report(const tandem::RoomReplica& replica, const std::string& self_user);
  void send(const tandem::RoomReplica* replica);
  void set_typing(bool active);

  tandem::Rooms& rooms_;
  std::string room_;
  std::shared_ptr<Shared> shared_;
  TypingThrottle typing_;
  ChatFeed feed_;
  std::string typing_shown_;           // the indicator last reported
  bool scroll_to_bottom_ = false;
  std::array<char, 4097> input_{};     // max_chat_bytes (4096) + NUL
};

}  // namespace canvas
