// server/src/handlers/bots.cpp — the chat bots family (PROTOCOL.md "Chat bots", issue 19):
//   - bot_toggle: a member whose token has the "chat:bots" permission turns one of the bots the
//     server knows (setting `bots`) on or off in a room: a bot_toggled room event, kept in
//     Room::bots (a loaded room replays the bot_toggled events of its stored log) and listed in
//     the `history` snapshot (chat.cpp);
//   - workers: a connection whose token's perms hold "bot:X" serves bot X (the newest such
//     connection wins; when it leaves, the newest of its workers still connected serves); it
//     needs no room membership: the server addresses it directly;
//   - ai_request: a member asks an enabled bot; the prompt becomes the member's chat message,
//     and the request goes to the bot's worker with a reply id. The worker answers with
//     chat_partial messages holding the whole text so far; members get them conflated (at most
//     one per reply every bot_partial_ms, the newest text), and the last one (done) becomes an
//     ordinary stored `chat` message from "bot:X" carrying the reply id;
//   - ai_cancel: a member's request is routed to the worker, which ends the reply (its last
//     text says so). Turning a bot off cancels its replies in the room the same way.
// RESTATING: the bots that are on come back after a restart from the room's stored log, which
//   keeps the last recovery_history events. So that a toggle never falls out of it, once a
//   second every live room with bots on whose log moved is checked, and when the latest toggle
//   of a bot that is on is older than half that window, the server restates them (one
//   bot_toggled per bot on, user "tandem").
// EXPIRY: a reply ends when its worker sends done. A worker that disconnects ends its open
//   replies on the next tick: each becomes a chat message with the text so far, marked
//   interrupted. A reply still growing bot_reply_timeout_ms after its request ends the same way
//   (its worker is asked to cancel it), so a worker that never finishes cannot hold a slot of
//   bot_max_replies forever. A reply whose room is gone (every member left) is dropped.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "handlers.h"
#include "../config.h"
#include "../jwt.h"
#include "tandem/protocol/codec.h"
#include "tandem/protocol/rules.h"

namespace tandem::server::handlers {

namespace {

constexpr const char* kBotColor = "#7e57c2";
constexpr std::string_view kInterrupted = " (interrupted: the bot went away)";
constexpr std::string_view kTimedOut = " (interrupted: the bot took too long)";
constexpr Millis kRestateCheck{1000};
constexpr const char* kRestater = "tandem";  // the user of a restating bot_toggled
constexpr std::string_view kToggledPrefix = R"({"type":"bot_toggled",)";  // JsonWriter writes "type" first

// One reply growing: who writes it, where, and what members have seen of it.
struct Reply {
  std::string room;
  std::string bot;
  ConnectionId worker = 0;
  std::string text = {};   // the newest text from the worker
  bool unsent = false;     // `text` has not gone to the members yet (conflation)
  Millis next_partial{0};  // the earliest time the next chat_partial may go out
  bool orphaned = false;   // the worker disconnected: ended on the next tick
  Millis deadline{0};      // ended as interrupted at this time (bot_reply_timeout_ms)
};

struct BotBook {
  std::unordered_map<std::string, std::vector<ConnectionId>> workers;  // bot -> its workers, newest last
  std::map<std::string, Reply> replies;                   // reply id -> reply
  std::uint64_t replies_made = 0;                         // makes reply ids unique within a millisecond
  Millis next_restate_check{0};
  std::unordered_map<std::string, std::int64_t> checked_seq;  // live room with bots on -> its seq when last checked

