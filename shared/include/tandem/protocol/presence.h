// tandem/protocol/presence.h — the presence family: who is in a room and what each of their
// connections is doing (PROTOCOL.md §7 Presence).
//
// Presence is per connection, grouped per user: one user with three tabs is one
// PresenceMember with three PresenceMetas. Nothing here carries a seq — presence is never
// replayed; a (re)joining client always gets a fresh presence_state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tandem/json.h"
#include "tandem/protocol/connection.h"

namespace tandem::protocol {

struct Cursor {
  double x = 0;  // canvas coordinates, finite, within ±1e9
  double y = 0;
  bool operator==(const Cursor&) const = default;
};

struct Media {
  bool audio = false;
  bool video = false;
  bool screen = false;
  bool operator==(const Media&) const = default;
};

// One connection's state in a room. Every field is optional; a presence message replaces the
// whole state.
struct Presence {
  std::optional<Cursor> cursor;
  std::optional<std::string> node;  // selected / edited node id
  std::optional<bool> typing;
  std::optional<Media> media;
  std::optional<std::string> data;  // app-specific JSON object text, ≤ bounds::max_presence_bytes
  bool operator==(const Presence&) const = default;
};

struct PresenceMeta {
  std::string connection;  // connection id (the `to` for signals)
  Presence state;
  bool operator==(const PresenceMeta&) const = default;
};

struct PresenceMember {
  UserInfo user;
  std::vector<PresenceMeta> metas;  // 1 .. bounds::max_metas
  bool operator==(const PresenceMember&) const = default;
};

// ---- client → server ----------------------------------------------------------------------

// Sets this connection's state in a room (type "presence"). Usually sent without id.
struct PresenceSet {
  static constexpr const char* kType = "presence";
  std::string room;
  Presence state;
  bool operator==(const PresenceSet&) const = default;
};

// One page of a room's member list, in user id order (type "presence_list"): the users after
// `after`, at most `limit` (the server caps it at its presence_list_max).
struct PresenceListRequest {
  static constexpr const char* kType = "presence_list";
  std::string room;
  std::optional<std::string> after;  // a user id: the page starts after it
  std::optional<std::int64_t> limit;
  bool operator==(const PresenceListRequest&) const = default;
};

// ---- server → client ----------------------------------------------------------------------

// Everyone in the room, sent after every subscribed. In a crowd (a room with more users than
// the server's presence_crowd_users) the snapshot is partial: no members, the count, and no
// join/leave diffs follow — presence_count does, and presence_list pages on demand.
struct PresenceSnapshot {
  static constexpr const char* kType = "presence_state";
  std::string room;
  std::vector<PresenceMember> members;
  std::optional<std::int64_t> count = std::nullopt;  // users; sent with partial
  bool partial = false;
  bool operator==(const PresenceSnapshot&) const = default;
};

// A crowd's user count (type "presence_count"): at most once per presence tick, when it changed.
// It also says that join/leave diffs have stopped (the member list is partial from now on).
struct PresenceCount {
  static constexpr const char* kType = "presence_count";
  std::string room;
  std::int64_t count = 0;
  bool operator==(const PresenceCount&) const = default;
};

// The answer to a presence_list request: one page, and the room's user count.
struct PresenceListPage {
  static constexpr const char* kType = "presence_list";
  std::string room;
  std::vector<PresenceMember> members;  // user id order
  std::int64_t count = 0;               // users in the room
  std::optional<std::string> next;      // more follow: ask again with after = next
  bool operator==(const PresenceListPage&) const = default;
};

// Connections that joined or left; a user whose last meta left is gone.
struct PresenceDiff {
  static constexpr const char* kType = "presence_diff";
  std::string room;
  std::vector<PresenceMember> joins;
  std::vector<PresenceMember> leaves;
  bool operator==(const PresenceDiff&) const = default;
};

// The latest state of one user's changed connections, at most one per user per tick.
struct PresenceUpdate {
  static constexpr const char* kType = "presence_update";
  std::string room;
  std::string user;                 // user id
  std::vector<PresenceMeta> metas;  // replace these connections' states
  bool operator==(const PresenceUpdate&) const = default;
};

void read(json::Fields& f, PresenceSet& m);
void write(json::JsonWriter& w, const PresenceSet& m);
void read(json::Fields& f, PresenceListRequest& m);
void write(json::JsonWriter& w, const PresenceListRequest& m);
void read(json::Fields& f, PresenceSnapshot& m);
void write(json::JsonWriter& w, const PresenceSnapshot& m);
void read(json::Fields& f, PresenceDiff& m);
void write(json::JsonWriter& w, const PresenceDiff& m);
void read(json::Fields& f, PresenceUpdate& m);
void write(json::JsonWriter& w, const PresenceUpdate& m);
void read(json::Fields& f, PresenceCount& m);
void write(json::JsonWriter& w, const PresenceCount& m);
void read(json::Fields& f, PresenceListPage& m);
void write(json::JsonWriter& w, const PresenceListPage& m);

}  // namespace tandem::protocol
