// wasm-client/canvas/screenshot.h — saves what the desktop app just rendered as a PNG, so tests
// (under Xvfb) can check the window really drew something. Desktop build: screenshot.cpp
// (glReadPixels + libpng). Browser build: screenshot_unsupported.cpp, which reports Unsupported;
// there, tests screenshot the <canvas> element from Playwright instead.
#pragma once

#include <string>

namespace canvas {

enum class ScreenshotStatus {
  Saved,
  EmptyFramebuffer,  // width or height was 0 (minimised window)
  WriteFailed,       // libpng could not create or write the file; see the message
  Unsupported,       // browser build: no file system to write to
};

struct ScreenshotResult {
  ScreenshotStatus status = ScreenshotStatus::Saved;
  std::string message;  // empty when saved
};

// Reads the current GL back buffer (`width` x `height` framebuffer pixels, RGB) and writes it
// to `path`. Call after rendering and before swapping buffers: after the swap the back buffer's
// contents are undefined. Cost: one glReadPixels stall, fine for a once-per-run capture.
ScreenshotResult save_framebuffer_png(const std::string& path, int width, int height);

}  // namespace canvas
