// tests/fuzz/jwt_fuzz.cpp — fuzzes token parsing and verification (server/src/jwt.cpp) and its
// base64url codec.
//
// Input, one of:
//   a token          one line, verified as it is (a client's ?token= or `auth.token`);
//   header\npayload  two JSON texts, signed here with the server's secret and then verified —
//                    so the claim checks behind the signature are reached, which a fuzzer
//                    could never do by forging HMACs.
// Seeds: tests/fuzz/seeds/jwt/.
//
// Invariants:
//   - base64url: a text that decodes encodes back to itself; any bytes encode to a text that
//     decodes back to them;
//   - verify: what it accepts is what mint() of the same claims gives back through verify.
#include <cstdint>
#include <string>
#include <string_view>

#include "fakes.h"
#include "fuzz_support.h"
#include "jwt.h"

namespace {

using namespace tandem;
using namespace tandem::server;

constexpr jwt::UnixSeconds kNow = 1700000000;

void check_base64url(std::string_view text) {
  if (auto bytes = jwt::base64url_decode(text))
    FUZZ_CHECK(jwt::base64url_encode(*bytes) == text, "base64url text does not encode back: " + std::string(text));
  const std::string encoded = jwt::base64url_encode(text);
  const auto decoded = jwt::base64url_decode(encoded);
  FUZZ_CHECK(decoded && *decoded == text, "bytes do not decode back from base64url: " + encoded);
}

void verify_and_check(std::string_view token) {
  const jwt::VerifyOptions options{server::testing::kSecret, kNow, 30};
  auto claims = jwt::verify(token, options);
  if (!claims) {
    FUZZ_CHECK(claims.error().code == "unauthorized", "verify failed with code " + claims.error().code);
    return;
  }
  const std::string minted = jwt::mint(claims.value(), server::testing::kSecret);
  auto again = jwt::verify(minted, options);
  FUZZ_CHECK(again.ok(), "a token minted from accepted claims is refused: " + minted + "\n" +
                             (again.ok() ? std::string() : again.error().message));
  FUZZ_CHECK(again.value() == claims.value(), "claims changed through mint and verify: " + std::string(token));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  check_base64url(text);
  const std::size_t newline = text.find('\n');
  if (newline == std::string_view::npos) {
    verify_and_check(text);
  } else {
    verify_and_check(server::testing::signed_token(text.substr(0, newline), text.substr(newline + 1)));
  }
  return 0;
}
