// quiet_client.h — a native client (the client core on libwebsockets) for one user of a test
// server, with libwebsockets' own logging off, as the load-style integration tests use it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "native_client.h"
#include "tokens.h"

namespace tandem::integration {

// Connects (once started) to `url` as user `sub` (named `sub`); `seed` seeds its backoff jitter;
// `carrier` says whether it runs over a WebSocket or the SSE fallback (PROTOCOL.md §5.5).
inline std::unique_ptr<native::NativeClient> quiet_client(const std::string& url, const std::string& sub,
                                                          std::uint64_t seed,
                                                          native::Carrier carrier = native::Carrier::WebSocket) {
  ClientConfig config;
  config.session.url = url;
  config.session.token = mint_token({.sub = sub, .name = sub});
  native::LwsTransportSettings quiet;
  quiet.log_level = native::LwsLogLevel::Silent;
  return std::make_unique<native::NativeClient>(config, quiet, seed, carrier);
}

}  // namespace tandem::integration
