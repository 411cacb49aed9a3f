// server/src/http_api.h — the HTTP endpoints other than static files, without sockets.
//
// The edge hands over the method, path and decoded query arguments of a request to a
// callback mount (/healthz, /api/...) and writes back the HttpResponse. Routes:
//   GET /healthz                     200 {"status":"ok","version","uptime_s","connections"}
//                                    (503 "shutting_down" during graceful shutdown)
//   GET /api/v1/dev/token?name=N     dev mode only: a token minted with the server secret
//       [&id=ID][&rooms=a,b]         {"token","user":{id,name,color},"expires_at"} (Unix ms)
//       [&perms=chat:clear]          permissions claim (jwt.h)
//   GET /metrics                     Prometheus text (metrics.h); no auth, like /healthz
//   GET /api/v1/ws/stats             admin: {"connections","users","rooms","uptime_s",
//                                    "messages_in","messages_out","frames_out","bytes_in","bytes_out"}
//   GET /api/v1/ws/rooms[?prefix=P]  admin: {"rooms":[{"room","members","connections"}]}
//                                    (several instances: both for the whole cluster, from each
//                                    instance's last heartbeat report, and ws/stats lists them)
//   GET /api/v1/ws/rooms/{room}      admin: one room this instance runs, {"room","members":[{"user",
//                                    "name","color","connections"}],"locks":[{"resource","holder":
//                                    {"user","name","color"},"fence","expires_at","expires_in_ms"}]};
//                                    404 when it runs no such room (naming the instance that
//                                    does when another one reported it)
//   GET /api/v1/ws/webhooks          admin: the webhook endpoints, their queues and the newest dead
//                                    letters (webhooks/outbox.h report_json; PROTOCOL.md "Webhooks")
//   GET /api/v1/rooms/{room}/changes admin: a page of a workflow document's change history,
//       [?before=SEQ][&limit=N]      newest first: {"room","changes":[{"seq","user","ts","event"}],
//                                    "next_before"} (limit default 50, at most 500; next_before is
//                                    null on the last page)
//   GET /api/v1/ydocs[?prefix=P]     admin: the Yjs documents in memory, {"ydocs":[{"doc",
//                                    "connections","updates","bytes","last_seq"}]}: `updates`
//                                    is the length of its stored log (compaction shortens it)
//   POST /api/v1/publish             backend events into rooms (publish_api.h), with
//                                    `Authorization: Bearer <publish_api_key>` (same refusals
//                                    as admin: 401 / 403 / 403 when no key is configured)
//   anything else under /api         404 {"error":"not_found"}
//
// Admin endpoints need `Authorization: Bearer <admin_token>`: no or malformed header -> 401,
// wrong token -> 403, no admin_token configured -> 403 saying so (the endpoints exist but are
// switched off). Tokens are compared in constant time.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config.h"
#include "hub.h"
#include "metrics.h"
#include "ydocs/ydocs.h"

namespace tandem::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // "/api/v1/dev/token", no query
  std::vector<std::pair<std::string, std::string>> query;  // decoded name/value pairs, in order
  std::string authorization;  // the Authorization header, "" when absent
  std::string body{};         // POST: the whole body (the edge bounds it by max_frame_bytes)
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
    const Metrics* metrics = nullptr;  // the hub's counters; nullptr reads as all zero
    // Several instances: this one's id and the other live instances' last reports
    // (instance_report's JSON, Hub::cluster_reports); null alone.
    std::string instance;
    const std::vector<std::string>* cluster_reports = nullptr;
  };
  HttpApi(const Settings& settings, std::function<ServerState()> state, Millis started)
      : settings_(settings), state_(std::move(state)), started_(started) {}

  // Answers `request` through `respond`: at once, or — publish and the change history wait for
  // the store (hub.h "Store reads", after_commit) — later, from the loop.
  using Respond = std::function<void(HttpResponse)>;
  void handle(const HttpRequest& request, Now now, Respond respond) const;

  // What POST /api/v1/publish does once authorized (publish_api.h: publish(hub, body, now,
  // respond)). Without one the endpoint answers 404.
  using Publisher = std::function<void(std::string_view body, Now now, Respond respond)>;
  void set_publisher(Publisher publisher) { publisher_ = std::move(publisher); }
  // Where the change history is read (Hub::read_changes). Without one it answers 503.
  using ChangesReader = std::function<void(store::ReadRequest::ChangesPage page, Hub::ChangesPageReader then)>;
  void set_changes_reader(ChangesReader reader) { changes_reader_ = std::move(reader); }
  // Lists the Yjs documents in memory (YDocs::summaries). Without one the list is empty.
  using YDocLister = std::function<std::vector<YDocSummary>()>;
  void set_ydoc_lister(YDocLister lister) { ydoc_lister_ = std::move(lister); }
  // The members and locks of a room this instance runs (Hub::room_detail). Without one every
  // room is unknown here.
  using RoomInspector = std::function<std::optional<RoomDetail>(std::string_view room, Now now)>;
  void set_room_inspector(RoomInspector inspector) { room_inspector_ = std::move(inspector); }
  // The webhooks' state as JSON (webhooks::Outbox::report_json). Without one: no endpoints.
  using WebhookReporter = std::function<std::string(Now now)>;
  void set_webhook_reporter(WebhookReporter reporter) { webhook_reporter_ = std::move(reporter); }

  // Several instances: what this instance tells the others about itself with each heartbeat —
  // ws/stats's figures and ws/rooms's list for the rooms it runs — so the admin endpoints of
  // any instance answer for the whole cluster (as fresh as the last heartbeat of each).
  std::string instance_report(Now now) const;

 private:
  // The routes answered at once.
  HttpResponse answer(const HttpRequest& request, Now now) const;
  HttpResponse healthz(Now now) const;
  HttpResponse dev_token(const HttpRequest& request, Now now) const;
  HttpResponse metrics(Now now) const;
  HttpResponse ws_stats(Now now) const;
  HttpResponse ws_rooms(const HttpRequest& request) const;
  HttpResponse ws_room(std::string_view room, Now now) const;
  HttpResponse ydocs(const HttpRequest& request) const;
  void room_changes(const HttpRequest& request, std::string_view room, Respond respond) const;
  // nullopt when the request may use admin endpoints, else the refusal to send.
  std::optional<HttpResponse> refuse_admin(const HttpRequest& request) const;
  // The same for the publish key.
  std::optional<HttpResponse> refuse_publisher(const HttpRequest& request) const;
  MetricsSnapshot snapshot(const ServerState& state, Now now) const;

  const Settings& settings_;
  std::function<ServerState()> state_;
  Millis started_;
  Publisher publisher_;
  ChangesReader changes_reader_;
  YDocLister ydoc_lister_;
  RoomInspector room_inspector_;
  WebhookReporter webhook_reporter_;
};

// An error answer: {"error":code,"message":message}.
HttpResponse json_error(int status, std::string_view code, std::string_view message);

// The user id the dev endpoint gives a name: "dev:" + the name lower-cased with every
// character outside [a-z0-9_.@-] replaced by '-' (so "Ana María" -> "dev:ana-mar--a").
std::string dev_user_id(std::string_view name);

// Whether `authorization` is "Bearer <expected>", compared in constant time (a SHA-256 of each
// side is compared, so neither the content nor the length leaks through timing).
bool bearer_matches(std::string_view authorization, std::string_view expected);

}  // namespace tandem::server
