// tests/fuzz/client_frame_fuzz.cpp — fuzzes what the server runs on a client's frames: the codec's
// decode_client and then the hub with every handler family (rooms, presence, locks, documents,
// chat, streams, signals, broadcast), as a fresh server without a store.
//
// Input: lines, each one frame (one message), sent by
//   alice   a line as it is — a connection authenticated at open (rooms "*", chat:clear)
//   bob     a line after '>' — a second authenticated connection (workflow:*, chat:*, agent:*, call:*)
//   carol   a line after '?' — a connection opened without a token: `auth` first
// A line "~" lets 10 s pass (lock leases, typing, grace periods); every other line 20 ms.
// PROTOCOL.md's `json client` examples are the seeds (one line each).
//
// Invariants:
//   - decode_client: what decodes encodes to a frame that decodes to the same value, and the
//     id it reports is the frame's id;
//   - the hub: every frame it queues decodes as server frames (decode_server), and every close
//     it asks for has a reason of at most 123 bytes of UTF-8.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fakes.h"
#include "fuzz_support.h"
#include "hub.h"
#include "jwt.h"
#include "tandem/json.h"
#include "tandem/protocol/codec.h"

namespace {

using namespace tandem;
using namespace tandem::server;

constexpr UnixMillis kWallStart = 1700000000000;

void check_codec_round_trip(std::string_view line) {
  std::optional<std::string> id;
  auto decoded = protocol::decode_client(line, &id);
  if (!decoded) return;
  FUZZ_CHECK(id == decoded->id, "decode_client reported another id than the frame's: " + std::string(line));
  const std::string encoded = protocol::encode(decoded.value());
  auto again = protocol::decode_client(encoded);
  FUZZ_CHECK(again.ok(), "an encoded client frame does not decode: " + encoded + "\n" +
                             (again.ok() ? std::string() : again.error().message));
  FUZZ_CHECK(again.value() == decoded.value(), "a client frame changed in a round trip: " + std::string(line) +
                                                   "\nencoded: " + encoded);
}

std::string token(std::string sub, std::vector<std::string> rooms, std::vector<std::string> perms) {
  jwt::Claims claims;
  claims.sub = std::move(sub);
  claims.name = "Fuzz";
  claims.rooms = std::move(rooms);
  claims.perms = std::move(perms);
  claims.exp = kWallStart / 1000 + 365 * 24 * 3600;
  return jwt::mint(claims, server::testing::kSecret);
}

class FuzzServer {
 public:
  FuzzServer() : hub_(settings(), ids_, edge_) {
    OpenRequest alice;
    alice.token = token("alice", {"*"}, {"chat:clear"});
    alice_ = hub_.open(alice, now());
    OpenRequest bob;
    bob.token = token("bob", {"workflow:*", "chat:*", "agent:*", "call:*"}, {});
    bob_ = hub_.open(bob, now());
    carol_ = hub_.open(OpenRequest{}, now());
    settle();
  }

  void line(std::string_view text) {
    if (text == "~") {
      pass(Millis(10'000));
      return;
    }
    ConnectionId from = alice_;
    if (!text.empty() && text.front() == '>') from = bob_, text.remove_prefix(1);
    else if (!text.empty() && text.front() == '?') from = carol_, text.remove_prefix(1);
    check_codec_round_trip(text);
    if (open(from)) hub_.receive(from, text, now());
    pass(Millis(20));
  }

  // Every connection goes, then time passes until every grace period is over.
  void finish() {
    for (ConnectionId* id : {&alice_, &bob_, &carol_}) {
      if (open(*id)) hub_.closed(*id);
      *id = 0;
    }
    pass(Millis(200'000));
  }

 private:
  static Settings settings() {
    Settings s;
    s.jwt_secret = std::string(server::testing::kSecret);
    s.store_commit_thread = false;  // one thread: every input replays the same
    return s;
  }
  Now now() const { return Now{mono_, kWallStart + mono_.count()}; }
  bool open(ConnectionId id) const { return id != 0; }

  void pass(Millis by) {
    mono_ += by;
    hub_.tick(now());
    settle();
  }

  // What the edge does after every event: commit, write out each queue, execute the closes.
  void settle() {
    hub_.commit();
    for (ConnectionId* id : {&alice_, &bob_, &carol_}) {
      if (!open(*id)) continue;
      while (Bytes frame = hub_.next_frame(*id)) {
        for (const auto& decoded : protocol::decode_server(*frame))
          FUZZ_CHECK(decoded.ok(), "the hub queued a frame that does not decode: " + *frame + "\n" +
                                       (decoded.ok() ? std::string() : decoded.error().message));
      }
      if (const CloseRequest* close = hub_.close_request(*id)) {
        FUZZ_CHECK(close->reason.size() <= 123 && json::is_valid_utf8(close->reason),
                   "close reason over 123 bytes or not UTF-8: " + close->reason);
        hub_.closed(*id);
        *id = 0;
      }
    }
  }

  server::testing::FakeEdge edge_;
  server::testing::CountingIds ids_;
  Hub hub_;
  Millis mono_{1000};
  ConnectionId alice_ = 0, bob_ = 0, carol_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzServer server;
  for (std::string_view text : fuzz::split_lines(fuzz::as_text(data, size))) server.line(text);
  server.finish();
  return 0;
}
