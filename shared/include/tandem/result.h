// tandem/result.h — Error and Result<T>: how every fallible call in the core reports failure.
//
// An Error carries a wire error code (a short snake_case word from docs/PROTOCOL.md §Errors,
// e.g. "bad_json") and a human message. Result<T> holds either a T or an Error, never both and
// never a partially built T: decoders only hand out fully validated values.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace tandem {

struct Error {
  std::string code;     // machine-readable, from protocol/errors.h (e.g. "bad_json")
  std::string message;  // for humans; never parsed by programs
  bool operator==(const Error&) const = default;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit on purpose
  Result(Error error) : v_(std::move(error)) {}     // NOLINT: implicit on purpose

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  const T* operator->() const { return &value(); }
  const T& operator*() const { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace tandem
