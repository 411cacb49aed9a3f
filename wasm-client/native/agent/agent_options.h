// agent_options.h — tandem-agent's command line: parsed and checked before anything connects.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tandem/clock.h"
#include "tandem/result.h"

namespace tandem::agent {

struct AgentOptions {
  std::string url = "ws://127.0.0.1:8080/ws";  // or wss://
  std::string ca_file;                  // wss://: trusted besides the system store; empty: none
  std::optional<std::string> token;     // --token, else $TANDEM_TOKEN
  std::string dev_name = "tandem-agent";  // for a dev token when no token is given
  std::string agent_room;               // agent:{id}
  std::string workflow_room;            // workflow:{id}
  std::string prompt;
  Millis step_interval{400};
  bool verbose = false;  // libwebsockets' own log too
  bool help = false;
};

// The --help text.
std::string usage();

// Parses argv[1..]; an Error (code "usage") names the bad or missing flag. `env_token` is
// $TANDEM_TOKEN when set.
Result<AgentOptions> parse_options(const std::vector<std::string>& args, std::optional<std::string> env_token);

}  // namespace tandem::agent
