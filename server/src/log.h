// server/src/log.h — the server's one logger: leveled lines on stderr.
//
// Lines look like "2024-05-01T12:00:00.123Z INFO  listening on http://127.0.0.1:8080".
// stdout is reserved for machine-readable output (the "listening on" line tests wait for,
// the token printed by `mint-token`), so logs never mix with it.
#pragma once

#include <optional>
#include <string_view>

namespace tandem::server::log {

enum class Level { Error = 0, Warn = 1, Info = 2, Debug = 3 };

// Parses "error", "warn", "info", "debug" (the values of the log_level setting).
std::optional<Level> parse_level(std::string_view text);
std::string_view level_name(Level level);

// Lines above `level` are dropped. Set once at start-up; not thread-safe to change later.
void set_level(Level level);
bool enabled(Level level);

// printf-style; the format is checked by the compiler (-Wformat=2).
void write(Level level, const char* format, ...) __attribute__((format(printf, 2, 3)));

#define TANDEM_LOG(level, ...)                                                          \
  do {                                                                                  \
    if (::tandem::server::log::enabled(level)) ::tandem::server::log::write(level, __VA_ARGS__); \
  } while (0)
#define LOG_ERROR(...) TANDEM_LOG(::tandem::server::log::Level::Error, __VA_ARGS__)
#define LOG_WARN(...) TANDEM_LOG(::tandem::server::log::Level::Warn, __VA_ARGS__)
#define LOG_INFO(...) TANDEM_LOG(::tandem::server::log::Level::Info, __VA_ARGS__)
#define LOG_DEBUG(...) TANDEM_LOG(::tandem::server::log::Level::Debug, __VA_ARGS__)

}  // namespace tandem::server::log
