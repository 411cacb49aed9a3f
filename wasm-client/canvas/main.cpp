// wasm-client/canvas/main.cpp — tandem-canvas: a Dear ImGui window connected to tandem-server.
//
// One source, two builds (CMakeLists.txt): desktop (GLFW + OpenGL 3 + libwebsockets) and
// browser (Emscripten's GLFW + WebGL 2 + the browser's WebSocket). The differences main() sees
// are the transport type and who runs the loop, both in platform.h.
// Reads top to bottom: setup, state as locals, the numbered steps of one frame, cleanup.
//
// stdout carries one line per connection state change ("state: open (connected)") — the
// desktop tests read it from the process, the browser tests from the page console.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <utility>

#include "imgui.h"
#include "imgui_impl_glfw.h"
#include "imgui_impl_opengl3.h"
#include <GLFW/glfw3.h>  // after the backends; pulls in the platform's GL header

#include "canvas_options.h"
#include "connection_panel.h"
#include "dev_token.h"
#include "platform.h"
#include "round_trip_probe.h"
#include "screenshot.h"
#include "tandem/client.h"

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

// Saves the frame just drawn when --screenshot asked for it; false when that failed.
bool save_screenshot_if_asked(const canvas::CanvasOptions& options, int width, int height) {
  if (options.screenshot_path.empty()) return true;
  const auto shot = canvas::save_framebuffer_png(options.screenshot_path, width, height);
  if (shot.status != canvas::ScreenshotStatus::Saved) {
    std::fprintf(stderr, "tandem-canvas: screenshot: %s\n", shot.message.c_str());
    return false;
  }
  std::printf("screenshot: %s %dx%d\n", options.screenshot_path.c_str(), width, height);
  return true;
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

  // ---- state ---------------------------------------------------------------------------------
  canvas::ConnectionView view;
  view.server_url = canvas::redact_token(options.url);
  std::optional<tandem::Millis> retry_at;  // Reconnecting: driver time of the next attempt
  std::optional<int> exit_state_frame;     // frame at which --exit-after-*-frames' state began
  int frames_drawn = 0;
  ExitCode exit_code = ExitCode::Ok;
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
    if (!exit_state_frame && options.exit_on_state == canvas::link_state_name(view.state)) {
      exit_state_frame = frames_drawn;
    }

    // 3. Build the UI.
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();
    canvas::draw_connection_panel(view);
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

    // 5. Stop on our own when a test hook says so. The screenshot is taken before the swap,
    //    while the back buffer still holds this frame.
    if (const auto stop = exit_condition(options, frames_drawn, exit_state_frame,
                                         SteadyClock::now() - started)) {
      exit_code = *stop;
      if (exit_code == ExitCode::Timeout) {
        std::fprintf(stderr, "tandem-canvas: timed out after %d ms in state %s\n",
                     options.timeout_ms, canvas::link_state_name(view.state));
      }
      const bool saved = save_screenshot_if_asked(options, framebuffer_width, framebuffer_height);
      if (!saved && exit_code == ExitCode::Ok) exit_code = ExitCode::StartupFailed;
      return canvas::FrameStatus::Stop;
    }

    // 6. Show it.
    glfwSwapBuffers(window);

    // 7. Connection timers (retries, timeouts, heartbeat) and the round-trip probe, last: what
    //    they send goes on the wire while the loop waits for the next frame, so a ping's time
    //    does not include this frame's rendering.
    if (has_server) {
      client.tick(driver_now());
      round_trip.tick(client);
    }
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
