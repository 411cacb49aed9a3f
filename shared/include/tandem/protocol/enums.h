// tandem/protocol/enums.h — one mechanism for the wire names of every protocol enum
// (node status, unlock reason, stream action...). A family header declares its enum and a
// specialisation of EnumNames listing each value with its wire string; to_string() and
// enum_from_string() then work for it, and the codec reads it with a clear error listing the
// allowed names.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace tandem::protocol {

// Specialise per enum: static constexpr std::array<std::pair<E, std::string_view>, N> table.
template <class E>
struct EnumNames;

template <class E>
concept WireEnum = requires { EnumNames<E>::table; };

template <WireEnum E>
constexpr std::string_view to_string(E value) {
  for (const auto& [v, name] : EnumNames<E>::table)
    if (v == value) return name;
  return "?";
}

template <WireEnum E>
constexpr std::optional<E> enum_from_string(std::string_view name) {
  for (const auto& [v, n] : EnumNames<E>::table)
    if (n == name) return v;
  return std::nullopt;
}

// "idle, queued, running" — for error messages.
template <WireEnum E>
std::string enum_choices() {
  std::string out;
  for (const auto& [v, name] : EnumNames<E>::table) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace tandem::protocol
