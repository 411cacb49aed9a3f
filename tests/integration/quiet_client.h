// quiet_client.h — a native client (the client core on libwebsockets) for one user of a test
// server, with libwebsockets' own logging off, as the load-style integration tests use it.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "native_client.h"
#include "tokens.h"
#include "wait.h"

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

// Several native clients driven together: each polled in turn until a condition holds.
class ClientGroup {
 public:
  ClientGroup(std::initializer_list<native::NativeClient*> clients) : clients_(clients) {}

  bool poll_until(const std::function<bool()>& done, milliseconds timeout = kStepDeadline) {
    return pump_until(done, [&] {
      for (native::NativeClient* client : clients_) client->poll(milliseconds{5});
    }, timeout);
  }
  // Joins `room` with every client; true once every join succeeded.
  bool join(const std::string& room, milliseconds timeout = kStepDeadline) {
    auto joined = std::make_shared<int>(0);  // outlives this call: an answer after the deadline lands here
    for (native::NativeClient* client : clients_)
      client->client().rooms().join(room, std::nullopt, [joined](Result<protocol::Subscribed> r) { *joined += r.ok(); });
    return poll_until([&] { return *joined == static_cast<int>(clients_.size()); }, timeout);
  }
  // Starts every client, then joins `room` with each.
  bool start_and_join(const std::string& room, milliseconds timeout = kStepDeadline) {
    for (native::NativeClient* client : clients_) client->start();
    return join(room, timeout);
  }
  void shutdown() {
    for (native::NativeClient* client : clients_) client->shutdown();
  }

 private:
  std::vector<native::NativeClient*> clients_;
};

}  // namespace tandem::integration
