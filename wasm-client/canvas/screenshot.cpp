// wasm-client/canvas/screenshot.cpp — glReadPixels + libpng's simplified writer (screenshot.h).
#include "screenshot.h"

#include <png.h>

#include <cstddef>
#include <vector>

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <GL/gl.h>

namespace canvas {

ScreenshotResult save_framebuffer_png(const std::string& path, int width, int height) {
  if (width <= 0 || height <= 0) {
    return {ScreenshotStatus::EmptyFramebuffer, "framebuffer is empty"};
  }
  constexpr int kChannels = 3;  // RGB: the canvas is opaque, alpha would only add noise
  const auto row_bytes = static_cast<std::size_t>(width) * kChannels;
  std::vector<unsigned char> pixels(row_bytes * static_cast<std::size_t>(height));

  glPixelStorei(GL_PACK_ALIGNMENT, 1);  // rows are tightly packed, whatever the width
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, pixels.data());

  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = PNG_FORMAT_RGB;
  // GL rows start at the bottom; a negative stride tells libpng to write them bottom-up.
  const auto stride = -static_cast<png_int_32>(row_bytes);
  if (png_image_write_to_file(&image, path.c_str(), 0, pixels.data(), stride, nullptr) == 0) {
    ScreenshotResult result{ScreenshotStatus::WriteFailed, path + ": " + image.message};
    png_image_free(&image);
    return result;
  }
  return {};
}

}  // namespace canvas
