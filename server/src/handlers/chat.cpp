// server/src/handlers/chat.cpp — the chat family (PROTOCOL.md §10): `chat` messages as room
// events kept in the room (Room::chat, the last chat_history) and the store; the `history`
// snapshot on a non-recovered subscribe; `typing` indicators relayed to the others and cleared
// by the server after typing_timeout_ms of quiet, on chat, on leave and on disconnect; `clear`
// for tokens with the "chat:clear" permission (jwt.h kPermChatClear).
//
// Chat works in every room kind except user: rooms (those carry messages for one user's tabs,
// not a conversation): there every chat request is invalid_message and no history is sent.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "handlers.h"
#include "../jwt.h"
#include "tandem/protocol/rules.h"

namespace tandem::server::handlers {

namespace {

bool is_user_room(std::string_view room) { return protocol::rules::room_kind(room) == protocol::rules::RoomKind::User; }

// True when chat may be used in `room` by this connection; otherwise answers the error.
bool chat_allowed(HandlerContext& ctx, const std::string& room) {
  if (is_user_room(room)) {
    ctx.error(protocol::errc::invalid_message, "chat is not available in user: rooms");
    return false;
  }
  return ctx.require_member(room);
}

// Who is typing where, and until when (monotonic). Keyed by (room, connection): two tabs of a
// user type independently.
class TypingBook {
 public:
  using Key = std::pair<std::string, ConnectionId>;

  // Starts or refreshes an indicator; true when it was not active (the others must be told).
  bool start(const std::string& room, ConnectionId connection, Millis until) {
    auto [it, inserted] = deadlines_.insert_or_assign(Key{room, connection}, until);
    return inserted;
  }
  // Ends an indicator; true when it was active.
  bool stop(const std::string& room, ConnectionId connection) { return deadlines_.erase(Key{room, connection}) > 0; }
  // Removes and returns the indicators whose deadline is reached.
  std::vector<Key> expire(Millis now) {
    std::vector<Key> expired;
    for (auto it = deadlines_.begin(); it != deadlines_.end();) {
      if (it->second <= now) {
        expired.push_back(it->first);
        it = deadlines_.erase(it);
      } else {
        ++it;
      }
    }
    return expired;
  }

 private:
  std::map<Key, Millis> deadlines_;
};

void tell_typing(Hub& hub, const std::string& room, const Connection& typist, bool active) {
  hub.broker().broadcast(room, encode_once(protocol::TypingEvent{room, typist.user.id, typist.user.name, active}),
                         {.except = typist.id});
}

// Ends `typist`'s indicator in `room`, telling the others when it was on.
void stop_typing(Hub& hub, TypingBook& typing, const std::string& room, const Connection& typist) {
  if (typing.stop(room, typist.id)) tell_typing(hub, room, typist, false);
}

}  // namespace

void register_chat(HandlerRegistry& registry) {
  auto typing = std::make_shared<TypingBook>();

  registry.on<protocol::ChatSend>([typing](HandlerContext& ctx, const protocol::ChatSend& chat) {
    if (!chat_allowed(ctx, chat.room)) return;
    Hub& hub = ctx.hub;
    RoomRegistry& rooms = hub.rooms();
    Room* room = rooms.find_mutable(chat.room);
    if (!room) return;  // a member's room is live; defensive
    stop_typing(hub, *typing, chat.room, ctx.connection);
    const protocol::UserInfo& sender = ctx.connection.user;
    protocol::ChatMessage message{chat.room, sender.id, sender.name, sender.color, chat.text};
    rooms.emit(hub, *room, message, ctx.now.wall);  // stamps seq and ts; the event first, then the ack (§3 Order)
    room->chat.push_back(message.entry());
    const auto limit = static_cast<std::size_t>(std::max(0, hub.settings().chat_history));
    while (room->chat.size() > limit) room->chat.pop_front();
    rooms.persist(*room, store::WriteBatch::AddChat{chat.room, message.entry()});
    ctx.ack_after_commit();
  });

  registry.on<protocol::TypingSend>([typing](HandlerContext& ctx, const protocol::TypingSend& send) {
    if (!chat_allowed(ctx, send.room)) return;
    if (send.active) {
      const Millis until = ctx.now.mono + Millis(ctx.hub.settings().typing_timeout_ms);
      if (typing->start(send.room, ctx.connection.id, until)) tell_typing(ctx.hub, send.room, ctx.connection, true);
    } else {
      stop_typing(ctx.hub, *typing, send.room, ctx.connection);
    }
    ctx.ack();
  });

  registry.on<protocol::ChatClear>([](HandlerContext& ctx, const protocol::ChatClear& clear) {
    if (!chat_allowed(ctx, clear.room)) return;
    const auto& perms = ctx.connection.perms;
    if (std::find(perms.begin(), perms.end(), jwt::kPermChatClear) == perms.end()) {
      ctx.error(protocol::errc::forbidden, "clearing chat needs the \"chat:clear\" permission in the token's perms");
      return;
    }
    Hub& hub = ctx.hub;
    RoomRegistry& rooms = hub.rooms();
    Room* room = rooms.find_mutable(clear.room);
    if (!room) return;
    room->chat.clear();
    rooms.persist(*room, store::WriteBatch::ClearChat{clear.room});
    rooms.emit(hub, *room, protocol::Cleared{clear.room, ctx.connection.user.id}, ctx.now.wall);
    ctx.ack_after_commit();
  });

  // history after subscribed (and after presence_state, lock_state, doc_snapshot: registration
  // order). Not after a recovery: the replayed chat/cleared events brought the client up to date.
  registry.on_room_join([](Hub& hub, Connection& c, const std::string& room, JoinKind kind) {
    if (kind != JoinKind::Subscribed || is_user_room(room)) return;
    const Room* r = hub.rooms().find(room);
    if (!r) return;
    protocol::ChatHistory history;
    history.room = room;
    history.seq = r->seq;
    history.messages.assign(r->chat.begin(), r->chat.end());
    for (const std::string& bot : r->bots)  // chat bots turned on (handlers/bots.cpp), comma-separated
      history.bots += (history.bots.empty() ? "" : ",") + bot;
    hub.send(c, protocol::ServerFrame{std::nullopt, std::move(history)});
  });

  // Leaving (unsubscribe, or disconnect: the rooms family leaves every room) ends typing there.
  registry.on_room_leave([typing](Hub& hub, Connection& c, const std::string& room, LeaveReason) {
    stop_typing(hub, *typing, room, c);
  });

  registry.on_tick([typing](Hub& hub, Now now) {
    for (const auto& [room, connection] : typing->expire(now.mono)) {
      const Connection* typist = hub.find(connection);
      if (typist) tell_typing(hub, room, *typist, false);
    }
  });
}

}  // namespace tandem::server::handlers
