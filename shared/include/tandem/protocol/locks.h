// tandem/protocol/locks.h — the locks family: soft locks on resources in a room, with fences
// that only grow (PROTOCOL.md §8 Locks).
//
// A lock is held by one connection; others see its user as the holder. Each grant gets a
// fence from a per-room counter; writes carrying an older fence than the resource's latest
// grant are refused with stale_fence. locked/unlocked are room events (they carry seq).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tandem/json.h"
#include "tandem/protocol/enums.h"

namespace tandem::protocol {

// Who holds (or asks for) a lock, as shown to others.
struct LockHolder {
  std::string user;   // user id
  std::string name;
  std::string color;
  bool operator==(const LockHolder&) const = default;
};

enum class UnlockReason { Released, Expired, Disconnected, TakenOver };

template <>
struct EnumNames<UnlockReason> {
  static constexpr std::array<std::pair<UnlockReason, std::string_view>, 4> table{{
      {UnlockReason::Released, "released"},          // unlock, or the holder unsubscribed
      {UnlockReason::Expired, "expired"},            // ttl passed without renew
      {UnlockReason::Disconnected, "disconnected"},  // holder gone longer than lock_grace
      {UnlockReason::TakenOver, "taken_over"},       // moved to a takeover requester
  }};
};

// ---- client → server ----------------------------------------------------------------------

// Asks for a lock; answered with LockGranted or LockDenied (same id).
struct Lock {
  static constexpr const char* kType = "lock";
  std::string room;
  std::string resource;
  std::optional<std::int64_t> ttl_ms;  // server default when absent; clamped by the server
  bool operator==(const Lock&) const = default;
};

// Extends a held lock; answered with LockGranted (same fence) or error not_found.
struct Renew {
  static constexpr const char* kType = "renew";
  std::string room;
  std::string resource;
  std::optional<std::int64_t> ttl_ms;
  bool operator==(const Renew&) const = default;
};

struct Unlock {
  static constexpr const char* kType = "unlock";
  std::string room;
  std::string resource;
  bool operator==(const Unlock&) const = default;
};

// Asks the holder to yield; answered with LockGranted once the lock moves (≤ lock_grace).
struct Takeover {
  static constexpr const char* kType = "takeover";
  std::string room;
  std::string resource;
  bool operator==(const Takeover&) const = default;
};

// ---- server → client ----------------------------------------------------------------------

struct LockGranted {
  static constexpr const char* kType = "lock_granted";
  std::string room;
  std::string resource;
  std::int64_t fence = 0;       // ≥ 1; present it in writes
  std::int64_t expires_at = 0;  // Unix ms
  bool operator==(const LockGranted&) const = default;
};

struct LockDenied {
  static constexpr const char* kType = "lock_denied";
  std::string room;
  std::string resource;
  LockHolder holder;
  std::int64_t expires_at = 0;  // when the current lock runs out unless renewed
  bool operator==(const LockDenied&) const = default;
};

// Room event: a lock was granted (or moved) to `holder`.
struct Locked {
  static constexpr const char* kType = "locked";
  std::string room;
  std::string resource;
  LockHolder holder;
  std::int64_t fence = 0;
  std::int64_t expires_at = 0;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool operator==(const Locked&) const = default;
};

// Room event: a lock ended.
struct Unlocked {
  static constexpr const char* kType = "unlocked";
  std::string room;
  std::string resource;
  UnlockReason reason = UnlockReason::Released;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool operator==(const Unlocked&) const = default;
};

// To the holder only: someone asked to take the lock over.
struct TakeoverRequested {
  static constexpr const char* kType = "takeover_requested";
  std::string room;
  std::string resource;
  LockHolder by;
  std::int64_t grace_ms = 0;  // the lock moves after this unless unlocked sooner
  bool operator==(const TakeoverRequested&) const = default;
};

struct LockInfo {
  std::string resource;
  LockHolder holder;
  std::int64_t fence = 0;
  std::int64_t expires_at = 0;
  bool operator==(const LockInfo&) const = default;
};

// Snapshot of every current lock, on a non-recovered join.
struct LockState {
  static constexpr const char* kType = "lock_state";
  std::string room;
  std::int64_t seq = 0;
  std::vector<LockInfo> locks;
  bool operator==(const LockState&) const = default;
};

void read(json::Fields& f, Lock& m);
void write(json::JsonWriter& w, const Lock& m);
void read(json::Fields& f, Renew& m);
void write(json::JsonWriter& w, const Renew& m);
void read(json::Fields& f, Unlock& m);
void write(json::JsonWriter& w, const Unlock& m);
void read(json::Fields& f, Takeover& m);
void write(json::JsonWriter& w, const Takeover& m);
void read(json::Fields& f, LockGranted& m);
void write(json::JsonWriter& w, const LockGranted& m);
void read(json::Fields& f, LockDenied& m);
void write(json::JsonWriter& w, const LockDenied& m);
void read(json::Fields& f, Locked& m);
void write(json::JsonWriter& w, const Locked& m);
void read(json::Fields& f, Unlocked& m);
void write(json::JsonWriter& w, const Unlocked& m);
void read(json::Fields& f, TakeoverRequested& m);
void write(json::JsonWriter& w, const TakeoverRequested& m);
void read(json::Fields& f, LockState& m);
void write(json::JsonWriter& w, const LockState& m);

}  // namespace tandem::protocol
