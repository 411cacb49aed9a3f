// wasm-client/canvas/graph_view.h — the workflow canvas's view model: plain geometry and
// state, no Dear ImGui, no client core calls, so every part is unit-tested
// (tests/unit/canvas/graph_view_test.cpp).
//
// Sections:
//   Vec2, Viewport      canvas <-> screen transforms, pan and zoom about a point
//   node geometry       box size, port positions, the bezier curve of an edge
//   hit testing         what is under a canvas point (port, node, edge)
//   NodeMoves           optimistic drag positions and the throttle of position updates
//
// Coordinates: "canvas" units are the document's (Node::x/y = the box's top-left corner, also
// what presence cursors carry); "screen" units are window pixels. screen = offset + canvas*zoom.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tandem/clock.h"

namespace canvas {

struct Vec2 {
  double x = 0;
  double y = 0;
  bool operator==(const Vec2&) const = default;
};
inline Vec2 operator+(Vec2 a, Vec2 b) { return {a.x + b.x, a.y + b.y}; }
inline Vec2 operator-(Vec2 a, Vec2 b) { return {a.x - b.x, a.y - b.y}; }
inline Vec2 operator*(Vec2 a, double k) { return {a.x * k, a.y * k}; }

// ---- Viewport ----------------------------------------------------------------------------------

class Viewport {
 public:
  // Zoom is kept within these: below 0.2 boxes are unreadable specks, above 4 one box fills
  // the window.
  static constexpr double kMinZoom = 0.2;
  static constexpr double kMaxZoom = 4.0;

  Vec2 to_screen(Vec2 canvas) const { return offset_ + canvas * zoom_; }
  Vec2 to_canvas(Vec2 screen) const { return (screen - offset_) * (1.0 / zoom_); }
  double zoom() const { return zoom_; }
  Vec2 offset() const { return offset_; }  // screen position of the canvas origin

  void pan_by(Vec2 screen_delta) { offset_ = offset_ + screen_delta; }
  // Multiplies the zoom by `factor` (clamped), keeping the canvas point under `screen_point`
  // where it is on screen (zoom toward the mouse).
  void zoom_at(Vec2 screen_point, double factor);
  // Shows the canvas rectangle [canvas_min, canvas_max] as large as fits in the screen
  // rectangle [screen_min, screen_max] (zoom clamped, at most 1), centred.
  void fit(Vec2 canvas_min, Vec2 canvas_max, Vec2 screen_min, Vec2 screen_max);

 private:
  Vec2 offset_{0, 0};
  double zoom_ = 1.0;
};

// ---- node geometry (canvas units) ----------------------------------------------------------------

inline constexpr double kNodeWidth = 180;
inline constexpr double kNodeHeight = 64;
inline constexpr double kNodeHeaderHeight = 22;  // the status-coloured title strip
inline constexpr double kPortRadius = 7;

// Edges leave a node's output port (right side, middle) and enter the input port (left side).
inline Vec2 input_port(Vec2 node_position) { return {node_position.x, node_position.y + kNodeHeight / 2}; }
inline Vec2 output_port(Vec2 node_position) {
  return {node_position.x + kNodeWidth, node_position.y + kNodeHeight / 2};
}

// The cubic bezier of an edge from an output port to an input port: p0, c1, c2, p3. The
// control points stick out horizontally so an edge leaves and enters its ports sideways, also
// when the target is left of the source.
std::array<Vec2, 4> edge_curve(Vec2 from_port, Vec2 to_port);
Vec2 bezier_point(const std::array<Vec2, 4>& curve, double t);
// Shortest distance from `point` to the curve, measured on `segments` straight pieces.
double distance_to_curve(const std::array<Vec2, 4>& curve, Vec2 point, int segments = 24);

// ---- hit testing -------------------------------------------------------------------------------

// A node as drawn: its id and the position shown (the optimistic one while dragged).
struct NodeBox {
  std::string id;
  Vec2 position;
};
// An edge as drawn: its id and the positions of its two endpoints' nodes.
struct EdgeLine {
  std::string id;
  Vec2 from_node;
  Vec2 to_node;
};

enum class HitKind {
  None,        // empty canvas
  OutputPort,  // where a connection starts
  InputPort,   // where a connection ends
  Node,        // the node's body
  Edge,        // near an edge's curve
};
struct Hit {
  HitKind kind = HitKind::None;
  std::string id;  // node id or edge id
  bool operator==(const Hit&) const = default;
};

// What is under `point` (canvas units). Nodes later in `nodes` are drawn on top and win;
// ports beat bodies; an edge counts within `edge_tolerance` canvas units of its curve (pass a
// screen tolerance divided by the zoom). Ports are a little larger than drawn, so they are
// easy to grab.
Hit hit_test(const std::vector<NodeBox>& nodes, const std::vector<EdgeLine>& edges, Vec2 point,
             double edge_tolerance);

// The rectangle around every box (canvas units); nullopt for no nodes. For Viewport::fit.
std::optional<std::pair<Vec2, Vec2>> bounds_of(const std::vector<NodeBox>& nodes);

// ---- NodeMoves -----------------------------------------------------------------------------------

// A position update due to go to the server.
struct PositionUpdate {
  std::string node;
  Vec2 position;
  bool operator==(const PositionUpdate&) const = default;
};

// Optimistic node positions while they are dragged, and the throttle of the updates that tell
// the server. One drag at a time (there is one mouse; the script uses the same path).
//
// Life of a drag: begin() -> move() ... (take_due() each frame sends at most one update per
// interval) -> end() returns the final position to send. Every update sent is counted in
// flight until answered (answered(): ack or error). The local position is shown while the
// drag lasts and until every update sent for the node is answered; then it is forgotten and
// the replica's position — the server's order of everyone's edits, our own included, since
// the server sends the event before the ack — is shown again. So a concurrent move by someone
// else that the server applied after ours wins everywhere, and a refused move snaps back.
class NodeMoves {
 public:
  // 66 ms: ~15 updates per second, smooth for watchers at a fraction of the 60 frames drawn.
  explicit NodeMoves(tandem::Millis interval = tandem::Millis{66}) : interval_(interval) {}

  // Starts a drag of `node`. A drag still in progress (a scripted drag while the mouse drags,
  // or the other way round) is ended first: its final update, counted in flight, is returned
  // and must be sent like end()'s (dropped, it would never be answered and the node would
  // show its local position for good).
  [[nodiscard]] std::optional<PositionUpdate> begin(const std::string& node, Vec2 position);
  void move(Vec2 position);  // the dragged node's new local position
  // The update to send now, if the drag moved since the last one and the interval has passed
  // (the first move of a drag goes at once). Counts it in flight.
  std::optional<PositionUpdate> take_due(tandem::Millis now);
  // Ends the drag; returns the final position when it differs from the last one sent.
  std::optional<PositionUpdate> end();
  // An update for `node` was answered (ack or error).
  void answered(const std::string& node);
  // The node is gone (deleted): forget its local position.
  void forget(const std::string& node);

  const std::optional<std::string>& dragging() const { return dragged_; }
  // The position to show instead of the replica's, while there is one.
  std::optional<Vec2> shown(const std::string& node) const;
  int in_flight() const;  // updates sent and not yet answered, all nodes

 private:
  struct Local {
    Vec2 position;
    std::optional<Vec2> last_sent;
    int in_flight = 0;
  };
  void drop_if_settled(const std::string& node);

  tandem::Millis interval_;
  std::optional<std::string> dragged_;
  std::optional<tandem::Millis> last_send_at_;
  std::map<std::string, Local> local_;
};

}  // namespace canvas
