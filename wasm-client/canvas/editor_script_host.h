// wasm-client/canvas/editor_script_host.h — runs canvas scripts against the real app: the
// ScriptHost (canvas_script.h) on top of GraphEditor and the canvas's view state, so scripted
// steps take the same paths as the mouse. A `screenshot` step only records the path here;
// main() saves it once that frame is rendered.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "canvas_script.h"
#include "graph_canvas.h"
#include "graph_editor.h"

namespace canvas {

class EditorScriptHost final : public ScriptHost {
 public:
  EditorScriptHost(GraphEditor& editor, GraphCanvasState& view) : editor_(editor), view_(view) {}

  // The path a `screenshot` step asked for this frame, handed over once.
  std::optional<std::string> take_screenshot_request() { return std::exchange(screenshot_, std::nullopt); }

  bool joined() const override { return editor_.joined(); }
  bool has_node(const std::string& id) const override { return replica_position(id).has_value(); }
  std::optional<Vec2> replica_position(const std::string& id) const override {
    const auto* replica = editor_.replica();
    const auto* node = replica != nullptr ? replica->document().node(id) : nullptr;
    if (node == nullptr) return std::nullopt;
    return Vec2{node->x, node->y};
  }
  std::optional<Vec2> shown_position(const std::string& id) const override { return editor_.position(id); }
  bool locked_by_other(const std::string& id) const override { return editor_.locked_by_other(id) != nullptr; }
  bool lock_held(const std::string& id) const override { return editor_.label_lock(id) == LabelLock::Held; }
  bool takeover_asked(const std::string& id) const override {
    for (const auto& request : editor_.takeover_requests()) {
      if (request.resource == id) return true;
    }
    return false;
  }

  bool file_exists(const std::string& path) const override {
    std::error_code error;
    return std::filesystem::exists(path, error);
  }

  void begin_drag(const std::string& id, Vec2 at) override {
    view_.selected_node = id;
    editor_.set_selected(id);
    editor_.begin_drag(id, at);
  }
  void drag_to(Vec2 at) override { editor_.drag_to(at); }
  void end_drag() override { editor_.end_drag(); }
  void create(const std::string& id, const std::string& type, const std::string& label, Vec2 at) override {
    editor_.create_node(id, type, label, at);
  }
  void remove(const std::string& id) override { editor_.delete_node(id); }
  void connect(const std::string& from, const std::string& to, const std::string& edge) override {
    editor_.connect(from, to, edge);
  }
  void disconnect(const std::string& edge) override { editor_.disconnect(edge); }
  void select(const std::string& id) override {
    view_.selected_node = id;
    editor_.set_selected(id);
  }
  void cursor(Vec2 at) override {
    view_.share_mouse_cursor = false;  // the (possibly idle, off-window) mouse no longer overrides it
    editor_.set_cursor(at);
  }
  void lock(const std::string& id) override { start_label_edit(editor_, view_, id); }
  void unlock(const std::string& id) override {
    if (view_.editing_node == id) view_.editing_node.reset();
    editor_.unlock_node(id);
  }
  void label(const std::string& id, const std::string& text) override { editor_.set_label(id, text); }
  void takeover(const std::string& id) override {
    view_.editing_node = id;
    editor_.request_takeover(id);
  }
  void zoom(double factor) override {
    const Vec2 origin = view_.viewport.to_screen({0, 0});
    view_.viewport.zoom_at(origin, factor / view_.viewport.zoom());
  }
  void fit() override { fit_graph(editor_, view_); }
  bool screenshot(const std::string& path) override {
    screenshot_ = path;
    return true;
  }

 private:
  GraphEditor& editor_;
  GraphCanvasState& view_;
  std::optional<std::string> screenshot_;
};

}  // namespace canvas
