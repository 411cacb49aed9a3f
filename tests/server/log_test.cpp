// tests/server/log_test.cpp — the logger's two formats: JSON lines (fields, escaping, invalid
// UTF-8, cutting a line too long) compared against literals and parsed back with cJSON, and
// text lines as they always were, fields or not.
#include "log.h"

#include <cJSON.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <unistd.h>

namespace tandem::server::log {
namespace {

constexpr std::string_view kStamp = "2026-12-04T18:00:00.123Z";

std::string json_line(std::string_view message, const Fields& fields = {}, Level level = Level::Info,
                      std::size_t size = 4 * kMinJsonLine) {
  std::string out(size, '\0');
  out.resize(format_json_line(out, kStamp, level, message, fields));
  return out;
}

// The line parsed back (it must be one object and end in its only newline), or null.
struct Parsed {
  explicit Parsed(const std::string& line) {
    EXPECT_TRUE(line.ends_with("}\n")) << line;
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "a raw newline inside: " << line;
    json = cJSON_Parse(line.c_str());
    EXPECT_TRUE(cJSON_IsObject(json)) << line;
  }
  ~Parsed() { cJSON_Delete(json); }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;
  std::string operator[](const char* name) const {
    const cJSON* item = cJSON_GetObjectItemCaseSensitive(json, name);
    return cJSON_IsString(item) ? item->valuestring : "(missing)";
  }
  cJSON* json = nullptr;
};

// What the logger writes on stderr while `body` runs.
template <class Body>
std::string stderr_of(Body body) {
  char name[] = "/tmp/tandem-log-test-XXXXXX";
  const int file = mkstemp(name);
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  dup2(file, STDERR_FILENO);
  body();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(file);
  std::ifstream in(name);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(name);
  return text.str();
}

TEST(log_test, json_line_has_ts_level_msg_then_the_fields_given) {
  EXPECT_EQ(json_line("c7: closing 4401", {.conn = "c7", .room = "chat:lobby", .user = "u42"}),
            R"({"ts":"2026-12-04T18:00:00.123Z","level":"info","msg":"c7: closing 4401","conn":"c7","room":"chat:lobby","user":"u42"})"
            "\n");
  EXPECT_EQ(json_line("store: commits succeed again", {}, Level::Warn),
            R"({"ts":"2026-12-04T18:00:00.123Z","level":"warn","msg":"store: commits succeed again"})"
            "\n");
  EXPECT_EQ(json_line("room lost", {.room = "workflow:42"}, Level::Error),
            R"({"ts":"2026-12-04T18:00:00.123Z","level":"error","msg":"room lost","room":"workflow:42"})"
            "\n");
}

TEST(log_test, quotes_backslashes_and_control_characters_are_escaped) {
  EXPECT_EQ(json_line("say \"hi\" \\ bye"), R"({"ts":"2026-12-04T18:00:00.123Z","level":"info","msg":"say \"hi\" \\ bye"})"
                                            "\n");
  EXPECT_EQ(json_line(std::string_view("a\nb\rc\td\x01" "e\x1f" "f\x7f" "\0g", 14)),
            R"({"ts":"2026-12-04T18:00:00.123Z","level":"info","msg":"a\nb\rc\td\u0001e\u001ff)" "\x7f"
            R"(\u0000g"})"
            "\n");
  EXPECT_EQ(json_line("x", {.user = "a\"b\nc"}),
            R"({"ts":"2026-12-04T18:00:00.123Z","level":"info","msg":"x","user":"a\"b\nc"})"
            "\n");
}

