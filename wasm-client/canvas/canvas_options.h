// wasm-client/canvas/canvas_options.h — the canvas app's settings and their command line.
//
// One parser for both builds: the desktop app reads argv; the browser build gets the same flags
// from web/canvas.html through Module.arguments, so there is no second way to configure it.
//
//   --url ws://host:port/ws   server to connect to (no connection when absent)
//   --token JWT               token presented in the URL (?token=)
//   --dev-name NAME           desktop: get a token from the server's dev endpoint instead
//   --width N --height N      window / canvas size in pixels
//   --frames N                exit after N frames
//   --exit-after-connected-frames N   exit N frames after the connection first opened
//   --exit-after-closed-frames N      exit N frames after the connection first closed for good
//   --timeout-ms N            give up (exit code Timeout) if no exit condition was met by then
//   --screenshot out.png      before exiting, save the last frame as PNG (desktop only)
//   --room workflow:ID        join this workflow room and edit its graph (needs --url)
//   --script "STEPS"          run these steps (canvas_script.h lists them), e.g.
//                             "wait-joined; drag n1 400 300; exit"
//   --script-file PATH        the same, read from a file (desktop only)
//   --state-file PATH         keep PATH rewritten (atomically) with the state as JSON
//                             (state_dump.h) whenever it changes, at most every 100 ms
//   --frame-stats N           every N frames print "frame-stats: ..." (mean, p95, max time to
//                             build and draw a frame, glFinish included; frame_stats.h)
//   --chat-room ROOM          the Chat panel uses this room (default: the --room's own chat)
//   --agent-room agent:ID     the Agent panel watches this room (its stream, pause/resume/cancel)
#pragma once

#include <string>
#include <string_view>

#include "tandem/result.h"

namespace canvas {

struct CanvasOptions {
  std::string url;                       // empty: draw the window, connect nowhere
  std::string token;                     // HS256 JWT; may be empty when url already has one
  std::string dev_name;                  // non-empty: fetch a dev token for this name at start
  int width = 1280;                      // fits a 1280x800 Xvfb screen and a laptop display
  int height = 720;
  int frames = 0;                        // 0: run until the window is closed
  // Exit this many frames after the connection first reached `exit_on_state` ("open" or
  // "closed"); 0: off. A few frames let a test see that state drawn, not just reached.
  int exit_after_state_frames = 0;
  std::string exit_on_state;
  int timeout_ms = 0;                    // 0: no deadline. Tests set one so a hang fails
  std::string screenshot_path;           // empty: no screenshot
  std::string room;                      // empty: no room, only the connection panel
  std::string script;                    // script text (from --script or --script-file)
  std::string script_file;               // --script-file: read by main() (desktop)
  std::string state_file;                // empty: no state dump file
  int frame_stats = 0;                   // 0: off; N: print frame time statistics every N frames
  std::string chat_room;                 // empty: the Chat panel shows the workflow room's chat
  std::string agent_room;                // empty: no Agent panel
};

// How the process ends; tests read these.
enum class ExitCode : int {
  Ok = 0,             // window closed, or --frames / --exit-after-connected-frames reached
  StartupFailed = 1,  // no dev token, no window, no GL context, the screenshot failed, or the
                      // script failed (a bad step, an unreadable --script-file)
  Usage = 2,          // bad flags (or --help, which prints the usage and exits with Ok)
  Timeout = 3,        // --timeout-ms passed before the exit condition was met
};

// Parses argv. Fails with code "usage" (message says which flag) or "help" (--help given).
tandem::Result<CanvasOptions> parse_canvas_options(int argc, const char* const* argv);

// The flag summary printed for --help and after a usage error.
std::string_view canvas_usage();

}  // namespace canvas
