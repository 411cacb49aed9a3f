// server/src/presence/presence_book.h — who is present in each room and what each connection
// is doing, grouped per user, plus the changes waiting for the next presence tick
// (PROTOCOL.md §7).
//
// The in-process PresenceEngine (engine/presence_engine.h says who drives expiry and what is
// guaranteed). Pure data, no sending: handlers/presence.cpp turns the results into
// presence_state, presence_diff and presence_update messages. One user with two tabs in a room
// is one member with two metas; the member is gone when its last meta leaves.
//
// Conflation: set() only records "this connection changed"; take_updates() (once per
// presence_tick) yields one PresenceUpdate per user who changed, carrying the latest state of
// every one of that user's connections (so a newer update can replace an older one still
// queued for a reader). N states within one tick cost one update.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "../engine/presence_engine.h"
#include "tandem/protocol/presence.h"

namespace tandem::server {

class PresenceBook final : public PresenceEngine {
 public:
  // PresenceEngine (engine/presence_engine.h has each call's contract).
  PresenceJoin join(const std::string& room, const protocol::UserInfo& user, const std::string& connection) override;
  std::optional<protocol::PresenceMember> leave(const std::string& room, const std::string& user_id,
                                                const std::string& connection) override;
  PresenceSetResult set(const std::string& room, const std::string& user_id, const std::string& connection,
                        protocol::Presence state) override;
  std::vector<protocol::PresenceMember> snapshot(const std::string& room) const override;
  std::size_t user_count(const std::string& room) const override;
  Page list(const std::string& room, const std::string& after, std::size_t limit) const override;
  std::optional<protocol::PresenceMember> member_with(const std::string& room, const std::string& user_id,
                                                      const std::string& connection) const override;
  std::vector<protocol::PresenceUpdate> take_updates() override;
  bool has_pending() const override { return !pending_.empty(); }

  // Introspection, for tests and diagnostics.
  std::size_t room_count() const { return rooms_.size(); }

 private:
  struct Member {
    protocol::UserInfo user;
    std::vector<protocol::PresenceMeta> metas;  // join order
  };
  struct RoomPresence {
    std::vector<Member> members;  // join order
  };
  // Changed connections of one user in one room, in order of first change.
  struct PendingUser {
    std::string user_id;
    std::vector<std::string> connections;
  };

  Member* find_member(const std::string& room, const std::string& user_id);

  std::unordered_map<std::string, RoomPresence> rooms_;
  std::map<std::string, std::vector<PendingUser>> pending_;  // room -> users who changed
};

}  // namespace tandem::server
