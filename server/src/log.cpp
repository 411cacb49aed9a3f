// server/src/log.cpp — formats and writes log lines (see log.h).
#include "log.h"

#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <sys/time.h>

namespace tandem::server::log {

namespace {
Level g_level = Level::Info;
}

std::optional<Level> parse_level(std::string_view text) {
  if (text == "error") return Level::Error;
  if (text == "warn") return Level::Warn;
  if (text == "info") return Level::Info;
  if (text == "debug") return Level::Debug;
  return std::nullopt;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Error: return "error";
    case Level::Warn: return "warn";
    case Level::Info: return "info";
    case Level::Debug: return "debug";
  }
  return "info";
}

void set_level(Level level) { g_level = level; }
bool enabled(Level level) { return static_cast<int>(level) <= static_cast<int>(g_level); }

void write(Level level, const char* format, ...) {
  if (!enabled(level)) return;
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm utc{};
  gmtime_r(&tv.tv_sec, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  static constexpr const char* kTags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

  // One buffer and one fwrite per line, so lines from a crash handler or another thread
  // cannot interleave mid-line.
  char line[2048];
  int n = std::snprintf(line, sizeof line, "%s.%03dZ %s ", stamp, static_cast<int>(tv.tv_usec / 1000),
                        kTags[static_cast<int>(level)]);
  va_list args;
  va_start(args, format);
  int m = std::vsnprintf(line + n, sizeof line - static_cast<std::size_t>(n) - 1, format, args);
  va_end(args);
  std::size_t used = static_cast<std::size_t>(n) + (m < 0 ? 0 : static_cast<std::size_t>(m));
  if (used > sizeof line - 2) used = sizeof line - 2;  // truncated: keep the newline
  line[used++] = '\n';
  std::fwrite(line, 1, used, stderr);
}

}  // namespace tandem::server::log
