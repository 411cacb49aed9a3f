// wasm-client/canvas/graph_editor.h — the canvas's edits of one workflow room, as calls on the
// client core's Rooms API: drags (through NodeMoves: optimistic, throttled, reconciled), create,
// delete, connect, disconnect, the own presence (cursor, selected node), and the label lock
// (lock, renewed by the core while held; update with the fence; unlock; takeover).
//
// Both the mouse (graph_canvas.cpp) and the script (canvas_script.cpp) edit through this class,
// so a scripted drag takes exactly the path a user's does. No Dear ImGui here. Every answer
// from the server is reported through on_event as one line ("edit: drag n1 ok"), which main()
// prints, so tests and people see refusals (locked, conflict...) too.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "graph_view.h"
#include "tandem/rooms.h"

namespace canvas {

// Where this client's lock on a node stands, as the editor tracks it for the label editor.
enum class LabelLock {
  None,       // not asked for
  Asking,     // lock or takeover sent
  Held,       // granted (the core renews it)
  Denied,     // someone else holds it (see lock_holder())
  Lost,       // was held, then lost (taken over, expired...: see lock_loss())
};

class GraphEditor {
 public:
  GraphEditor(tandem::Rooms& rooms, std::string room);
  GraphEditor(const GraphEditor&) = delete;
  GraphEditor& operator=(const GraphEditor&) = delete;

  std::function<void(const std::string& line)> on_event;  // one line per answer or notice

  const std::string& room() const { return room_; }
  const tandem::RoomReplica* replica() const { return rooms_.replica(room_); }
  bool joined() const { return rooms_.status(room_) == tandem::RoomStatus::Joined; }
  void set_self_user(std::string user_id) { self_user_ = std::move(user_id); }
  const std::string& self_user() const { return self_user_; }

  // ---- what to draw ----
  // The position shown for a node: the local one while dragged or unanswered, else the replica's.
  std::optional<Vec2> position(const std::string& node) const;
  std::vector<NodeBox> node_boxes() const;   // replica order, shown positions
  std::vector<EdgeLine> edge_lines() const;  // edges whose two nodes exist
  // The lock on `node` when someone else holds it.
  const tandem::protocol::LockInfo* locked_by_other(const std::string& node) const;
  int pending_moves() const { return moves_.in_flight(); }
  const std::optional<std::string>& dragging() const { return moves_.dragging(); }

  // ---- edits ----
  void begin_drag(const std::string& node, Vec2 position);
  void drag_to(Vec2 position);
  void end_drag();
  void cancel_drag();  // the dragged node is gone: forget the drag, send nothing more
  void create_node(const std::string& id, const std::string& type, const std::string& label, Vec2 position);
  void delete_node(const std::string& id);
  // `edge_id` empty: "e-FROM-TO" (one edge per ordered pair; a second is refused as conflict).
  void connect(const std::string& from, const std::string& to, std::string edge_id = {});
  void disconnect(const std::string& edge_id);
  std::string new_node_id();  // unique enough across clients: user id + a random tag + a count

  // ---- presence ----
  void set_cursor(std::optional<Vec2> canvas_point);
  void set_selected(std::optional<std::string> node);

  // ---- label lock ----
  void lock_node(const std::string& node);
  void unlock_node(const std::string& node);
  void request_takeover(const std::string& node);
  void set_label(const std::string& node, const std::string& label);  // with our fence when held
  LabelLock label_lock(const std::string& node) const;
  // The label to put in the editor's field, once, when the lock has just become held (granted
  // or taken over): the replica's label at that moment, not the one seen when the editor
  // opened, so a label someone saved before handing the lock over is not written back.
  std::optional<std::string> take_label_to_edit(const std::string& node);
  std::optional<tandem::protocol::LockHolder> lock_holder(const std::string& node) const;
  // Why a lock we held on `node` ended, while label_lock() is Lost (lock_holder(): who has it
  // now, when the server said).
  std::optional<tandem::LockLossReason> lock_loss(const std::string& node) const;
  // Someone asked for a lock we hold (from Rooms::on_takeover_requested); shown until handled.
  void takeover_requested(const tandem::protocol::TakeoverRequested& request);
  const std::vector<tandem::protocol::TakeoverRequested>& takeover_requests() const { return takeovers_; }
  void dismiss_takeover(const std::string& node);  // keep the lock (it still moves after grace)
  // From Rooms::on_lock_lost: a lock we still track (the label editor is on it) becomes Lost,
  // so the editor says so instead of waiting for a lock that will not come.
  void lock_lost(const tandem::LockLost& lost);

  // ---- driving ----
  void tick(tandem::Millis now);  // sends the due position update of a drag; flushes presence

 private:
  // The answer to lock() (takeover false) or request_takeover() on `node`, into its LockView, with
  // a stdout line ("lock: n2 granted fence 4", "takeover: n2 granted", "... failed: CODE").
  tandem::LockCallback on_lock_answer(const std::string& node, bool takeover);
  void send_position(const PositionUpdate& update);
  void report(const std::string& what, const tandem::Result<tandem::Acked>& answer);
  void push_presence();

  tandem::Rooms& rooms_;
  std::string room_;
  std::string self_user_;
  NodeMoves moves_;
  tandem::protocol::Presence presence_;
  bool presence_dirty_ = false;
  std::uint32_t id_tag_ = 0;
  int next_id_ = 1;
  struct LockView {
    LabelLock state = LabelLock::None;
    std::optional<tandem::protocol::LockHolder> holder;
    bool fresh = false;  // Held, and the label field not yet filled (take_label_to_edit)
    std::optional<tandem::LockLossReason> lost = std::nullopt;  // Lost: why
  };
  std::map<std::string, LockView> locks_;
  std::vector<tandem::protocol::TakeoverRequested> takeovers_;
};

}  // namespace canvas