  std::size_t replies_in(std::string_view room) const {
    return static_cast<std::size_t>(
        std::count_if(replies.begin(), replies.end(), [&](const auto& entry) { return entry.second.room == room; }));
  }
};

bool is_known_bot(const Hub& hub, std::string_view bot) {
  const auto known = split_list(hub.settings().bots);
  return std::find(known.begin(), known.end(), bot) != known.end();
}

bool has_perm(const Connection& c, std::string_view perm) {
  return std::find(c.perms.begin(), c.perms.end(), perm) != c.perms.end();
}

// True when bots may be used in `room` by this connection; otherwise answers the error.
bool bots_allowed(HandlerContext& ctx, const std::string& room) {
  if (protocol::rules::room_kind(room) == protocol::rules::RoomKind::User) {
    ctx.error(protocol::errc::invalid_message, "chat bots are not available in user: rooms");
    return false;
  }
  return ctx.require_member(room);
}

// `text` cut to at most `max` bytes, never inside a UTF-8 sequence.
std::string cut_utf8(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

// A chat message into the room's log, its chat and the store (as chat.cpp does for `chat`).
void post_chat(Hub& hub, Room& room, protocol::ChatMessage message, UnixMillis now) {
  RoomRegistry& rooms = hub.rooms();
  rooms.emit(hub, room, message, now);
  room.chat.push_back(message.entry());
  const auto limit = static_cast<std::size_t>(std::max(0, hub.settings().chat_history));
  while (room.chat.size() > limit) room.chat.pop_front();
  rooms.persist(room, store::WriteBatch::AddChat{room.name, message.entry()});
}

void send_partial(Hub& hub, const std::string& id, Reply& reply, Millis now) {
  hub.broker().broadcast(reply.room, encode_once(protocol::ChatPartial{reply.room, id, reply.text, reply.bot}), {});
  reply.unsent = false;
  reply.next_partial = now + Millis(hub.settings().bot_partial_ms);
}

// The reply's last text as a stored chat message from the bot; the reply is forgotten.
// False when its room is not live any more (the text is dropped with it).
bool finish(Hub& hub, BotBook& book, const std::string& id, std::string text, UnixMillis now) {
  auto it = book.replies.find(id);
  if (it == book.replies.end()) return false;
  Reply reply = std::move(it->second);
  book.replies.erase(it);
  Room* room = hub.rooms().find_mutable(reply.room);
  if (!room) return false;
  if (text.empty()) text = "…";
  protocol::ChatMessage message{reply.room, std::string(jwt::kPermBotPrefix) + reply.bot, reply.bot, kBotColor,
                                std::move(text)};
  message.reply = id;
  post_chat(hub, *room, std::move(message), now);
  return true;
}

// Asks the worker of `id` to end it (ai_cancel from a member, or the bot turned off).
void route_cancel(Hub& hub, const std::string& id, const Reply& reply, const std::string& user) {
  if (Connection* worker = hub.find(reply.worker); worker && !worker->close)
    hub.send(*worker, protocol::ServerFrame{std::nullopt, protocol::AiCancel{reply.room, id, user}});
}

// The rooms whose bots must be restated (RESTATING above); remembers what it checked.
std::vector<std::string> rooms_to_restate(Hub& hub, BotBook& book) {
  const std::int64_t window = std::max(1, hub.settings().recovery_history / 2);
  std::vector<std::string> due;
  std::unordered_map<std::string, std::int64_t> checked;
  hub.rooms().for_each_room([&](const Room& room) {
    if (room.bots.empty()) return;
    checked[room.name] = room.seq;
    if (auto it = book.checked_seq.find(room.name); it != book.checked_seq.end() && it->second == room.seq) return;
    // A bot is stated when toggled within the window; a restate batch (consecutive restating
    // toggles) counts as a whole, by its last event, so restating k bots never looks stale.
    std::vector<std::string> unstated = room.bots;
    std::vector<std::string> batch;  // the bots of the restate batch the scan is in
    for (const RoomEvent& event : room.history) {
      std::optional<protocol::BotToggled> toggled;
      if (std::string_view(*event.frame).starts_with(kToggledPrefix)) {
        auto frames = protocol::decode_server(*event.frame);
        if (frames.size() == 1 && frames.front())
          if (const auto* found = std::get_if<protocol::BotToggled>(&frames.front()->message)) toggled = *found;
      }
      const bool restating = toggled && toggled->user == kRestater;
      if (!restating) batch.clear();
      if (!toggled) continue;
      if (restating) batch.push_back(toggled->bot);
      if (room.seq - event.seq >= window) continue;
      std::erase(unstated, toggled->bot);
      for (const std::string& bot : batch) std::erase(unstated, bot);
    }
    if (!unstated.empty()) due.push_back(room.name);
  });
  book.checked_seq = std::move(checked);  // rooms no longer live (or without bots) are forgotten
  return due;
}

}  // namespace

void register_bots(HandlerRegistry& registry) {
  auto book = std::make_shared<BotBook>();

  // A worker announces itself by its token: "bot:X" in perms, for each known bot X.
  registry.on_authenticated([book](Hub& hub, Connection& c, Now) {
    for (const std::string& perm : c.perms) {
      if (!perm.starts_with(jwt::kPermBotPrefix)) continue;
      const std::string bot = perm.substr(jwt::kPermBotPrefix.size());
      if (is_known_bot(hub, bot)) book->workers[bot].push_back(c.id);
    }
  });

  registry.on_disconnect([book](Hub&, Connection& c) {
    for (auto it = book->workers.begin(); it != book->workers.end();) {
      std::erase(it->second, c.id);
      it = it->second.empty() ? book->workers.erase(it) : std::next(it);
    }
    for (auto& [id, reply] : book->replies)
      if (reply.worker == c.id) reply.orphaned = true;
  });

  registry.on<protocol::BotToggle>([book](HandlerContext& ctx, const protocol::BotToggle& toggle) {
    if (!bots_allowed(ctx, toggle.room)) return;
    if (!has_perm(ctx.connection, jwt::kPermChatBots)) {
      ctx.error(protocol::errc::forbidden, "turning bots on or off needs the \"chat:bots\" permission in the token's perms");
      return;
    }
    Hub& hub = ctx.hub;
    Room* room = hub.rooms().find_mutable(toggle.room);
    if (!room) return;  // a member's room is live; defensive
    const bool on = std::binary_search(room->bots.begin(), room->bots.end(), toggle.bot);
    // A bot that is on may always be turned off, even one no longer in the setting.
    if (!is_known_bot(hub, toggle.bot) && (toggle.enabled || !on)) {
      ctx.error(protocol::errc::not_found, "no bot \"" + toggle.bot + "\" on this server (setting bots)");
      return;
    }
    if (on == toggle.enabled) {  // already so: nothing to tell anyone
      ctx.ack();
      return;
    }
    if (toggle.enabled) {
      room->bots.insert(std::upper_bound(room->bots.begin(), room->bots.end(), toggle.bot), toggle.bot);
    } else {
      std::erase(room->bots, toggle.bot);
      for (const auto& [id, reply] : book->replies)
        if (reply.room == toggle.room && reply.bot == toggle.bot) route_cancel(hub, id, reply, ctx.connection.user.id);
    }
    hub.rooms().emit(hub, *room, protocol::BotToggled{toggle.room, toggle.bot, toggle.enabled, ctx.connection.user.id},
                     ctx.now.wall);
    ctx.ack_after_commit();
  });

  registry.on<protocol::AiRequest>([book](HandlerContext& ctx, const protocol::AiRequest& request) {
    if (!bots_allowed(ctx, request.room)) return;
    Hub& hub = ctx.hub;
    Room* room = hub.rooms().find_mutable(request.room);
    if (!room) return;
    if (!std::binary_search(room->bots.begin(), room->bots.end(), request.bot)) {
      ctx.error(protocol::errc::not_found, "bot \"" + request.bot + "\" is not enabled in " + request.room);
      return;
    }
    auto worker_it = book->workers.find(request.bot);
    Connection* worker = nullptr;  // the newest connected
    if (worker_it != book->workers.end())
      for (auto id = worker_it->second.rbegin(); !worker && id != worker_it->second.rend(); ++id)
        if (Connection* found = hub.find(*id); found && !found->close) worker = found;
    if (!worker || worker->close) {
      ctx.error(protocol::errc::not_found, "bot \"" + request.bot + "\" has no worker connected");
      return;
    }
    const auto limit = static_cast<std::size_t>(hub.settings().bot_max_replies);
    if (book->replies_in(request.room) >= limit) {
      ctx.error(protocol::errc::limit_exceeded, std::to_string(limit) + " bot replies are already growing in " +
                                                    request.room + " (bot_max_replies)");
      return;
    }
    const protocol::UserInfo& asker = ctx.connection.user;
    post_chat(hub, *room, protocol::ChatMessage{request.room, asker.id, asker.name, asker.color, request.prompt},
              ctx.now.wall);
    std::string id = request.bot + "." + std::to_string(ctx.now.wall) + "." + std::to_string(++book->replies_made);
    Reply& reply = book->replies[id] =
        Reply{.room = request.room,
              .bot = request.bot,
              .worker = worker->id,
              .deadline = ctx.now.mono + Millis(hub.settings().bot_reply_timeout_ms)};
    hub.send(*worker, protocol::ServerFrame{std::nullopt, protocol::AiRequest{request.room, request.bot, request.prompt,
                                                                               id, asker.id}});
    send_partial(hub, id, reply, ctx.now.mono);  // empty: members see the reply start
    ctx.ack_after_commit();
  });

  registry.on<protocol::AiCancel>([book](HandlerContext& ctx, const protocol::AiCancel& cancel) {
    if (!bots_allowed(ctx, cancel.room)) return;
    auto it = book->replies.find(cancel.reply);
    if (it == book->replies.end() || it->second.room != cancel.room) {
      ctx.error(protocol::errc::not_found, "no bot reply \"" + cancel.reply + "\" growing in " + cancel.room);
      return;
    }
    route_cancel(ctx.hub, it->first, it->second, ctx.connection.user.id);
    ctx.ack();
  });

  // From a worker: the reply's whole text so far, or (done) its last.
  registry.on<protocol::ChatPartial>([book](HandlerContext& ctx, const protocol::ChatPartial& partial) {
    auto it = book->replies.find(partial.reply);
    if (it == book->replies.end() || it->second.room != partial.room || it->second.worker != ctx.connection.id) {
      ctx.error(protocol::errc::not_found, "this connection has no bot reply \"" + partial.reply + "\" in " + partial.room);
      return;
    }
    if (partial.done) {
      if (!finish(ctx.hub, *book, partial.reply, partial.text, ctx.now.wall)) {
        ctx.error(protocol::errc::not_found, partial.room + " is gone (every member left): the reply was dropped");
        return;
      }
      ctx.ack_after_commit();
      return;
    }
    Reply& reply = it->second;
    reply.text = partial.text;
    reply.unsent = true;
    if (ctx.now.mono >= reply.next_partial) send_partial(ctx.hub, it->first, reply, ctx.now.mono);
    ctx.ack();
  });

  // A joiner sees the replies growing in the room as they are now.
  registry.on_room_join([book](Hub& hub, Connection& c, const std::string& room, JoinKind kind) {
    if (kind == JoinKind::Automatic) return;
    for (const auto& [id, reply] : book->replies)
      if (reply.room == room)
        hub.send(c, protocol::ServerFrame{std::nullopt, protocol::ChatPartial{room, id, reply.text, reply.bot}});
  });

  registry.on_tick([book](Hub& hub, Now now) {
    if (now.mono >= book->next_restate_check) {
      book->next_restate_check = now.mono + kRestateCheck;
      for (const std::string& name : rooms_to_restate(hub, *book)) {
        Room* room = hub.rooms().find_mutable(name);
        if (!room) continue;
        for (const std::string& bot : room->bots)
          hub.rooms().emit(hub, *room, protocol::BotToggled{name, bot, true, kRestater}, now.wall);
      }
    }
    std::vector<std::pair<std::string, std::string_view>> ending;  // reply id, why
    for (auto it = book->replies.begin(); it != book->replies.end();) {
      auto& [id, reply] = *it;
      if (!hub.rooms().find_mutable(reply.room)) {  // every member left: the reply is dropped
        route_cancel(hub, id, reply, kRestater);
        it = book->replies.erase(it);
        continue;
      }
      if (reply.orphaned) {
        ending.emplace_back(id, kInterrupted);
      } else if (now.mono >= reply.deadline) {
        route_cancel(hub, id, reply, kRestater);
        ending.emplace_back(id, kTimedOut);
      } else if (reply.unsent && now.mono >= reply.next_partial) {
        send_partial(hub, id, reply, now.mono);
      }
      ++it;
    }
    for (const auto& [id, why] : ending) {
      std::string text = cut_utf8(book->replies[id].text, protocol::bounds::max_chat_bytes - why.size());
      finish(hub, *book, id, text + std::string(why), now.wall);
    }
  });
}

}  // namespace tandem::server::handlers
