// outbox.cpp — request ids, ack matching, ack timeouts, offline queue, resend (see
// tandem/outbox.h).
#include "tandem/outbox.h"

#include <charconv>
#include <utility>
#include <variant>
#include <vector>

#include "tandem/protocol/codec.h"
#include "tandem/protocol/errors.h"

namespace tandem {

namespace {

// Our ids are decimal numbers without leading zeros; anything else is not one of ours.
std::optional<std::uint64_t> parse_id(const std::string& id) {
  if (id.empty() || id.size() > 20 || id[0] == '0') return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
  if (ec != std::errc{} || end != id.data() + id.size()) return std::nullopt;
  return value;
}

Error client_error(std::string_view code, std::string message) { return Error{std::string(code), std::move(message)}; }

}  // namespace

Outbox::Outbox(SendFn send, OutboxSettings settings) : send_(std::move(send)), settings_(settings) {}

std::size_t Outbox::queued_count() const {
  std::size_t queued = 0;
  for (const auto& [number, entry] : pending_) queued += entry.on_wire ? 0 : 1;
  return queued;
}

RequestStatus Outbox::submit(const protocol::ClientMessage& message, RequestCallback done, Millis now) {
  if (!online_ && pending_.size() >= settings_.max_queued) {
    // Refused before an id is taken: the queue, the ids and every other request stay as they were.
    if (done)
      done(client_error(protocol::errc::queue_full,
                        "offline queue full: " + std::to_string(settings_.max_queued) +
                            " requests are waiting for the connection; this one was not queued"));
    return RequestStatus::QueueFull;
  }
  const std::uint64_t number = ++last_id_;
  std::string id = std::to_string(number);
  std::string frame = protocol::encode(protocol::ClientFrame{id, message});
  Pending& entry = pending_.emplace(number, Pending{std::move(id), std::move(frame), std::move(done)}).first->second;
  if (online_ && put_on_wire(entry, now)) return RequestStatus::Sent;
  return RequestStatus::Queued;
}

bool Outbox::put_on_wire(Pending& entry, Millis now) {
  if (send_(entry.frame) != SendStatus::Sent) {
    // The connection is going away and on_closed has not reached us yet. Going offline
    // keeps later requests behind this one, so the resend order stays the submission order.
    online_ = false;
    return false;
  }
  entry.on_wire = true;
  entry.deadline = now + settings_.ack_timeout;
  return true;
}

void Outbox::on_open(Millis now, const std::function<void()>& before_resend) {
  online_ = true;
  if (before_resend) before_resend();  // its submissions go on the wire at once
  if (!online_) return;                // a send failed meanwhile: everything waits for the next open
  // Map order = submission order: previously unacked requests (lower ids) go first, then those
  // queued offline. A send callback cannot reach back into the Outbox, so iterating is safe.
  for (auto& [number, entry] : pending_) {
    if (entry.on_wire) continue;  // cannot happen after on_closed(), but never send twice
    if (!put_on_wire(entry, now)) break;
  }
}

void Outbox::on_closed() {
  online_ = false;
  for (auto& [number, entry] : pending_) entry.on_wire = false;
}

FrameRoute Outbox::on_frame(const protocol::ServerFrame& frame) {
  if (!frame.id) return FrameRoute::NotMine;
  const auto number = parse_id(*frame.id);
  if (!number) return FrameRoute::NotMine;
  const auto it = pending_.find(*number);
  if (it == pending_.end()) {
    // An answer to a request we issued but no longer hold: a second ack after a resend, or an
    // answer arriving after the timeout. Acks and errors say nothing new; data replies
    // (subscribed, lock_granted...) still describe server state, so the app gets them.
    const bool is_answer_only = std::holds_alternative<protocol::Ack>(frame.message) ||
                                std::holds_alternative<protocol::ErrorReply>(frame.message);
    return (*number <= last_id_ && is_answer_only) ? FrameRoute::Duplicate : FrameRoute::NotMine;
  }
  if (const auto* error = std::get_if<protocol::ErrorReply>(&frame.message))
    complete(it, Error{error->code, error->message});
  else
    complete(it, frame);
  return FrameRoute::Completed;
}

void Outbox::tick(Millis now) {
  // Entries on the wire come first and their deadlines rise along the map; collect the
  // expired ones before running any callback (a callback may submit or stop).
  std::vector<std::uint64_t> expired;
  for (const auto& [number, entry] : pending_) {
    if (!entry.on_wire || entry.deadline > now) break;
    expired.push_back(number);
  }
  for (std::uint64_t number : expired) {
    const auto it = pending_.find(number);
    if (it == pending_.end()) continue;
    const std::string timeout_text = std::to_string(settings_.ack_timeout.count());
    complete(it, client_error(protocol::errc::timeout,
                              "no answer to request " + it->second.id + " within " + timeout_text + " ms"));
  }
}

void Outbox::stop() {
  online_ = false;
  std::map<std::uint64_t, Pending> failing;
  failing.swap(pending_);
  for (auto& [number, entry] : failing)
    if (entry.done) entry.done(client_error(protocol::errc::closed, "client stopped before request " + entry.id + " was answered"));
}

void Outbox::complete(std::map<std::uint64_t, Pending>::iterator it, Result<protocol::ServerFrame> outcome) {
  RequestCallback done = std::move(it->second.done);
  pending_.erase(it);
  if (done) done(std::move(outcome));
}

}  // namespace tandem
