// wasm-client/canvas/graph_canvas.cpp — draws the workflow graph and turns mouse and keyboard
// input into GraphEditor calls (graph_canvas.h). Geometry and hit testing are graph_view's.
#include "graph_canvas.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "canvas_colours.h"
#include "imgui.h"

namespace canvas {
namespace {

namespace protocol = tandem::protocol;

const ImU32 kBackground = IM_COL32(23, 25, 30, 255);
const ImU32 kGridMinor = IM_COL32(40, 43, 50, 255);
const ImU32 kGridMajor = IM_COL32(52, 56, 66, 255);
const ImU32 kNodeBody = IM_COL32(44, 48, 58, 245);
const ImU32 kNodeBorder = IM_COL32(90, 96, 110, 255);
const ImU32 kSelected = IM_COL32(240, 240, 250, 255);
const ImU32 kText = IM_COL32(230, 232, 238, 255);
const ImU32 kTextDim = IM_COL32(160, 165, 178, 255);
const ImU32 kEdge = IM_COL32(150, 160, 185, 255);
const ImU32 kPort = IM_COL32(170, 178, 196, 255);

constexpr double kGridStep = 32;       // canvas units between minor lines; every 4th is major
constexpr float kMinGridPixels = 8;    // finer than this and the grid is noise: skip lines
constexpr float kMinTextZoom = 0.6f;   // below this zoom, text is unreadable (< 8 px): skip it
constexpr float kEdgeGrabPixels = 6;   // how close to an edge a click selects it
constexpr double kWheelZoomStep = 1.1;

ImVec2 im(Vec2 v) { return {static_cast<float>(v.x), static_cast<float>(v.y)}; }
Vec2 vec(ImVec2 v) { return {v.x, v.y}; }

// True when the screen rectangle [a, b] (any corner order) overlaps the visible area, with a
// margin for lock badges and labels. Off-screen nodes and edges are not drawn: measured with 500
// nodes and 1,000 edges under software GL, drawing them all cost most of a frame at zoom 1.
bool on_screen(ImVec2 a, ImVec2 b, ImVec2 top_left, ImVec2 size) {
  constexpr float kMargin = 40;
  return std::max(a.x, b.x) >= top_left.x - kMargin && std::min(a.x, b.x) <= top_left.x + size.x + kMargin &&
         std::max(a.y, b.y) >= top_left.y - kMargin && std::min(a.y, b.y) <= top_left.y + size.y + kMargin;
}

// Scaled text clipped to `clip`; nothing when zoomed too far out to read.
void draw_text(ImDrawList* draw, float zoom, ImVec2 at, ImU32 colour, const std::string& text, const ImVec4& clip) {
  if (zoom < kMinTextZoom || text.empty()) return;
  draw->AddText(ImGui::GetFont(), ImGui::GetFontSize() * zoom, at, colour, text.data(), text.data() + text.size(),
                0.0f, &clip);
}

void draw_grid(ImDrawList* draw, const Viewport& viewport, ImVec2 top_left, ImVec2 size) {
  const float step = static_cast<float>(kGridStep * viewport.zoom());
  if (step < kMinGridPixels) return;
  const Vec2 origin = viewport.offset();
  const auto first_line = [&](double offset, float start) {
    const double n = std::floor((start - offset) / step);
    return static_cast<long long>(n);
  };
  for (long long i = first_line(origin.x, top_left.x);; ++i) {
    const float x = static_cast<float>(origin.x + static_cast<double>(i) * step);
    if (x > top_left.x + size.x) break;
    draw->AddLine({x, top_left.y}, {x, top_left.y + size.y}, i % 4 == 0 ? kGridMajor : kGridMinor);
  }
  for (long long i = first_line(origin.y, top_left.y);; ++i) {
    const float y = static_cast<float>(origin.y + static_cast<double>(i) * step);
    if (y > top_left.y + size.y) break;
    draw->AddLine({top_left.x, y}, {top_left.x + size.x, y}, i % 4 == 0 ? kGridMajor : kGridMinor);
  }
}

void draw_curve(ImDrawList* draw, const Viewport& viewport, Vec2 from_port, Vec2 to_port, ImU32 colour, float width) {
  const auto c = edge_curve(from_port, to_port);
  draw->AddBezierCubic(im(viewport.to_screen(c[0])), im(viewport.to_screen(c[1])), im(viewport.to_screen(c[2])),
                       im(viewport.to_screen(c[3])), colour, width);
}

// The running executions' current nodes and their progress (-1: none given), from the latest
// execution_update of each run (the execution overlay).
std::map<std::string, double> running_nodes(const tandem::RoomReplica& replica) {
  std::map<std::string, double> running;
  for (const auto& [id, update] : replica.executions()) {
    if (update.status == protocol::ExecutionStatus::Running && update.node) {
      running[*update.node] = update.progress.value_or(-1.0);
    }
  }
  return running;
}

void draw_node(ImDrawList* draw, const GraphEditor& editor, const GraphCanvasState& state,
               const protocol::Node& node, Vec2 position, std::optional<double> run_progress) {
  const Viewport& viewport = state.viewport;
  const float zoom = static_cast<float>(viewport.zoom());
  const ImVec2 a = im(viewport.to_screen(position));
  const ImVec2 b = im(viewport.to_screen(position + Vec2{kNodeWidth, kNodeHeight}));
  const float header = static_cast<float>(kNodeHeaderHeight) * zoom;
  const float rounding = 5 * zoom;
  const auto* lock = editor.locked_by_other(node.id);
  const bool selected = state.selected_node == node.id;

  draw->AddRectFilled(a, b, kNodeBody, rounding);
  draw->AddRectFilled(a, {b.x, a.y + header}, status_colour(node.status), rounding, ImDrawFlags_RoundCornersTop);
  const ImU32 border = lock != nullptr ? colour_from_hex(lock->holder.color) : selected ? kSelected : kNodeBorder;
  draw->AddRect(a, b, border, rounding, 0, (lock != nullptr || selected ? 2.5f : 1.0f) * std::max(zoom, 0.5f));

  const ImVec4 clip{a.x + 2, a.y, b.x - 2, b.y};
  const float pad = 8 * zoom;
  const std::string& title = node.label.empty() ? node.id : node.label;
  draw_text(draw, zoom, {a.x + pad, a.y + 3 * zoom}, kText, title, clip);
  draw_text(draw, zoom, {a.x + pad, a.y + header + 6 * zoom}, kTextDim, node.type, clip);
  draw_text(draw, zoom, {a.x + pad, a.y + header + 6 * zoom + ImGui::GetFontSize() * zoom}, kTextDim,
            std::string(protocol::to_string(node.status)), clip);

  if (run_progress) {  // a run is at this node: a ring in the running colour and its progress
    const ImU32 running = status_colour(protocol::NodeStatus::Running);
    draw->AddRect({a.x - 3, a.y - 3}, {b.x + 3, b.y + 3}, running, rounding + 3, 0, 2);
    if (*run_progress >= 0) {
      const float fraction = static_cast<float>(std::clamp(*run_progress, 0.0, 1.0));
      const float bar = std::max(3.0f * zoom, 2.0f);
      draw->AddRectFilled({a.x + 1, b.y - bar - 1}, {b.x - 1, b.y - 1}, IM_COL32(30, 32, 38, 255));
      draw->AddRectFilled({a.x + 1, b.y - bar - 1}, {a.x + 1 + (b.x - a.x - 2) * fraction, b.y - 1}, running);
    }
  }

  const float port = static_cast<float>(kPortRadius) * zoom;
  draw->AddCircleFilled(im(viewport.to_screen(input_port(position))), port, kPort);
  draw->AddCircleFilled(im(viewport.to_screen(output_port(position))), port, kPort);

  if (lock != nullptr) {  // the badge above the box: "locked: Ana" in Ana's colour
    const std::string badge = "locked: " + lock->holder.name;
    const float text_size = ImGui::GetFontSize() * std::max(zoom, kMinTextZoom);
    const ImVec2 extent = ImGui::GetFont()->CalcTextSizeA(text_size, 1e6f, 0.0f, badge.c_str());
    const ImVec2 badge_a{a.x, a.y - extent.y - 6};
    const ImVec2 badge_b{a.x + extent.x + 10, a.y - 2};
    draw->AddRectFilled(badge_a, badge_b, colour_from_hex(lock->holder.color), 4);
    draw->AddText(ImGui::GetFont(), text_size, {badge_a.x + 5, badge_a.y + 2}, IM_COL32(15, 15, 20, 255),
                  badge.c_str());
  }
}

// Other people's cursors: an arrow in their colour with their name beside it.
void draw_cursors(ImDrawList* draw, const GraphEditor& editor, const Viewport& viewport) {
  const auto* replica = editor.replica();
  if (replica == nullptr) return;
  for (const auto& [user_id, member] : replica->members()) {
    if (user_id == editor.self_user()) continue;
    const ImU32 colour = colour_from_hex(member.user.color);
    for (const auto& meta : member.metas) {
      if (!meta.state.cursor) continue;
      const ImVec2 p = im(viewport.to_screen({meta.state.cursor->x, meta.state.cursor->y}));
      draw->AddTriangleFilled(p, {p.x + 4, p.y + 16}, {p.x + 12, p.y + 11}, colour);
      draw->AddText({p.x + 13, p.y + 12}, colour, member.user.name.c_str());
    }
  }
}

void handle_keys(GraphEditor& editor, GraphCanvasState& state) {
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape), false)) {  // cancels what is under way
    if (state.gesture == GraphCanvasState::Gesture::Connecting) state.gesture = GraphCanvasState::Gesture::None;
    if (state.editing_node) {
      editor.unlock_node(*state.editing_node);
      state.editing_node.reset();
    }
  }
  if (ImGui::GetIO().WantTextInput) return;
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Home), false)) fit_graph(editor, state);
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Enter), false) && state.selected_node && !state.editing_node) {
    start_label_edit(editor, state, *state.selected_node);  // like a double click
    return;
  }
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Delete), false)) {
    if (state.selected_node) {
      editor.delete_node(*state.selected_node);
      state.selected_node.reset();
      editor.set_selected(std::nullopt);
    } else if (state.selected_edge) {
      editor.disconnect(*state.selected_edge);
      state.selected_edge.reset();
    }
  }
}

