// server/src/log.h — the server's one logger: leveled lines on stderr, as text or as JSON.
//
// Text lines (the default) look like "2024-05-01T12:00:00.123Z INFO  listening on http://127.0.0.1:8080".
// With log_format json every line is one JSON object, for log shippers (docs/OPERATIONS.md):
//   {"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"c7: refused: ...","conn":"c7","user":"u42"}
// "conn", "room" and "user" are there when the line is about them (Fields, the LOG_*_CTX
// macros); text lines leave them out, their message already names what they are about.
// stdout is reserved for machine-readable output (the "listening on" line tests wait for,
// the token printed by `mint-token`), so logs never mix with it.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace tandem::server::log {

enum class Level { Error = 0, Warn = 1, Info = 2, Debug = 3 };
enum class Format { Text, Json };

// Parses "error", "warn", "info", "debug" (the values of the log_level setting).
std::optional<Level> parse_level(std::string_view text);
std::string_view level_name(Level level);
// Parses "text", "json" (the values of the log_format setting).
std::optional<Format> parse_format(std::string_view text);
std::string_view format_name(Format format);

// Lines above `level` are dropped. Set at start-up and on reload (SIGHUP); safe from any thread.
void set_level(Level level);
bool enabled(Level level);
// Text by default. Set like the level.
void set_format(Format format);

// What a line is about: in JSON lines each non-empty field becomes a key of its own. Views,
// so building one costs nothing; the LOG_*_CTX macros build it only when the level is enabled.
// (The `= {}` let Fields{.room = r} leave the others out without -Wmissing-field-initializers.)
struct Fields {
  std::string_view conn = {};  // the connection's wire id ("c7", its `connection_id`)
  std::string_view room = {};
  std::string_view user = {};  // the user id (the token's sub)
};

// printf-style; the format is checked by the compiler (-Wformat=2).
void write(Level level, const char* format, ...) __attribute__((format(printf, 2, 3)));
void write_with(Level level, const Fields& fields, const char* format, ...) __attribute__((format(printf, 3, 4)));

// One JSON line, '\n' included, into `out`; returns its length. `stamp` is the ts value
// ("2024-05-01T12:00:00.123Z"). Strings are escaped (quotes, backslashes, control characters
// as \n or \u001f); bytes that are not UTF-8 become U+FFFD. A line that does not fit is cut
// inside "msg", never inside an escape or a character, so it is always one valid object; a
// field is cut at kMaxFieldBytes escaped. Needs out.size() >= kMinJsonLine. Exposed for tests.
inline constexpr std::size_t kMaxFieldBytes = 512;
inline constexpr std::size_t kMinJsonLine = 2048;
std::size_t format_json_line(std::span<char> out, std::string_view stamp, Level level, std::string_view message,
                             const Fields& fields);

#define TANDEM_LOG(level, ...)                                                          \
  do {                                                                                  \
    if (::tandem::server::log::enabled(level)) ::tandem::server::log::write(level, __VA_ARGS__); \
  } while (0)
#define LOG_ERROR(...) TANDEM_LOG(::tandem::server::log::Level::Error, __VA_ARGS__)
#define LOG_WARN(...) TANDEM_LOG(::tandem::server::log::Level::Warn, __VA_ARGS__)
#define LOG_INFO(...) TANDEM_LOG(::tandem::server::log::Level::Info, __VA_ARGS__)
#define LOG_DEBUG(...) TANDEM_LOG(::tandem::server::log::Level::Debug, __VA_ARGS__)

// The same with Fields first: LOG_INFO_CTX(c.log_fields(), "%s: ...", ...). `fields` is
// evaluated only when the level is enabled. (A braced Fields{.conn = a, .user = b} needs
// parentheses around it: its comma would split the macro's arguments.)
#define TANDEM_LOG_CTX(level, fields, ...)                                                           \
  do {                                                                                               \
    if (::tandem::server::log::enabled(level)) ::tandem::server::log::write_with(level, fields, __VA_ARGS__); \
  } while (0)
#define LOG_ERROR_CTX(fields, ...) TANDEM_LOG_CTX(::tandem::server::log::Level::Error, fields, __VA_ARGS__)
#define LOG_WARN_CTX(fields, ...) TANDEM_LOG_CTX(::tandem::server::log::Level::Warn, fields, __VA_ARGS__)
#define LOG_INFO_CTX(fields, ...) TANDEM_LOG_CTX(::tandem::server::log::Level::Info, fields, __VA_ARGS__)
#define LOG_DEBUG_CTX(fields, ...) TANDEM_LOG_CTX(::tandem::server::log::Level::Debug, fields, __VA_ARGS__)

}  // namespace tandem::server::log
