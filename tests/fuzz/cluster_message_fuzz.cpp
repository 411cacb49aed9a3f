// tests/fuzz/cluster_message_fuzz.cpp — fuzzes the decoder of what instances send each other
// through Redis (server/src/engine/cluster_message.cpp: a kind byte, then netstrings). Other
// instances are trusted, but a message from another version, or one cut short, must be
// refused rather than misread. Seeds: tests/fuzz/seeds/cluster_message/.
//
// Invariant: a message that decodes encodes to bytes that decode and encode to the same bytes
// again (one encoding per message once written by encode()).
#include <cstdint>
#include <string>

#include "engine/cluster_message.h"
#include "fuzz_support.h"

using namespace tandem::server;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = cluster::decode(tandem::fuzz::as_text(data, size));
  if (!decoded) return 0;
  const std::string encoded = cluster::encode(decoded.value());
  auto again = cluster::decode(encoded);
  FUZZ_CHECK(again.ok(), "an encoded cluster message does not decode: " + encoded);
  FUZZ_CHECK(cluster::encode(again.value()) == encoded, "a cluster message changed in a round trip: " + encoded);
  return 0;
}
