// server/src/publish_api.cpp — POST /api/v1/publish: decode, validate all, apply in order,
// commit, answer (see publish_api.h).
#include "publish_api.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "log.h"
#include "tandem/json.h"
#include "tandem/protocol/errors.h"
#include "tandem/protocol/publish.h"

namespace tandem::server {

namespace {

using protocol::ExecutionUpdate;
using protocol::PublishedNodeUpdate;
using protocol::PublishMessage;

// One message or a batch. A batch is parsed as it is, then read as the member of a wrapping
// object so the codec's field readers (and their error contexts, "publish.batch[3].status") do
// the work. (Wrapping the text instead, `{"batch":` + body + `}`, let bodies that are not JSON
// through, such as `[...], "x": 1` — found by fuzz.publish_body.)
Result<std::vector<PublishMessage>> decode_body(std::string_view body) {
  const std::size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || body[first] != '[') {
    auto one = protocol::decode_publish(body);
    if (!one) return one.error();
    return std::vector<PublishMessage>{std::move(one).value()};
  }
  auto batch = json::parse_json(body);
  if (!batch) return batch.error();
  const json::JsonPtr root = json::wrap("batch", std::move(batch).value());
  std::vector<PublishMessage> messages;
  json::Fields f(root.get(), "publish");
  f.each("batch", true, kMaxPublishBatch, [&](json::Fields& element) {
    std::string type;
    if (!element.str("type", type, {1, 64, true})) return;
    if (type == ExecutionUpdate::kType) {
      ExecutionUpdate m;
      protocol::read_body(element, m);
      if (element.ok()) messages.emplace_back(std::move(m));
    } else if (type == PublishedNodeUpdate::kType) {
      PublishedNodeUpdate m;
      protocol::read_body(element, m);
      if (element.ok()) messages.emplace_back(std::move(m));
    } else {
      element.fail(element.context() + ": cannot publish type \"" + type + "\"", std::string(protocol::errc::unknown_type));
    }
  });
  if (!f.ok()) return f.error();
  if (messages.empty()) return Error{std::string(protocol::errc::invalid_message), "an empty batch publishes nothing"};
  return messages;
}

const std::string& room_of(const PublishMessage& message) {
  return std::visit([](const auto& m) -> const std::string& { return m.room; }, message);
}

// The rooms a batch names, each once, in first-use order.
std::vector<std::string> rooms_of(const std::vector<PublishMessage>& messages) {
  std::vector<std::string> rooms;
  for (const PublishMessage& message : messages)
    if (std::find(rooms.begin(), rooms.end(), room_of(message)) == rooms.end()) rooms.push_back(room_of(message));
  return rooms;
}

// Validates and applies a decoded batch whose rooms can be opened without reading the store;
// returns the answer to give once the events are stored (nullopt: they are applied) or the
// refusal (nothing applied).
struct Applied {
  std::optional<HttpResponse> refusal;
  std::string answer;
};

Applied apply(Hub& hub, std::vector<PublishMessage>& messages, const std::vector<std::string>& room_names, Now now) {
  RoomRegistry& rooms = hub.rooms();
  // Validate everything before changing anything (no room is opened, so none is created).
  for (const PublishMessage& message : messages) {
    const auto* update = std::get_if<PublishedNodeUpdate>(&message);
    if (!update) continue;
    switch (rooms.find_node(update->room, update->node)) {
      case RoomRegistry::NodeLookup::Found: break;
      case RoomRegistry::NodeLookup::Missing:
        return {json_error(404, protocol::errc::not_found,
                           "room \"" + update->room + "\" has no node \"" + update->node + "\"; nothing was published"),
                {}};
      case RoomRegistry::NodeLookup::StoreFailed:
        return {json_error(503, protocol::errc::internal,
                           "room \"" + update->room + "\" could not be loaded from the store; nothing was published — retry"),
                {}};
    }
  }
  // Every room of the batch is opened before anything is applied: one that cannot be loaded
  // from the store refuses the whole batch (all or nothing).
  for (std::size_t i = 0; i < room_names.size(); ++i) {
    if (rooms.open(room_names[i], now.wall)) continue;
    for (std::size_t j = 0; j < i; ++j) rooms.release_if_idle(room_names[j]);
    return {json_error(503, protocol::errc::internal,
                       "room \"" + room_names[i] + "\" could not be loaded from the store; nothing was published — retry"),
            {}};
  }
  json::JsonWriter results = json::JsonWriter::array();
  std::string single_answer;  // the answer when there is one message
  for (PublishMessage& message : messages) {
    const std::string room_name = room_of(message);
    Room& room = *rooms.find_mutable(room_name);
    const std::int64_t seq = std::visit(
        [&](auto& m) {
          if constexpr (std::is_same_v<std::decay_t<decltype(m)>, PublishedNodeUpdate>) {
            const protocol::Node* node = room.doc.apply_status(m.node, m.status, m.data);
            if (node) rooms.persist(room, store::WriteBatch::PutNode{room_name, *node});
          }
          return rooms.emit(hub, room, m, now.wall).seq;  // stamps seq and ts
        },
        message);
    json::JsonWriter result;
    result.str("room", room_name).str("epoch", room.epoch).int64("seq", seq);
    if (messages.size() == 1) {
      single_answer = result.finish();
    } else {
      results.push(std::move(result));
    }
  }
  for (const std::string& room : room_names) rooms.release_if_idle(room);
  if (messages.size() == 1) return {std::nullopt, std::move(single_answer)};
  json::JsonWriter answer;
  answer.child("results", std::move(results));
  return {std::nullopt, answer.finish()};
}

// Applies the batch once every room of it is live or read (a loop pass's reads), and answers
// after the commit that stores its events.
void apply_when_loaded(Hub& hub, std::vector<PublishMessage> messages, std::vector<std::string> rooms, Now now,
                       HttpApi::Respond respond) {
  std::vector<std::string> wanted = rooms;
  hub.when_rooms_loaded(wanted, [&hub, messages = std::move(messages), rooms = std::move(rooms), now,
                                 respond = std::move(respond)](bool readable) mutable {
    if (!readable) return respond(json_error(503, protocol::errc::internal, "the store is failing; nothing was published — retry"));
    // A room live when the request came may have been forgotten before the others were read:
    // it is read too before anything is applied.
    const bool forgotten_meanwhile =
        std::any_of(rooms.begin(), rooms.end(), [&](const std::string& room) { return hub.rooms().needs_load(room); });
    if (forgotten_meanwhile) return apply_when_loaded(hub, std::move(messages), std::move(rooms), now, std::move(respond));
    Applied applied = apply(hub, messages, rooms, now);
    if (applied.refusal) return respond(std::move(*applied.refusal));
    // Durable before answering: after the commit that carries the events.
    hub.after_commit([answer = std::move(applied.answer), count = messages.size(), respond](bool stored) {
      if (stored) return respond(HttpResponse{200, "application/json", answer});
      LOG_ERROR("publish: %zu event(s) applied but not stored (the store was given up, or the rooms moved to another instance)", count);
      respond(json_error(503, protocol::errc::internal,
                         "the events were applied but could not be stored (the store failed, or the rooms moved to "
                         "another instance) — retry"));
    });
  });
}

}  // namespace

