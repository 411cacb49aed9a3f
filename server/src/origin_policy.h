// server/src/origin_policy.h — which web pages may open a WebSocket to this server: the
// allowed_origins setting, parsed once, and the check the edge runs on every upgrade request
// (a refused one gets HTTP 403 before the upgrade; docs/OPERATIONS.md "TLS and origins").
//
// Why: a browser lets any page open a WebSocket to any server, and sends the page's origin in
// the Origin header (cross-site WebSocket hijacking is a page of another site talking to this
// server in its visitor's name). Non-browser clients (tandem-agent, the native client, backends)
// send no Origin and are never refused here: they authenticate with their token.
//
// The setting is a comma-separated list of entries:
//   https://app.example.com     an origin, exactly: scheme://host[:port], no path, compared
//                               without regard to case, a default port (:443, :80) dropped
//   self                        the server's own pages: an Origin whose host[:port] is the
//                               request's Host header (any scheme, so TLS ended by a proxy works)
//   null                        the literal "null" browsers send from sandboxed frames and file:
// Empty (the default) allows every Origin, as before the setting existed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/result.h"

namespace tandem::server {

class OriginPolicy {
 public:
  // Every origin allowed.
  OriginPolicy() = default;

  // Parses the setting. Fails (code "config") naming the first entry that is not one of the
  // forms above, e.g. "\"https://app.example.com/\" is not an origin (scheme://host[:port], no
  // path or trailing slash)".
  static Result<OriginPolicy> parse(std::string_view setting);

  // True when an upgrade with this Origin header (nullopt: none sent) and Host header may
  // proceed.
  bool allows(std::optional<std::string_view> origin, std::string_view host) const;

  // False when every origin is allowed (the setting is empty).
  bool restricts() const { return !origins_.empty() || self_; }

 private:
  std::vector<std::string> origins_;  // normalized: lower case, default port dropped
  bool self_ = false;                 // "self" was listed
};

}  // namespace tandem::server
