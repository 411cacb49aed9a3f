// server/src/session_book.h — which session each authenticated connection carries, and which
// sessions a reconnecting client may resume (PROTOCOL.md §5.1 `connected.resumed`).
//
// A session starts when a connection authenticates without presenting one (or presenting one
// that cannot be resumed). When its connection drops, the session is kept detached for
// `resume_window`; a new connection of the same user presenting its id within that window
// resumes it: same session id, `resumed:true`, and the features move what they kept for it
// (locks in their disconnect grace) to the new connection. A session presented while its old
// connection still looks alive (a half-open socket the client already gave up on) is moved to
// the new connection, and the old one is named in the claim so the hub can close it.
//
// Sessions also remember the request ids they applied (PROTOCOL.md §3, idempotent resend): the
// last `dedup_window` ids per session, so a resend after a reconnect is acked again instead of
// applied twice. With a store, sessions and applied ids are stored too (the hub writes them):
// a session forgotten here (its window passed, or the server restarted) is continued when the
// store still knows it for the same user, with the ids the store remembers it applied. The hub
// reads the store beforehand (needs_lookup, then the pass's reads): claim() never waits.
//
// Pure bookkeeping: no sockets, no clock of its own; ids come from the hub's IdSource.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "fifo.h"
#include "ids.h"
#include "store/store.h"
#include "tandem/clock.h"

namespace tandem::server {

enum class SessionStart {
  New,      // a fresh session id was issued
  Resumed,  // the presented session continues on this connection
};

struct SessionClaim {
  std::string session;
  SessionStart start = SessionStart::New;
  std::optional<std::uint64_t> replaced;  // Resumed from a connection that is still open
};

class SessionBook {
 public:
  using ConnectionId = std::uint64_t;

  SessionBook(Millis resume_window, std::size_t dedup_window)
      : resume_window_(resume_window), dedup_window_(dedup_window) {}

  // True when a claim of `wanted` at `now` would have to know what the store holds about it:
  // not known here (or past its window).
  bool needs_lookup(const std::string& wanted, Millis now) const;
  // `connection` of `user` authenticated, presenting `wanted` (or nothing). Resumes `wanted`
  // when it is known, belongs to `user` and has not expired — or, forgotten here, when `stored`
  // (the store's record of `wanted`, read beforehand) has it for `user`, taking the request ids
  // it applied; otherwise issues a new id. A known session takes `stored`'s applied ids too
  // (several instances: it may have applied requests on other instances meanwhile).
  SessionClaim claim(const std::optional<std::string>& wanted, std::string_view user, ConnectionId connection,
                     IdSource& ids, Millis now, const store::SessionRecord* stored = nullptr);

  // Several instances: `connection` is a remote member carrying `session` (its client is on
  // another instance, which claimed the session). Kept here so requests it sends to rooms this
  // instance owns are deduplicated too — with the request ids `stored` (the store's record,
  // read beforehand) says it applied, wherever it applied them; detach() as any other when it
  // goes.
  void adopt(const std::string& session, std::string_view user, ConnectionId connection, Millis now,
             const store::SessionRecord* stored = nullptr);
  // Idempotent requests: `request_id` was applied in `session`. The last dedup_window ids are
  // kept for stored changes (`durable`) and, separately, as many for the rest.
  void remember_applied(std::string_view session, const std::string& request_id, bool durable = true);
  bool was_applied(std::string_view session, const std::string& request_id) const;
  // `request_id` was not applied after all (its change was dropped before it was stored).
  void forget_applied(const std::string& session, const std::string& request_id);
  // `connection` dropped: its session stays resumable until now + resume_window. Ignored when
  // the session has already moved to another connection.
  void detach(std::string_view session, ConnectionId connection, Millis now);
  // Forgets `session` now (several instances: it moved to a connection on another instance, so
  // what this book knows of it may be stale; the store has it).
  void forget(const std::string& session) { sessions_.erase(session); }
  // Forgets detached sessions whose window has passed. O(sessions expiring), not O(sessions):
  // it runs on every tick.
  void expire(Millis now);

  std::size_t size() const { return sessions_.size(); }
  std::size_t detached() const;

 private:
  struct Entry {
    std::string user;
    ConnectionId connection = 0;          // 0 while detached
    std::optional<Millis> resumable_until;  // set while detached
    std::unordered_set<std::string> applied;    // request ids, at most 2 × dedup_window
    Fifo<std::string> durable_order;      // oldest first, to forget beyond the window
    Fifo<std::string> ephemeral_order;
  };
  Millis resume_window_;
  // Detached sessions by the end of their window, oldest first (every window is as long, so
  // the order of detach() is the order of expiry). An entry whose session was resumed, forgotten
  // or detached again meanwhile is skipped when its time comes.
  Fifo<std::pair<Millis, std::string>> detached_order_;
  std::size_t dedup_window_;
  // Looked up by string_view without making a string (a session id is past the small-string
  // size: every lookup would allocate, and two run for every acked request).
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  std::unordered_map<std::string, Entry, IdHash, std::equal_to<>> sessions_;
};

}  // namespace tandem::server
