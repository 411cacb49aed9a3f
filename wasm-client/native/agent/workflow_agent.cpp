// workflow_agent.cpp — the step loop of tandem-agent (see workflow_agent.h).
//
// Re-entrancy: ack callbacks run inside Rooms calls or the client's poll; each one only moves
// this object's state forward and never destroys it.
#include "workflow_agent.h"

#include <utility>

#include "tandem/json.h"
#include "tandem/protocol/errors.h"

namespace tandem::agent {

namespace {

std::string text_data(const std::string& text) {
  json::JsonWriter w;
  w.str("text", text);
  return w.finish();
}

std::string node_data(const protocol::Node& node) {
  json::JsonWriter w;
  w.str("id", node.id).str("type", node.type).str("label", node.label);
  return w.finish();
}

std::string edge_data(const protocol::Edge& edge) {
  json::JsonWriter w;
  w.str("id", edge.id).str("from", edge.from).str("to", edge.to);
  return w.finish();
}

}  // namespace

const char* to_string(AgentState state) {
  switch (state) {
    case AgentState::Joining: return "joining";
    case AgentState::Running: return "running";
    case AgentState::Paused: return "paused";
    case AgentState::Finished: return "finished";
    case AgentState::Cancelled: return "cancelled";
    case AgentState::Failed: return "failed";
  }
  return "unknown";
}

WorkflowAgent::WorkflowAgent(Rooms& rooms, AgentConfig config, WorkflowPlan plan)
    : rooms_(rooms), config_(std::move(config)), plan_(std::move(plan)) {}

void WorkflowAgent::say(const std::string& line) {
  if (log) log(line);
}

void WorkflowAgent::start(Millis now) {
  now_ = now;
  for (const std::string& room : {config_.agent_room, config_.workflow_room})
    rooms_.join(room, std::nullopt, [this, room](Result<protocol::Subscribed> r) { joined(room, std::move(r)); });
}

void WorkflowAgent::joined(const std::string& room, Result<protocol::Subscribed> result) {
  if (state_ != AgentState::Joining) return;
  if (!result.ok()) {
    fail("joining " + room, result.error());
    return;
  }
  say("joined " + room + " (seq " + std::to_string(result->seq) + ")");
  if (++rooms_joined_ < 2) return;
  state_ = AgentState::Running;
  next_step_at_ = now_;
  say("building " + std::to_string(plan_.nodes.size()) + " nodes and " + std::to_string(plan_.edges.size()) +
      " edges into " + config_.workflow_room);
}

void WorkflowAgent::tick(Millis now) {
  if (now > now_) now_ = now;
  if (ended() || ending_ || step_in_flight_ || state_ == AgentState::Joining) return;
  if (cancel_requested_) {
    ending_ = true;
    stream("cancelled", text_data("Cancelled after " + std::to_string(next_step_) + " of " +
                                  std::to_string(plan_.steps.size()) + " steps"),
           [this] {
             state_ = AgentState::Cancelled;
             say("cancelled");
           });
    return;
  }
  if (state_ != AgentState::Running || now_ < next_step_at_) return;
  if (next_step_ < plan_.steps.size()) {
    take_step();
    return;
  }
  ending_ = true;
  json::JsonWriter done;
  done.int64("nodes", static_cast<std::int64_t>(plan_.nodes.size()))
      .int64("edges", static_cast<std::int64_t>(plan_.edges.size()));
  stream("done", done.finish(), [this] {
    state_ = AgentState::Finished;
    say("done");
  });
}

void WorkflowAgent::take_step() {
  step_in_flight_ = true;
  const AgentStep& step = plan_.steps[next_step_];
  const std::string progress = "step " + std::to_string(next_step_ + 1) + "/" + std::to_string(plan_.steps.size());
  const RoomReplica* workflow = rooms_.replica(config_.workflow_room);
  switch (step.kind) {
    case AgentStep::Kind::Think:
      say(progress + ": thinking: " + step.text);
      stream("thinking", text_data(step.text), [this] { step_done(); });
      return;
    case AgentStep::Kind::CreateNode: {
      const protocol::Node node = step.node;
      if (workflow && workflow->document().node(node.id)) {
        say(progress + ": node " + node.id + " is already in the document");
        step_done();
        return;
      }
      say(progress + ": creating node " + node.id + " (" + node.type + ", \"" + node.label + "\")");
      rooms_.create_node(config_.workflow_room, node, [this, node](Result<Acked> r) {
        if (!r.ok() && r.error().code != protocol::errc::conflict) {
          fail("creating node " + node.id, r.error());
          return;
        }
        stream("node_created", node_data(node), [this] { step_done(); });
      });
      return;
    }
    case AgentStep::Kind::CreateEdge: {
      const protocol::Edge edge = step.edge;
      if (workflow && workflow->document().edge(edge.id)) {
        say(progress + ": edge " + edge.id + " is already in the document");
        step_done();
        return;
      }
      say(progress + ": creating edge " + edge.id + " (" + edge.from + " -> " + edge.to + ")");
      rooms_.create_edge(config_.workflow_room, edge, [this, edge](Result<Acked> r) {
        if (!r.ok() && r.error().code != protocol::errc::conflict) {
          fail("creating edge " + edge.id, r.error());
          return;
        }
        stream("edge_created", edge_data(edge), [this] { step_done(); });
      });
      return;
    }
  }
}

void WorkflowAgent::step_done() {
  step_in_flight_ = false;
  ++next_step_;
  next_step_at_ = now_ + config_.step_interval;
}

void WorkflowAgent::stream(const std::string& event, std::string data, std::function<void()> then) {
  rooms_.send_stream(config_.agent_room, event, std::move(data),
                     [this, event, then = std::move(then)](Result<Acked> r) {
                       if (!r.ok()) {
                         fail("streaming " + event, r.error());
                         return;
                       }
                       if (then) then();
                     });
}

void WorkflowAgent::on_control(const protocol::StreamControl& control) {
  if (control.room != config_.agent_room || ended() || ending_) return;
  const std::string who = " (asked by " + control.user + ")";
  switch (control.action) {
    case protocol::StreamAction::Pause:
      if (state_ != AgentState::Running) return;
      state_ = AgentState::Paused;
      say("paused" + who);
      stream("paused", text_data("Paused after " + std::to_string(next_step_) + " steps"), nullptr);
      return;
    case protocol::StreamAction::Resume:
      if (state_ != AgentState::Paused) return;
      state_ = AgentState::Running;
      say("resumed" + who);
      stream("resumed", text_data("Resuming"), nullptr);
      return;
    case protocol::StreamAction::Cancel:
      if (cancel_requested_) return;
      cancel_requested_ = true;
      say("cancel requested" + who + (step_in_flight_ ? "; finishing the step in flight" : ""));
      return;
  }
}

void WorkflowAgent::on_reconnected() {
  if (state_ != AgentState::Paused || ending_) return;
  say("connection back while paused: announcing it again");
  stream("paused", text_data("Paused after " + std::to_string(next_step_) + " steps"), nullptr);
}

void WorkflowAgent::fail(const std::string& what, const Error& error) {
  if (ended()) return;
  state_ = AgentState::Failed;
  failure_ = Error{error.code, what + ": " + error.code + ": " + error.message};
  say("failed: " + failure_->message);
}

}  // namespace tandem::agent
