// server/src/handlers/locks.cpp — the locks family (PROTOCOL.md §8): lock, renew, unlock,
// takeover; `locked` / `unlocked` room events; `takeover_requested` to the holder; the
// `lock_state` snapshot on subscribe; expiry, disconnect grace and takeover deadlines on tick;
// release on unsubscribe.
//
// The rules live behind the lock engine (hub.locks(), engine/lock_engine.h: monotonic time, no
// sending); this file checks room membership, converts times to the wall clock of the wire,
// and sends. Room events are
// broadcast to every member (the requester included) before the request's own answer, so the
// client's replica shows the change when the answer arrives (PROTOCOL.md §3 Order).
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "handlers.h"
#include "../engine/lock_engine.h"
#include "../log.h"

namespace tandem::server::handlers {

namespace {

using locks::LockChange;
using locks::LockChanges;

struct LocksState {
  // The last `now` seen (handlers and ticks). Room hooks carry no time; they use this, at most
  // one hub tick old.
  Now last_now;
  // wall - monotonic, for wall-clock `expires_at`. Kept unless the wall clock really moved:
  // the two clocks are read separately, and a 1 ms wobble would make one lease show two
  // different expires_at values (lock_granted vs a later lock_denied).
  std::optional<std::int64_t> wall_offset;

  void observe(Now now) {
    last_now = now;
    const std::int64_t offset = now.wall - now.mono.count();
    if (!wall_offset || offset > *wall_offset + kClockSlackMs || offset < *wall_offset - kClockSlackMs)
      wall_offset = offset;
  }
  std::int64_t wall(Millis mono) const { return mono.count() + wall_offset.value_or(last_now.wall - last_now.mono.count()); }