void handle_mouse(GraphEditor& editor, GraphCanvasState& state, const std::vector<NodeBox>& boxes,
                  const std::vector<EdgeLine>& edges, bool hovered) {
  const ImGuiIO& io = ImGui::GetIO();
  Viewport& viewport = state.viewport;
  const Vec2 mouse = viewport.to_canvas(vec(io.MousePos));
  // Our cursor is shared when it moves over the canvas (or leaves it): a resting mouse does not
  // overwrite a cursor a script placed.
  const std::optional<Vec2> mouse_canvas = hovered ? std::optional(mouse) : std::nullopt;
  if (state.share_mouse_cursor && mouse_canvas != state.mouse_canvas) editor.set_cursor(mouse_canvas);
  state.mouse_canvas = mouse_canvas;

  if (hovered && io.MouseWheel != 0.0f) viewport.zoom_at(vec(io.MousePos), std::pow(kWheelZoomStep, io.MouseWheel));
  if (hovered && ImGui::IsMouseDragging(ImGuiMouseButton_Middle)) viewport.pan_by(vec(io.MouseDelta));

  const Hit hit = hit_test(boxes, edges, mouse, kEdgeGrabPixels / viewport.zoom());
  if (hovered && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left) && hit.kind == HitKind::Node) {
    if (state.gesture == GraphCanvasState::Gesture::DraggingNode) editor.end_drag();
    state.gesture = GraphCanvasState::Gesture::None;
    start_label_edit(editor, state, hit.id);
    return;
  }
  if (hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Left)) {
    state.selected_edge.reset();
    switch (hit.kind) {
      case HitKind::OutputPort:
        state.gesture = GraphCanvasState::Gesture::Connecting;
        state.connect_from = hit.id;
        state.connect_to = mouse;
        break;
      case HitKind::InputPort:
      case HitKind::Node: {
        state.selected_node = hit.id;
        editor.set_selected(hit.id);
        const Vec2 position = editor.position(hit.id).value_or(mouse);
        state.grab_offset = position - mouse;
        state.gesture = GraphCanvasState::Gesture::DraggingNode;
        editor.begin_drag(hit.id, position);
        break;
      }
      case HitKind::Edge:
        state.selected_node.reset();
        editor.set_selected(std::nullopt);
        state.selected_edge = hit.id;
        break;
      case HitKind::None:
        state.selected_node.reset();
        editor.set_selected(std::nullopt);
        state.gesture = GraphCanvasState::Gesture::Panning;
        break;
    }
  }
  if (ImGui::IsMouseDown(ImGuiMouseButton_Left)) {
    switch (state.gesture) {
      case GraphCanvasState::Gesture::Panning: viewport.pan_by(vec(io.MouseDelta)); break;
      case GraphCanvasState::Gesture::DraggingNode: editor.drag_to(mouse + state.grab_offset); break;
      case GraphCanvasState::Gesture::Connecting: state.connect_to = mouse; break;
      case GraphCanvasState::Gesture::None: break;
    }
  }
  if (ImGui::IsMouseReleased(ImGuiMouseButton_Left)) {
    if (state.gesture == GraphCanvasState::Gesture::DraggingNode) editor.end_drag();
    if (state.gesture == GraphCanvasState::Gesture::Connecting &&
        (hit.kind == HitKind::InputPort || hit.kind == HitKind::Node) && hit.id != state.connect_from) {
      editor.connect(state.connect_from, hit.id);
    }
    state.gesture = GraphCanvasState::Gesture::None;
  }
  if (hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Right) && hit.kind == HitKind::None) {
    state.new_node_at = mouse;
    ImGui::OpenPopup("new-node");
  }
}