TEST(log_test, utf8_passes_and_bytes_that_are_not_utf8_become_replacement_characters) {
  const std::string fffd = "\xEF\xBF\xBD";
  auto msg_of = [](std::string_view message) {
    const std::string line = json_line(message);
    const std::string head = R"({"ts":"2026-12-04T18:00:00.123Z","level":"info","msg":")";
    EXPECT_TRUE(line.starts_with(head)) << line;
    return line.substr(head.size(), line.size() - head.size() - 3);
  };
  EXPECT_EQ(msg_of("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(msg_of("a\x80z"), "a" + fffd + "z");                     // a lone continuation byte
  EXPECT_EQ(msg_of("\xC0\xAF"), fffd + fffd);                        // an overlong '/'
  EXPECT_EQ(msg_of("\xED\xA0\x80"), fffd + fffd + fffd);             // a surrogate
  EXPECT_EQ(msg_of("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // past U+10FFFF
  EXPECT_EQ(msg_of("\xE2\x82z"), fffd + "z");                        // cut short: one U+FFFD for both bytes
  EXPECT_EQ(msg_of("end\xF0\x9F\x98"), "end" + fffd);                // cut at the end of the message
  EXPECT_EQ(msg_of("\xFF\xFE"), fffd + fffd);
}

TEST(log_test, every_byte_in_every_place_still_makes_one_object) {
  std::string all(1, '\0');  // cJSON's strings end at a NUL: it goes first, and the rest is compared
  for (int b = 1; b < 256; ++b) all += static_cast<char>(b);
  const std::string line = json_line(all, {.conn = all, .room = all, .user = all});
  Parsed parsed(line);
  EXPECT_EQ(parsed["level"], "info");
  for (const char* name : {"msg", "conn", "room", "user"}) {
    EXPECT_EQ(parsed[name], "") << name;  // "\u0000..."
  }
  const std::string rest = json_line(all.substr(1), {.conn = all.substr(1)});
  Parsed again(rest);
  for (const char* name : {"msg", "conn"}) EXPECT_EQ(again[name].substr(0, 127), all.substr(1, 127)) << name;  // ASCII round-trips
}

TEST(log_test, a_line_too_long_is_cut_inside_msg_and_keeps_its_fields) {
  // 5,000 control characters escape to 30,000 bytes: far more than the line holds.
  const std::string message(5000, '\x01');
  const std::string long_user(kMaxFieldBytes + 100, 'u');
  const std::string line = json_line(message, {.conn = "c7", .room = "chat:lobby", .user = long_user}, Level::Debug,
                                     kMinJsonLine);
  EXPECT_LE(line.size(), kMinJsonLine);
  EXPECT_GT(line.size(), kMinJsonLine - 6) << "the message fills what the fields leave";
  Parsed parsed(line);
  const std::string msg = parsed["msg"];
  EXPECT_FALSE(msg.empty());
  EXPECT_EQ(msg, std::string(msg.size(), '\x01')) << "cut between escapes, never inside one";
  EXPECT_EQ(parsed["conn"], "c7");
  EXPECT_EQ(parsed["room"], "chat:lobby");
  EXPECT_EQ(parsed["user"], std::string(kMaxFieldBytes, 'u'));
}

TEST(log_test, json_format_writes_one_object_per_line_on_stderr) {
  set_format(Format::Json);
  const std::string out = stderr_of([] {
    LOG_INFO_CTX((Fields{.conn = "c9", .user = "ana"}), "%s: token refused: %s", "c9", "bad\nsignature");
    LOG_WARN("plain");
    LOG_DEBUG_CTX(Fields{.room = "x:y"}, "dropped: the level is info");
  });
  set_format(Format::Text);
  std::istringstream lines(out);
  std::string first, second, third;
  ASSERT_TRUE(std::getline(lines, first)) << out;
  ASSERT_TRUE(std::getline(lines, second)) << out;
  EXPECT_FALSE(std::getline(lines, third)) << out;
  Parsed a(first + "\n");
  EXPECT_EQ(a["level"], "info");
  EXPECT_EQ(a["msg"], "c9: token refused: bad\nsignature");
  EXPECT_EQ(a["conn"], "c9");
  EXPECT_EQ(a["user"], "ana");
  EXPECT_EQ(a["room"], "(missing)");
  EXPECT_TRUE(std::regex_match(a["ts"], std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))) << a["ts"];
  Parsed b(second + "\n");
  EXPECT_EQ(b["level"], "warn");
  EXPECT_EQ(b["msg"], "plain");
}

TEST(log_test, text_format_is_unchanged_and_leaves_the_fields_out) {
  set_format(Format::Text);
  const std::string out = stderr_of([] {
    LOG_INFO_CTX((Fields{.conn = "c9", .user = "ana"}), "%s: refused: %s", "c9", "ana");
    LOG_ERROR("store: %d", 3);
  });
  const std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  c9: refused: ana
\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR store: 3
)");
  EXPECT_TRUE(std::regex_match(out, line)) << out;
}

TEST(log_test, formats_parse_by_name) {
  EXPECT_EQ(parse_format("text"), Format::Text);
  EXPECT_EQ(parse_format("json"), Format::Json);
  EXPECT_EQ(parse_format("JSON"), std::nullopt);
  EXPECT_EQ(format_name(Format::Json), "json");
  EXPECT_EQ(format_name(Format::Text), "text");
}

}  // namespace
}  // namespace tandem::server::log
