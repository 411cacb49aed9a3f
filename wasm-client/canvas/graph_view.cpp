// wasm-client/canvas/graph_view.cpp — the canvas view model's geometry, hit testing and drag
// throttle (graph_view.h).
#include "graph_view.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace canvas {

void Viewport::zoom_at(Vec2 screen_point, double factor) {
  const Vec2 anchor = to_canvas(screen_point);
  zoom_ = std::clamp(zoom_ * factor, kMinZoom, kMaxZoom);
  offset_ = screen_point - anchor * zoom_;  // the anchor stays under screen_point
}

void Viewport::fit(Vec2 canvas_min, Vec2 canvas_max, Vec2 screen_min, Vec2 screen_max) {
  const Vec2 canvas_size = canvas_max - canvas_min;
  const Vec2 screen_size = screen_max - screen_min;
  double zoom = 1.0;  // never blow a small graph up past its natural size
  if (canvas_size.x > 0) zoom = std::min(zoom, screen_size.x / canvas_size.x);
  if (canvas_size.y > 0) zoom = std::min(zoom, screen_size.y / canvas_size.y);
  zoom_ = std::clamp(zoom, kMinZoom, kMaxZoom);
  const Vec2 canvas_centre = (canvas_min + canvas_max) * 0.5;
  const Vec2 screen_centre = (screen_min + screen_max) * 0.5;
  offset_ = screen_centre - canvas_centre * zoom_;
}

std::optional<std::pair<Vec2, Vec2>> bounds_of(const std::vector<NodeBox>& nodes) {
  if (nodes.empty()) return std::nullopt;
  Vec2 low = nodes.front().position;
  Vec2 high = low;
  for (const auto& node : nodes) {
    low = {std::min(low.x, node.position.x), std::min(low.y, node.position.y)};
    high = {std::max(high.x, node.position.x + kNodeWidth), std::max(high.y, node.position.y + kNodeHeight)};
  }
  return std::pair{low, high};
}

std::array<Vec2, 4> edge_curve(Vec2 from_port, Vec2 to_port) {
  // Half the horizontal distance, at least 50 units, so short and backward edges still bow.
  constexpr double kMinHandle = 50;
  const double handle = std::max(kMinHandle, std::abs(to_port.x - from_port.x) * 0.5);
  return {from_port, Vec2{from_port.x + handle, from_port.y}, Vec2{to_port.x - handle, to_port.y},
          to_port};
}

Vec2 bezier_point(const std::array<Vec2, 4>& c, double t) {
  const double u = 1 - t;
  return c[0] * (u * u * u) + c[1] * (3 * u * u * t) + c[2] * (3 * u * t * t) + c[3] * (t * t * t);
}

namespace {

double distance_to_segment(Vec2 a, Vec2 b, Vec2 p) {
  const Vec2 ab = b - a;
  const double length_squared = ab.x * ab.x + ab.y * ab.y;
  double t = 0;
  if (length_squared > 0) t = std::clamp(((p.x - a.x) * ab.x + (p.y - a.y) * ab.y) / length_squared, 0.0, 1.0);
  const Vec2 d = p - (a + ab * t);
  return std::sqrt(d.x * d.x + d.y * d.y);
}

double distance(Vec2 a, Vec2 b) { return std::hypot(a.x - b.x, a.y - b.y); }

bool inside_box(Vec2 node, Vec2 p) {
  return p.x >= node.x && p.x <= node.x + kNodeWidth && p.y >= node.y && p.y <= node.y + kNodeHeight;
}

}  // namespace

double distance_to_curve(const std::array<Vec2, 4>& curve, Vec2 point, int segments) {
  double best = std::numeric_limits<double>::infinity();
  Vec2 previous = curve[0];
  for (int i = 1; i <= segments; ++i) {
    const Vec2 next = bezier_point(curve, static_cast<double>(i) / segments);
    best = std::min(best, distance_to_segment(previous, next, point));
    previous = next;
  }
  return best;
}

Hit hit_test(const std::vector<NodeBox>& nodes, const std::vector<EdgeLine>& edges, Vec2 point,
             double edge_tolerance) {
  constexpr double kPortGrabRadius = kPortRadius * 1.6;
  for (auto node = nodes.rbegin(); node != nodes.rend(); ++node) {  // topmost first
    if (distance(output_port(node->position), point) <= kPortGrabRadius) return {HitKind::OutputPort, node->id};
    if (distance(input_port(node->position), point) <= kPortGrabRadius) return {HitKind::InputPort, node->id};
  }
  for (auto node = nodes.rbegin(); node != nodes.rend(); ++node) {
    if (inside_box(node->position, point)) return {HitKind::Node, node->id};
  }
  const EdgeLine* nearest = nullptr;
  double nearest_distance = edge_tolerance;
  for (const auto& edge : edges) {
    const double d = distance_to_curve(edge_curve(output_port(edge.from_node), input_port(edge.to_node)), point);
    if (d <= nearest_distance) {
      nearest = &edge;
      nearest_distance = d;
    }
  }
  if (nearest != nullptr) return {HitKind::Edge, nearest->id};
  return {};
}

// ---- NodeMoves ----

std::optional<PositionUpdate> NodeMoves::begin(const std::string& node, Vec2 position) {
  auto ended = end();  // a drag still in progress: its final update goes back to the caller
  dragged_ = node;
  last_send_at_.reset();
  Local& local = local_[node];
  local.position = position;
  if (local.in_flight == 0) local.last_sent = position;  // where the server has it: no update needed
  return ended;
}

void NodeMoves::move(Vec2 position) {
  if (dragged_) local_[*dragged_].position = position;
}

std::optional<PositionUpdate> NodeMoves::take_due(tandem::Millis now) {
  if (!dragged_) return std::nullopt;
  Local& local = local_[*dragged_];
  if (local.last_sent == local.position) return std::nullopt;
  if (last_send_at_ && now - *last_send_at_ < interval_) return std::nullopt;
  last_send_at_ = now;
  local.last_sent = local.position;
  ++local.in_flight;
  return PositionUpdate{*dragged_, local.position};
}

std::optional<PositionUpdate> NodeMoves::end() {
  if (!dragged_) return std::nullopt;
  const std::string node = *dragged_;
  dragged_.reset();
  Local& local = local_[node];
  std::optional<PositionUpdate> final_update;
  if (local.last_sent != local.position) {
    local.last_sent = local.position;
    ++local.in_flight;
    final_update = PositionUpdate{node, local.position};
  }
  drop_if_settled(node);
  return final_update;
}

void NodeMoves::answered(const std::string& node) {
  const auto found = local_.find(node);
  if (found == local_.end() || found->second.in_flight == 0) return;
  --found->second.in_flight;
  drop_if_settled(node);
}

void NodeMoves::forget(const std::string& node) {
  if (dragged_ == node) dragged_.reset();
  local_.erase(node);
}

std::optional<Vec2> NodeMoves::shown(const std::string& node) const {
  const auto found = local_.find(node);
  if (found == local_.end()) return std::nullopt;
  return found->second.position;
}

int NodeMoves::in_flight() const {
  int total = 0;
  for (const auto& [id, local] : local_) total += local.in_flight;
  return total;
}

void NodeMoves::drop_if_settled(const std::string& node) {
  const auto found = local_.find(node);
  if (found != local_.end() && dragged_ != node && found->second.in_flight == 0) local_.erase(found);
}

}  // namespace canvas
