// workflow_agent.h — tandem-agent's worker: runs a WorkflowPlan through the client core's Rooms.
// It joins the agent:{id} room (where it is the stream's producer) and the workflow:{id} room,
// then takes one step at a time — a `thinking` stream event, or a node/edge created in the
// document followed by a `node_created` / `edge_created` stream event — waiting for each ack
// and then step_interval before the next, and ends with `done`. stream_control from consumers:
// pause stops between steps (announced `paused`), resume goes on (`resumed`), cancel ends after
// the step in flight (`cancelled`). A node or edge already in the document (an earlier run) is
// not created again. No I/O and no clock of its own: the owner calls tick(now) and forwards
// Rooms::on_stream_control to on_control().
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "agent_plan.h"
#include "tandem/clock.h"
#include "tandem/result.h"
#include "tandem/rooms.h"

namespace tandem::agent {

struct AgentConfig {
  std::string agent_room;     // agent:{id}
  std::string workflow_room;  // workflow:{id}
  Millis step_interval{400};  // pause between steps, so people can watch
};

enum class AgentState {
  Joining,   // subscribing to both rooms
  Running,   // taking steps
  Paused,    // a consumer paused it: no new step until resume
  Finished,  // every step done and `done` acked
  Cancelled, // a consumer cancelled it and `cancelled` was acked
  Failed,    // a join or a request failed (failure() says why)
};
const char* to_string(AgentState state);

class WorkflowAgent {
 public:
  WorkflowAgent(Rooms& rooms, AgentConfig config, WorkflowPlan plan);
  WorkflowAgent(const WorkflowAgent&) = delete;
  WorkflowAgent& operator=(const WorkflowAgent&) = delete;

  std::function<void(const std::string&)> log;  // one human-readable line per event

  void start(Millis now);  // joins both rooms
  void tick(Millis now);   // takes the next step when one is due
  void on_control(const protocol::StreamControl& control);
  // The connection is open again (after a reconnect). The server names the latest sender in the
  // agent room as its stream's producer, and forgets it with its connection: a paused agent
  // (which sends nothing until resumed) announces `paused` again, so consumers can still
  // resume or cancel it.
  void on_reconnected();

  AgentState state() const { return state_; }
  bool ended() const {
    return state_ == AgentState::Finished || state_ == AgentState::Cancelled || state_ == AgentState::Failed;
  }
  const std::optional<Error>& failure() const { return failure_; }
  std::size_t steps_done() const { return next_step_; }
  std::size_t steps_total() const { return plan_.steps.size(); }

 private:
  void joined(const std::string& room, Result<protocol::Subscribed> result);
  void take_step();
  // Sends a stream event; `then` runs once it is acked (a failure fails the agent).
  void stream(const std::string& event, std::string data, std::function<void()> then);
  void step_done();
  void fail(const std::string& what, const Error& error);
  void say(const std::string& line);

  Rooms& rooms_;
  AgentConfig config_;
  WorkflowPlan plan_;
  AgentState state_ = AgentState::Joining;
  int rooms_joined_ = 0;
  std::size_t next_step_ = 0;
  bool step_in_flight_ = false;
  bool cancel_requested_ = false;
  bool ending_ = false;  // `done` or `cancelled` sent
  Millis now_{0};
  Millis next_step_at_{0};
  std::optional<Error> failure_;
};

}  // namespace tandem::agent
