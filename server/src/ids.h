// server/src/ids.h — where the hub gets unguessable identifiers, and user colours.
//
// Session ids are presented by clients to resume state, so they come from the OS's CSPRNG
// (OpenSSL RAND_bytes) in production; tests inject a predictable IdSource.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tandem::server {

class IdSource {
 public:
  virtual ~IdSource() = default;
  // A new session id: an opaque identifier (rules::opaque), unique and unguessable.
  virtual std::string session_id() = 0;
};

// 128 random bits per session id, hex-encoded with an "s-" prefix.
class RandomIds final : public IdSource {
 public:
  std::string session_id() override;
};

// `bytes` random bytes from RAND_bytes as lowercase hex. Aborts if the CSPRNG fails (a server
// without randomness must not hand out secrets).
std::string random_hex(std::size_t bytes);

// A stable, readable colour ("#rrggbb") derived from a name, for users whose token has none:
// the same name always gets the same colour, different names spread over the hue circle.
std::string color_for(std::string_view name);

}  // namespace tandem::server
