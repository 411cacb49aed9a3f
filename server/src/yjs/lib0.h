// server/src/yjs/lib0.h — lib0's binary encoding (the npm package lib0: decoding.js, encoding.js),
// the bytes under every Yjs update and every y-websocket / Hocuspocus message.
//
// Sections:
//   kMaxSafeInteger  the largest integer lib0 carries exactly (JavaScript's Number.MAX_SAFE_INTEGER)
//   Lib0Reader       bounded reads over a byte view, with one sticky failure
//   Lib0Writer       appends lib0 encodings to a std::string
//
// The formats, as lib0 writes them:
//   var uint    7-bit groups, least significant first; bit 0x80 of a byte: another follows.
//               300 = ac 02. lib0 accepts non-minimal groups (80 00 = 0) and so does this reader.
//   var int     the first byte holds the sign (0x40) and 6 value bits, then 7-bit groups as
//               above: -3 = 43, 64 = 80 01.
//   var bytes   var uint length, then the bytes: 02 68 69.
//   var string  var bytes holding UTF-8 (lib0 decodes with TextDecoder {fatal: true}: invalid
//               UTF-8 makes the JavaScript side throw, so the reader refuses it too).
// A reader never reads outside its view and never allocates: what it returns are views into the
// bytes it was given (valid while they are).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace tandem::server::yjs {

// Clocks, lengths and client ids are JavaScript numbers: beyond 2^53 - 1 they lose precision,
// so a varint above it is refused (lib0 throws "Integer out of Range" on most of them too).
inline constexpr std::uint64_t kMaxSafeInteger = (std::uint64_t{1} << 53) - 1;

class Lib0Reader {
 public:
  explicit Lib0Reader(std::string_view bytes) : bytes_(bytes) {}
  explicit Lib0Reader(std::string&&) = delete;  // the reader would outlive its bytes

  // Each read returns the value and advances; on failure it records why (the first failure
  // sticks, and every later read returns 0 / an empty view without moving).
  std::uint8_t read_uint8();              // "truncated byte"
  std::uint64_t read_var_uint();          // "truncated varint", "varint past 2^53 - 1"
  std::int64_t read_var_int();            // the same; -0 reads as 0
  std::string_view read_bytes(std::size_t count);  // "length past the end"
  std::string_view read_var_bytes();      // a var uint length, then that many bytes
  std::string_view read_var_string();     // var bytes that must be UTF-8: "string is not valid UTF-8"
  void skip(std::size_t count) { read_bytes(count); }

  // Fails ("count past the end") unless `count` items of at least `min_bytes_each` (≥ 1) bytes
  // could still fit in what is left: a hostile count fails here, before any loop over it.
  bool fits(std::uint64_t count, std::size_t min_bytes_each);
  // Calls read_one(i) for i in [0, count) while ok(), once fits(count, min_bytes_each) passed:
  // each call reads at least one byte or fails, so the loop is bounded by the bytes left.
  template <class ReadOne>
  void read_each(std::uint64_t count, std::size_t min_bytes_each, ReadOne read_one) {
    if (!fits(count, min_bytes_each)) return;
    for (std::uint64_t i = 0; i < count && ok(); ++i) read_one(i);
  }
  // Records a failure found by the caller (e.g. "unknown any tag 12"), at the current byte.
  void fail(std::string reason);

  bool ok() const { return failure_.empty(); }
  bool at_end() const { return position_ == bytes_.size(); }
  std::size_t position() const { return position_; }
  std::size_t remaining() const { return bytes_.size() - position_; }
  // Why and where the first failure happened ("truncated varint at byte 7"); empty while ok().
  std::string failure() const;

 private:
  void fail_at(std::size_t position, std::string reason);
  std::uint64_t read_groups(std::uint64_t value, unsigned shift, std::size_t start);

  std::string_view bytes_;
  std::size_t position_ = 0;
  std::string failure_;  // allocated only on failure
  std::size_t failure_position_ = 0;
};

// Builds bytes in lib0's encodings, appending to what it holds.
class Lib0Writer {
 public:
  Lib0Writer() = default;
  explicit Lib0Writer(std::string prefix) : bytes_(std::move(prefix)) {}  // e.g. LWS_PRE headroom

  void write_uint8(std::uint8_t value) { bytes_.push_back(static_cast<char>(value)); }
  void write_var_uint(std::uint64_t value);  // minimal groups, as lib0 writes them
  void write_var_int(std::int64_t value);
  void write_bytes(std::string_view bytes) { bytes_.append(bytes); }
  void write_var_bytes(std::string_view bytes);
  void write_var_string(std::string_view utf8) { write_var_bytes(utf8); }  // the caller vouches for UTF-8

  const std::string& bytes() const { return bytes_; }
  std::string take() && { return std::move(bytes_); }

 private:
  std::string bytes_;
};

}  // namespace tandem::server::yjs
