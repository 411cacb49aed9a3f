// wasm-client/canvas/canvas_script.cpp — parses and runs canvas scripts (canvas_script.h).
#include "canvas_script.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace canvas {
namespace {

struct StepShape {
  const char* name;
  StepKind kind;
  int min_words;  // arguments required
  int max_words;  // -1: the rest is free text (create's label, label's text)
};

constexpr StepShape kShapes[] = {
    {"wait-joined", StepKind::WaitJoined, 0, 0},     {"wait-node", StepKind::WaitNode, 1, 1},
    {"wait-pos", StepKind::WaitPosition, 3, 3},      {"wait-locked", StepKind::WaitLocked, 1, 1},
    {"wait-lock-held", StepKind::WaitLockHeld, 1, 1}, {"wait-takeover", StepKind::WaitTakeover, 1, 1},
    {"wait-frames", StepKind::WaitFrames, 1, 1},     {"wait-file", StepKind::WaitFile, 1, -1},     {"drag", StepKind::Drag, 3, 3},
    {"create", StepKind::Create, 4, -1},             {"delete", StepKind::Delete, 1, 1},
    {"connect", StepKind::Connect, 2, 3},            {"disconnect", StepKind::Disconnect, 1, 1},
    {"select", StepKind::Select, 1, 1},              {"cursor", StepKind::Cursor, 2, 2},
    {"lock", StepKind::Lock, 1, 1},                  {"unlock", StepKind::Unlock, 1, 1},
    {"label", StepKind::Label, 1, -1},               {"takeover", StepKind::Takeover, 1, 1},
    {"hand-over", StepKind::HandOver, 1, 1},         {"zoom", StepKind::Zoom, 1, 1},
    {"fit", StepKind::Fit, 0, 0},         {"screenshot", StepKind::Screenshot, 1, -1},
    {"exit", StepKind::Exit, 0, 0},
};

// strtod, not from_chars: emscripten's libc++ 14 has no floating-point from_chars. The app never
// calls setlocale, so the decimal point is '.'.
bool parse_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}

tandem::Error script_error(const std::string& step, const std::string& why) {
  return {"script", "script step \"" + step + "\": " + why};
}

// One step's text (trimmed, non-empty) -> ScriptStep.
tandem::Result<ScriptStep> parse_step(const std::string& source) {
  std::istringstream in(source);
  std::string name;
  in >> name;
  const StepShape* shape = nullptr;
  for (const auto& candidate : kShapes) {
    if (name == candidate.name) shape = &candidate;
  }
  if (shape == nullptr) return script_error(source, "unknown step \"" + name + "\"");

  ScriptStep step;
  step.kind = shape->kind;
  step.source = source;
  const bool free_text = shape->max_words < 0;
  const int fixed_words = free_text ? shape->min_words : shape->max_words;
  std::string word;
  while (static_cast<int>(step.words.size()) < fixed_words && in >> word) step.words.push_back(word);
  if (free_text) {
    std::getline(in >> std::ws, step.text);
  } else if (in >> word) {
    return script_error(source, "too many arguments");
  }
  if (static_cast<int>(step.words.size()) < shape->min_words) return script_error(source, "missing arguments");
  if (step.kind == StepKind::Screenshot || step.kind == StepKind::WaitFile) {
    step.text = step.words[0] + (step.text.empty() ? "" : " " + step.text);
  }
  if (step.kind == StepKind::Label && step.text.empty()) return script_error(source, "missing the label text");

  // X Y: the last two words of wait-pos and drag, the two of cursor, words 3-4 of create.
  std::size_t xy = 0;
  bool has_xy = true;
  switch (step.kind) {
    case StepKind::WaitPosition:
    case StepKind::Drag: xy = 1; break;
    case StepKind::Cursor: xy = 0; break;
    case StepKind::Create: xy = 2; break;
    default: has_xy = false;
  }
  if (has_xy && (!parse_number(step.words[xy], step.point.x) || !parse_number(step.words[xy + 1], step.point.y))) {
    return script_error(source, "X and Y must be numbers");
  }
  if (step.kind == StepKind::Zoom && (!parse_number(step.words[0], step.factor) || step.factor <= 0)) {
    return script_error(source, "F must be a positive number");
  }
  if (step.kind == StepKind::WaitFrames) {
    const auto& n = step.words[0];
    const auto [end, error] = std::from_chars(n.data(), n.data() + n.size(), step.count);
    if (error != std::errc{} || end != n.data() + n.size() || step.count < 0) {
      return script_error(source, "N must be a whole number");
    }
  }
  return step;
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

}  // namespace

