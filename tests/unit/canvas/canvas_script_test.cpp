// canvas_script_test.cpp — the canvas script: parsing (steps, arguments, errors) and the runner
// against a fake host (waits hold, actions run one per frame, drag spans frames, exit, failure).
#include "canvas_script.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace canvas {
namespace {

TEST(canvas_script_test, parses_steps_separated_by_semicolons_and_lines_with_comments) {
  const auto steps = parse_script("wait-joined; drag n1 400 300.5\n# a comment\ncreate n9 http_request 10 -20 Fetch orders # trailing\n\nexit");
  ASSERT_TRUE(steps) << steps.error().message;
  ASSERT_EQ(steps->size(), 4u);
  EXPECT_EQ((*steps)[0].kind, StepKind::WaitJoined);
  EXPECT_EQ((*steps)[1].kind, StepKind::Drag);
  EXPECT_EQ((*steps)[1].words[0], "n1");
  EXPECT_EQ((*steps)[1].point, (Vec2{400, 300.5}));
  EXPECT_EQ((*steps)[2].kind, StepKind::Create);
  EXPECT_EQ((*steps)[2].words[1], "http_request");
  EXPECT_EQ((*steps)[2].point, (Vec2{10, -20}));
  EXPECT_EQ((*steps)[2].text, "Fetch orders");
  EXPECT_EQ((*steps)[3].kind, StepKind::Exit);
}

TEST(canvas_script_test, label_keeps_the_rest_of_the_step_as_text) {
  const auto steps = parse_script("label n1 Fetch paid orders");
  ASSERT_TRUE(steps);
  EXPECT_EQ((*steps)[0].words[0], "n1");
  EXPECT_EQ((*steps)[0].text, "Fetch paid orders");
}

TEST(canvas_script_test, bad_steps_are_refused_with_the_step_named) {
  const struct {
    const char* text;
    const char* why;
  } cases[] = {
      {"jump n1", "unknown step"},
      {"drag n1 400", "missing arguments"},
      {"drag n1 400 300 9", "too many arguments"},
      {"drag n1 x 300", "X and Y must be numbers"},
      {"wait-frames -3", "whole number"},
      {"label n1", "missing"},
      {"zoom 0", "positive"},
  };
  for (const auto& c : cases) {
    const auto steps = parse_script(c.text);
    ASSERT_FALSE(steps) << c.text;
    EXPECT_EQ(steps.error().code, "script");
    EXPECT_NE(steps.error().message.find(c.why), std::string::npos) << steps.error().message;
    EXPECT_NE(steps.error().message.find(c.text), std::string::npos) << steps.error().message;
  }
}

TEST(canvas_script_test, an_empty_script_has_no_steps) {
  const auto steps = parse_script("  ; \n # nothing\n");
  ASSERT_TRUE(steps);
  EXPECT_TRUE(steps->empty());
}

// Records the runner's calls; the test sets what the waits see.
class FakeHost final : public ScriptHost {
 public:
  bool is_joined = false;
  std::map<std::string, Vec2> nodes;
  std::vector<std::string> calls;
  std::vector<Vec2> drag_positions;

