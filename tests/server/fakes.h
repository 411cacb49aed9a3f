// tests/server/fakes.h — test doubles for the server's seams: a fake edge that records wakes,
// predictable session ids, and a token helper that signs arbitrary header/payload JSON.
#pragma once

#include <atomic>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <string_view>
#include <vector>

#include "hub.h"
#include "jwt.h"

namespace tandem::server::testing {

inline constexpr std::string_view kSecret = "test-secret-0123456789abcdef-0123456789";

class FakeEdge final : public EdgeWaker {
 public:
  void wake(ConnectionId id) override { wakes.push_back(id); }
  void abandon(ConnectionId id) override { abandoned.push_back(id); }
  void commit_soon() override { ++commit_requests; }
  void commit_finished() override { ++commits_finished; }  // from the commit thread
  int commit_requests = 0;
  std::atomic<int> commits_finished{0};
  std::vector<ConnectionId> wakes;
  std::vector<ConnectionId> abandoned;
};

class CountingIds final : public IdSource {
 public:
  std::string session_id() override { return "s-" + std::to_string(++count); }
  int count = 0;
};

// Every message queued for `id`, decoded (batch frames flattened; undecodable ones skipped).
inline std::vector<protocol::ServerFrame> drain_frames(Hub& hub, ConnectionId id) {
  std::vector<protocol::ServerFrame> out;
  while (Bytes frame = hub.next_frame(id))
    for (auto& decoded : protocol::decode_server(*frame))
      if (decoded.ok()) out.push_back(std::move(decoded).value());
  return out;
}

// The messages of type M among `frames`, in order.
template <class M>
std::vector<M> messages_of(const std::vector<protocol::ServerFrame>& frames) {
  std::vector<M> out;
  for (const auto& f : frames)
    if (const M* m = std::get_if<M>(&f.message)) out.push_back(*m);
  return out;
}

// header.payload.signature with an HMAC-SHA256 over whatever JSON the test wants, so tests can
// build tokens the minter would never produce (alg none, RS256, missing claims).
inline std::string signed_token(std::string_view header_json, std::string_view payload_json,
                                std::string_view secret = kSecret) {
  std::string input = jwt::base64url_encode(header_json) + "." + jwt::base64url_encode(payload_json);
  unsigned char mac[32];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &length);
  return input + "." + jwt::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), length));
}

// A valid token for `sub` expiring at `exp` (Unix seconds).
inline std::string token_for(std::string sub, jwt::UnixSeconds exp, std::string_view secret = kSecret) {
  jwt::Claims claims;
  claims.sub = std::move(sub);
  claims.name = "Ana";
  claims.color = "#112233";
  claims.rooms = {"workflow:*", "chat:lobby"};
  claims.exp = exp;
  return jwt::mint(claims, secret);
}

}  // namespace tandem::server::testing
