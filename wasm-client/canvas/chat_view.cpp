// wasm-client/canvas/chat_view.cpp — the chat panel's logic (see chat_view.h).
#include "chat_view.h"

#include <algorithm>
#include <utility>

namespace canvas {

using tandem::Millis;
using tandem::protocol::ChatEntry;

std::string chat_line(const ChatEntry& message) {
  return (message.name.empty() ? message.user : message.name) + ": " + message.text;
}

std::string typing_line(const std::map<std::string, std::string>& typing, const std::string& self_user) {
  std::vector<std::string> names;
  for (const auto& [user, name] : typing) {
    if (user != self_user) names.push_back(name.empty() ? user : name);
  }
  if (names.empty()) return "";
  if (names.size() == 1) return names[0] + " is typing...";
  if (names.size() == 2) return names[0] + " and " + names[1] + " are typing...";
  return std::to_string(names.size()) + " people are typing...";
}

// ---- TypingThrottle -------------------------------------------------------------------------

std::optional<bool> TypingThrottle::input_changed(Millis now, bool has_text) {
  if (!has_text) {
    if (!active_) return std::nullopt;
    active_ = false;
    return false;
  }
  last_input_ = now;
  if (active_ && now - sent_at_ < kRefresh) return std::nullopt;
  active_ = true;
  sent_at_ = now;
  return true;
}

std::optional<bool> TypingThrottle::tick(Millis now) {
  if (!active_ || now - last_input_ < kIdle) return std::nullopt;
  active_ = false;
  return false;
}

// ---- PendingChat ----------------------------------------------------------------------------

const char* to_string(PendingState state) {
  switch (state) {
    case PendingState::Sending: return "sending";
    case PendingState::Acked: return "acked";
    case PendingState::Failed: return "failed";
  }
  return "?";
}

std::uint64_t PendingChat::add(std::string text, std::int64_t after_seq) {
  PendingLine line;
  line.local_id = next_id_++;
  line.text = std::move(text);
  line.after_seq = after_seq;
  lines_.push_back(std::move(line));
  return lines_.back().local_id;
}

void PendingChat::acked(std::uint64_t local_id, Millis now) {
  for (auto& line : lines_) {
    if (line.local_id == local_id && line.state == PendingState::Sending) {
      line.state = PendingState::Acked;
      line.acked_at = now;
    }
  }
}

void PendingChat::failed(std::uint64_t local_id, std::string error_code) {
  for (auto& line : lines_) {
    if (line.local_id == local_id && line.state != PendingState::Failed) {
      line.state = PendingState::Failed;
      line.error = std::move(error_code);
    }
  }
}

void PendingChat::dismiss(std::uint64_t local_id) {
  std::erase_if(lines_, [&](const PendingLine& line) {
    return line.local_id == local_id && line.state == PendingState::Failed;
  });
}

void PendingChat::reconcile(const std::deque<ChatEntry>& chat, const std::string& self_user, Millis now) {
  std::vector<PendingLine> kept;
  for (auto& line : lines_) {
    if (line.state == PendingState::Failed) {
      kept.push_back(std::move(line));
      continue;
    }
    const std::int64_t after = std::max(line.after_seq, last_echo_seq_);
    const auto echo = std::find_if(chat.begin(), chat.end(), [&](const ChatEntry& message) {
      return message.seq > after && message.user == self_user && message.text == line.text;
    });
    if (echo != chat.end()) {
      last_echo_seq_ = echo->seq;
      continue;
    }
    if (line.state == PendingState::Acked && now - line.acked_at >= kEchoGrace) continue;
    kept.push_back(std::move(line));
  }
  lines_ = std::move(kept);
}

const PendingLine* PendingChat::find(std::uint64_t local_id) const {
  for (const auto& line : lines_) {
    if (line.local_id == local_id) return &line;
  }
  return nullptr;
}

}  // namespace canvas