void draw_new_node_menu(GraphEditor& editor, GraphCanvasState& state) {
  if (!ImGui::BeginPopup("new-node")) return;
  ImGui::TextDisabled("New node");
  static constexpr const char* kTypes[] = {"http_request", "filter", "transform", "send_email", "webhook", "delay"};
  for (const char* type : kTypes) {
    if (ImGui::MenuItem(type)) editor.create_node(editor.new_node_id(), type, type, state.new_node_at);
  }
  ImGui::EndPopup();
}

void fill_label_buffer(GraphCanvasState& state, const std::string& label) {
  state.label_buffer.fill('\0');
  std::strncpy(state.label_buffer.data(), label.c_str(), state.label_buffer.size() - 1);
}

void draw_label_editor(GraphEditor& editor, GraphCanvasState& state) {
  if (!state.editing_node) return;
  const std::string node = *state.editing_node;
  const auto position = editor.position(node);
  if (!position) {  // deleted meanwhile
    editor.unlock_node(node);
    state.editing_node.reset();
    return;
  }
  const ImVec2 at = im(state.viewport.to_screen(*position + Vec2{0, kNodeHeight + 8}));
  ImGui::SetNextWindowPos(at, ImGuiCond_Always);
  bool open = true;
  ImGui::Begin("Edit label", &open, ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings);
  bool close = !open || (ImGui::IsWindowFocused(ImGuiFocusedFlags_RootAndChildWindows) &&
                         ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape), false));
  switch (editor.label_lock(node)) {
    case LabelLock::None:
    case LabelLock::Asking: ImGui::TextDisabled("taking the lock on %s...", node.c_str()); break;
    case LabelLock::Held: {
      // The label as it is now that the lock is ours (granted, or handed over after someone
      // else's edit), not as it was when the editor opened.
      if (const auto label = editor.take_label_to_edit(node)) fill_label_buffer(state, *label);
      // The field takes the keyboard once the Enter that opened the editor is up: held (its
      // key repeat, or a slow frame) into the active field, it would save the old label at once.
      if (state.focus_label && !ImGui::IsKeyDown(ImGui::GetKeyIndex(ImGuiKey_Enter))) {
        ImGui::SetKeyboardFocusHere();
        state.focus_label = false;
      }
      // AutoSelectAll: typing replaces the old label, as in a rename.
      const bool enter = ImGui::InputText("##label", state.label_buffer.data(), state.label_buffer.size(),
                                          ImGuiInputTextFlags_EnterReturnsTrue | ImGuiInputTextFlags_AutoSelectAll);
      if (enter || ImGui::Button("Save")) {
        editor.set_label(node, state.label_buffer.data());
        close = true;
      }
      ImGui::SameLine();
      if (ImGui::Button("Cancel")) close = true;
      break;
    }
    case LabelLock::Lost: {  // no Save: the fence is gone. Retry asks again (the field is then refilled)
      const auto holder = editor.lock_holder(node);
      const auto reason = editor.lock_loss(node);
      if (reason == tandem::LockLossReason::TakenOver || reason == tandem::LockLossReason::Denied) {
        ImGui::Text("%s was taken over by %s", node.c_str(), holder ? holder->name.c_str() : "someone");
      } else {
        ImGui::Text("the lock on %s was lost (%s)", node.c_str(), reason ? tandem::to_string(*reason) : "?");
      }
      if (ImGui::Button("Retry")) editor.lock_node(node);
      ImGui::SameLine();
      if (ImGui::Button("Close")) close = true;
      break;
    }
    case LabelLock::Denied: {
      const auto holder = editor.lock_holder(node);
      ImGui::Text("%s is being edited by %s", node.c_str(), holder ? holder->name.c_str() : "someone");
      if (ImGui::Button("Request takeover")) editor.request_takeover(node);
      ImGui::SameLine();
      if (ImGui::Button("Close")) close = true;
      break;
    }
  }
  ImGui::End();
  if (close) {
    editor.unlock_node(node);
    state.editing_node.reset();
  }
}