  bool joined() const override { return is_joined; }
  bool has_node(const std::string& id) const override { return nodes.contains(id); }
  std::optional<Vec2> replica_position(const std::string& id) const override {
    const auto found = nodes.find(id);
    return found == nodes.end() ? std::nullopt : std::optional(found->second);
  }
  std::optional<Vec2> shown_position(const std::string& id) const override { return replica_position(id); }
  bool locked_by_other(const std::string&) const override { return false; }
  bool lock_held(const std::string&) const override { return false; }
  bool takeover_asked(const std::string&) const override { return false; }
  bool file_exists(const std::string& path) const override { return files.contains(path); }
  std::set<std::string> files;
  void begin_drag(const std::string& id, Vec2) override { calls.push_back("begin " + id); }
  void drag_to(Vec2 at) override { drag_positions.push_back(at); }
  void end_drag() override { calls.push_back("end"); }
  void create(const std::string& id, const std::string& type, const std::string& label, Vec2) override {
    calls.push_back("create " + id + " " + type + " " + label);
  }
  void remove(const std::string& id) override { calls.push_back("delete " + id); }
  void connect(const std::string& from, const std::string& to, const std::string& edge) override {
    calls.push_back("connect " + from + " " + to + " " + edge);
  }
  void disconnect(const std::string& edge) override { calls.push_back("disconnect " + edge); }
  void select(const std::string& id) override { calls.push_back("select " + id); }
  void cursor(Vec2) override { calls.push_back("cursor"); }
  void lock(const std::string& id) override { calls.push_back("lock " + id); }
  void unlock(const std::string& id) override { calls.push_back("unlock " + id); }
  void label(const std::string& id, const std::string& text) override { calls.push_back("label " + id + " " + text); }
  void takeover(const std::string& id) override { calls.push_back("takeover " + id); }
  void zoom(double factor) override { calls.push_back("zoom " + std::to_string(factor)); }
  void fit() override { calls.push_back("fit"); }
  bool screenshot(const std::string& path) override {
    calls.push_back("screenshot " + path);
    return true;
  }
};

ScriptRunner runner_for(const std::string& text) {
  auto steps = parse_script(text);
  EXPECT_TRUE(steps);
  return ScriptRunner(std::move(steps).value());
}

TEST(canvas_script_runner_test, waits_hold_until_their_condition_then_actions_run_one_per_frame) {
  FakeHost host;
  auto runner = runner_for("wait-joined; wait-node n1; create n2 filter 0 0 Keep paid; connect n1 n2");
  std::vector<std::string> log;
  const auto record = [&](const std::string& line) { log.push_back(line); };

  EXPECT_EQ(runner.advance(host, record), ScriptStatus::Running);
  EXPECT_EQ(runner.advance(host, record), ScriptStatus::Running);
  EXPECT_TRUE(host.calls.empty());
  host.is_joined = true;
  host.nodes["n1"] = {0, 0};
  EXPECT_EQ(runner.advance(host, record), ScriptStatus::Running);  // both waits pass, create runs
  EXPECT_EQ(host.calls, (std::vector<std::string>{"create n2 filter Keep paid"}));
  EXPECT_EQ(runner.advance(host, record), ScriptStatus::Done);
  EXPECT_EQ(host.calls.back(), "connect n1 n2 ");
  EXPECT_EQ(log.size(), 4u);
  EXPECT_EQ(log[2], "script: 3/4 create n2 filter 0 0 Keep paid");
}

TEST(canvas_script_runner_test, drag_moves_over_frames_and_releases_at_the_target) {
  FakeHost host;
  host.nodes["n1"] = {0, 0};
  auto runner = runner_for("drag n1 100 50");
  int frames = 0;
  while (runner.advance(host, {}) == ScriptStatus::Running) ++frames;
  EXPECT_EQ(frames + 1, ScriptRunner::kDragFrames);
  ASSERT_EQ(host.drag_positions.size(), static_cast<std::size_t>(ScriptRunner::kDragFrames));
  EXPECT_EQ(host.drag_positions.front(), (Vec2{10, 5}));
  EXPECT_EQ(host.drag_positions.back(), (Vec2{100, 50}));
  EXPECT_EQ(host.calls, (std::vector<std::string>{"begin n1", "end"}));
}

TEST(canvas_script_runner_test, wait_pos_waits_for_the_replica_position) {
  FakeHost host;
  host.nodes["n1"] = {0, 0};
  auto runner = runner_for("wait-pos n1 40 30");
  EXPECT_EQ(runner.advance(host, {}), ScriptStatus::Running);
  host.nodes["n1"] = {40, 30};
  EXPECT_EQ(runner.advance(host, {}), ScriptStatus::Done);
}

TEST(canvas_script_runner_test, wait_file_holds_until_the_file_exists) {
  FakeHost host;
  auto runner = runner_for("wait-file /tmp/some dir/go; select n1");
  EXPECT_EQ(runner.advance(host, {}), ScriptStatus::Running);
  EXPECT_TRUE(host.calls.empty());
  host.files.insert("/tmp/some dir/go");
  EXPECT_EQ(runner.advance(host, {}), ScriptStatus::Done);
  EXPECT_EQ(host.calls, (std::vector<std::string>{"select n1"}));
}

TEST(canvas_script_runner_test, exit_stops_and_unknown_nodes_fail) {
  FakeHost host;
  auto exiting = runner_for("wait-frames 0; exit; delete n1");
  EXPECT_EQ(exiting.advance(host, {}), ScriptStatus::Running);
  EXPECT_EQ(exiting.advance(host, {}), ScriptStatus::Exit);
  EXPECT_TRUE(host.calls.empty());

  auto failing = runner_for("drag ghost 1 1");
  EXPECT_EQ(failing.advance(host, {}), ScriptStatus::Failed);
  EXPECT_NE(failing.failure().find("no node ghost"), std::string::npos);
  EXPECT_EQ(failing.advance(host, {}), ScriptStatus::Failed);
}

}  // namespace
}  // namespace canvas
