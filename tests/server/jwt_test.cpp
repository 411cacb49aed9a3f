// tests/server/jwt_test.cpp — HS256 verify and mint: valid tokens, forgeries, algorithm
// confusion, time window with leeway, malformed input, base64url.
#include "jwt.h"

#include <gtest/gtest.h>

#include "fakes.h"

namespace tandem::server {
namespace {

using testing::kSecret;
using testing::signed_token;

constexpr jwt::UnixSeconds kNow = 1700000000;
constexpr std::string_view kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

jwt::VerifyOptions at(jwt::UnixSeconds now, std::int64_t leeway = 30) { return {kSecret, now, leeway}; }

std::string reason(const Result<jwt::Claims>& result) { return result.ok() ? "ok" : result.error().message; }

TEST(jwt_test, minted_token_verifies_with_all_claims) {
  jwt::Claims claims;
  claims.sub = "user-1";
  claims.name = "Ana María";
  claims.color = "#aabbcc";
  claims.rooms = {"workflow:*", "chat:lobby", "*"};
  claims.iat = kNow;
  claims.nbf = kNow;
  claims.exp = kNow + 3600;
  auto verified = jwt::verify(jwt::mint(claims, kSecret), at(kNow));
  ASSERT_TRUE(verified.ok()) << reason(verified);
  EXPECT_EQ(verified.value(), claims);
}

TEST(jwt_test, optional_claims_may_be_absent) {
  auto verified = jwt::verify(signed_token(kHs256Header, R"({"sub":"u","exp":1700000100})"), at(kNow));
  ASSERT_TRUE(verified.ok()) << reason(verified);
  EXPECT_EQ(verified->sub, "u");
  EXPECT_FALSE(verified->name.has_value());
  EXPECT_FALSE(verified->color.has_value());
  EXPECT_TRUE(verified->rooms.empty());
}

TEST(jwt_test, interoperates_with_the_jwt_io_example_signature) {
  // The well-known jwt.io example (secret "your-256-bit-secret"), signed by another library.
  // It has no exp, so the signature passing is shown by the failure being about exp.
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  EXPECT_EQ(reason(jwt::verify(token, {"your-256-bit-secret", kNow, 30})), "token has no exp");
  EXPECT_EQ(reason(jwt::verify(token, {"another-secret-of-enough-length!!", kNow, 30})), "bad signature");
}

TEST(jwt_test, forged_payload_fails_signature_check) {
  const std::string genuine = testing::token_for("alice", kNow + 60);
  const std::string forged_payload = jwt::base64url_encode(R"({"sub":"admin","exp":1700000060})");
  const auto dot1 = genuine.find('.');
  const auto dot2 = genuine.find('.', dot1 + 1);
  const std::string forged = genuine.substr(0, dot1 + 1) + forged_payload + genuine.substr(dot2);
  auto result = jwt::verify(forged, at(kNow));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "unauthorized");
  EXPECT_EQ(result.error().message, "bad signature");
}

TEST(jwt_test, token_signed_with_another_secret_is_refused) {
  EXPECT_EQ(reason(jwt::verify(testing::token_for("alice", kNow + 60, "some-other-secret-0123456789abcdef"), at(kNow))),
            "bad signature");
}

TEST(jwt_test, truncated_signature_is_refused) {
  const std::string genuine = testing::token_for("alice", kNow + 60);
  const auto dot = genuine.rfind('.');
  std::string signature = *jwt::base64url_decode(genuine.substr(dot + 1));
  signature.resize(16);
  const std::string token = genuine.substr(0, dot + 1) + jwt::base64url_encode(signature);
  EXPECT_EQ(reason(jwt::verify(token, at(kNow))), "bad signature");
}

TEST(jwt_test, alg_none_is_refused_even_without_signature) {
  const std::string token = jwt::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                            jwt::base64url_encode(R"({"sub":"admin","exp":1800000000})") + ".";
  EXPECT_EQ(reason(jwt::verify(token, at(kNow))), "unsupported alg \"none\" (only HS256)");
}

TEST(jwt_test, alg_rs256_is_refused_even_when_hmac_signed_with_the_secret) {
  // Algorithm confusion: an RS256 header with an HMAC signature made from the secret.
  auto token = signed_token(R"({"alg":"RS256","typ":"JWT"})", R"({"sub":"u","exp":1800000000})");
  EXPECT_EQ(reason(jwt::verify(token, at(kNow))), "unsupported alg \"RS256\" (only HS256)");
}

TEST(jwt_test, alg_must_match_exactly) {
  EXPECT_EQ(reason(jwt::verify(signed_token(R"({"alg":"hs256"})", R"({"sub":"u","exp":1800000000})"), at(kNow))),
            "unsupported alg \"hs256\" (only HS256)");
  EXPECT_EQ(reason(jwt::verify(signed_token(R"({"typ":"JWT"})", R"({"sub":"u","exp":1800000000})"), at(kNow))),
            "token header has no alg (only HS256 is accepted)");
  EXPECT_EQ(reason(jwt::verify(signed_token(R"({"alg":5})", R"({"sub":"u","exp":1800000000})"), at(kNow))),
            "token header alg is not a string");
}

TEST(jwt_test, crit_header_is_refused) {
  auto token = signed_token(R"({"alg":"HS256","crit":["b64"],"b64":false})", R"({"sub":"u","exp":1800000000})");
  EXPECT_EQ(reason(jwt::verify(token, at(kNow))), "token header has crit extensions, none are supported");
}

TEST(jwt_test, expired_beyond_leeway_is_refused) {
  EXPECT_EQ(reason(jwt::verify(testing::token_for("u", kNow - 31), at(kNow, 30))), "token expired");
  EXPECT_EQ(reason(jwt::verify(testing::token_for("u", kNow - 1), at(kNow, 0))), "token expired");
  EXPECT_EQ(reason(jwt::verify(testing::token_for("u", kNow), at(kNow, 0))), "token expired");  // exp is exclusive
}

TEST(jwt_test, expired_within_leeway_is_accepted) {
  EXPECT_TRUE(jwt::verify(testing::token_for("u", kNow - 29), at(kNow, 30)).ok());
  EXPECT_TRUE(jwt::verify(testing::token_for("u", kNow + 1), at(kNow, 0)).ok());
}

TEST(jwt_test, nbf_in_the_future_is_refused_beyond_leeway) {
  auto early = signed_token(kHs256Header, R"({"sub":"u","exp":1800000000,"nbf":1700000031})");
  EXPECT_EQ(reason(jwt::verify(early, at(kNow, 30))), "token not valid yet (nbf)");
  auto almost = signed_token(kHs256Header, R"({"sub":"u","exp":1800000000,"nbf":1700000030})");
  EXPECT_TRUE(jwt::verify(almost, at(kNow, 30)).ok());
}

TEST(jwt_test, missing_sub_or_exp_is_refused) {
  EXPECT_EQ(reason(jwt::verify(signed_token(kHs256Header, R"({"exp":1800000000})"), at(kNow))), "token has no sub");
  EXPECT_EQ(reason(jwt::verify(signed_token(kHs256Header, R"({"sub":"u"})"), at(kNow))), "token has no exp");
}

TEST(jwt_test, claims_with_wrong_shapes_are_refused) {
  auto verify_payload = [](std::string_view payload) { return reason(jwt::verify(signed_token(kHs256Header, payload), at(kNow))); };
  EXPECT_EQ(verify_payload(R"({"sub":"u","exp":"tomorrow"})"), "invalid claim: token.exp: expected a number");
  EXPECT_EQ(verify_payload(R"({"sub":"has space","exp":1800000000})"),
            "invalid claim: token.sub: only letters, digits and _:.@- are allowed");
  EXPECT_EQ(verify_payload(R"({"sub":"u","exp":1800000000,"color":"#12345g"})"), "invalid claim: color must be #rrggbb");
  EXPECT_EQ(verify_payload(R"({"sub":"u","exp":1800000000,"color":"red"})"),
            "invalid claim: token.color: length must be 4..9 bytes");
  EXPECT_EQ(verify_payload(R"({"sub":"u","exp":1800000000,"rooms":"*"})"), "invalid claim: token.rooms: expected an array");
  EXPECT_EQ(verify_payload(R"({"sub":"u","exp":1800000000,"rooms":["a b"]})"),
            "invalid claim: rooms must be room patterns like \"workflow:*\"");
  EXPECT_EQ(verify_payload(R"({"sub":"u","exp":1800000000,"rooms":[1]})"),
            "invalid claim: token.rooms[0]: expected a string");
}

TEST(jwt_test, fractional_dates_are_floored) {
  auto verified = jwt::verify(signed_token(kHs256Header, R"({"sub":"u","exp":1700000100.9})"), at(kNow));
  ASSERT_TRUE(verified.ok()) << reason(verified);
  EXPECT_EQ(verified->exp, 1700000100);
}

TEST(jwt_test, malformed_tokens_are_refused_with_a_reason) {
  const std::string good = testing::token_for("u", kNow + 60);
  EXPECT_EQ(reason(jwt::verify("", at(kNow))), "malformed token: expected three base64url parts");
  EXPECT_EQ(reason(jwt::verify("abc.def", at(kNow))), "malformed token: expected three base64url parts");
  EXPECT_EQ(reason(jwt::verify(good + ".extra", at(kNow))), "malformed token: expected three base64url parts");
  EXPECT_EQ(reason(jwt::verify("e30=.e30.sig", at(kNow))), "malformed token: header is not base64url");
  EXPECT_EQ(reason(jwt::verify("e3+.e30.sig", at(kNow))), "malformed token: header is not base64url");
  EXPECT_EQ(reason(jwt::verify(jwt::base64url_encode("{not json") + ".e30.sig", at(kNow))),
            "malformed token: header is not JSON");
  EXPECT_EQ(reason(jwt::verify(jwt::base64url_encode("[1]") + ".e30.sig", at(kNow))),
            "malformed token: header is not a JSON object");
  EXPECT_EQ(reason(jwt::verify(signed_token(kHs256Header, "[]"), at(kNow))), "malformed token: payload is not a JSON object");
  EXPECT_EQ(reason(jwt::verify(signed_token(kHs256Header, "{\"sub\":"), at(kNow))), "malformed token: payload is not JSON");
  EXPECT_EQ(reason(jwt::verify(good.substr(0, good.rfind('.') + 1) + "!!!", at(kNow))),
            "malformed token: signature is not base64url");
  EXPECT_EQ(reason(jwt::verify(std::string(9000, 'a'), at(kNow))), "malformed token: too long");
}

TEST(jwt_test, base64url_matches_rfc4648_vectors) {
  EXPECT_EQ(jwt::base64url_encode(""), "");
  EXPECT_EQ(jwt::base64url_encode("f"), "Zg");
  EXPECT_EQ(jwt::base64url_encode("fo"), "Zm8");
  EXPECT_EQ(jwt::base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(jwt::base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(jwt::base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(jwt::base64url_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(jwt::base64url_encode("\xfb\xff"), "-_8");  // the two url-safe characters
  EXPECT_EQ(jwt::base64url_decode("Zm9vYmE"), "fooba");
  EXPECT_EQ(jwt::base64url_decode("-_8"), "\xfb\xff");
}

TEST(jwt_test, base64url_decode_is_strict) {
  EXPECT_FALSE(jwt::base64url_decode("Zg==").has_value());  // padding
  EXPECT_FALSE(jwt::base64url_decode("Zm9v+/").has_value());  // standard alphabet
  EXPECT_FALSE(jwt::base64url_decode("Z").has_value());     // impossible length
  EXPECT_FALSE(jwt::base64url_decode("Zh").has_value());    // stray low bits: "Zg" is the only spelling of "f"
}

TEST(jwt_test, room_patterns) {
  EXPECT_TRUE(jwt::is_room_pattern("*"));
  EXPECT_TRUE(jwt::is_room_pattern("workflow:*"));
  EXPECT_TRUE(jwt::is_room_pattern("chat:lobby"));
  EXPECT_TRUE(jwt::is_room_pattern("doc:notes/*"));  // Yjs documents have folders
  EXPECT_FALSE(jwt::is_room_pattern(""));
  EXPECT_FALSE(jwt::is_room_pattern("work*flow"));
  EXPECT_FALSE(jwt::is_room_pattern("chat lobby"));
  EXPECT_FALSE(jwt::is_room_pattern(std::string(129, 'a')));
}

}  // namespace
}  // namespace tandem::server
