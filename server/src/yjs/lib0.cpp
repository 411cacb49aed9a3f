// server/src/yjs/lib0.cpp — lib0's binary encoding: see lib0.h.
#include "yjs/lib0.h"

#include <utility>

#include "tandem/json.h"  // is_valid_utf8

namespace tandem::server::yjs {

void Lib0Reader::fail_at(std::size_t position, std::string reason) {
  if (!ok()) return;
  failure_ = std::move(reason);
  failure_position_ = position;
}

void Lib0Reader::fail(std::string reason) { fail_at(position_, std::move(reason)); }

std::string Lib0Reader::failure() const {
  if (ok()) return {};
  return failure_ + " at byte " + std::to_string(failure_position_);
}

std::uint8_t Lib0Reader::read_uint8() {
  if (!ok()) return 0;
  if (at_end()) {
    fail("truncated byte");
    return 0;
  }
  return static_cast<std::uint8_t>(bytes_[position_++]);
}

// The 7-bit groups after the first byte, adding each at `shift`: lib0's loop, but refusing any
// value over 2^53 - 1 rather than only some (lib0 checks before the last group, not after it).
// Zero groups past bit 53 are accepted, as lib0 accepts them; they cost one byte each.
std::uint64_t Lib0Reader::read_groups(std::uint64_t value, unsigned shift, std::size_t start) {
  while (true) {
    if (at_end()) {
      fail_at(start, "truncated varint");
      return 0;
    }
    const auto byte = static_cast<std::uint8_t>(bytes_[position_++]);
    const std::uint64_t group = byte & 0x7f;
    if (group != 0) {
      if (shift >= 53 || group > ((kMaxSafeInteger - value) >> shift)) {
        fail_at(start, "varint past 2^53 - 1");
        return 0;
      }
      value += group << shift;
    }
    if (byte < 0x80) return value;
    if (shift < 53) shift += 7;  // past 53 only zero groups are allowed: no need to count further
  }
}

std::uint64_t Lib0Reader::read_var_uint() {
  if (!ok()) return 0;
  return read_groups(0, 0, position_);
}

std::int64_t Lib0Reader::read_var_int() {
  if (!ok()) return 0;
  const std::size_t start = position_;
  if (at_end()) {
    fail("truncated varint");
    return 0;
  }
  const auto first = static_cast<std::uint8_t>(bytes_[position_++]);
  std::uint64_t magnitude = first & 0x3f;
  if (first & 0x80) magnitude = read_groups(magnitude, 6, start);
  const auto value = static_cast<std::int64_t>(magnitude);  // ≤ 2^53 - 1: exact
  return (first & 0x40) ? -value : value;
}

std::string_view Lib0Reader::read_bytes(std::size_t count) {
  if (!ok()) return {};
  if (count > remaining()) {
    fail("length past the end");
    return {};
  }
  const std::string_view view = bytes_.substr(position_, count);
  position_ += count;
  return view;
}

std::string_view Lib0Reader::read_var_bytes() {
  const std::uint64_t length = read_var_uint();
  if (!ok()) return {};
  if (length > remaining()) {
    fail("length past the end");
    return {};
  }
  return read_bytes(static_cast<std::size_t>(length));
}

std::string_view Lib0Reader::read_var_string() {
  const std::size_t start = position_;
  const std::string_view text = read_var_bytes();
  if (ok() && !json::is_valid_utf8(text)) {
    fail_at(start, "string is not valid UTF-8");
    return {};
  }
  return text;
}

bool Lib0Reader::fits(std::uint64_t count, std::size_t min_bytes_each) {
  if (!ok()) return false;
  if (count > remaining() / min_bytes_each) {
    fail("count past the end");
    return false;
  }
  return true;
}

void Lib0Writer::write_var_uint(std::uint64_t value) {
  while (value > 0x7f) {
    bytes_.push_back(static_cast<char>(0x80 | (value & 0x7f)));
    value >>= 7;
  }
  bytes_.push_back(static_cast<char>(value));
}

void Lib0Writer::write_var_int(std::int64_t value) {
  const bool negative = value < 0;
  // The magnitude of INT64_MIN does not fit an int64: negate in unsigned arithmetic.
  std::uint64_t magnitude = negative ? ~static_cast<std::uint64_t>(value) + 1 : static_cast<std::uint64_t>(value);
  bytes_.push_back(static_cast<char>((magnitude > 0x3f ? 0x80 : 0) | (negative ? 0x40 : 0) | (magnitude & 0x3f)));
  magnitude >>= 6;
  while (magnitude > 0) {
    bytes_.push_back(static_cast<char>((magnitude > 0x7f ? 0x80 : 0) | (magnitude & 0x7f)));
    magnitude >>= 7;
  }
}

void Lib0Writer::write_var_bytes(std::string_view bytes) {
  write_var_uint(bytes.size());
  bytes_.append(bytes);
}

}  // namespace tandem::server::yjs