// Requests from others for a lock we hold: hand it over now, or keep editing (the server still
// moves it when the grace period ends).
void draw_takeover_requests(GraphEditor& editor, GraphCanvasState& state) {
  if (editor.takeover_requests().empty()) return;
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  ImGui::SetNextWindowPos({display.x * 0.5f, 16}, ImGuiCond_Always, {0.5f, 0});
  ImGui::Begin("Takeover requested", nullptr, ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings);
  std::optional<std::string> hand_over;
  std::optional<std::string> keep;
  for (const auto& request : editor.takeover_requests()) {
    ImGui::PushID(request.resource.c_str());
    ImGui::Text("%s asks for %s (moves in %.1f s)", request.by.name.c_str(), request.resource.c_str(),
                static_cast<double>(request.grace_ms) / 1000.0);
    if (ImGui::Button("Hand over")) hand_over = request.resource;
    ImGui::SameLine();
    if (ImGui::Button("Keep")) keep = request.resource;
    ImGui::PopID();
  }
  ImGui::End();
  if (hand_over) {
    if (state.editing_node == hand_over) state.editing_node.reset();
    editor.unlock_node(*hand_over);
  }
  if (keep) editor.dismiss_takeover(*keep);
}

}  // namespace

void fit_graph(const GraphEditor& editor, GraphCanvasState& state) {
  const auto bounds = bounds_of(editor.node_boxes());
  if (!bounds) return;
  // Right of the left-hand windows (Connection, Executions, Chat: x < 440) when the window is
  // wide enough, else the whole window. The People window (top right, short) is not avoided:
  // its width would cost the graph a third of the room on a laptop screen.
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  constexpr float kLeftWindows = 460;
  constexpr float kMargin = 30;
  const bool wide = display.x > kLeftWindows + 400;
  const Vec2 screen_min{wide ? kLeftWindows : kMargin, kMargin};
  const Vec2 screen_max{display.x - kMargin, display.y - kMargin};
  state.viewport.fit(bounds->first, bounds->second, screen_min, screen_max);
}

