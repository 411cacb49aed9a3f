// tests/fuzz/frame_assembler_fuzz.cpp — fuzzes the joining of WebSocket message pieces
// (server/src/frame_assembler.cpp) against a model of what each piece must report.
//
// Input: steps of 3 bytes — flags, then a piece length (little-endian, low 13 bits: 0..8191,
// enough to cross both bounds in a few pieces). Flags bit 0:
// this piece ends its message; bit 1: the message is binary (read on its first piece); bit 2 of
// the first step: the assembler takes binary messages only (a Yjs connection) rather than both
// kinds (a Tandem connection). The
// pieces come as libwebsockets hands them over: the first after a message's end is a first
// piece. Their bytes are made here (a running counter), so every byte of a stream differs from
// its neighbours and a misplaced copy shows. Bounds: max_bytes 6000 (over the assembler's
// 4 KiB buffer-keeping threshold), hard_bytes 20000. Seeds: tests/fuzz/seeds/frame_assembler/.
//
// Invariants, per piece: `bytes` is the message's size so far; the piece that takes it over
// hard_bytes reports OverHardLimit and the message's later pieces Partial; otherwise a last
// piece reports WrongKind (not an accepted kind), TooBig (over max_bytes) or Complete with exactly the message's bytes
// and kind, and every other piece Partial.
#include <cstdint>
#include <string>
#include <string_view>

#include "frame_assembler.h"
#include "fuzz_support.h"

namespace {

using tandem::server::Accepts;
using tandem::server::FrameAssembler;
using tandem::server::MessageKind;
using Status = FrameAssembler::Status;

constexpr std::size_t kMaxBytes = 6000;
constexpr std::size_t kHardBytes = 20000;

const char* name(Status status) {
  switch (status) {
    case Status::Partial: return "Partial";
    case Status::Complete: return "Complete";
    case Status::TooBig: return "TooBig";
    case Status::OverHardLimit: return "OverHardLimit";
    case Status::WrongKind: return "WrongKind";
  }
  return "?";
}

// What the assembler must report for the current message.
struct Model {
  std::size_t bytes = 0;  // the message's size so far
  std::string message;    // its bytes, while at most max_bytes (a Complete message's)
  bool wrong_kind = false;
  bool dead = false;  // crossed hard_bytes

  Status expect(std::string_view piece, bool last) {
    bytes += piece.size();
    if (bytes <= kMaxBytes) message.append(piece);
    if (dead) return Status::Partial;
    if (bytes > kHardBytes) {
      dead = true;
      return Status::OverHardLimit;
    }
    if (!last) return Status::Partial;
    if (wrong_kind) return Status::WrongKind;
    return bytes > kMaxBytes ? Status::TooBig : Status::Complete;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A Yjs connection takes binary only; a Tandem one both.
  const bool binary_only = size > 0 && (data[0] & 4) != 0;
  FrameAssembler assembler(kMaxBytes, kHardBytes, binary_only ? Accepts::Binary : Accepts::TextAndBinary);
  Model model;
  bool first = true;
  bool model_binary = false;  // the current message's kind (from its first piece)
  std::uint8_t counter = 0;
  std::string piece;
  for (std::size_t at = 0; at + 3 <= size; at += 3) {
    const bool last = (data[at] & 1) != 0;
    const bool binary = (data[at] & 2) != 0;
    const std::size_t length = (data[at + 1] | (static_cast<std::size_t>(data[at + 2]) << 8)) & 0x1fff;
    piece.resize(length);
    for (char& byte : piece) byte = static_cast<char>(counter++);
    if (first) {
      model = Model{0, "", binary_only && !binary, false};
      model_binary = binary;
    }

    const FrameAssembler::Outcome outcome = assembler.feed(piece, first, last, binary);
    const Status expected = model.expect(piece, last);
    const std::string where = "piece at input byte " + std::to_string(at) + " (" + std::to_string(length) +
                              " bytes" + (first ? ", first" : "") + (last ? ", last" : "") + "): ";
    FUZZ_CHECK(outcome.status == expected,
               where + "reported " + name(outcome.status) + ", expected " + name(expected));
    FUZZ_CHECK(outcome.bytes == model.bytes,
               where + "bytes " + std::to_string(outcome.bytes) + ", expected " + std::to_string(model.bytes));
    if (outcome.status == Status::Complete) {
      FUZZ_CHECK(outcome.message == model.message, where + "the message's bytes differ");
      FUZZ_CHECK(outcome.kind == (model_binary ? MessageKind::Binary : MessageKind::Text), where + "the wrong kind");
    }
    first = last;
  }
  return 0;
}
