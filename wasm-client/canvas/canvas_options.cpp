// wasm-client/canvas/canvas_options.cpp — parses the canvas app's flags (see canvas_options.h).
#include "canvas_options.h"

#include <charconv>
#include <string>

namespace canvas {
namespace {

tandem::Error usage_error(std::string message) { return {"usage", std::move(message)}; }

// Reads a positive-or-zero int bounded by `max`; false when the text is not exactly that.
bool parse_count(std::string_view text, int max, int& out) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < 0 || value > max) {
    return false;
  }
  out = value;
  return true;
}

// Bounds that keep a typo from asking for a 2^31-pixel window or a year-long test.
constexpr int kMaxWindowPixels = 16384;
constexpr int kMaxCount = 100'000'000;

}  // namespace

std::string_view canvas_usage() {
  return "usage: tandem-canvas [--url ws://host:port/ws] [--token JWT | --dev-name NAME]\n"
         "                     [--width N] [--height N]\n"
         "                     [--frames N] [--timeout-ms N]\n"
         "                     [--exit-after-connected-frames N | --exit-after-closed-frames N]\n"
         "                     [--screenshot out.png]\n"
         "                     [--room workflow:ID] [--script \"STEP; STEP...\" | --script-file PATH]\n"
         "                     [--state-file PATH] [--frame-stats N]\n"
         "                     [--chat-room ROOM] [--agent-room agent:ID]\n"
         "\n"
         "--room joins a workflow room and shows its graph: wheel zooms, middle drag or a drag on\n"
         "empty canvas pans, drag a node to move it, drag from a node's right port to another node\n"
         "to connect, Delete removes the selection, right click adds a node, double click (or Enter)\n"
         "edits a label (taking the node's lock), Home fits the graph in view.\n"
         "--state-file keeps a JSON dump of the room (nodes, edges, members, locks, connection).\n"
         "--chat-room picks the Chat panel's room (default: the --room's chat); --agent-room adds\n"
         "the Agent panel (streamed thinking, pause/resume/cancel, the tandem-agent command).\n"
         "Script steps, separated by ';' or new lines ('#' comments):\n"
         "  wait-joined | wait-node ID | wait-pos ID X Y | wait-locked ID | wait-lock-held ID\n"
         "  wait-takeover ID | wait-frames N | wait-file PATH\n"
         "  drag ID X Y | create ID TYPE X Y [LABEL] | delete ID | connect FROM TO [EDGE]\n"
         "  disconnect EDGE | select ID | cursor X Y | lock ID | unlock ID | label ID TEXT\n"
         "  takeover ID | hand-over ID | zoom F | fit | screenshot PATH | exit\n"
         "Each finished step prints \"script: I/N STEP\"; a failed one exits with code 1.\n";
}

tandem::Result<CanvasOptions> parse_canvas_options(int argc, const char* const* argv) {
  CanvasOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") return tandem::Error{"help", std::string(canvas_usage())};
    if (i + 1 >= argc) return usage_error(std::string(flag) + " needs a value (or is unknown)");
    const std::string_view value = argv[++i];

    if (flag == "--url") {
      if (!value.starts_with("ws://") && !value.starts_with("wss://")) {
        return usage_error("--url must start with ws:// or wss://");
      }
      options.url = value;
    } else if (flag == "--token") {
      options.token = value;
    } else if (flag == "--dev-name") {
      if (value.empty()) return usage_error("--dev-name must not be empty");
      options.dev_name = value;
    } else if (flag == "--room") {
      if (!value.starts_with("workflow:") || value.size() == 9) {
        return usage_error("--room must be a workflow room, workflow:ID");
      }
      options.room = value;
    } else if (flag == "--script") {
      options.script = value;
    } else if (flag == "--script-file") {
      options.script_file = value;
    } else if (flag == "--state-file") {
      options.state_file = value;
    } else if (flag == "--chat-room") {
      if (value.empty() || value.starts_with("user:")) {
        return usage_error("--chat-room must name a room other than a user: room");
      }
      options.chat_room = value;
    } else if (flag == "--agent-room") {
      if (!value.starts_with("agent:") || value.size() == 6) {
        return usage_error("--agent-room must be an agent room, agent:ID");
      }
      options.agent_room = value;
    } else if (flag == "--screenshot") {
      options.screenshot_path = value;
    } else if (flag == "--width" || flag == "--height") {
      int& target = flag == "--width" ? options.width : options.height;
      if (!parse_count(value, kMaxWindowPixels, target) || target == 0) {
        return usage_error(std::string(flag) + " must be 1.." + std::to_string(kMaxWindowPixels));
      }
    } else if (flag == "--frame-stats") {
      if (!parse_count(value, kMaxCount, options.frame_stats)) {
        return usage_error("--frame-stats must be a whole number 0.." + std::to_string(kMaxCount));
      }
    } else if (flag == "--frames" || flag == "--timeout-ms" ||
               flag == "--exit-after-connected-frames" || flag == "--exit-after-closed-frames") {
      const bool per_state = flag.starts_with("--exit-after-");
      int& target = flag == "--frames"       ? options.frames
                    : flag == "--timeout-ms" ? options.timeout_ms
                                             : options.exit_after_state_frames;
      if (per_state) options.exit_on_state = flag == "--exit-after-connected-frames" ? "open" : "closed";
      if (!parse_count(value, kMaxCount, target)) {
        return usage_error(std::string(flag) + " must be a whole number 0.." +
                           std::to_string(kMaxCount));
      }
    } else {
      return usage_error("unknown flag " + std::string(flag));
    }
  }
  if (!options.dev_name.empty() && !options.token.empty()) {
    return usage_error("give --token or --dev-name, not both");
  }
  if (!options.dev_name.empty() && options.url.empty()) {
    return usage_error("--dev-name needs --url (the server to ask)");
  }
  if (!options.room.empty() && options.url.empty()) return usage_error("--room needs --url");
  if ((!options.chat_room.empty() || !options.agent_room.empty()) && options.url.empty()) {
    return usage_error("--chat-room and --agent-room need --url");
  }
  if (!options.script.empty() && !options.script_file.empty()) {
    return usage_error("give --script or --script-file, not both");
  }
  return options;
}

}  // namespace canvas
