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
         "                     [--screenshot out.png]\n";
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
    } else if (flag == "--screenshot") {
      options.screenshot_path = value;
    } else if (flag == "--width" || flag == "--height") {
      int& target = flag == "--width" ? options.width : options.height;
      if (!parse_count(value, kMaxWindowPixels, target) || target == 0) {
        return usage_error(std::string(flag) + " must be 1.." + std::to_string(kMaxWindowPixels));
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
  return options;
}

}  // namespace canvas
