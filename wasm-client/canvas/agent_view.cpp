// wasm-client/canvas/agent_view.cpp — the agent panel's logic (see agent_view.h).
#include "agent_view.h"

#include <cmath>
#include <cstdio>

#include "tandem/json.h"

namespace canvas {

using tandem::protocol::StreamAction;
using tandem::protocol::StreamEvent;

namespace {

// Member readers over a parsed object. Each uses its own Fields, so one member of the wrong
// type does not hide the others (Fields keeps its first failure).
const char* string_member(const cJSON* object, const char* key) {
  return tandem::json::Fields(object, "stream.data").peek_string(key);
}

std::optional<double> number_member(const cJSON* object, const char* key) {
  std::optional<double> value;
  tandem::json::Fields fields(object, "stream.data");
  if (!fields.opt_num(key, value, -1e300, 1e300)) return std::nullopt;
  return value;
}

const cJSON* object_member(const cJSON* object, const char* key) {
  tandem::json::Fields fields(object, "stream.data");
  const cJSON* member = fields.has(key) ? fields.object(key, false) : nullptr;
  return fields.ok() ? member : nullptr;
}

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", value);
  return text;
}

// "Label (type)" for a node object: its label or id, and its type when it has one.
std::string node_text(const cJSON* node) {
  const char* label = string_member(node, "label");
  const char* id = string_member(node, "id");
  const char* type = string_member(node, "type");
  std::string text = label && *label ? label : (id ? id : "");
  if (type && *type) text += std::string(" (") + type + ")";
  return text;
}

}  // namespace

std::string describe_stream_data(const std::optional<std::string>& data) {
  if (!data || data->empty() || *data == "null") return "";
  // Wrapped so any JSON value (a string, a number) is a member Fields can read.
  auto parsed = tandem::json::parse_json("{\"v\":" + *data + "}");
  if (!parsed) return *data;
  const cJSON* root = parsed.value().get();
  if (const char* text = string_member(root, "v")) return text;
  const cJSON* object = object_member(root, "v");
  if (object == nullptr) return *data;  // a number, a boolean, an array: as JSON

  if (const char* text = string_member(object, "text")) return text;
  if (const cJSON* node = object_member(object, "node")) return node_text(node);
  if (const cJSON* edge = object_member(object, "edge")) {
    const char* from = string_member(edge, "from");
    const char* to = string_member(edge, "to");
    if (from && to) return std::string(from) + " -> " + to;
  }
  const char* from = string_member(object, "from");
  const char* to = string_member(object, "to");
  if (from && to) return std::string(from) + " -> " + to;
  if (string_member(object, "label")) return node_text(object);
  if (const auto nodes = number_member(object, "nodes")) {
    std::string text = number_text(*nodes) + " nodes";
    if (const auto edges = number_member(object, "edges")) text += ", " + number_text(*edges) + " edges";
    return text;
  }
  if (const char* message = string_member(object, "message")) return message;
  return *data == "{}" ? "" : *data;
}

StreamLine stream_line(const StreamEvent& event) {
  return StreamLine{event.seq, event.event, describe_stream_data(event.data)};
}

const char* to_string(AgentStatus status) {
  switch (status) {
    case AgentStatus::Idle: return "idle";
    case AgentStatus::Running: return "running";
    case AgentStatus::Paused: return "paused";
    case AgentStatus::Cancelled: return "cancelled";
    case AgentStatus::Done: return "done";
    case AgentStatus::Error: return "error";
  }
  return "?";
}

void AgentStatusTracker::on_event(const StreamEvent& event) {
  // The producer's own announcements (web/agent.js STATE_EVENTS); anything else means it is
  // working, unless it said it paused or we cancelled it (a step in flight may still stream).
  std::optional<AgentStatus> announced;
  if (event.event == "paused") announced = AgentStatus::Paused;
  if (event.event == "resumed" || event.event == "started") announced = AgentStatus::Running;
  if (event.event == "cancelled") announced = AgentStatus::Cancelled;
  if (event.event == "done") announced = AgentStatus::Done;
  if (announced) {
    status_ = *announced;
  } else if (status_ != AgentStatus::Paused && status_ != AgentStatus::Cancelled) {
    status_ = AgentStatus::Running;
  }
  text_ = to_string(status_);
}

void AgentStatusTracker::on_control_sent(StreamAction action) {
  switch (action) {
    case StreamAction::Pause: status_ = AgentStatus::Paused; break;
    case StreamAction::Resume: status_ = AgentStatus::Running; break;
    case StreamAction::Cancel: status_ = AgentStatus::Cancelled; break;
  }
  text_ = std::string(tandem::protocol::to_string(action)) + " sent";
}

void AgentStatusTracker::on_control_failed(const std::string& error_code, const std::string& message) {
  status_ = AgentStatus::Error;
  text_ = error_code == "not_found" ? "no agent is streaming in this room" : error_code + ": " + message;
}

std::string shell_word(const std::string& text) {
  const auto safe = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
  };
  bool plain = !text.empty();
  for (const char c : text) plain = plain && safe(c);
  if (plain) return text;
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string ws_endpoint(const std::string& url) { return url.substr(0, url.find_first_of("?#")); }

std::string agent_command(const std::string& url, const std::string& agent_room, const std::string& workflow_room,
                          const std::string& prompt) {
  std::string command = "tandem-agent";
  for (const std::string& word : {std::string("--url"), ws_endpoint(url), std::string("--agent-room"), agent_room,
                                  std::string("--workflow"), workflow_room, std::string("--prompt"),
                                  prompt.empty() ? std::string(kDefaultAgentPrompt) : prompt}) {
    command += " " + shell_word(word);
  }
  return command;
}

}  // namespace canvas
