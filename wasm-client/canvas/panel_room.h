// wasm-client/canvas/panel_room.h — joining a side panel's room (chat_panel, agent_panel): one
// stdout line with the outcome ("room: joined chat:lobby", "room: join failed chat:lobby CODE
// message"), printed only while the panel that asked still exists (the answer may come after it
// is gone).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "tandem/rooms.h"

namespace canvas {

// `shared`: the panel's state that outlives its callbacks; anything with a `print(std::string)`.
template <class Shared>
void join_panel_room(tandem::Rooms& rooms, const std::string& room, const std::shared_ptr<Shared>& shared) {
  std::weak_ptr<Shared> weak = shared;
  rooms.join(room, std::nullopt, [weak, room](tandem::Result<tandem::protocol::Subscribed> answer) {
    const auto panel = weak.lock();
    if (!panel) return;
    panel->print(answer ? "room: joined " + room
                        : "room: join failed " + room + " " + answer.error().code + " " + answer.error().message);
  });
}

}  // namespace canvas
