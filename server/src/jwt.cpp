// server/src/jwt.cpp — HS256 verify and mint on OpenSSL libcrypto (see jwt.h).
#include "jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cctype>
#include <cmath>

#include "tandem/json.h"
#include "tandem/protocol/errors.h"
#include "tandem/protocol/rules.h"

namespace tandem::server::jwt {

namespace {

constexpr std::size_t kSignatureBytes = 32;   // SHA-256
constexpr std::size_t kMaxRoomsClaim = 256;   // patterns in one token
constexpr std::size_t kMaxPermsClaim = 32;    // permissions in one token
// NumericDate bounds: up to year ~5138, far inside double's exact-integer range.
constexpr double kMaxNumericDate = 1e11;

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

Error unauthorized(std::string message) {
  return Error{std::string(protocol::errc::unauthorized), std::move(message)};
}

std::array<unsigned char, kSignatureBytes> hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, kSignatureBytes> out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &length);
  return out;
}

int alphabet_index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Reads an optional NumericDate (JSON number; RFC 7519 allows fractions, we floor them).
bool read_date(json::Fields& f, const char* key, std::optional<UnixSeconds>& out) {
  std::optional<double> value;
  if (!f.opt_num(key, value, 0, kMaxNumericDate)) return false;
  if (value) out = static_cast<UnixSeconds>(std::floor(*value));
  return true;
}

Result<json::JsonPtr> decode_json_part(std::string_view part, const char* what) {
  auto bytes = base64url_decode(part);
  if (!bytes) return unauthorized(std::string("malformed token: ") + what + " is not base64url");
  auto parsed = json::parse_json(*bytes);
  if (!parsed) return unauthorized(std::string("malformed token: ") + what + " is not JSON");
  if (!json::Fields(parsed.value().get(), what).ok())  // Fields refuses anything but an object
    return unauthorized(std::string("malformed token: ") + what + " is not a JSON object");
  return std::move(parsed).value();
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;  // no byte count ends like that
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value = alphabet_index(c);
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero, so each byte string has exactly one encoding.
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

bool is_hex_color(std::string_view text) {
  if (text.size() != 7 || text[0] != '#') return false;
  for (char c : text.substr(1))
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

bool is_room_pattern(std::string_view text) {
  if (text == "*") return true;
  if (text.empty() || text.size() > protocol::rules::room.max) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool identifier = json::is_identifier_char(c);
    bool slash = c == '/';  // Yjs document names have folders: "doc:notes/*" (endpoint.h)
    bool trailing_star = c == '*' && i + 1 == text.size();
    if (!identifier && !slash && !trailing_star) return false;
  }
  return true;
}

Result<Claims> verify(std::string_view token, const VerifyOptions& options) {
  if (token.size() > protocol::rules::token.max) return unauthorized("malformed token: too long");
  auto first_dot = token.find('.');
  auto second_dot = first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos)
    return unauthorized("malformed token: expected three base64url parts");
  std::string_view header_part = token.substr(0, first_dot);
  std::string_view payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
  std::string_view signature_part = token.substr(second_dot + 1);

  // 1. Header: decide how to check before checking. Only HS256 is accepted, whatever else
  // the token claims about itself.
  auto header = decode_json_part(header_part, "header");
  if (!header) return header.error();
  json::Fields header_fields(header.value().get(), "token header");
  if (!header_fields.has("alg")) return unauthorized("token header has no alg (only HS256 is accepted)");
  const char* alg = header_fields.peek_string("alg");
  if (!alg) return unauthorized("token header alg is not a string");
  if (std::string_view(alg) != "HS256")
    return unauthorized("unsupported alg \"" + std::string(alg).substr(0, 16) + "\" (only HS256)");
  if (header_fields.has("crit"))
    return unauthorized("token header has crit extensions, none are supported");

  // 2. Signature over "header.payload", in constant time.
  auto signature = base64url_decode(signature_part);
  if (!signature) return unauthorized("malformed token: signature is not base64url");
  auto expected = hmac_sha256(options.secret, token.substr(0, second_dot));
  if (signature->size() != kSignatureBytes || CRYPTO_memcmp(signature->data(), expected.data(), kSignatureBytes) != 0)
    return unauthorized("bad signature");

  // 3. Claims. The signature is good, so a malformed payload means a buggy issuer.
  auto payload = decode_json_part(payload_part, "payload");
  if (!payload) return payload.error();
  const auto* root = payload.value().get();
  Claims claims;
  json::Fields f(root, "token");
  if (!f.has("sub")) return unauthorized("token has no sub");
  f.str("sub", claims.sub, protocol::rules::user_id);
  f.opt_str("name", claims.name, protocol::rules::display_name);
  f.opt_str("color", claims.color, protocol::rules::color);
  std::optional<UnixSeconds> exp;
  read_date(f, "exp", exp);
  read_date(f, "nbf", claims.nbf);
  read_date(f, "iat", claims.iat);
  f.str_array("rooms", claims.rooms, false, kMaxRoomsClaim, {1, protocol::rules::room.max, false});
  f.str_array("perms", claims.perms, false, kMaxPermsClaim, {1, 64, true});
  f.str_array("read_only", claims.read_only, false, kMaxRoomsClaim, {1, protocol::rules::room.max, false});
  if (!f.ok()) return unauthorized("invalid claim: " + f.error().message);
  if (claims.color && !is_hex_color(*claims.color)) return unauthorized("invalid claim: color must be #rrggbb");
  for (const std::string& room : claims.rooms)
    if (!is_room_pattern(room)) return unauthorized("invalid claim: rooms must be room patterns like \"workflow:*\"");
  for (const std::string& room : claims.read_only)
    if (!is_room_pattern(room)) return unauthorized("invalid claim: read_only must be room patterns like \"doc:*\"");
  if (!exp) return unauthorized("token has no exp");
  claims.exp = *exp;

  // 4. Time window, with leeway for clocks that disagree a little.
  if (options.now >= claims.exp + options.leeway_s) return unauthorized("token expired");
  if (claims.nbf && options.now + options.leeway_s < *claims.nbf) return unauthorized("token not valid yet (nbf)");
  return claims;
}

std::string mint(const Claims& claims, std::string_view secret) {
  json::JsonWriter header;
  header.str("alg", "HS256").str("typ", "JWT");
  json::JsonWriter payload;
  payload.str("sub", claims.sub).opt_str("name", claims.name).opt_str("color", claims.color);
  json::JsonWriter rooms = json::JsonWriter::array();
  for (const std::string& room : claims.rooms) rooms.push_str(room);
  payload.child("rooms", std::move(rooms));
  if (!claims.perms.empty()) {
    json::JsonWriter perms = json::JsonWriter::array();
    for (const std::string& perm : claims.perms) perms.push_str(perm);
    payload.child("perms", std::move(perms));
  }
  if (!claims.read_only.empty()) {
    json::JsonWriter read_only = json::JsonWriter::array();
    for (const std::string& room : claims.read_only) read_only.push_str(room);
    payload.child("read_only", std::move(read_only));
  }
  payload.opt_int64("iat", claims.iat).opt_int64("nbf", claims.nbf).int64("exp", claims.exp);

  std::string signing_input = base64url_encode(header.finish()) + "." + base64url_encode(payload.finish());
  auto signature = hmac_sha256(secret, signing_input);
  return signing_input + "." +
         base64url_encode(std::string_view(reinterpret_cast<const char*>(signature.data()), signature.size()));
}

}  // namespace tandem::server::jwt
