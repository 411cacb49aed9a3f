// server/src/log.cpp — formats and writes log lines, as text or JSON (see log.h).
#include "log.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include <sys/time.h>

namespace tandem::server::log {

namespace {

// Atomics: SIGHUP changes them on the loop thread while other threads (commits, Redis) log.
std::atomic<Level> g_level{Level::Info};
std::atomic<Format> g_format{Format::Text};

// A text line, and a JSON line's message before escaping: what does not fit is cut.
constexpr std::size_t kLineBytes = 2048;

// The current time as "2024-05-01T12:00:00.123Z" (UTC, milliseconds).
void stamp_now(char (&stamp)[32]) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm utc{};
  gmtime_r(&tv.tv_sec, &utc);
  char seconds[24];
  std::strftime(seconds, sizeof seconds, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(stamp, sizeof stamp, "%s.%03dZ", seconds, static_cast<int>(tv.tv_usec / 1000));
}

// Calls emit(piece) for each character of `text` as it goes inside a JSON string: itself, its
// escape, or U+FFFD for each maximal run of bytes that does not start a UTF-8 character (the
// Unicode "maximal subpart" rule browsers decode by). Stops when emit returns false.
template <class Emit>
void escape(std::string_view text, Emit&& emit) {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      const char control[6] = {'\\', 'u', '0', '0', kHex[b >> 4], kHex[b & 0xF]};
      std::string_view piece = text.substr(i, 1);
      switch (b) {
        case '"': piece = "\\\""; break;
        case '\\': piece = "\\\\"; break;
        case '\n': piece = "\\n"; break;
        case '\r': piece = "\\r"; break;
        case '\t': piece = "\\t"; break;
        default:
          if (b < 0x20) piece = std::string_view(control, sizeof control);
      }
      if (!emit(piece)) return;
      ++i;
      continue;
    }
    // A lead byte: how many continuation bytes follow, and the range the first of them must
    // fall in (which rules out overlong forms, surrogates and code points past U+10FFFF).
    std::size_t need = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0) low = 0xA0;
      if (b == 0xED) high = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0) low = 0x90;
      if (b == 0xF4) high = 0x8F;
    }
    std::size_t got = 0;
    while (got < need && i + 1 + got < text.size()) {
      const auto c = static_cast<unsigned char>(text[i + 1 + got]);
      if (got == 0 ? (c < low || c > high) : (c < 0x80 || c > 0xBF)) break;
      ++got;
    }
    if (!emit(need > 0 && got == need ? text.substr(i, 1 + need) : kReplacement)) return;
    i += 1 + got;
  }
}

// The escaped form of `text`, cut before the first character that would take it past `limit`
// bytes, goes to put(piece) (which may refuse, ending it early); returns its size.
template <class Put>
std::size_t escape_upto(std::string_view text, std::size_t limit, Put&& put) {
  std::size_t size = 0;
  escape(text, [&](std::string_view piece) {
    if (piece.size() > limit - size || !put(piece)) return false;
    size += piece.size();
    return true;
  });
  return size;
}

// Appends to out[0, end): a piece that does not fit is left out whole.
struct Sink {
  std::span<char> out;
  std::size_t end;
  std::size_t used = 0;

  bool put(std::string_view piece) {
    if (piece.size() > end - used) return false;
    std::memcpy(out.data() + used, piece.data(), piece.size());
    used += piece.size();
    return true;
  }
  void escaped(std::string_view text, std::size_t limit) {
    escape_upto(text, limit, [this](std::string_view piece) { return put(piece); });
  }
};

