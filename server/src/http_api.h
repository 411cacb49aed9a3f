// server/src/http_api.h — the HTTP endpoints other than static files, without sockets.
//
// The edge hands over the method, path and decoded query arguments of a request to a
// callback mount (/healthz, /api/...) and writes back the HttpResponse. Routes:
//   GET /healthz                     200 {"status":"ok","version","uptime_s","connections"}
//                                    (503 "shutting_down" during graceful shutdown)
//   GET /api/v1/dev/token?name=N     dev mode only: a token minted with the server secret
//       [&id=ID][&rooms=a,b]         {"token","user":{id,name,color},"expires_at"} (Unix ms)
//   anything else under /api         404 {"error":"not_found"}
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "config.h"
#include "hub.h"

namespace tandem::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // "/api/v1/dev/token", no query
  std::vector<std::pair<std::string, std::string>> query;  // decoded name/value pairs, in order
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class HttpApi {
 public:
  // `state` reports the hub's numbers and whether shutdown has begun; `started` is the
  // process start on the monotonic clock.
  struct ServerState {
    HubStats hub;
    bool shutting_down = false;
  };
  HttpApi(const Settings& settings, std::function<ServerState()> state, Millis started)
      : settings_(settings), state_(std::move(state)), started_(started) {}

  HttpResponse handle(const HttpRequest& request, Now now) const;

 private:
  HttpResponse healthz(Now now) const;
  HttpResponse dev_token(const HttpRequest& request, Now now) const;

  const Settings& settings_;
  std::function<ServerState()> state_;
  Millis started_;
};

// The user id the dev endpoint gives a name: "dev:" + the name lower-cased with every
// character outside [a-z0-9_.@-] replaced by '-' (so "Ana María" -> "dev:ana-mar--a").
std::string dev_user_id(std::string_view name);

}  // namespace tandem::server
