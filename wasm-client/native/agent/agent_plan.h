// agent_plan.h — the deterministic plan of tandem-agent's build_workflow: from a prompt, a
// fixed workflow (trigger → fetch → [filter →] transform → notify) with positions, and the
// steps that build it one by one (thinking, each node, each edge). No model, no randomness:
// the same prompt always gives the same plan.
#pragma once

#include <string>
#include <vector>

#include "tandem/protocol/documents.h"

namespace tandem::agent {

struct AgentStep {
  enum class Kind { Think, CreateNode, CreateEdge };
  Kind kind = Kind::Think;
  std::string text;     // Think: what the agent says
  protocol::Node node;  // CreateNode
  protocol::Edge edge;  // CreateEdge
};

struct WorkflowPlan {
  std::vector<protocol::Node> nodes;  // in creation order
  std::vector<protocol::Edge> edges;
  std::vector<AgentStep> steps;       // thinking, then the nodes, then the edges
};

// Plans the workflow for `prompt`. Node and edge ids start with `id_prefix` (identifier chars,
// e.g. the agent room's name) so two builds into one document do not collide.
WorkflowPlan build_workflow_plan(const std::string& prompt, const std::string& id_prefix);

// The identifier-safe part of a room name: "agent:build 7" -> "build-7".
std::string id_prefix_for(const std::string& room);

}  // namespace tandem::agent
