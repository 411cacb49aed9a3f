// wasm-client/canvas/screenshot_unsupported.cpp — the browser build's screenshot.h: a page has
// no file to write to (and WebGL cannot read back GL_RGB), so --screenshot is reported as
// unsupported instead of being silently ignored. Browser tests screenshot the <canvas> element.
#include "screenshot.h"

namespace canvas {

ScreenshotResult save_framebuffer_png(const std::string&, int, int) {
  return {ScreenshotStatus::Unsupported, "--screenshot is only available in the desktop build"};
}

}  // namespace canvas
