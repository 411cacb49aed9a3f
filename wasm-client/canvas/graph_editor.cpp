// wasm-client/canvas/graph_editor.cpp — the canvas's edits as Rooms calls (graph_editor.h).
#include "graph_editor.h"

#include <algorithm>
#include <cstdio>
#include <random>

namespace canvas {

namespace protocol = tandem::protocol;

GraphEditor::GraphEditor(tandem::Rooms& rooms, std::string room)
    : rooms_(rooms), room_(std::move(room)), id_tag_(std::random_device{}() & 0xffffu) {}

std::optional<Vec2> GraphEditor::position(const std::string& node) const {
  if (const auto local = moves_.shown(node)) return local;
  const auto* replica = this->replica();
  if (replica == nullptr) return std::nullopt;
  const auto* found = replica->document().node(node);
  if (found == nullptr) return std::nullopt;
  return Vec2{found->x, found->y};
}

std::vector<NodeBox> GraphEditor::node_boxes() const {
  std::vector<NodeBox> boxes;
  const auto* replica = this->replica();
  if (replica == nullptr) return boxes;
  boxes.reserve(replica->document().nodes().size());
  for (const auto& node : replica->document().nodes()) {
    boxes.push_back({node.id, moves_.shown(node.id).value_or(Vec2{node.x, node.y})});
  }
  return boxes;
}

std::vector<EdgeLine> GraphEditor::edge_lines() const {
  std::vector<EdgeLine> lines;
  const auto* replica = this->replica();
  if (replica == nullptr) return lines;
  lines.reserve(replica->document().edges().size());
  for (const auto& edge : replica->document().edges()) {
    const auto from = position(edge.from);
    const auto to = position(edge.to);
    if (from && to) lines.push_back({edge.id, *from, *to});
  }
  return lines;
}

const protocol::LockInfo* GraphEditor::locked_by_other(const std::string& node) const {
  const auto* replica = this->replica();
  if (replica == nullptr) return nullptr;
  const auto* lock = replica->lock(node);
  return lock != nullptr && lock->holder.user != self_user_ ? lock : nullptr;
}

// ---- edits ----

void GraphEditor::begin_drag(const std::string& node, Vec2 position) {
  // A drag still in progress (the script's while the mouse drags, or the other way round) ends
  // here, and its final position is sent as on release.
  if (const auto ended = moves_.begin(node, position)) send_position(*ended);
}

void GraphEditor::drag_to(Vec2 position) { moves_.move(position); }

void GraphEditor::end_drag() {
  if (const auto final_update = moves_.end()) send_position(*final_update);
}

void GraphEditor::cancel_drag() {
  if (moves_.dragging()) {
    const std::string node = *moves_.dragging();
    moves_.forget(node);
  }
}

void GraphEditor::send_position(const PositionUpdate& update) {
  protocol::NodeFields fields;
  fields.x = update.position.x;
  fields.y = update.position.y;
  const std::string node = update.node;
  rooms_.update_node(room_, node, fields, rooms_.fence(room_, node),
                     [this, node](tandem::Result<tandem::Acked> answer) {
                       moves_.answered(node);
                       // Only refusals are worth a line: a drag sends ~15 updates a second.
                       if (!answer) report("move " + node, answer);
                       else if (!moves_.shown(node)) report("moved " + node, answer);
                     });
}

void GraphEditor::create_node(const std::string& id, const std::string& type, const std::string& label,
                              Vec2 position) {
  protocol::Node node;
  node.id = id;
  node.type = type;
  node.label = label;
  node.x = position.x;
  node.y = position.y;
  rooms_.create_node(room_, node, [this, id](tandem::Result<tandem::Acked> answer) { report("create " + id, answer); });
}

void GraphEditor::delete_node(const std::string& id) {
  moves_.forget(id);
  rooms_.delete_node(room_, id, rooms_.fence(room_, id),
                     [this, id](tandem::Result<tandem::Acked> answer) { report("delete " + id, answer); });
}

void GraphEditor::connect(const std::string& from, const std::string& to, std::string edge_id) {
  if (edge_id.empty()) edge_id = "e-" + from + "-" + to;
  rooms_.create_edge(room_, protocol::Edge{edge_id, from, to},
                     [this, edge_id](tandem::Result<tandem::Acked> answer) { report("connect " + edge_id, answer); });
}

void GraphEditor::disconnect(const std::string& edge_id) {
  rooms_.delete_edge(room_, edge_id,
                     [this, edge_id](tandem::Result<tandem::Acked> answer) { report("disconnect " + edge_id, answer); });
}

std::string GraphEditor::new_node_id() {
  char tag[16];
  std::snprintf(tag, sizeof tag, "%04x", id_tag_);
  std::string user = self_user_.empty() ? "n" : self_user_;
  std::replace_if(user.begin(), user.end(), [](char c) { return c == ':' || c == ' '; }, '-');
  return user + "-" + tag + "-" + std::to_string(next_id_++);
}

void GraphEditor::report(const std::string& what, const tandem::Result<tandem::Acked>& answer) {
  if (!on_event) return;
  on_event(answer ? "edit: " + what + " ok"
                  : "edit: " + what + " failed: " + answer.error().code + " " + answer.error().message);
}

// ---- presence ----

void GraphEditor::set_cursor(std::optional<Vec2> canvas_point) {
  std::optional<protocol::Cursor> cursor;
  if (canvas_point) cursor = protocol::Cursor{canvas_point->x, canvas_point->y};
  if (cursor == presence_.cursor) return;
  presence_.cursor = cursor;
  presence_dirty_ = true;
}

void GraphEditor::set_selected(std::optional<std::string> node) {
  if (node == presence_.node) return;
  presence_.node = std::move(node);
  presence_dirty_ = true;
}

void GraphEditor::push_presence() {
  // The core throttles (RoomsSettings::presence_interval) and keeps the latest for a rejoin,
  // so calling it on every change is fine.
  if (presence_dirty_ && rooms_.set_presence(room_, presence_) != tandem::PresenceStatus::NotJoined) {
    presence_dirty_ = false;
  }
}

// ---- label lock ----

void GraphEditor::lock_node(const std::string& node) {
  locks_[node] = {LabelLock::Asking, std::nullopt};
  rooms_.lock(room_, node, std::nullopt, on_lock_answer(node, false));
}

tandem::LockCallback GraphEditor::on_lock_answer(const std::string& node, bool takeover) {
  return [this, node, takeover](tandem::Result<tandem::LockAnswer> answer) {
    const std::string what = (takeover ? "takeover: " : "lock: ") + node;
    LockView& view = locks_[node];
    if (!answer) {
      view = {LabelLock::None, std::nullopt};
      if (on_event) on_event(what + " failed: " + answer.error().code);
      return;
    }
    const bool granted = answer->outcome == tandem::LockOutcome::Granted;
    view = {granted ? LabelLock::Held : LabelLock::Denied, answer->holder, granted};
    if (!on_event) return;
    if (takeover) on_event(what + (granted ? " granted" : " denied"));
    else
      on_event(what + (granted ? " granted fence " + std::to_string(answer->fence)
                               : " denied, held by " + (answer->holder ? answer->holder->name : "?")));
  };
}

void GraphEditor::unlock_node(const std::string& node) {
  locks_.erase(node);
  std::erase_if(takeovers_, [&](const auto& t) { return t.resource == node; });
  if (!rooms_.lock_status(room_, node)) return;
  rooms_.unlock(room_, node, [this, node](const tandem::Result<protocol::ServerFrame>& answer) {
    if (on_event) on_event("unlock: " + node + (answer ? " ok" : " failed: " + answer.error().code));
  });
}

void GraphEditor::request_takeover(const std::string& node) {
  locks_[node] = {LabelLock::Asking, std::nullopt};
  rooms_.request_takeover(room_, node, on_lock_answer(node, true));
}

void GraphEditor::set_label(const std::string& node, const std::string& label) {
  protocol::NodeFields fields;
  fields.label = label;
  rooms_.update_node(room_, node, fields, rooms_.fence(room_, node),
                     [this, node](tandem::Result<tandem::Acked> answer) { report("label " + node, answer); });
}

LabelLock GraphEditor::label_lock(const std::string& node) const {
  const auto found = locks_.find(node);
  return found == locks_.end() ? LabelLock::None : found->second.state;
}

std::optional<tandem::LockLossReason> GraphEditor::lock_loss(const std::string& node) const {
  const auto found = locks_.find(node);
  return found == locks_.end() ? std::nullopt : found->second.lost;
}

std::optional<std::string> GraphEditor::take_label_to_edit(const std::string& node) {
  const auto found = locks_.find(node);
  if (found == locks_.end() || found->second.state != LabelLock::Held || !found->second.fresh) return std::nullopt;
  found->second.fresh = false;
  const auto* replica = this->replica();
  const auto* current = replica != nullptr ? replica->document().node(node) : nullptr;
  return current != nullptr ? current->label : std::string{};
}

std::optional<protocol::LockHolder> GraphEditor::lock_holder(const std::string& node) const {
  const auto found = locks_.find(node);
  return found == locks_.end() ? std::nullopt : found->second.holder;
}

void GraphEditor::takeover_requested(const protocol::TakeoverRequested& request) {
  if (request.room != room_) return;
  std::erase_if(takeovers_, [&](const auto& t) { return t.resource == request.resource; });
  takeovers_.push_back(request);
  if (on_event) on_event("takeover requested: " + request.resource + " by " + request.by.name);
}

void GraphEditor::dismiss_takeover(const std::string& node) {
  std::erase_if(takeovers_, [&](const auto& t) { return t.resource == node; });
}

void GraphEditor::lock_lost(const tandem::LockLost& lost) {
  if (lost.room != room_) return;
  if (const auto found = locks_.find(lost.resource); found != locks_.end()) {
    found->second = {LabelLock::Lost, lost.holder, false, lost.reason};
  }
  dismiss_takeover(lost.resource);
  if (on_event) on_event("lock lost: " + lost.resource + " (" + tandem::to_string(lost.reason) + ")");
}

// ---- driving ----

void GraphEditor::tick(tandem::Millis now) {
  if (const auto due = moves_.take_due(now)) send_position(*due);
  push_presence();
}

}  // namespace canvas
