// graph_view_test.cpp — the canvas view model: canvas <-> screen transforms, zoom about the
// mouse, edge curves, hit testing, and NodeMoves (optimistic drag, throttle, reconciliation).
#include "graph_view.h"

#include <gtest/gtest.h>

namespace canvas {
namespace {

using tandem::Millis;

TEST(viewport_test, transforms_round_trip_after_pan_and_zoom) {
  Viewport viewport;
  viewport.pan_by({100, 50});
  viewport.zoom_at({300, 200}, 2.0);
  const Vec2 canvas_point{12.5, -40};
  const Vec2 back = viewport.to_canvas(viewport.to_screen(canvas_point));
  EXPECT_NEAR(back.x, canvas_point.x, 1e-9);
  EXPECT_NEAR(back.y, canvas_point.y, 1e-9);
  EXPECT_EQ(viewport.to_screen({0, 0}), (Vec2{100 - 200, 50 - 150}));  // origin moved away from the mouse
}

TEST(viewport_test, zoom_keeps_the_point_under_the_mouse) {
  Viewport viewport;
  viewport.pan_by({30, 30});
  const Vec2 mouse{400, 300};
  const Vec2 before = viewport.to_canvas(mouse);
  viewport.zoom_at(mouse, 1.1);
  viewport.zoom_at(mouse, 1.1);
  const Vec2 after = viewport.to_canvas(mouse);
  EXPECT_NEAR(after.x, before.x, 1e-9);
  EXPECT_NEAR(after.y, before.y, 1e-9);
  EXPECT_NEAR(viewport.zoom(), 1.21, 1e-9);
}

TEST(viewport_test, zoom_is_clamped) {
  Viewport viewport;
  viewport.zoom_at({0, 0}, 1000);
  EXPECT_EQ(viewport.zoom(), Viewport::kMaxZoom);
  viewport.zoom_at({0, 0}, 1e-6);
  EXPECT_EQ(viewport.zoom(), Viewport::kMinZoom);
}

TEST(viewport_test, pan_moves_by_screen_pixels) {
  Viewport viewport;
  viewport.zoom_at({0, 0}, 2);
  viewport.pan_by({10, -4});
  EXPECT_EQ(viewport.to_canvas({10, -4}), (Vec2{0, 0}));
}

TEST(viewport_test, fit_shows_the_whole_rectangle_centred_and_never_enlarges) {
  Viewport viewport;
  viewport.fit({0, 0}, {2000, 1000}, {100, 100}, {1100, 700});  // 1000 x 600 screen
  EXPECT_DOUBLE_EQ(viewport.zoom(), 0.5);                       // the width decides
  EXPECT_EQ(viewport.to_screen({1000, 500}), (Vec2{600, 400}));  // centre on centre
  viewport.fit({10, 10}, {110, 60}, {0, 0}, {800, 600});
  EXPECT_DOUBLE_EQ(viewport.zoom(), 1.0);  // small graphs stay at natural size
  viewport.fit({0, 0}, {1e6, 1e6}, {0, 0}, {800, 600});
  EXPECT_DOUBLE_EQ(viewport.zoom(), Viewport::kMinZoom);
}

TEST(viewport_test, bounds_cover_every_box) {
  EXPECT_EQ(bounds_of({}), std::nullopt);
  const auto bounds = bounds_of({{"a", {-10, 5}}, {"b", {300, -20}}});
  ASSERT_TRUE(bounds);
  EXPECT_EQ(bounds->first, (Vec2{-10, -20}));
  EXPECT_EQ(bounds->second, (Vec2{300 + kNodeWidth, 5 + kNodeHeight}));
}

TEST(edge_curve_test, leaves_and_enters_ports_sideways) {
  const auto curve = edge_curve({0, 0}, {400, 100});
  EXPECT_EQ(curve[0], (Vec2{0, 0}));
  EXPECT_EQ(curve[3], (Vec2{400, 100}));
  EXPECT_EQ(curve[1].y, 0);    // horizontal tangent at the output port
  EXPECT_EQ(curve[2].y, 100);  // and at the input port
  EXPECT_GT(curve[1].x, 0);
  EXPECT_LT(curve[2].x, 400);
  EXPECT_EQ(bezier_point(curve, 0), curve[0]);
  EXPECT_EQ(bezier_point(curve, 1), curve[3]);
}

TEST(edge_curve_test, distance_is_zero_on_the_curve_and_grows_off_it) {
  const auto curve = edge_curve({0, 0}, {400, 100});
  EXPECT_NEAR(distance_to_curve(curve, bezier_point(curve, 0.5)), 0, 1.0);
  EXPECT_GT(distance_to_curve(curve, {200, 300}), 150);
}

std::vector<NodeBox> two_nodes() { return {{"a", {0, 0}}, {"b", {300, 0}}}; }

TEST(hit_test_test, finds_ports_bodies_and_empty_canvas) {
  const auto nodes = two_nodes();
  EXPECT_EQ(hit_test(nodes, {}, output_port({0, 0}), 6), (Hit{HitKind::OutputPort, "a"}));
  EXPECT_EQ(hit_test(nodes, {}, input_port({300, 0}), 6), (Hit{HitKind::InputPort, "b"}));
  EXPECT_EQ(hit_test(nodes, {}, {90, 40}, 6), (Hit{HitKind::Node, "a"}));
  EXPECT_EQ(hit_test(nodes, {}, {250, 300}, 6), Hit{});
}

TEST(hit_test_test, the_node_drawn_last_wins_where_boxes_overlap) {
  const std::vector<NodeBox> nodes{{"under", {0, 0}}, {"over", {50, 10}}};
  EXPECT_EQ(hit_test(nodes, {}, {100, 40}, 6).id, "over");
  EXPECT_EQ(hit_test(nodes, {}, {20, 5}, 6).id, "under");
}

TEST(hit_test_test, an_edge_is_hit_within_the_tolerance_only) {
  const auto nodes = two_nodes();
  const std::vector<EdgeLine> edges{{"e1", {0, 0}, {300, 0}}};
  const auto curve = edge_curve(output_port({0, 0}), input_port({300, 0}));
  const Vec2 middle = bezier_point(curve, 0.5);
  EXPECT_EQ(hit_test(nodes, edges, middle + Vec2{0, 3}, 6), (Hit{HitKind::Edge, "e1"}));
  EXPECT_EQ(hit_test(nodes, edges, middle + Vec2{0, 30}, 6), Hit{});
}

TEST(node_moves_test, the_first_move_goes_at_once_then_one_per_interval) {
  NodeMoves moves(Millis{66});
  ASSERT_EQ(moves.begin("n1", {0, 0}), std::nullopt);
  moves.move({10, 0});
  EXPECT_EQ(moves.take_due(Millis{1000}), (PositionUpdate{"n1", {10, 0}}));
  moves.move({20, 0});
  EXPECT_EQ(moves.take_due(Millis{1030}), std::nullopt);  // inside the interval
  moves.move({30, 0});
  EXPECT_EQ(moves.take_due(Millis{1066}), (PositionUpdate{"n1", {30, 0}}));  // the latest only
  EXPECT_EQ(moves.take_due(Millis{2000}), std::nullopt);  // nothing new
  EXPECT_EQ(moves.in_flight(), 2);
}

TEST(node_moves_test, release_sends_the_final_position_unless_already_sent) {
  NodeMoves moves;
  ASSERT_EQ(moves.begin("n1", {0, 0}), std::nullopt);
  moves.move({5, 5});
  ASSERT_TRUE(moves.take_due(Millis{0}));
  moves.move({7, 9});
  EXPECT_EQ(moves.end(), (PositionUpdate{"n1", {7, 9}}));

  ASSERT_EQ(moves.begin("n2", {0, 0}), std::nullopt);
  moves.move({1, 1});
  ASSERT_TRUE(moves.take_due(Millis{0}));
  EXPECT_EQ(moves.end(), std::nullopt);  // the last sent is the final one
}

TEST(node_moves_test, the_local_position_shows_until_every_update_is_answered) {
  NodeMoves moves;
  ASSERT_EQ(moves.begin("n1", {0, 0}), std::nullopt);
  moves.move({10, 10});
  ASSERT_TRUE(moves.take_due(Millis{0}));
  moves.move({20, 20});
  ASSERT_TRUE(moves.end());
  EXPECT_EQ(moves.shown("n1"), (Vec2{20, 20}));  // optimistic, at once
  moves.answered("n1");
  EXPECT_EQ(moves.shown("n1"), (Vec2{20, 20}));  // the final update is still unanswered
  moves.answered("n1");
  EXPECT_EQ(moves.shown("n1"), std::nullopt);  // settled: the replica's value wins
  EXPECT_EQ(moves.in_flight(), 0);
}

TEST(node_moves_test, answers_during_the_drag_keep_the_local_position) {
  NodeMoves moves;
  ASSERT_EQ(moves.begin("n1", {0, 0}), std::nullopt);
  moves.move({10, 10});
  ASSERT_TRUE(moves.take_due(Millis{0}));
  moves.answered("n1");
  EXPECT_EQ(moves.shown("n1"), (Vec2{10, 10}));  // still dragging
  EXPECT_EQ(moves.dragging(), "n1");
}

TEST(node_moves_test, a_drag_without_movement_sends_nothing) {
  NodeMoves moves;
  ASSERT_EQ(moves.begin("n1", {4, 4}), std::nullopt);
  EXPECT_EQ(moves.take_due(Millis{0}), std::nullopt);
  EXPECT_EQ(moves.end(), std::nullopt);
  EXPECT_EQ(moves.shown("n1"), std::nullopt);
}

// A drag begun while another is in progress (a scripted drag while the mouse drags) ends the
// first one: its final position comes back from begin() to be sent, so it is answered and the
// first node settles (it used to be counted in flight and dropped: stuck for good).
TEST(node_moves_test, a_drag_begun_during_another_returns_the_first_ones_final_update) {
  NodeMoves moves;
  ASSERT_EQ(moves.begin("n1", {0, 0}), std::nullopt);
  moves.move({10, 10});
  ASSERT_TRUE(moves.take_due(Millis{0}));  // sent, in flight
  moves.move({50, 50});                    // the final position, not yet sent
  EXPECT_EQ(moves.begin("n2", {300, 0}), (PositionUpdate{"n1", {50, 50}}));
  EXPECT_EQ(moves.dragging(), "n2");
  moves.answered("n1");
  moves.answered("n1");  // both updates sent for n1 are answered
  EXPECT_EQ(moves.in_flight(), 0);
  EXPECT_EQ(moves.shown("n1"), std::nullopt);
}

TEST(node_moves_test, forget_drops_a_deleted_node) {
  NodeMoves moves;
  ASSERT_EQ(moves.begin("n1", {0, 0}), std::nullopt);
  moves.move({3, 3});
  ASSERT_TRUE(moves.take_due(Millis{0}));
  moves.forget("n1");
  EXPECT_EQ(moves.shown("n1"), std::nullopt);
  EXPECT_EQ(moves.dragging(), std::nullopt);
  moves.answered("n1");  // a late answer is harmless
  EXPECT_EQ(moves.in_flight(), 0);
}

}  // namespace
}  // namespace canvas
