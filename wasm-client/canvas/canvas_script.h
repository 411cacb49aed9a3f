// wasm-client/canvas/canvas_script.h — the canvas's scripted mode (--script / --script-file):
// a sequence of edits and waits performed one step at a time from the frame loop, for tests
// and demos. The parser is pure; the runner drives a ScriptHost (GraphEditor's side in the app,
// a fake in tests/unit/canvas/canvas_script_test.cpp).
//
// Text: steps separated by ';' or new lines; '#' starts a comment to the end of the line.
//   wait-joined                  until the room is joined and its document received
//   wait-node ID                 until node ID is in the document
//   wait-pos ID X Y              until the replica shows node ID at X,Y (the server's order settled)
//   wait-locked ID               until someone else holds the lock on node ID
//   wait-lock-held ID            until our lock on node ID is granted
//   wait-takeover ID             until someone asks us for our lock on node ID
//   wait-frames N                N frames
//   wait-file PATH               until PATH exists (desktop; lets a test hold a step until it
//                                has checked the state before it)
//   drag ID X Y                  drags node ID to X,Y (canvas units, its top-left) over 10 frames,
//                                the way the mouse does (throttled updates, a final one on release)
//   create ID TYPE X Y [LABEL]   a node (LABEL: the rest of the step, may hold spaces)
//   delete ID                    a node (and its edges)
//   connect FROM TO [EDGE]       an edge FROM -> TO (EDGE defaults to e-FROM-TO)
//   disconnect EDGE              an edge
//   select ID                    selects a node (shared as presence)
//   cursor X Y                   puts our cursor at X,Y (canvas units; shared as presence)
//   lock ID | unlock ID          takes / releases the lock on node ID (renewed while held)
//   label ID TEXT                sets node ID's label (with our fence when we hold its lock)
//   takeover ID                  asks the holder of node ID's lock to hand it over
//   hand-over ID                 releases our lock on node ID to whoever asked
//   zoom F                       sets the view's zoom to F (clamped), the canvas origin kept in place
//   fit                          zooms and pans so the whole graph is in view (the Home key)
//   screenshot PATH              saves this frame as PNG (desktop)
//   exit                         ends the app (exit code 0), saving --screenshot if given
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "graph_view.h"
#include "tandem/result.h"

namespace canvas {

enum class StepKind {
  WaitJoined, WaitNode, WaitPosition, WaitLocked, WaitLockHeld, WaitTakeover, WaitFrames, WaitFile,
  Drag, Create, Delete, Connect, Disconnect, Select, Cursor, Lock, Unlock, Label, Takeover, HandOver,
  Zoom, Fit, Screenshot, Exit,
};

struct ScriptStep {
  StepKind kind = StepKind::Exit;
  std::vector<std::string> words;  // the step's arguments as written (ids, type, ...)
  Vec2 point;                      // X Y where the step has them
  int count = 0;                   // wait-frames
  double factor = 1;               // zoom
  std::string text;                // create's label, label's text, screenshot's path
  std::string source;              // the step as written, for logs
};

// Parses a script; the Error (code "script") names the bad step and why.
tandem::Result<std::vector<ScriptStep>> parse_script(const std::string& text);

// What the runner asks of the app.
class ScriptHost {
 public:
  virtual ~ScriptHost() = default;
  virtual bool joined() const = 0;
  virtual bool has_node(const std::string& id) const = 0;
  virtual std::optional<Vec2> replica_position(const std::string& id) const = 0;  // the server's
  virtual std::optional<Vec2> shown_position(const std::string& id) const = 0;    // optimistic
  virtual bool locked_by_other(const std::string& id) const = 0;
  virtual bool lock_held(const std::string& id) const = 0;
  virtual bool takeover_asked(const std::string& id) const = 0;
  virtual bool file_exists(const std::string& path) const = 0;

  virtual void begin_drag(const std::string& id, Vec2 at) = 0;
  virtual void drag_to(Vec2 at) = 0;
  virtual void end_drag() = 0;
  virtual void create(const std::string& id, const std::string& type, const std::string& label, Vec2 at) = 0;
  virtual void remove(const std::string& id) = 0;
  virtual void connect(const std::string& from, const std::string& to, const std::string& edge) = 0;
  virtual void disconnect(const std::string& edge) = 0;
  virtual void select(const std::string& id) = 0;
  virtual void cursor(Vec2 at) = 0;
  virtual void lock(const std::string& id) = 0;
  virtual void unlock(const std::string& id) = 0;
  virtual void label(const std::string& id, const std::string& text) = 0;
  virtual void takeover(const std::string& id) = 0;
  virtual void zoom(double factor) = 0;
  virtual void fit() = 0;
  virtual bool screenshot(const std::string& path) = 0;  // false: could not save
};

enum class ScriptStatus {
  Running,  // more steps (or a wait) to go
  Done,     // every step performed
  Exit,     // an `exit` step: the app should end now
  Failed,   // a step could not run (e.g. drag of an unknown node); see failure()
};

class ScriptRunner {
 public:
  static constexpr int kDragFrames = 10;  // a scripted drag moves over this many frames

  explicit ScriptRunner(std::vector<ScriptStep> steps) : steps_(std::move(steps)) {}

  // Runs steps until one waits (at most one step that acts per frame, so each is drawn).
  // `log` gets one line per finished step ("script: 3/7 drag n1 400 300").
  ScriptStatus advance(ScriptHost& host, const std::function<void(const std::string&)>& log);

  std::size_t step() const { return next_; }  // index of the step running (== size() when done)
  std::size_t size() const { return steps_.size(); }
  const std::string& failure() const { return failure_; }

 private:
  std::vector<ScriptStep> steps_;
  std::size_t next_ = 0;
  int frames_in_step_ = 0;    // frames spent on the current step
  Vec2 drag_from_;
  std::string failure_;
  bool failed_ = false;
};

}  // namespace canvas
