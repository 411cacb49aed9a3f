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

// One message or a batch. A batch is read as the member of a wrapping object so the codec's
// field readers (and their error contexts, "publish.batch[3].status") do the work.
Result<std::vector<PublishMessage>> decode_body(std::string_view body) {
  const std::size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || body[first] != '[') {
    auto one = protocol::decode_publish(body);
    if (!one) return one.error();
    return std::vector<PublishMessage>{std::move(one).value()};
  }
  const std::string wrapped = R"({"batch":)" + std::string(body) + "}";
  auto root = json::parse_json(wrapped);
  if (!root) return root.error();
  std::vector<PublishMessage> messages;
  json::Fields f(root.value().get(), "publish");
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

enum class NodeLookup { Found, Missing, StoreFailed };

// The node ids of rooms that are not live, read from the store once per publish call (a batch
// may name one room many times); nullopt: the read failed.
using StoredNodeIds = std::map<std::string, std::optional<std::set<std::string>>>;

// Whether workflow `room` has node `node` — from memory when the room is live, else from the
// store — without opening (and so creating) the room.
NodeLookup find_node(Hub& hub, const std::string& room, const std::string& node, StoredNodeIds& stored_ids) {
  if (const Room* live = hub.rooms().find(room))
    return live->doc.find_node(node) != nullptr ? NodeLookup::Found : NodeLookup::Missing;
  if (!hub.store()) return NodeLookup::Missing;
  auto [it, first_read] = stored_ids.try_emplace(room);
  if (first_read) {
    auto stored = hub.store()->load_room(room);
    if (!stored) {
      LOG_ERROR("publish: cannot load room %s: %s", room.c_str(), stored.error().message.c_str());
    } else {
      it->second.emplace();
      for (const protocol::Node& n : stored->nodes) it->second->insert(n.id);
    }
  }
  if (!it->second) return NodeLookup::StoreFailed;
  return it->second->contains(node) ? NodeLookup::Found : NodeLookup::Missing;
}

const std::string& room_of(const PublishMessage& message) {
  return std::visit([](const auto& m) -> const std::string& { return m.room; }, message);
}

}  // namespace

HttpResponse publish(Hub& hub, std::string_view body, Now now) {
  auto decoded = decode_body(body);
  if (!decoded) return json_error(400, decoded.error().code, decoded.error().message);
  std::vector<PublishMessage>& messages = decoded.value();

  // Validate everything before changing anything.
  StoredNodeIds stored_ids;
  for (const PublishMessage& message : messages) {
    const auto* update = std::get_if<PublishedNodeUpdate>(&message);
    if (!update) continue;
    switch (find_node(hub, update->room, update->node, stored_ids)) {
      case NodeLookup::Found: break;
      case NodeLookup::Missing:
        return json_error(404, protocol::errc::not_found,
                          "room \"" + update->room + "\" has no node \"" + update->node + "\"; nothing was published");
      case NodeLookup::StoreFailed:
        return json_error(503, protocol::errc::internal,
                          "room \"" + update->room + "\" could not be loaded from the store; nothing was published — retry");
    }
  }

  // Every room of the batch is opened before anything is applied: one that cannot be loaded
  // from the store refuses the whole batch (all or nothing).
  RoomRegistry& rooms = hub.rooms();
  std::vector<std::string> opened;
  for (const PublishMessage& message : messages) {
    const std::string& room_name = room_of(message);
    if (std::find(opened.begin(), opened.end(), room_name) != opened.end()) continue;
    if (!rooms.open(room_name, now.wall)) {
      for (const std::string& room : opened) rooms.release_if_idle(room);
      return json_error(503, protocol::errc::internal,
                        "room \"" + room_name + "\" could not be loaded from the store; nothing was published — retry");
    }
    opened.push_back(room_name);
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
  for (const std::string& room : opened) rooms.release_if_idle(room);

  // Durable before answering: this loop pass's group commit, now.
  hub.commit();
  if (hub.store() && (hub.store_failed() || !hub.writes().empty())) {
    LOG_ERROR("publish: %zu event(s) applied but the store commit failed", messages.size());
    return json_error(503, protocol::errc::internal,
                      "the events are applied but not stored yet (the store is failing); they are stored and "
                      "delivered when it recovers — do not resend");
  }
  if (messages.size() == 1) return HttpResponse{200, "application/json", single_answer};
  json::JsonWriter answer;
  answer.child("results", std::move(results));
  return HttpResponse{200, "application/json", answer.finish()};
}

}  // namespace tandem::server
