// tests/fuzz/wire_guard_fuzz.cpp — fuzzes the byte checker that sits between a client's socket
// and libwebsockets (server/src/wire_guard.cpp): HTTP/1.1 request heads across keep-alive and,
// after an upgrade, the WebSocket frame headers. It is the one HTTP parser that is ours.
//
// Input: one byte that picks how the rest is cut into reads, then the bytes a client sends.
// Seeds: tests/fuzz/seeds/wire_guard/ (requests, upgrades followed by frames).
//
// Invariants:
//   - cutting the bytes into reads anywhere changes nothing: fed whole, byte by byte or in the
//     pieces the first byte picks, the guard refuses (or not) with the same answer and passes
//     the same bytes — except that a refused frame's first bytes may have passed in earlier
//     reads (lws then holds a frame it never sees complete);
//   - it never passes more than it was fed; a refusal is either an HTTP status (400, 426, 431,
//     501) or the close code 1002, never both, and says why; an HTTP refusal passes nothing of
//     the read it came in, and after a refusal every later read is refused and passes nothing.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "wire_guard.h"

using tandem::server::WireGuard;
using tandem::server::WireRefusal;

namespace {

struct Outcome {
  std::size_t passed = 0;
  std::optional<WireRefusal> refusal;
};

std::string describe(const Outcome& o) {
  return "passed " + std::to_string(o.passed) + ", refusal " +
         (o.refusal ? std::to_string(o.refusal->http_status) + "/" + std::to_string(o.refusal->close_code) : "none");
}

void check_refusal(const WireRefusal& r) {
  const bool http = r.http_status != 0, ws = r.close_code != 0;
  FUZZ_CHECK(http != ws, "a refusal must be an HTTP status or a close code, not both or neither");
  if (http)
    FUZZ_CHECK(r.http_status == 400 || r.http_status == 426 || r.http_status == 431 || r.http_status == 501,
               "unexpected HTTP status " + std::to_string(r.http_status));
  if (ws) FUZZ_CHECK(r.close_code == 1002, "unexpected close code " + std::to_string(r.close_code));
  FUZZ_CHECK(!r.message.empty(), "a refusal without a reason");
}

// Feeds `bytes` in pieces whose lengths `next_piece` picks, checking each verdict.
template <typename NextPiece>
Outcome feed_in_pieces(std::string_view bytes, NextPiece next_piece) {
  WireGuard guard;
  Outcome out;
  while (!bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), next_piece());
    const auto verdict = guard.feed(bytes.substr(0, n));
    FUZZ_CHECK(verdict.pass <= n, "passed more bytes than it was fed");
    if (out.refusal) {
      FUZZ_CHECK(verdict.refusal && verdict.pass == 0, "a read after a refusal was not refused");
    } else if (verdict.refusal) {
      check_refusal(*verdict.refusal);
      if (verdict.refusal->http_status != 0) FUZZ_CHECK(verdict.pass == 0, "an HTTP refusal passed bytes");
      out.refusal = verdict.refusal;
      out.passed += verdict.pass;
      // One more read must be refused too.
      const auto again = guard.feed("x");
      FUZZ_CHECK(again.refusal && again.pass == 0, "a read after a refusal was not refused");
      return out;
    } else {
      FUZZ_CHECK(verdict.pass == n, "a read without a refusal was not passed whole");
    }
    out.passed += verdict.pass;
    bytes.remove_prefix(n);
  }
  return out;
}

bool same(const Outcome& a, const Outcome& b) {
  if (a.refusal.has_value() != b.refusal.has_value()) return false;
  if (a.refusal && (a.refusal->http_status != b.refusal->http_status || a.refusal->close_code != b.refusal->close_code))
    return false;
  // An HTTP refusal passes nothing of its read, so how much passed before it depends on where
  // the reads were cut.
  if (a.refusal && a.refusal->http_status != 0) return true;
  // Fed at once (a), a frame refusal passes exactly the bytes before the offending frame; cut
  // into reads (b), also what of that frame came in earlier reads, which is never the whole of
  // it: at most its header (2 to 14 bytes) and the first byte of a close frame's code.
  if (a.refusal) return b.passed >= a.passed && b.passed - a.passed <= 14;
  return a.passed == b.passed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t cut = data[0];
  const std::string_view bytes = tandem::fuzz::as_text(data + 1, size - 1);

  const Outcome whole = feed_in_pieces(bytes, [&] { return bytes.size(); });
  const Outcome bytewise = feed_in_pieces(bytes, [] { return std::size_t{1}; });
  std::uint32_t state = cut | 1u;  // a small xorshift: piece lengths 1..(cut % 64 + 1)
  const Outcome pieces = feed_in_pieces(bytes, [&] {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return std::size_t{1} + state % (cut % 64u + 1u);
  });
  FUZZ_CHECK(same(whole, bytewise), "whole " + describe(whole) + " vs byte by byte " + describe(bytewise));
  FUZZ_CHECK(same(whole, pieces), "whole " + describe(whole) + " vs pieces " + describe(pieces));
  return 0;
}
