// agent_plan.cpp — keyword rules that turn a prompt into a fixed workflow plan (see
// agent_plan.h).
#include "agent_plan.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string_view>

namespace tandem::agent {

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool mentions(const std::string& text, std::initializer_list<std::string_view> words) {
  return std::any_of(words.begin(), words.end(), [&](std::string_view w) { return text.find(w) != std::string::npos; });
}

// What the workflow works on: the first known noun in the prompt.
std::string subject_of(const std::string& text) {
  for (std::string_view noun : {"orders", "invoices", "customers", "users", "issues", "tickets", "leads", "payments"})
    if (text.find(noun) != std::string::npos) return std::string(noun);
  return "data";
}

protocol::Node make_node(const std::string& prefix, std::size_t index, std::string type, std::string label,
                         std::string data) {
  protocol::Node node;
  node.id = prefix + "-n" + std::to_string(index + 1);
  node.type = std::move(type);
  node.label = std::move(label);
  node.x = static_cast<double>(index) * 260.0;
  node.y = (index % 2 == 0) ? 0.0 : 80.0;
  node.data = std::move(data);
  return node;
}

}  // namespace

std::string id_prefix_for(const std::string& room) {
  const std::size_t colon = room.find(':');
  std::string name = colon == std::string::npos ? room : room.substr(colon + 1);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') c = '-';
  if (name.size() > 48) name.resize(48);  // ids are at most 128 bytes; leave room for the suffix
  return name.empty() ? "agent" : name;
}

WorkflowPlan build_workflow_plan(const std::string& prompt, const std::string& id_prefix) {
  const std::string text = lowercase(prompt);
  const std::string subject = subject_of(text);
  WorkflowPlan plan;
  auto add = [&](std::string type, std::string label, std::string data) {
    plan.nodes.push_back(make_node(id_prefix, plan.nodes.size(), std::move(type), std::move(label), std::move(data)));
  };

  if (mentions(text, {"every", "daily", "hourly", "schedule", "cron", "morning", "night"}))
    add("schedule", "Every day at 09:00", R"({"cron":"0 9 * * *"})");
  else
    add("webhook", "When a request arrives", R"({"path":"/hooks/start"})");
  add("http_request", "Fetch " + subject, R"({"method":"GET","url":"https://api.example.com/)" + subject + R"("})");
  if (mentions(text, {"only", "paid", "filter", "where", "failed", "overdue"}))
    add("filter", "Keep the relevant " + subject, R"({"field":"status"})");
  if (mentions(text, {"summar", "digest", "report"}))
    add("transform", "Summarize " + subject, R"({"kind":"summary"})");
  else
    add("transform", "Shape " + subject, R"({"kind":"map"})");
  if (mentions(text, {"slack"}))
    add("slack_message", "Post to Slack", R"({"channel":"#general"})");
  else if (mentions(text, {"email", "mail"}))
    add("send_email", "Email the team", R"({"to":"team@example.com"})");
  else
    add("notify", "Notify the team", "{}");

  for (std::size_t i = 0; i + 1 < plan.nodes.size(); ++i)
    plan.edges.push_back(
        protocol::Edge{id_prefix + "-e" + std::to_string(i + 1), plan.nodes[i].id, plan.nodes[i + 1].id});

  std::string outline;
  for (const auto& node : plan.nodes) outline += (outline.empty() ? "" : " -> ") + node.type;
  plan.steps.push_back({AgentStep::Kind::Think, "Reading the request: \"" + prompt + "\"", {}, {}});
  plan.steps.push_back({AgentStep::Kind::Think,
                        "Plan: " + outline + " (" + std::to_string(plan.nodes.size()) + " nodes, " +
                            std::to_string(plan.edges.size()) + " edges)",
                        {}, {}});
  for (const auto& node : plan.nodes) plan.steps.push_back({AgentStep::Kind::CreateNode, {}, node, {}});
  for (const auto& edge : plan.edges) plan.steps.push_back({AgentStep::Kind::CreateEdge, {}, {}, edge});
  return plan;
}

}  // namespace tandem::agent