  static constexpr std::int64_t kClockSlackMs = 50;  // larger differences are real clock steps
};

locks::LockOwner owner_of(const Connection& c) {
  return locks::LockOwner{c.id, c.session, protocol::LockHolder{c.user.id, c.user.name, c.user.color}};
}

protocol::LockGranted granted(const LocksState& state, const locks::Lease& lease) {
  return protocol::LockGranted{lease.room, lease.resource, lease.fence, state.wall(lease.expires_at)};
}

// Sends what the lock engine changed: room events into the room log (the room stays live while it
// has locks, so a holder's grace can end after everyone left and still be recorded), the held
// locks into the store (a restarted server releases them), a delayed takeover answer to its
// requester, takeover_requested to a holder.
void publish(Hub& hub, LocksState& state, const LockChanges& changes) {
  RoomRegistry& rooms = hub.rooms();
  const Now now = state.last_now;
  for (const LockChange& change : changes) {
    const locks::Lease& lease = change.lease;
    switch (change.kind) {
      case LockChange::Kind::Locked: {
        hub.metrics().lock_granted();  // every new lease: lock, takeover, a takeover's move
        hub.writes().add(store::WriteBatch::RaiseFence{lease.fence});  // durable before anyone is told its fence
        if (Room* room = rooms.find_mutable(lease.room)) {
          const std::int64_t expires_at = state.wall(lease.expires_at);
          rooms.persist(*room, store::WriteBatch::PutLock{lease.room, {lease.resource, lease.owner.user, lease.fence,
                                                                       expires_at}});
          rooms.emit(hub, *room,
                     protocol::Locked{lease.room, lease.resource, lease.owner.user, lease.fence, expires_at}, now.wall);
        }
        if (change.requester) {
          if (Connection* requester = hub.find(change.requester->connection))
            hub.send_after_commit(*requester, protocol::ServerFrame{change.reply_id, granted(state, lease)});
        }
        break;
      }
      case LockChange::Kind::Unlocked: {
        Room* room = rooms.find_mutable(lease.room);
        if (!room) break;
        rooms.persist(*room, store::WriteBatch::DropLock{lease.room, lease.resource});
        rooms.emit(hub, *room, protocol::Unlocked{lease.room, lease.resource, change.reason}, now.wall);
        rooms.release_if_idle(lease.room);  // its last lock may have been what kept it
        break;
      }
      case LockChange::Kind::TakeoverRequested: {
        Connection* holder = hub.find(lease.owner.connection);
        if (!holder || !change.requester) break;  // holder dropped: its grace runs out on its own
        protocol::TakeoverRequested asked{lease.room, lease.resource, change.requester->user,
                                          hub.settings().lock_grace_ms};
        hub.send(*holder, protocol::ServerFrame{std::nullopt, std::move(asked)});
        break;
      }
    }
  }
}

std::string limit_message(const Hub& hub) {
  return "a user may hold at most " + std::to_string(hub.settings().max_locks_per_user) + " locks (max_locks_per_user)";
}

}  // namespace

void register_locks(HandlerRegistry& registry) {
  auto state = std::make_shared<LocksState>();

  registry.on<protocol::Lock>([state](HandlerContext& ctx, const protocol::Lock& lock) {
    state->observe(ctx.now);
    if (!ctx.require_member(lock.room)) return;
    auto out = ctx.hub.locks().acquire(lock.room, lock.resource, owner_of(ctx.connection), lock.ttl_ms, ctx.now.mono);
    publish(ctx.hub, *state, out.changes);
    switch (out.result) {
      case locks::LockResult::Granted:
        ctx.reply_after_commit(granted(*state, out.lease));  // a new fence: stored first
        break;
      case locks::LockResult::Extended:
        ctx.reply(granted(*state, out.lease));
        break;
      case locks::LockResult::HeldByOther:
        ctx.hub.metrics().lock_denied();
        ctx.reply(protocol::LockDenied{lock.room, lock.resource, out.lease.owner.user, state->wall(out.lease.expires_at)});
        break;
      case locks::LockResult::LimitExceeded:
        ctx.error(protocol::errc::limit_exceeded, limit_message(ctx.hub));
        break;
    }
  });

  registry.on<protocol::Renew>([state](HandlerContext& ctx, const protocol::Renew& renew) {
    state->observe(ctx.now);
    if (!ctx.require_member(renew.room)) return;
    auto out = ctx.hub.locks().renew(renew.room, renew.resource, ctx.connection.id, renew.ttl_ms, ctx.now.mono);
    publish(ctx.hub, *state, out.changes);
    if (out.result == locks::RenewResult::Renewed) {
      ctx.reply(granted(*state, out.lease));  // renewals are not broadcast
    } else {
      ctx.error(protocol::errc::not_found, "\"" + renew.resource + "\" is not locked by this connection");
    }
  });

  registry.on<protocol::Unlock>([state](HandlerContext& ctx, const protocol::Unlock& unlock) {
    state->observe(ctx.now);
    if (!ctx.require_member(unlock.room)) return;
    auto out = ctx.hub.locks().release(unlock.room, unlock.resource, ctx.connection.id, ctx.now.mono);
    publish(ctx.hub, *state, out.changes);
    if (out.result == locks::ReleaseResult::Released) {
      ctx.ack();
    } else {
      ctx.error(protocol::errc::not_found, "\"" + unlock.resource + "\" is not locked by this connection");
    }
  });

  registry.on<protocol::Takeover>([state](HandlerContext& ctx, const protocol::Takeover& takeover) {
    state->observe(ctx.now);
    if (!ctx.require_member(takeover.room)) return;
    auto out = ctx.hub.locks().takeover(takeover.room, takeover.resource, owner_of(ctx.connection), ctx.frame.id,
                                        ctx.now.mono);
    publish(ctx.hub, *state, out.changes);
    switch (out.result) {
      case locks::TakeoverResult::Granted:
        // Moved at once (a new fence, stored first) or already ours (no write: sent at once).
        ctx.reply_after_commit(granted(*state, out.lease));
        break;
      case locks::TakeoverResult::Requested:
        break;  // answered with lock_granted (this id) when the lock moves, within lock_grace
      case locks::TakeoverResult::AlreadyRequested:
        ctx.error(protocol::errc::locked, "a takeover of \"" + takeover.resource + "\" is already pending");
        break;
      case locks::TakeoverResult::LimitExceeded:
        ctx.error(protocol::errc::limit_exceeded, limit_message(ctx.hub));
        break;
    }
  });

  // lock_state after subscribed (and after presence_state: presence registers first).
  registry.on_room_join([state](Hub& hub, Connection& c, const std::string& room, JoinKind kind) {
    // No snapshot for the automatic room (no subscribe), nor after a recovery: the replayed
    // lock events brought the client's locks up to date.
    if (kind != JoinKind::Subscribed) return;
    protocol::LockState snapshot;
    snapshot.room = room;
    if (const Room* r = hub.rooms().find(room)) snapshot.seq = r->seq;
    for (const locks::Lease& lease : hub.locks().locks_in(room))
      snapshot.locks.push_back({lease.resource, lease.owner.user, lease.fence, state->wall(lease.expires_at)});
    hub.send(c, protocol::ServerFrame{std::nullopt, std::move(snapshot)});
  });

  // Unsubscribing releases this connection's locks in the room at once. A disconnect is
  // handled by the disconnect hook instead: its locks survive for lock_grace.
  registry.on_room_leave([state](Hub& hub, Connection& c, const std::string& room, LeaveReason reason) {
    if (reason != LeaveReason::Unsubscribed) return;
    publish(hub, *state, hub.locks().leave_room(room, c.id, state->last_now.mono));
  });

  // A resumed session takes back the leases its dropped connection kept (PROTOCOL.md §8): the
  // client's re-lock after rejoining then finds them its own and is granted the same fence.
  registry.on_session_continued([state](Hub& hub, Connection& c, Now now) {
    state->observe(now);
    const auto reclaimed = hub.locks().resume(c.session, c.id, now.mono);
    if (!reclaimed.empty()) LOG_DEBUG_CTX(c.log_fields(), "%s: resumed %zu lock(s)", c.wire_id.c_str(), reclaimed.size());
    for (const locks::Lease& lease : reclaimed) {
      if (!lease.takeover) continue;
      // The takeover request went to the dropped connection: ask again, with the time left.
      const Millis left = std::max(Millis(0), lease.takeover->deadline - now.mono);
      hub.send(c, protocol::ServerFrame{std::nullopt, protocol::TakeoverRequested{lease.room, lease.resource,
                                                                                  lease.takeover->requester.user,
                                                                                  static_cast<std::int64_t>(left.count())}});
    }
  });

  registry.on_disconnect([state](Hub& hub, Connection& c) {
    hub.locks().disconnect(c.id, state->last_now.mono);
  });

  registry.on_tick([state](Hub& hub, Now now) {
    state->observe(now);
    publish(hub, *state, hub.locks().tick(now.mono));
  });
}

}  // namespace tandem::server::handlers