tandem::Result<std::vector<ScriptStep>> parse_script(const std::string& text) {
  std::vector<ScriptStep> steps;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream parts(line);
    std::string part;
    while (std::getline(parts, part, ';')) {
      part = trim(part);
      if (part.empty()) continue;
      auto step = parse_step(part);
      if (!step) return step.error();
      steps.push_back(std::move(step).value());
    }
  }
  return steps;
}

ScriptStatus ScriptRunner::advance(ScriptHost& host, const std::function<void(const std::string&)>& log) {
  if (failed_) return ScriptStatus::Failed;
  while (next_ < steps_.size()) {
    const ScriptStep& step = steps_[next_];
    const auto fail = [&](const std::string& why) {
      failed_ = true;
      failure_ = "script step " + std::to_string(next_ + 1) + " \"" + step.source + "\": " + why;
      return ScriptStatus::Failed;
    };
    const std::string& id = step.words.empty() ? step.text : step.words[0];
    bool done = true;
    bool acted = true;  // a step that acted ends this frame's advance, so its effect is drawn
    switch (step.kind) {
      case StepKind::WaitJoined: done = host.joined(); acted = false; break;
      case StepKind::WaitNode: done = host.has_node(id); acted = false; break;
      case StepKind::WaitPosition: {
        const auto at = host.replica_position(id);
        done = at && std::abs(at->x - step.point.x) < 1e-6 && std::abs(at->y - step.point.y) < 1e-6;
        acted = false;
        break;
      }
      case StepKind::WaitLocked: done = host.locked_by_other(id); acted = false; break;
      case StepKind::WaitLockHeld: done = host.lock_held(id); acted = false; break;
      case StepKind::WaitTakeover: done = host.takeover_asked(id); acted = false; break;
      case StepKind::WaitFrames: done = frames_in_step_ >= step.count; break;
      case StepKind::WaitFile: done = host.file_exists(step.text); acted = false; break;
      case StepKind::Drag: {
        if (frames_in_step_ == 0) {
          const auto from = host.shown_position(id);
          if (!from) return fail("no node " + id);
          drag_from_ = *from;
          host.begin_drag(id, *from);
        }
        const double t = static_cast<double>(frames_in_step_ + 1) / kDragFrames;
        host.drag_to(drag_from_ + (step.point - drag_from_) * std::min(t, 1.0));
        done = frames_in_step_ + 1 >= kDragFrames;
        if (done) host.end_drag();
        break;
      }
      case StepKind::Create: host.create(id, step.words[1], step.text, step.point); break;
      case StepKind::Delete: host.remove(id); break;
      case StepKind::Connect:
        host.connect(step.words[0], step.words[1], step.words.size() > 2 ? step.words[2] : std::string());
        break;
      case StepKind::Disconnect: host.disconnect(id); break;
      case StepKind::Select: host.select(id); break;
      case StepKind::Cursor: host.cursor(step.point); break;
      case StepKind::Lock: host.lock(id); break;
      case StepKind::Unlock:
      case StepKind::HandOver: host.unlock(id); break;
      case StepKind::Label: host.label(id, step.text); break;
      case StepKind::Takeover: host.takeover(id); break;
      case StepKind::Zoom: host.zoom(step.factor); break;
      case StepKind::Fit: host.fit(); break;
      case StepKind::Screenshot:
        if (!host.screenshot(step.text)) return fail("could not save " + step.text);
        break;
      case StepKind::Exit:
        if (log) log("script: " + std::to_string(next_ + 1) + "/" + std::to_string(steps_.size()) + " exit");
        next_ = steps_.size();
        return ScriptStatus::Exit;
    }
    if (!done) {
      ++frames_in_step_;
      return ScriptStatus::Running;
    }
    if (log) log("script: " + std::to_string(next_ + 1) + "/" + std::to_string(steps_.size()) + " " + step.source);
    ++next_;
    frames_in_step_ = 0;
    if (acted) return next_ < steps_.size() ? ScriptStatus::Running : ScriptStatus::Done;
  }
  return ScriptStatus::Done;
}

}  // namespace canvas
