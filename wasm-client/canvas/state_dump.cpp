// wasm-client/canvas/state_dump.cpp — the canvas state as JSON and its atomic file
// (state_dump.h).
#include "state_dump.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "agent_view.h"
#include "tandem/json.h"

namespace canvas {

namespace protocol = tandem::protocol;

namespace {

// What the chat and agent panels show: the room's chat and who types, the agent stream.
void add_panel_state(tandem::json::JsonWriter& out, const CanvasStateInput& input) {
  auto chat = tandem::json::JsonWriter::array();
  auto typing = tandem::json::JsonWriter::array();
  if (input.replica != nullptr) {
    const auto& messages = input.replica->chat();
    const std::size_t first = messages.size() > kDumpedChatMessages ? messages.size() - kDumpedChatMessages : 0;
    for (std::size_t i = first; i < messages.size(); ++i) {
      tandem::json::JsonWriter m;
      m.int64("seq", messages[i].seq).str("user", messages[i].user).str("name", messages[i].name);
      m.str("text", messages[i].text);
      chat.push(std::move(m));
    }
    for (const auto& [id, name] : input.replica->typing()) {
      tandem::json::JsonWriter t;
      t.str("id", id).str("name", name);
      typing.push(std::move(t));
    }
  }
  out.child("chat", std::move(chat)).child("typing", std::move(typing));
  if (input.agent_room.empty()) return;
  tandem::json::JsonWriter agent;
  agent.str("room", input.agent_room);
  auto events = tandem::json::JsonWriter::array();
  if (input.agent_replica != nullptr) {
    const auto& stream = input.agent_replica->stream();
    const std::size_t first = stream.size() > kDumpedStreamEvents ? stream.size() - kDumpedStreamEvents : 0;
    for (std::size_t i = first; i < stream.size(); ++i) {
      const StreamLine line = stream_line(stream[i]);
      tandem::json::JsonWriter e;
      e.int64("seq", line.seq).str("event", line.event).str("text", line.text);
      events.push(std::move(e));
    }
  }
  agent.child("events", std::move(events));
  out.child("agent", std::move(agent));
}

}  // namespace

std::string canvas_state_json(const CanvasStateInput& input) {
  tandem::json::JsonWriter out;
  out.str("connection", input.connection);
  if (input.retry_in) out.int64("retry_in_ms", input.retry_in->count());
  if (input.user) {
    tandem::json::JsonWriter user;
    user.str("id", input.user->id).str("name", input.user->name).str("color", input.user->color);
    out.child("user", std::move(user));
  }
  out.str("room", input.room).boolean("joined", input.joined);

  auto nodes = tandem::json::JsonWriter::array();
  auto edges = tandem::json::JsonWriter::array();
  auto members = tandem::json::JsonWriter::array();
  auto locks = tandem::json::JsonWriter::array();
  if (input.replica != nullptr) {
    for (const auto& node : input.replica->document().nodes()) {
      tandem::json::JsonWriter n;
      n.str("id", node.id).str("type", node.type).str("label", node.label).num("x", node.x).num("y", node.y);
      n.str("status", protocol::to_string(node.status));
      nodes.push(std::move(n));
    }
    for (const auto& edge : input.replica->document().edges()) {
      tandem::json::JsonWriter e;
      e.str("id", edge.id).str("from", edge.from).str("to", edge.to);
      edges.push(std::move(e));
    }
    for (const auto& [id, member] : input.replica->members()) {
      tandem::json::JsonWriter m;
      m.str("id", id).str("name", member.user.name).str("color", member.user.color);
      for (const auto& meta : member.metas) {  // the first connection with a cursor
        if (!meta.state.cursor) continue;
        tandem::json::JsonWriter cursor;
        cursor.num("x", meta.state.cursor->x).num("y", meta.state.cursor->y);
        m.child("cursor", std::move(cursor));
        break;
      }
      members.push(std::move(m));
    }
    for (const auto& [resource, lock] : input.replica->locks()) {
      tandem::json::JsonWriter l;
      l.str("resource", resource).str("holder", lock.holder.name).str("holder_id", lock.holder.user);
      l.str("color", lock.holder.color).boolean("mine", input.user && lock.holder.user == input.user->id);
      locks.push(std::move(l));
    }
  }
  auto executions = tandem::json::JsonWriter::array();
  if (input.replica != nullptr) {
    for (const auto& [id, update] : input.replica->executions()) {
      tandem::json::JsonWriter e;
      e.str("id", id).str("status", protocol::to_string(update.status)).opt_str("node", update.node);
      e.opt_num("progress", update.progress);
      executions.push(std::move(e));
    }
  }
  out.child("nodes", std::move(nodes)).child("edges", std::move(edges));
  out.child("executions", std::move(executions));
  out.child("members", std::move(members)).child("locks", std::move(locks));
  add_panel_state(out, input);
  out.int64("pending_moves", input.pending_moves);
  out.int64("queued", static_cast<std::int64_t>(input.queued));
  out.int64("unanswered", static_cast<std::int64_t>(input.unanswered));
  if (!input.script_status.empty()) {
    tandem::json::JsonWriter script;
    script.int64("step", static_cast<std::int64_t>(input.script_step));
    script.int64("of", static_cast<std::int64_t>(input.script_steps));
    script.str("status", input.script_status);
    out.child("script", std::move(script));
  }
  if (input.viewport != nullptr) {
    tandem::json::JsonWriter view;
    view.num("x", input.viewport->offset().x).num("y", input.viewport->offset().y).num("zoom", input.viewport->zoom());
    tandem::json::JsonWriter node;  // graph_view.h's node layout, in graph units
    node.num("width", kNodeWidth).num("height", kNodeHeight).num("header", kNodeHeaderHeight);
    view.child("node", std::move(node));
    out.child("view", std::move(view));
  }
  if (input.widgets != nullptr) {
    tandem::json::JsonWriter widgets;
    for (const auto& [name, place] : *input.widgets) {
      tandem::json::JsonWriter p;
      p.num("x", place.x).num("y", place.y).num("width", place.width).num("height", place.height);
      widgets.child(name.c_str(), std::move(p));
    }
    out.child("widgets", std::move(widgets));
  }
  out.int64("frame", input.frame);
  return out.finish();
}

std::optional<std::string> write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) return "cannot create " + temporary + ": " + std::strerror(errno);
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    std::remove(temporary.c_str());
    return "cannot write " + temporary;
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return "cannot rename " + temporary + " to " + path + ": " + std::strerror(errno);
  }
  return std::nullopt;
}

}  // namespace canvas
