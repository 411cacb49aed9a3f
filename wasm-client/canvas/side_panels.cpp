// wasm-client/canvas/side_panels.cpp — which side panels the flags ask for (side_panels.h).
#include "side_panels.h"

#include <utility>

namespace canvas {

namespace {

// tandem-agent builds into a workflow room; without --room the command names the demo's.
constexpr const char* kDefaultWorkflowRoom = "workflow:demo";

}  // namespace

SidePanels::SidePanels(tandem::Rooms& rooms, const CanvasOptions& options,
                       std::function<void(const std::string&)> print) {
  const std::string chat_room = options.chat_room.empty() ? options.room : options.chat_room;
  if (!chat_room.empty()) {
    chat_ = std::make_unique<ChatPanel>(rooms, chat_room, print);
    chat_joins_its_room_ = chat_room != options.room;
  }
  if (!options.room.empty()) executions_ = std::make_unique<ExecutionPanel>(rooms, options.room, print);
  if (!options.agent_room.empty()) {
    agent_ = std::make_unique<AgentPanel>(rooms, options.agent_room,
                                          options.room.empty() ? kDefaultWorkflowRoom : options.room, options.url,
                                          print);
  }
}

void SidePanels::join_rooms() {
  if (chat_ && chat_joins_its_room_) chat_->join();
  if (agent_) agent_->join();
}

void SidePanels::draw(tandem::Millis now, const tandem::protocol::UserInfo* self) {
  if (executions_) executions_->draw();
  if (chat_) chat_->draw(now, self);
  if (agent_) agent_->draw();
}

}  // namespace canvas
