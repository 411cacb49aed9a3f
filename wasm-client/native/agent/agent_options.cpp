// agent_options.cpp — tandem-agent's flags (see agent_options.h).
#include "agent_options.h"

#include <charconv>

namespace tandem::agent {

namespace {

Error usage_error(std::string message) { return Error{"usage", std::move(message)}; }

constexpr std::size_t kMaxPromptBytes = 4096;

}  // namespace

std::string usage() {
  return R"(tandem-agent — builds a workflow step by step while streaming what it does.

Usage:
  tandem-agent --agent-room agent:ID --workflow workflow:ID --prompt "TEXT" [options]

Joins agent:ID (streams `thinking`, `node_created`, `edge_created`, `done`) and workflow:ID
(creates the planned nodes and edges one by one, waiting for each ack). Consumers in agent:ID
steer it with stream_control: pause (stops between steps, streams `paused`), resume
(`resumed`), cancel (`cancelled`, then exits 0). The plan is derived from the prompt by fixed
rules (trigger -> fetch -> [filter ->] transform -> notify): no model, same prompt, same plan.

Options:
  --url URL          server WebSocket endpoint, ws:// or wss:// (default ws://127.0.0.1:8080/ws)
  --ca-file PEM      wss://: also trust the certificates in this file (a private CA, or the
                     server's self-signed certificate); the system's store is always trusted
  --token JWT        token to connect with (default: $TANDEM_TOKEN, else a dev token)
  --dev-name NAME    name for GET /api/v1/dev/token when no token is given; the server must run
                     with --dev, on ws:// (default tandem-agent)
  --agent-room ROOM  the agent:{id} room to stream in (required)
  --workflow ROOM    the workflow:{id} room to build in (required)
  --prompt TEXT      what to build (required, at most 4096 bytes)
  --step-ms N        pause between steps in ms, so people can watch (default 400)
  --verbose          libwebsockets' own log on stderr too
  --help             this text

Exit status: 0 built or cancelled, 1 a request failed, 2 bad usage, 3 could not connect or
was refused, 130 interrupted (SIGINT/SIGTERM cancel like stream_control cancel first).
)";
}

Result<AgentOptions> parse_options(const std::vector<std::string>& args, std::optional<std::string> env_token) {
  AgentOptions options;
  options.token = std::move(env_token);
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
    if (i + 1 >= args.size()) return usage_error(flag + " needs a value (see --help)");
    const std::string& value = args[++i];
    if (flag == "--url") {
      options.url = value;
    } else if (flag == "--ca-file") {
      options.ca_file = value;
    } else if (flag == "--token") {
      options.token = value;
    } else if (flag == "--dev-name") {
      options.dev_name = value;
    } else if (flag == "--agent-room") {
      options.agent_room = value;
    } else if (flag == "--workflow") {
      options.workflow_room = value;
    } else if (flag == "--prompt") {
      options.prompt = value;
    } else if (flag == "--step-ms") {
      long long ms = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (ec != std::errc{} || end != value.data() + value.size() || ms < 0 || ms > 3'600'000)
        return usage_error("--step-ms wants milliseconds between 0 and 3600000, not \"" + value + "\"");
      options.step_interval = Millis{ms};
    } else {
      return usage_error("unknown flag " + flag + " (see --help)");
    }
  }
  if (options.agent_room.rfind("agent:", 0) != 0 || options.agent_room.size() <= 6)
    return usage_error("--agent-room wants a room agent:ID");
  if (options.workflow_room.rfind("workflow:", 0) != 0 || options.workflow_room.size() <= 9)
    return usage_error("--workflow wants a room workflow:ID");
  if (options.prompt.empty()) return usage_error("--prompt is required");
  if (options.prompt.size() > kMaxPromptBytes) return usage_error("--prompt is longer than 4096 bytes");
  if (options.token && options.token->empty()) options.token.reset();
  return options;
}

}  // namespace tandem::agent
