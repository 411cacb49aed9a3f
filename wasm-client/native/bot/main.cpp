// main.cpp — tandem-bot: the worker of one or several chat bots (PROTOCOL.md "Chat bots"). It
// connects with a token whose perms hold "bot:X" for each bot X it serves (the server routes
// those bots' ai_request and ai_cancel to it) and answers through BotWorker (bot_worker.h).
// It needs no room membership: the server addresses it directly, in whichever rooms members
// turned its bots on. See --help.
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bot_worker.h"
#include "native_client.h"

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_signal(int) { g_interrupted = 1; }

void log_line(const std::string& line) { std::fprintf(stderr, "tandem-bot: %s\n", line.c_str()); }

constexpr const char* kUsage = R"(tandem-bot — answers chat bot requests with replies that grow word by word.

Usage:
  tandem-bot --token JWT [options]

The token's perms name the bots served: "bot:helper", "bot:pirate" (the server must list them
in its `bots` setting). Members turn a bot on in a room (bot_toggle) and ask it (ai_request);
the server routes each request here, and the answer goes back as chat_partial messages, one
more word every --pace-ms, the last one done (stored as the bot's chat message). ai_cancel
ends a reply at once, marked [cancelled]. Answers are fixed text around the prompt: helper
advises, pirate talks like one, any other bot echoes — no model, same prompt, same answer —
unless --model-url names a model service to ask instead.

Options:
  --url URL       server WebSocket endpoint, ws:// or wss:// (default ws://127.0.0.1:8080/ws)
  --ca-file PEM   wss://: also trust the certificates in this file
  --token JWT     token to connect with (default: $TANDEM_TOKEN; required)
  --pace-ms N     pause between words in ms, so people can watch (default 120, 1..10000);
                  with --model-url: at most one growing text per this
  --model-url URL answer with a model instead: POST {"bot","prompt","room","user","reply"} as
                  JSON to this http:// URL; the answer's body, as it streams in, is the reply
                  (HTTP/1.0, ended by the server closing; not 2xx: the reply says so)
  --model-timeout-ms N  longest a model answer may take (default 60000, 100..3600000)
  --verbose       libwebsockets' own log on stderr too
  --help          this text

Exit status: 0 stopped by SIGINT/SIGTERM, 2 bad usage, 3 could not connect or was refused.
)";

struct Options {
  std::string url = "ws://127.0.0.1:8080/ws";
  std::string ca_file;
  std::optional<std::string> token;
  int pace_ms = 120;
  std::optional<std::string> model_url;
  int model_timeout_ms = 60000;
  bool verbose = false;
  bool help = false;
};

// A whole number within [min, max] into `out`; false when `text` is not one.
bool parse_ms(const std::string& text, int min, int max, int& out) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) return false;
  out = value;
  return true;
}

// Parses argv[1..]; the error names the bad flag.
tandem::Result<Options> parse(const std::vector<std::string>& args) {
  Options options;
  if (const char* env = std::getenv("TANDEM_TOKEN")) options.token = env;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      options.help = true;
      return options;
    }
    if (flag == "--verbose") {
      options.verbose = true;
      continue;
    }
    if (i + 1 >= args.size()) return tandem::Error{"usage", flag + " needs a value (see --help)"};
    const std::string& value = args[++i];
    if (flag == "--url") options.url = value;
    else if (flag == "--ca-file") options.ca_file = value;
    else if (flag == "--token") options.token = value;
    else if (flag == "--model-url") options.model_url = value;
    else if (flag == "--pace-ms") {
      if (!parse_ms(value, 1, 10000, options.pace_ms))
        return tandem::Error{"usage", "--pace-ms must be a whole number of ms from 1 to 10000, got \"" + value + "\""};
    } else if (flag == "--model-timeout-ms") {
      if (!parse_ms(value, 100, 3600000, options.model_timeout_ms))
        return tandem::Error{"usage", "--model-timeout-ms must be a whole number of ms from 100 to 3600000, got \"" + value + "\""};
    } else {
      return tandem::Error{"usage", "unknown option " + flag + " (see --help)"};
    }
  }
  if (!options.token) return tandem::Error{"usage", "no token: pass --token or set TANDEM_TOKEN (see --help)"};
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem;
  auto parsed = parse(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    log_line(parsed.error().message);
    return 2;
  }
  const Options options = std::move(parsed).value();
  if (options.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }

  ClientConfig config;
  config.session.url = options.url;
  config.session.token = *options.token;
  if (auto invalid = validate(config)) {
    log_line(invalid->message);
    return 2;
  }
  native::LwsTransportSettings transport;
  transport.log_level = options.verbose ? native::LwsLogLevel::Verbose : native::LwsLogLevel::Errors;
  transport.ca_file = options.ca_file;
  native::NativeClient client(config, transport);

  bot::BotWorker worker(Millis{options.pace_ms});
  worker.log = log_line;
  if (options.model_url) {
    auto endpoint = bot::parse_model_url(*options.model_url);
    if (!endpoint.ok()) {
      log_line(endpoint.error().message);
      return 2;
    }
    worker.use_model(std::move(endpoint).value(), options.model_timeout_ms);
    log_line("answering with the model at " + *options.model_url);
  }
  worker.send = [&](protocol::ChatPartial partial, std::function<void()> failed) {
    const std::string reply = partial.reply;
    client.client().request(protocol::ClientMessage{std::move(partial)},
                            [reply, failed = std::move(failed)](Result<protocol::ServerFrame> answer) {
                              if (answer) return;
                              log_line("reply " + reply + " refused: " + answer.error().code + " " +
                                       answer.error().message);
                              failed();
                            });
  };

  bool refused = false;
  client.client().on_state = [&](const StateChange& change) {
    std::string line = std::string("connection ") + to_string(change.state) + " (" + to_string(change.cause);
    if (change.close_code != 0) line += ", close " + std::to_string(change.close_code) + " " + change.close_reason;
    log_line(line + ")");
    if (change.state == State::Open && client.client().connected())
      log_line("connected as " + client.client().connected()->user.id);
    if (change.state == State::Closed && change.cause != Cause::Stopped) refused = true;
  };
  client.client().on_message = [&](const protocol::ServerFrame& frame) {
    if (const auto* request = std::get_if<protocol::AiRequest>(&frame.message)) worker.on_request(*request, client.now());
    else if (const auto* cancel = std::get_if<protocol::AiCancel>(&frame.message)) worker.on_cancel(*cancel);
  };

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  client.start();
  while (!g_interrupted && !refused) {
    client.poll(Millis{10});
    worker.tick(client.now());
  }
  client.shutdown();
  if (refused) {
    log_line("the server refused or closed the connection; giving up");
    return 3;
  }
  log_line("stopped");
  return 0;
}
