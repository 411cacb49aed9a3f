// wasm-client/canvas/main.cpp — tandem-canvas: a Dear ImGui window connected to tandem-server.
//
// One source, two builds (CMakeLists.txt): desktop (GLFW + OpenGL 3 + libwebsockets) and
// browser (Emscripten's GLFW + WebGL 2 + the browser's WebSocket). The differences main() sees
// are the transport type and who runs the loop, both in platform.h.
// Reads top to bottom: setup, state as locals, the numbered steps of one frame, cleanup.
//
// stdout carries one line per connection state change ("state: open (connected)"), per room
// event of note ("room: joined workflow:42", "edit: create n9 ok", "lock: n1 granted ...") and
// per finished script step ("script: 2/5 drag n1 400 300") — the desktop tests read it from the
// process, the browser tests from the page console.
//
// With --room the window shows the workflow graph (graph_canvas.h) edited through GraphEditor,
// the "People" sidebar and the connection panel; --script drives the same editor
// (canvas_script.h); --state-file and, in the browser, tandem_canvas_state() expose the state
// as JSON (state_dump.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>

#include "imgui.h"
#include "imgui_impl_glfw.h"
#include "imgui_impl_opengl3.h"
#include <GLFW/glfw3.h>  // after the backends; pulls in the platform's GL header

#include "canvas_options.h"
#include "canvas_script.h"
#include "connection_panel.h"
#include "dev_token.h"
#include "editor_script_host.h"
#include "frame_stats.h"
#include "graph_canvas.h"
#include "graph_editor.h"
#include "imgui_places.h"
#include "platform.h"
#include "presence_sidebar.h"
#include "round_trip_probe.h"
#include "screenshot.h"
#include "side_panels.h"
#include "state_dump.h"
#include "tandem/client.h"

#ifdef __EMSCRIPTEN__
// The browser's way to read the state dump: web/canvas.html calls
// Module.ccall('tandem_canvas_state', 'string') (window.tandemCanvasState()). The text stays
// valid until the next call.
namespace {
std::function<std::string()>& browser_state_source() {
  static std::function<std::string()> source;
  return source;
}
}  // namespace
extern "C" EMSCRIPTEN_KEEPALIVE const char* tandem_canvas_state() {
  static std::string text;
  text = browser_state_source() ? browser_state_source()() : std::string("{}");
  return text.c_str();
}
#endif

