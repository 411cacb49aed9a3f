// server/src/ids.cpp — random ids from OpenSSL, colours from names (see ids.h).
#include "ids.h"

#include <openssl/rand.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "log.h"

namespace tandem::server {

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) {
    LOG_ERROR("RAND_bytes failed: no secure randomness available");
    std::abort();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : buffer) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string RandomIds::session_id() { return "s-" + random_hex(16); }

std::string color_for(std::string_view name) {
  // FNV-1a picks the hue; saturation and lightness stay fixed so every colour reads well on a
  // white canvas and as text background.
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 16777619u;
  }
  const double hue = static_cast<double>(hash % 360);
  const double saturation = 0.65, lightness = 0.45;
  const double chroma = (1 - std::fabs(2 * lightness - 1)) * saturation;
  const double x = chroma * (1 - std::fabs(std::fmod(hue / 60.0, 2) - 1));
  const double m = lightness - chroma / 2;
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(hue / 60)) {
    case 0: r = chroma, g = x; break;
    case 1: r = x, g = chroma; break;
    case 2: g = chroma, b = x; break;
    case 3: g = x, b = chroma; break;
    case 4: r = x, b = chroma; break;
    default: r = chroma, b = x; break;
  }
  auto channel = [m](double v) { return static_cast<int>(std::lround((v + m) * 255)); };
  char out[8];
  std::snprintf(out, sizeof out, "#%02x%02x%02x", channel(r), channel(g), channel(b));
  return out;
}

}  // namespace tandem::server
