// main.cpp — tandem-agent: a native worker on the client core that builds a workflow in a
// workflow:{id} document while streaming its progress in an agent:{id} room (see --help,
// agent_plan.h for the plan, workflow_agent.h for the steps and pause/resume/cancel).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "agent_options.h"
#include "agent_plan.h"
#include "dev_token.h"
#include "native_client.h"
#include "workflow_agent.h"

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_signal(int) { g_interrupted = 1; }

void log_line(const std::string& line) { std::fprintf(stderr, "tandem-agent: %s\n", line.c_str()); }

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem;
  const char* env_token = std::getenv("TANDEM_TOKEN");
  auto parsed = agent::parse_options(std::vector<std::string>(argv + 1, argv + argc),
                                     env_token ? std::optional<std::string>(env_token) : std::nullopt);
  if (!parsed.ok()) {
    log_line(parsed.error().message);
    return 2;
  }
  const agent::AgentOptions options = std::move(parsed).value();
  if (options.help) {
    std::fputs(agent::usage().c_str(), stdout);
    return 0;
  }

  std::string token;
  if (options.token) {
    token = *options.token;
  } else {
    auto dev = canvas::fetch_dev_token(options.url, options.dev_name);
    if (!dev.ok()) {
      log_line("no --token and no dev token: " + dev.error().message);
      return 3;
    }
    token = dev.value();
    log_line("using a dev token for \"" + options.dev_name + "\"");
  }

  ClientConfig config;
  config.session.url = options.url;
  config.session.token = token;
  if (auto invalid = validate(config)) {
    log_line(invalid->message);
    return 2;
  }
  native::LwsTransportSettings transport;
  transport.log_level = options.verbose ? native::LwsLogLevel::Verbose : native::LwsLogLevel::Errors;
  transport.ca_file = options.ca_file;
  native::NativeClient client(config, transport);

  agent::WorkflowAgent worker(client.client().rooms(),
                              agent::AgentConfig{options.agent_room, options.workflow_room, options.step_interval},
                              agent::build_workflow_plan(options.prompt, agent::id_prefix_for(options.agent_room)));
  worker.log = log_line;

  bool refused = false;
  bool was_open = false;
  client.client().on_state = [&](const StateChange& change) {
    std::string line = std::string("connection ") + to_string(change.state) + " (" + to_string(change.cause);
    if (change.close_code != 0) line += ", close " + std::to_string(change.close_code) + " " + change.close_reason;
    if (change.state == State::Reconnecting) line += ", retry in " + std::to_string(change.retry_delay.count()) + " ms";
    log_line(line + ")");
    if (change.state == State::Open && client.client().connected())
      log_line("connected as " + client.client().connected()->user.id);
    if (change.state == State::Open && std::exchange(was_open, true)) worker.on_reconnected();
    if (change.state == State::Closed && change.cause != Cause::Stopped) refused = true;
  };
  client.client().rooms().on_stream_control = [&](const protocol::StreamControl& control) { worker.on_control(control); };
  client.client().rooms().on_rejoin_failed = [&](const std::string& room, const Error& error) {
    log_line("could not rejoin " + room + ": " + error.code + " " + error.message);
  };

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  worker.start(client.now());
  client.start();
  bool interrupted = false;
  while (!worker.ended() && !refused) {
    client.poll(Millis{20});
    if (g_interrupted && !interrupted) {
      interrupted = true;
      log_line("interrupted: cancelling");
      if (worker.state() == agent::AgentState::Joining) break;
      worker.on_control(protocol::StreamControl{options.agent_room, protocol::StreamAction::Cancel, "signal"});
    }
    worker.tick(client.now());
  }
  client.shutdown();

  if (refused) {
    log_line("the server refused or closed the connection; giving up");
    return 3;
  }
  switch (worker.state()) {
    case agent::AgentState::Finished: return 0;
    case agent::AgentState::Cancelled: return interrupted ? 130 : 0;
    case agent::AgentState::Failed: return 1;
    default: return interrupted ? 130 : 1;
  }
}