__attribute__((format(printf, 2, 0))) void write_text(Level level, const char* format, va_list args) {
  char stamp[32];
  stamp_now(stamp);
  static constexpr const char* kTags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

  // One buffer and one fwrite per line, so lines from a crash handler or another thread
  // cannot interleave mid-line.
  char line[kLineBytes];
  int n = std::snprintf(line, sizeof line, "%s %s ", stamp, kTags[static_cast<int>(level)]);
  int m = std::vsnprintf(line + n, sizeof line - static_cast<std::size_t>(n) - 1, format, args);
  std::size_t used = static_cast<std::size_t>(n) + (m < 0 ? 0 : static_cast<std::size_t>(m));
  if (used > sizeof line - 2) used = sizeof line - 2;  // truncated: keep the newline
  line[used++] = '\n';
  std::fwrite(line, 1, used, stderr);
}

__attribute__((format(printf, 3, 0))) void write_json(Level level, const Fields& fields, const char* format,
                                                      va_list args) {
  char stamp[32];
  stamp_now(stamp);
  char message[kLineBytes];
  const int m = std::vsnprintf(message, sizeof message, format, args);
  const std::size_t length = m < 0 ? 0 : std::min(static_cast<std::size_t>(m), sizeof message - 1);
  // Four text lines: room for any message but one mostly of control characters (six bytes
  // each, escaped), which is cut (format_json_line keeps the line valid).
  char line[4 * kLineBytes];
  const std::size_t used = format_json_line(line, stamp, level, {message, length}, fields);
  std::fwrite(line, 1, used, stderr);  // one fwrite per line, as for text
}

__attribute__((format(printf, 3, 0))) void write_any(Level level, const Fields& fields, const char* format,
                                                     va_list args) {
  if (g_format.load(std::memory_order_relaxed) == Format::Json) {
    write_json(level, fields, format, args);
  } else {
    write_text(level, format, args);
  }
}

}  // namespace

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

std::optional<Format> parse_format(std::string_view text) {
  if (text == "text") return Format::Text;
  if (text == "json") return Format::Json;
  return std::nullopt;
}

std::string_view format_name(Format format) { return format == Format::Json ? "json" : "text"; }

void set_level(Level level) { g_level.store(level, std::memory_order_relaxed); }
bool enabled(Level level) {
  return static_cast<int>(level) <= static_cast<int>(g_level.load(std::memory_order_relaxed));
}
void set_format(Format format) { g_format.store(format, std::memory_order_relaxed); }

void write(Level level, const char* format, ...) {
  if (!enabled(level)) return;
  va_list args;
  va_start(args, format);
  write_any(level, Fields{}, format, args);
  va_end(args);
}

void write_with(Level level, const Fields& fields, const char* format, ...) {
  if (!enabled(level)) return;
  va_list args;
  va_start(args, format);
  write_any(level, fields, format, args);
  va_end(args);
}

std::size_t format_json_line(std::span<char> out, std::string_view stamp, Level level, std::string_view message,
                             const Fields& fields) {
  assert(out.size() >= kMinJsonLine);
  const std::pair<std::string_view, std::string_view> extra[] = {
      {",\"conn\":\"", fields.conn}, {",\"room\":\"", fields.room}, {",\"user\":\"", fields.user}};
  // What follows the message — its closing quote, the fields, "}\n" — is set aside first, so a
  // line too long for `out` loses the end of its message and nothing else. The head is at most
  // 100 bytes, the tail 3 + 3 * (9 + kMaxFieldBytes + 1): together under kMinJsonLine.
  std::size_t tail = 3;
  for (const auto& [key, value] : extra)
    if (!value.empty()) tail += key.size() + escape_upto(value, kMaxFieldBytes, [](std::string_view) { return true; }) + 1;
  Sink sink{out, out.size() - tail};
  sink.put("{\"ts\":\"");
  sink.escaped(stamp, 32);
  sink.put("\",\"level\":\"");
  sink.put(level_name(level));
  sink.put("\",\"msg\":\"");
  sink.escaped(message, out.size());
  sink.end = out.size();
  sink.put("\"");
  for (const auto& [key, value] : extra) {
    if (value.empty()) continue;
    sink.put(key);
    sink.escaped(value, kMaxFieldBytes);
    sink.put("\"");
  }
  sink.put("}\n");
  return sink.used;
}

}  // namespace tandem::server::log