namespace {

using canvas::ExitCode;
using SteadyClock = std::chrono::steady_clock;

int exit_with(ExitCode code) { return static_cast<int>(code); }

void print_glfw_error(int code, const char* description) {
  std::fprintf(stderr, "tandem-canvas: GLFW error %d: %s\n", code, description);
}

// The test hooks: when to stop on our own (--frames, --exit-after-{connected,closed}-frames,
// --timeout-ms). Nothing set: run until the window is closed.
std::optional<ExitCode> exit_condition(const canvas::CanvasOptions& options, int frames_drawn,
                                       std::optional<int> exit_state_frame,
                                       SteadyClock::duration running_for) {
  if (options.frames > 0 && frames_drawn >= options.frames) return ExitCode::Ok;
  if (options.exit_after_state_frames > 0 && exit_state_frame &&
      frames_drawn - *exit_state_frame >= options.exit_after_state_frames) {
    return ExitCode::Ok;
  }
  if (options.timeout_ms > 0 && running_for >= std::chrono::milliseconds(options.timeout_ms)) {
    return ExitCode::Timeout;
  }
  return std::nullopt;
}

// Saves the frame just drawn as `path` (nothing when empty); false when that failed.
bool save_screenshot(const std::string& path, int width, int height) {
  if (path.empty()) return true;
  const auto shot = canvas::save_framebuffer_png(path, width, height);
  if (shot.status != canvas::ScreenshotStatus::Saved) {
    std::fprintf(stderr, "tandem-canvas: screenshot: %s\n", shot.message.c_str());
    return false;
  }
  std::printf("screenshot: %s %dx%d\n", path.c_str(), width, height);
  std::fflush(stdout);
  return true;
}

void print_line(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// The script from --script or --script-file, parsed; an Error says what is wrong.
tandem::Result<std::vector<canvas::ScriptStep>> load_script(const canvas::CanvasOptions& options) {
  std::string text = options.script;
  if (!options.script_file.empty()) {
    std::ifstream file(options.script_file);
    if (!file) return tandem::Error{"script", "cannot read --script-file " + options.script_file};
    std::ostringstream content;
    content << file.rdbuf();
    text = content.str();
  }
  return canvas::parse_script(text);
}

const char* script_status_name(canvas::ScriptStatus status) {
  switch (status) {
    case canvas::ScriptStatus::Running: return "running";
    case canvas::ScriptStatus::Done: return "done";
    case canvas::ScriptStatus::Exit: return "exit";
    case canvas::ScriptStatus::Failed: return "failed";
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  // ---- setup ---------------------------------------------------------------------------------
  // 1. Flags (the browser passes the same ones through Module.arguments).
  auto parsed = canvas::parse_canvas_options(argc, argv);
  if (!parsed) {
    const bool asked_for_help = parsed.error().code == "help";
    std::fprintf(asked_for_help ? stdout : stderr, "%s%s", asked_for_help ? "" : "tandem-canvas: ",
                 parsed.error().message.c_str());
    if (!asked_for_help) std::fprintf(stderr, "\n%s", canvas::canvas_usage().data());
    return exit_with(asked_for_help ? ExitCode::Ok : ExitCode::Usage);
  }
  const canvas::CanvasOptions options = std::move(parsed).value();
  auto script_steps = load_script(options);
  if (!script_steps) {
    std::fprintf(stderr, "tandem-canvas: %s\n", script_steps.error().message.c_str());
    return exit_with(ExitCode::Usage);
  }
  const bool has_script = !script_steps->empty();

  // 2. Connection settings, checked before any window appears (a dev token is fetched now).
  tandem::ClientConfig client_config;
  client_config.session.url = options.url;
  client_config.session.token = options.token;
  const bool has_server = !options.url.empty();
  if (const auto invalid = tandem::validate(client_config.session); has_server && invalid) {
    std::fprintf(stderr, "tandem-canvas: %s\n", invalid->message.c_str());
    return exit_with(ExitCode::Usage);
  }
  if (!options.dev_name.empty()) {
    auto token = canvas::fetch_dev_token(options.url, options.dev_name);
    if (!token) {
      std::fprintf(stderr, "tandem-canvas: dev token: %s\n", token.error().message.c_str());
      return exit_with(ExitCode::StartupFailed);
    }
    client_config.session.token = std::move(token).value();
  }

  // 3. Window and GL context: OpenGL 3.0 on the desktop, WebGL 2 (GL ES 3.0) in the browser.
  glfwSetErrorCallback(print_glfw_error);
  if (glfwInit() == GLFW_FALSE) return exit_with(ExitCode::StartupFailed);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
  GLFWwindow* window =
      glfwCreateWindow(options.width, options.height, "Tandem canvas", nullptr, nullptr);
  if (window == nullptr) {
    glfwTerminate();
    return exit_with(ExitCode::StartupFailed);
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(1);  // vsync where the driver has it; platform.h paces the loop otherwise

  // 4. Dear ImGui. No imgui.ini: every run starts from the same layout, so screenshots compare.
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;
  ImGui::StyleColorsDark();
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init(nullptr);  // nullptr: the backend picks GLSL 130 or "300 es"

  // 5. The client core over this platform's transport. Destruction runs in reverse: the client
  //    goes first, then the probe its pending ping points to, then the transport.
  const auto started = SteadyClock::now();
  const auto driver_now = [started] {
    return std::chrono::duration_cast<tandem::Millis>(SteadyClock::now() - started);
  };
  canvas::NetworkTransport transport;
  tandem::SeededRng rng(std::random_device{}());  // backoff jitter differs between clients
  canvas::RoundTripProbe round_trip(driver_now);
  tandem::Client client(client_config, transport, rng);

  // The workflow room, when --room is given: its editor, the canvas's view of it, the script.
  std::unique_ptr<canvas::GraphEditor> editor;
  canvas::GraphCanvasState graph_view;
  std::unique_ptr<canvas::EditorScriptHost> script_host;
  canvas::ScriptRunner script(std::move(script_steps).value());
  canvas::ScriptStatus script_status = has_script ? canvas::ScriptStatus::Running : canvas::ScriptStatus::Done;
  if (!options.room.empty()) {
    editor = std::make_unique<canvas::GraphEditor>(client.rooms(), options.room);
    editor->on_event = print_line;
    script_host = std::make_unique<canvas::EditorScriptHost>(*editor, graph_view);
    // The canvas origin right of the left-hand windows (Connection, Executions, Chat).
    graph_view.viewport.pan_by({460, 60});
    client.rooms().on_takeover_requested = [&](const tandem::protocol::TakeoverRequested& request) {
      editor->takeover_requested(request);
    };
    client.rooms().on_lock_lost = [&](const tandem::LockLost& lost) { editor->lock_lost(lost); };
  } else if (has_script) {
    std::fprintf(stderr, "tandem-canvas: --script needs --room\n");
    return exit_with(ExitCode::Usage);
  }
  // Chat, Executions and Agent (side_panels.h), from --room, --chat-room and --agent-room.
  canvas::SidePanels side_panels(client.rooms(), options, print_line);

  // ---- state ---------------------------------------------------------------------------------
  canvas::ConnectionView view;
  view.server_url = canvas::redact_token(options.url);
  std::optional<tandem::Millis> retry_at;  // Reconnecting: driver time of the next attempt
  std::optional<int> exit_state_frame;     // frame at which --exit-after-*-frames' state began
  int frames_drawn = 0;
  canvas::FrameStats frame_stats(static_cast<std::size_t>(options.frame_stats));
  ExitCode exit_code = ExitCode::Ok;
  std::string last_state_written;               // --state-file: rewritten only when it differs
  std::optional<tandem::Millis> state_written_at;
  const auto state_json = [&] {
    canvas::CanvasStateInput input;
    input.connection = canvas::link_state_name(view.state);
    input.retry_in = view.retry_in;
    if (const auto& connected = client.connected()) input.user = connected->user;
    input.room = options.room;
    if (editor) {
      input.joined = editor->joined();
      input.replica = editor->replica();
      input.pending_moves = editor->pending_moves();
    }
    input.agent_room = options.agent_room;
    input.agent_replica = options.agent_room.empty() ? nullptr : client.rooms().replica(options.agent_room);
    input.queued = client.queued_count();
    input.unanswered = client.pending_count();
    if (has_script) {
      input.script_step = script.step();
      input.script_steps = script.size();
      input.script_status = script_status_name(script_status);
    }
    if (editor) input.viewport = &graph_view.viewport;
    input.widgets = &canvas::drawn_widget_places();
    input.frame = frames_drawn;
    return canvas::canvas_state_json(input);
  };
  // Writes --state-file when the state changed, at most every kStateWriteInterval (`force`:
  // now, on the way out).
  const auto write_state_file = [&](tandem::Millis now, bool force) {
    if (options.state_file.empty()) return;
    if (!force && state_written_at && now - *state_written_at < canvas::kStateWriteInterval) return;
    state_written_at = now;
    std::string text = state_json();
    // The frame counter changes every frame; compare without it so an idle app writes nothing.
    const auto without_frame = [](const std::string& json) { return json.substr(0, json.rfind("\"frame\"")); };
    if (!force && without_frame(text) == without_frame(last_state_written)) return;
    if (const auto error = canvas::write_file_atomically(options.state_file, text)) {
      std::fprintf(stderr, "tandem-canvas: state file: %s\n", error->c_str());
    }
    last_state_written = std::move(text);
  };
#ifdef __EMSCRIPTEN__
  browser_state_source() = state_json;
#endif
  const ImVec4 background{0.09f, 0.10f, 0.12f, 1.0f};

  // Runs inside client calls and transport events; it only records, the frame draws.
  client.on_state = [&](const tandem::StateChange& change) {
    view.state = canvas::link_state_of(change.state);
    if (change.close_code != 0) {
      view.close_code = change.close_code;
      view.close_reason = change.close_reason;
    }
    retry_at = change.state == tandem::State::Reconnecting ? std::optional(change.retry_at)
                                                           : std::nullopt;
    std::printf("state: %s (%s)\n", tandem::to_string(change.state),
                tandem::to_string(change.cause));
    std::fflush(stdout);
  };
  if (has_server) {
    client.start(driver_now());
    if (editor) {
      client.rooms().join(options.room, std::nullopt, [&options](tandem::Result<tandem::protocol::Subscribed> answer) {
        print_line(answer ? "room: joined " + options.room
                          : "room: join failed " + answer.error().code + " " + answer.error().message);
      });
    }
    side_panels.join_rooms();
  } else {
    std::printf("state: %s\n", canvas::link_state_name(view.state));
  }

  // ---- loop ----------------------------------------------------------------------------------
  canvas::run_frame_loop(transport, [&] {
    // 1. Input.
    glfwPollEvents();
    if (glfwWindowShouldClose(window) == GLFW_TRUE) return canvas::FrameStatus::Stop;

    // 2. Client state into the view. Network events arrived between frames (platform.h) and
    //    already updated view.state through on_state.
    const tandem::Millis now = driver_now();
    if (const auto& connected = client.connected()) {
      view.user_name = connected->user.name;
      view.user_id = connected->user.id;
      view.user_color = connected->user.color;
    }
    view.retry_in = retry_at ? std::optional(std::max(*retry_at - now, tandem::Millis{0}))
                             : std::nullopt;
    view.round_trip = round_trip.last_round_trip();
    view.frames_per_second = static_cast<int>(ImGui::GetIO().Framerate + 0.5f);
    view.queued = client.queued_count();
    view.unanswered = client.pending_count();
    if (!exit_state_frame && options.exit_on_state == canvas::link_state_name(view.state)) {
      exit_state_frame = frames_drawn;
    }
    if (editor && client.connected()) editor->set_self_user(client.connected()->user.id);

    // 2b. The script's next steps, through the same editor the mouse uses.
    if (script_host && script_status == canvas::ScriptStatus::Running) {
      script_status = script.advance(*script_host, print_line);
      if (script_status == canvas::ScriptStatus::Failed) {
        std::fprintf(stderr, "tandem-canvas: %s\n", script.failure().c_str());
      }
    }

    // 3. Build the UI.
    const auto frame_work_started = SteadyClock::now();
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();
    if (editor) canvas::draw_graph_canvas(*editor, graph_view);
    canvas::draw_connection_panel(view);
    if (editor) {
      canvas::draw_presence_sidebar(editor->replica(), options.room, editor->self_user(), editor->pending_moves());
    }
    side_panels.draw(now, client.connected() ? &client.connected()->user : nullptr);
    ImGui::Render();

    // 4. Draw.
    int framebuffer_width = 0;
    int framebuffer_height = 0;
    glfwGetFramebufferSize(window, &framebuffer_width, &framebuffer_height);
    glViewport(0, 0, framebuffer_width, framebuffer_height);
    glClearColor(background.x, background.y, background.z, background.w);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    ++frames_drawn;
    if (options.frame_stats > 0) {
      glFinish();  // a stall, only when measuring: software GL rasterises here, not in the swap
      const std::chrono::duration<double, std::milli> took = SteadyClock::now() - frame_work_started;
      if (const auto summary = frame_stats.add(took.count())) {
        const auto* replica = editor ? editor->replica() : nullptr;
        std::printf("frame-stats: %zu frames, mean %.2f ms, p95 %.2f ms, max %.2f ms; %zu nodes, %zu edges, zoom %.2f\n",
                    summary->frames, summary->mean_ms, summary->p95_ms, summary->max_ms,
                    replica ? replica->document().nodes().size() : 0, replica ? replica->document().edges().size() : 0,
                    graph_view.viewport.zoom());
        std::fflush(stdout);
      }
    }

    // 5. Stop on our own when a test hook (or the script) says so. Screenshots are taken before
    //    the swap, while the back buffer still holds this frame.
    if (script_host) {
      if (const auto path = script_host->take_screenshot_request();
          path && !save_screenshot(*path, framebuffer_width, framebuffer_height)) {
        script_status = canvas::ScriptStatus::Failed;
      }
    }
    std::optional<ExitCode> stop = exit_condition(options, frames_drawn, exit_state_frame,
                                                  SteadyClock::now() - started);
    if (script_status == canvas::ScriptStatus::Exit) stop = ExitCode::Ok;
    if (script_status == canvas::ScriptStatus::Failed) stop = ExitCode::StartupFailed;
    if (stop) {
      exit_code = *stop;
      if (exit_code == ExitCode::Timeout) {
        std::fprintf(stderr, "tandem-canvas: timed out after %d ms in state %s (script step %zu/%zu)\n",
                     options.timeout_ms, canvas::link_state_name(view.state), script.step() + 1, script.size());
      }
      const bool saved = save_screenshot(options.screenshot_path, framebuffer_width, framebuffer_height);
      if (!saved && exit_code == ExitCode::Ok) exit_code = ExitCode::StartupFailed;
      write_state_file(driver_now(), true);
      return canvas::FrameStatus::Stop;
    }

    // 6. Show it.
    glfwSwapBuffers(window);

    // 7. Connection timers (retries, timeouts, heartbeat) and the round-trip probe, last: what
    //    they send goes on the wire while the loop waits for the next frame, so a ping's time
    //    does not include this frame's rendering.
    if (has_server) {
      if (editor) editor->tick(driver_now());
      client.tick(driver_now());
      round_trip.tick(client);
    }
    write_state_file(driver_now(), false);
    return canvas::FrameStatus::Continue;
  });

  // ---- cleanup (desktop only: in the browser the loop never returns) -------------------------
  // A close handshake (1000) the server sees, rather than a dropped socket.
  if (has_server) {
    client.stop();
    canvas::finish_closing(transport);
  }
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();
  std::fflush(stdout);
  return exit_with(exit_code);
}