void start_label_edit(GraphEditor& editor, GraphCanvasState& state, const std::string& node) {
  if (state.editing_node && *state.editing_node != node) editor.unlock_node(*state.editing_node);
  state.editing_node = node;
  state.selected_node = node;
  editor.set_selected(node);
  state.label_buffer.fill('\0');
  if (const auto* replica = editor.replica()) {
    if (const auto* found = replica->document().node(node)) {
      std::strncpy(state.label_buffer.data(), found->label.c_str(), state.label_buffer.size() - 1);
    }
  }
  state.focus_label = true;
  if (editor.label_lock(node) != LabelLock::Held) editor.lock_node(node);
}

void draw_graph_canvas(GraphEditor& editor, GraphCanvasState& state) {
  const ImGuiIO& io = ImGui::GetIO();
  ImGui::SetNextWindowPos({0, 0});
  ImGui::SetNextWindowSize(io.DisplaySize);
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, {0, 0});
  ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 0);
  ImGui::Begin("##graph", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoBringToFrontOnFocus |
                   ImGuiWindowFlags_NoNavFocus | ImGuiWindowFlags_NoScrollWithMouse |
                   ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBackground);
  ImGui::PopStyleVar(2);

  const ImVec2 top_left = ImGui::GetCursorScreenPos();
  const ImVec2 size = ImGui::GetContentRegionAvail();
  ImGui::InvisibleButton("graph-area", {std::max(size.x, 1.0f), std::max(size.y, 1.0f)},
                         ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight |
                             ImGuiButtonFlags_MouseButtonMiddle);
  const bool hovered = ImGui::IsItemHovered();

  const std::vector<NodeBox> boxes = editor.node_boxes();
  const std::vector<EdgeLine> edges = editor.edge_lines();
  // Someone deleted the node we drag or connect from: the gesture ends (the server would refuse
  // its updates as not_found).
  const auto exists = [&](const std::string& id) {
    return std::any_of(boxes.begin(), boxes.end(), [&](const NodeBox& box) { return box.id == id; });
  };
  if (state.gesture == GraphCanvasState::Gesture::DraggingNode && editor.dragging() && !exists(*editor.dragging())) {
    editor.cancel_drag();
    state.gesture = GraphCanvasState::Gesture::None;
  }
  if (state.gesture == GraphCanvasState::Gesture::Connecting && !exists(state.connect_from)) {
    state.gesture = GraphCanvasState::Gesture::None;
  }
  if (state.selected_node && !exists(*state.selected_node)) {
    state.selected_node.reset();
    editor.set_selected(std::nullopt);
  }
  handle_mouse(editor, state, boxes, edges, hovered);
  if (hovered || ImGui::IsWindowFocused()) handle_keys(editor, state);
  draw_new_node_menu(editor, state);

  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddRectFilled(top_left, {top_left.x + size.x, top_left.y + size.y}, kBackground);
  draw_grid(draw, state.viewport, top_left, size);

  const float edge_width = 2.0f * std::max(static_cast<float>(state.viewport.zoom()), 0.5f);
  for (const auto& edge : edges) {
    // The curve lies within the bounding box of its four points (a bezier's convex hull).
    const auto curve = edge_curve(output_port(edge.from_node), input_port(edge.to_node));
    ImVec2 low = im(state.viewport.to_screen(curve[0]));
    ImVec2 high = low;
    for (const auto& point : curve) {
      const ImVec2 p = im(state.viewport.to_screen(point));
      low = {std::min(low.x, p.x), std::min(low.y, p.y)};
      high = {std::max(high.x, p.x), std::max(high.y, p.y)};
    }
    if (!on_screen(low, high, top_left, size)) continue;
    const bool selected = state.selected_edge == edge.id;
    draw_curve(draw, state.viewport, output_port(edge.from_node), input_port(edge.to_node),
               selected ? kSelected : kEdge, selected ? edge_width * 1.8f : edge_width);
  }
  if (state.gesture == GraphCanvasState::Gesture::Connecting) {
    if (const auto from = editor.position(state.connect_from)) {
      draw_curve(draw, state.viewport, output_port(*from), state.connect_to, kSelected, edge_width);
    }
  }
  if (const auto* replica = editor.replica()) {
    const auto& nodes = replica->document().nodes();
    const auto running = running_nodes(*replica);
    for (std::size_t i = 0; i < nodes.size() && i < boxes.size(); ++i) {
      const Vec2 corner = boxes[i].position;
      if (!on_screen(im(state.viewport.to_screen(corner)),
                     im(state.viewport.to_screen(corner + Vec2{kNodeWidth, kNodeHeight})), top_left, size)) {
        continue;
      }
      const auto run = running.find(nodes[i].id);
      draw_node(draw, editor, state, nodes[i], boxes[i].position,
                run == running.end() ? std::nullopt : std::optional(run->second));
    }
  }
  draw_cursors(draw, editor, state.viewport);
  ImGui::End();

  draw_label_editor(editor, state);
  draw_takeover_requests(editor, state);
}

}  // namespace canvas