void publish(Hub& hub, std::string_view body, Now now, HttpApi::Respond respond, bool forwarded) {
  auto decoded = decode_body(body);
  if (!decoded) return respond(json_error(400, decoded.error().code, decoded.error().message));
  std::vector<std::string> rooms = rooms_of(decoded.value());
  // With several instances the rooms run here, or on one other instance, which gets the body
  // (a room another instance runs is never opened here: that would take it from its owner).
  // Then rooms that are not live are read with a loop pass's reads, and everything is applied.
  hub.when_owners_known(rooms, [&hub, messages = std::move(decoded).value(), rooms, now, forwarded,
                                body = std::string(body),
                                respond = std::move(respond)](Result<std::vector<std::string>> owners) mutable {
    if (!owners) return respond(json_error(503, protocol::errc::internal, owners.error().message + "; nothing was published — retry"));
    std::set<std::string> elsewhere;
    for (const std::string& owner : owners.value())
      if (owner != hub.instance()) elsewhere.insert(owner);
    if (elsewhere.empty()) return apply_when_loaded(hub, std::move(messages), std::move(rooms), now, std::move(respond));
    if (forwarded)
      return respond(json_error(503, protocol::errc::internal,
                                "the rooms moved to instance " + *elsewhere.begin() + " meanwhile; nothing was published — retry"));
    const bool some_here = std::find(owners.value().begin(), owners.value().end(), hub.instance()) != owners.value().end();
    if (elsewhere.size() > 1 || some_here)
      return respond(json_error(409, protocol::errc::conflict,
                                "the batch's rooms run on different instances; publish them in separate requests — nothing was published"));
    hub.forward_publish(*elsewhere.begin(), std::move(body), [respond = std::move(respond)](int status, std::string answer) {
      respond(HttpResponse{status, "application/json", std::move(answer)});
    });
  });
}

}  // namespace tandem::server
