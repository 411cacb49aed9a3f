// tests/server/config_test.cpp — settings: defaults, precedence (file < env < flags), value
// checks with messages that name the source, cross-field validation, --help text.
#include "config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <unistd.h>

namespace tandem::server {
namespace {

constexpr const char* kSecret = "0123456789abcdef0123456789abcdef";

// A config file that deletes itself.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/tandem-config-test-XXXXXX";
    int fd = mkstemp(name);
    path_ = name;
    std::ofstream(path_) << content;
    close(fd);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Result<LoadedSettings> load(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  SettingSources sources;
  sources.args = std::move(args);
  sources.env = [env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return load_settings(sources, [] { return std::string("generated-secret-0123456789abcdef"); });
}

std::string error_of(const Result<LoadedSettings>& result) { return result.ok() ? "ok" : result.error().message; }

TEST(config_test, defaults_apply_when_nothing_is_given) {
  auto loaded = load({"--jwt-secret", kSecret});
  ASSERT_TRUE(loaded.ok()) << error_of(loaded);
  const Settings& s = loaded->settings;
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.web_root, TANDEM_WWW_DIR);
  EXPECT_FALSE(s.dev);
  EXPECT_EQ(s.heartbeat_ms, 25000);
  EXPECT_EQ(s.idle_timeout_ms, 60000);
  EXPECT_EQ(s.auth_timeout_ms, 10000);
  EXPECT_EQ(s.max_frame_bytes, 65536);
  EXPECT_EQ(s.hard_frame_bytes, 1048576);
  EXPECT_EQ(s.max_bad_frames, 20);
  EXPECT_EQ(s.shutdown_timeout_ms, 5000);
  EXPECT_EQ(s.jwt_leeway_s, 30);
  EXPECT_EQ(s.log_level, log::Level::Info);
  EXPECT_FALSE(loaded->config_path.has_value());
}

TEST(config_test, file_is_overridden_by_env_which_is_overridden_by_flags) {
  TempFile file("# a comment\n\nport = 1111\nhost = 0.0.0.0\nheartbeat_ms = 5000\njwt_secret = " + std::string(kSecret) +
                "\n");
  auto from_file = load({"--config", file.path()});
  ASSERT_TRUE(from_file.ok()) << error_of(from_file);
  EXPECT_EQ(from_file->settings.port, 1111);
  EXPECT_EQ(from_file->settings.host, "0.0.0.0");
  EXPECT_EQ(from_file->config_path, file.path());

  auto env_wins = load({"--config", file.path()}, {{"TANDEM_PORT", "2222"}});
  ASSERT_TRUE(env_wins.ok()) << error_of(env_wins);
  EXPECT_EQ(env_wins->settings.port, 2222);
  EXPECT_EQ(env_wins->settings.heartbeat_ms, 5000);  // untouched by env: still the file's

  auto flag_wins = load({"--config", file.path(), "--port", "3333"}, {{"TANDEM_PORT", "2222"}});
  ASSERT_TRUE(flag_wins.ok()) << error_of(flag_wins);
  EXPECT_EQ(flag_wins->settings.port, 3333);
}

TEST(config_test, config_path_can_come_from_env) {
  TempFile file("port = 4444\ndev = true\n");
  auto loaded = load({}, {{"TANDEM_CONFIG", file.path()}});
  ASSERT_TRUE(loaded.ok()) << error_of(loaded);
  EXPECT_EQ(loaded->settings.port, 4444);
}

TEST(config_test, flags_take_separate_or_joined_values_and_the_last_wins) {
  auto loaded = load({"--port=1234", "--jwt-secret", kSecret, "--max-frame-bytes", "1000", "--port", "4321"});
  ASSERT_TRUE(loaded.ok()) << error_of(loaded);
  EXPECT_EQ(loaded->settings.port, 4321);
  EXPECT_EQ(loaded->settings.max_frame_bytes, 1000);
}

TEST(config_test, switches_need_no_value_but_accept_one) {
  auto on = load({"--dev"});
  ASSERT_TRUE(on.ok()) << error_of(on);
  EXPECT_TRUE(on->settings.dev);
  auto off = load({"--dev=false", "--jwt-secret", kSecret}, {{"TANDEM_DEV", "1"}});
  ASSERT_TRUE(off.ok()) << error_of(off);
  EXPECT_FALSE(off->settings.dev);
  EXPECT_EQ(error_of(load({"--dev=maybe"})), "--dev: must be true or false (also 1/0, yes/no, on/off), got \"maybe\"");
}

TEST(config_test, dev_mode_without_secret_generates_one) {
  auto loaded = load({"--dev"});
  ASSERT_TRUE(loaded.ok()) << error_of(loaded);
  EXPECT_TRUE(loaded->secret_generated);
  EXPECT_EQ(loaded->settings.jwt_secret, "generated-secret-0123456789abcdef");

  auto given = load({"--dev", "--jwt-secret", kSecret});
  ASSERT_TRUE(given.ok());
  EXPECT_FALSE(given->secret_generated);
  EXPECT_EQ(given->settings.jwt_secret, kSecret);
}

TEST(config_test, bad_values_are_rejected_naming_their_source) {
  EXPECT_EQ(error_of(load({"--dev", "--port", "80a"})), "--port: must be an integer in 1..65535, got \"80a\"");
  EXPECT_EQ(error_of(load({"--dev", "--port", "0"})), "--port: must be an integer in 1..65535, got \"0\"");
  EXPECT_EQ(error_of(load({"--dev", "--port", "70000"})), "--port: must be an integer in 1..65535, got \"70000\"");
  EXPECT_EQ(error_of(load({"--dev"}, {{"TANDEM_HEARTBEAT_MS", "-5"}})),
            "TANDEM_HEARTBEAT_MS: must be an integer in 1000..86400000, got \"-5\"");
  EXPECT_EQ(error_of(load({"--dev", "--log-level", "loud"})),
            "--log-level: must be one of error, warn, info, debug, got \"loud\"");
}

TEST(config_test, log_format_is_text_unless_json_is_asked_for) {
  auto defaults = load({"--dev"});
  ASSERT_TRUE(defaults.ok()) << error_of(defaults);
  EXPECT_EQ(defaults->settings.log_format, log::Format::Text);
  auto flag = load({"--dev", "--log-format", "json"});
  ASSERT_TRUE(flag.ok()) << error_of(flag);
  EXPECT_EQ(flag->settings.log_format, log::Format::Json);
  auto env = load({"--dev"}, {{"TANDEM_LOG_FORMAT", "json"}});
  ASSERT_TRUE(env.ok()) << error_of(env);
  EXPECT_EQ(env->settings.log_format, log::Format::Json);
  TempFile file("dev = true\nlog_format = json\n");
  auto from_file = load({"--config", file.path()});
  ASSERT_TRUE(from_file.ok()) << error_of(from_file);
  EXPECT_EQ(from_file->settings.log_format, log::Format::Json);
  EXPECT_EQ(error_of(load({"--dev", "--log-format", "xml"})), "--log-format: must be text or json, got \"xml\"");
  EXPECT_EQ(error_of(load({"--dev"}, {{"TANDEM_LOG_FORMAT", "JSON"}})),
            "TANDEM_LOG_FORMAT: must be text or json, got \"JSON\"");
}

TEST(config_test, file_errors_name_the_file_and_line) {
  TempFile unknown("dev = true\nprot = 80\n");
  EXPECT_EQ(error_of(load({"--config", unknown.path()})), unknown.path() + ":2: unknown setting \"prot\" (see --help)");
  TempFile no_equals("dev = true\njust words\n");
  EXPECT_EQ(error_of(load({"--config", no_equals.path()})), no_equals.path() + ":2: expected `key = value`, got \"just words\"");
  TempFile bad_value("dev = true\n\nport = many\n");
  EXPECT_EQ(error_of(load({"--config", bad_value.path()})),
            bad_value.path() + ":3: port: must be an integer in 1..65535, got \"many\"");
  EXPECT_EQ(error_of(load({"--config", "/nonexistent/tandem.conf"})), "/nonexistent/tandem.conf: cannot open config file");
}

TEST(config_test, file_values_may_be_quoted_and_contain_hashes) {
  TempFile file("jwt_secret = \"abc#def 0123456789abcdef0123456789\"\nweb-root = /srv/www\n");
  auto loaded = load({"--config", file.path()});
  ASSERT_TRUE(loaded.ok()) << error_of(loaded);
  EXPECT_EQ(loaded->settings.jwt_secret, "abc#def 0123456789abcdef0123456789");
  EXPECT_EQ(loaded->settings.web_root, "/srv/www");
}

TEST(config_test, empty_env_vars_count_as_unset) {
  auto loaded = load({"--dev"}, {{"TANDEM_PORT", ""}});
  ASSERT_TRUE(loaded.ok()) << error_of(loaded);
  EXPECT_EQ(loaded->settings.port, 8080);
}

TEST(config_test, unknown_flags_and_stray_arguments_are_rejected) {
  EXPECT_EQ(error_of(load({"--dev", "--prot", "1"})), "unknown flag \"--prot\" (see --help)");
  EXPECT_EQ(error_of(load({"--dev", "serve"})), "unexpected argument \"serve\" (see --help)");
  EXPECT_EQ(error_of(load({"--dev", "--port"})), "--port: needs a value");
}

TEST(config_test, missing_secret_outside_dev_mode_says_how_to_fix_it) {
  const std::string message = error_of(load({}));
  EXPECT_NE(message.find("no JWT secret"), std::string::npos) << message;
  EXPECT_NE(message.find("--jwt-secret"), std::string::npos) << message;
  EXPECT_NE(message.find("TANDEM_JWT_SECRET"), std::string::npos) << message;
  EXPECT_NE(message.find("--dev"), std::string::npos) << message;
}

TEST(config_test, cross_field_rules_are_validated) {
  EXPECT_EQ(error_of(load({"--jwt-secret", "short"})),
            "jwt_secret is 5 bytes; HS256 needs at least 32 (generate one: openssl rand -hex 32)");
  EXPECT_EQ(error_of(load({"--dev", "--heartbeat-ms", "30000", "--idle-timeout-ms", "30000"})),
            "idle_timeout_ms (30000) must exceed heartbeat_ms (30000), or every idle client would be dropped before "
            "its ping");
  EXPECT_EQ(error_of(load({"--dev", "--max-frame-bytes", "5000", "--hard-frame-bytes", "4000"})),
            "hard_frame_bytes (4000) must be at least max_frame_bytes (5000)");
}

TEST(config_test, tls_needs_both_files_readable_and_in_pem) {
  const TempFile cert("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  const TempFile key("-----BEGIN PRIVATE KEY-----\r\nMIIE\r\n-----END PRIVATE KEY-----\r\n");
  const TempFile not_pem("just text\n");
  auto loaded = load({"--dev", "--tls-cert", cert.path(), "--tls-key", key.path()});
  ASSERT_TRUE(loaded.ok()) << error_of(loaded);
  EXPECT_EQ(loaded->settings.tls_cert, cert.path());
  EXPECT_EQ(loaded->settings.tls_key, key.path());
  EXPECT_TRUE(load({"--dev"})->settings.tls_cert.empty());  // off by default

  EXPECT_EQ(error_of(load({"--dev", "--tls-cert", cert.path()})),
            "tls_cert is set but tls_key is not: TLS needs both (--tls-cert CERT.pem --tls-key KEY.pem)");
  EXPECT_EQ(error_of(load({"--dev"}, {{"TANDEM_TLS_KEY", key.path()}})),
            "tls_key is set but tls_cert is not: TLS needs both (--tls-cert CERT.pem --tls-key KEY.pem)");
  EXPECT_EQ(error_of(load({"--dev", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", key.path()})),
            "tls_cert /nonexistent/cert.pem: cannot read it (No such file or directory)");
  EXPECT_EQ(error_of(load({"--dev", "--tls-cert", key.path(), "--tls-key", key.path()})),
            "tls_cert " + key.path() + ": no PEM CERTIFICATE in it (expected a line -----BEGIN CERTIFICATE-----)");
  EXPECT_EQ(error_of(load({"--dev", "--tls-cert", cert.path(), "--tls-key", not_pem.path()})),
            "tls_key " + not_pem.path() + ": no PEM PRIVATE KEY in it (expected a line -----BEGIN PRIVATE KEY-----)");
}

TEST(config_test, allowed_origins_are_checked_when_read) {
  auto loaded = load({"--dev", "--allowed-origins", "self, https://app.example.com"});
  ASSERT_TRUE(loaded.ok()) << error_of(loaded);
  EXPECT_EQ(loaded->settings.allowed_origins, "self, https://app.example.com");
  EXPECT_EQ(load({"--dev"})->settings.allowed_origins, "");  // every origin, as before
  EXPECT_EQ(error_of(load({"--dev", "--allowed-origins", "https://app.example.com/"})),
            "--allowed-origins: \"https://app.example.com/\" is not an origin (scheme://host[:port] with no path or "
            "trailing slash, e.g. https://app.example.com; or self, or null)");
  Settings bad;
  bad.dev = true;
  bad.allowed_origins = "app.example.com";
  EXPECT_NE(validate(bad).value_or("").find("allowed_origins: \"app.example.com\" is not an origin"), std::string::npos);
}

TEST(config_test, help_lists_every_setting_with_flag_env_and_default_but_no_secret) {
  const std::string help = usage_text("tandem-server");
  const Settings defaults;
  for (const SettingInfo& info : describe()) {
    EXPECT_NE(help.find(info.flag), std::string::npos) << info.flag;
    EXPECT_NE(help.find(info.env), std::string::npos) << info.env;
    if (!info.secret) {
      EXPECT_NE(help.find("default: " + info.show(defaults)), std::string::npos) << info.name;
    }
  }
  EXPECT_NE(help.find("mint-token"), std::string::npos);
  EXPECT_NE(help.find("--config"), std::string::npos);
}

TEST(config_test, spellings_are_derived_from_the_name) {
  for (const SettingInfo& info : describe()) {
    std::string flag = "--" + info.name;
    for (char& c : flag) c = c == '_' ? '-' : c;
    EXPECT_EQ(info.flag, flag);
    std::string env = "TANDEM_" + info.name;
    for (char& c : env) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(info.env, env);
  }
}

}  // namespace
}  // namespace tandem::server
