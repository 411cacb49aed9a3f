// tokens.h — JWTs for the integration tests, minted with the server's own JWT code
// (tandem_server_lib) and the secret every test server runs with, plus the bad kinds a server
// must refuse: signed with another key, alg "none", expired.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "jwt.h"
#include "server_process.h"

namespace tandem::integration {

struct TokenSpec {
  std::string sub = "user-ana";
  std::string name = "Ana";
  std::string color = "#3366cc";
  std::int64_t expires_in_s = 3600;  // negative: already expired
  std::vector<std::string> rooms = {"*"};
  std::vector<std::string> read_only = {};  // room patterns it may only read (Yjs documents)
};

inline server::jwt::Claims claims_for(const TokenSpec& spec) {
  server::jwt::Claims claims;
  claims.sub = spec.sub;
  claims.name = spec.name;
  claims.color = spec.color;
  claims.rooms = spec.rooms;
  claims.read_only = spec.read_only;
  const auto now = static_cast<server::jwt::UnixSeconds>(std::time(nullptr));
  claims.iat = now;
  claims.exp = now + spec.expires_in_s;
  return claims;
}

inline std::string mint_token(const TokenSpec& spec = {}) { return server::jwt::mint(claims_for(spec), kTestSecret); }

// A well-formed token whose signature was made with a different key.
inline std::string forged_token(const TokenSpec& spec = {}) {
  return server::jwt::mint(claims_for(spec), "not-the-server-secret-but-just-as-long-0123");
}

// The classic downgrade: header {"alg":"none"} and an empty signature.
inline std::string alg_none_token(const TokenSpec& spec = {}) {
  const std::string valid = mint_token(spec);
  const std::size_t first_dot = valid.find('.');
  const std::size_t second_dot = valid.find('.', first_dot + 1);
  const std::string payload = valid.substr(first_dot + 1, second_dot - first_dot - 1);
  return server::jwt::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".";
}

// Expired well beyond the server's 30 s leeway.
inline std::string expired_token() {
  TokenSpec spec;
  spec.expires_in_s = -600;
  return mint_token(spec);
}

}  // namespace tandem::integration
