// tests/fuzz/http_api_fuzz.cpp — fuzzes the HTTP handling that is ours (server/src/http_api.cpp):
// routing on method and path, the room in /api/v1/rooms/{room}/changes (percent-decoded), query
// arguments (dev token name/id/rooms/perms, before/limit, prefix), the Authorization header,
// and other instances' reports that ws/stats and ws/rooms read. libwebsockets parses the
// request line and headers and url-decodes the query; what it hands over is the input here.
//
// Input: lines — method, path, Authorization header, another instance's report (JSON, or an
// empty line for none), then one query argument per line ("name=value", split at the first
// '=' as the edge does). The server runs in dev mode with an admin token and a publish key; the
// publisher and the change history reader are stand-ins that answer at once.
// Seeds: tests/fuzz/seeds/http_api/.
//
// Invariants: exactly one answer; its status is one the API documents; a JSON answer parses;
// a dev token it hands out verifies with the server secret for the name asked.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fakes.h"
#include "fuzz_support.h"
#include "http_api.h"
#include "jwt.h"
#include "log.h"
#include "metrics.h"
#include "tandem/json.h"

namespace {

using namespace tandem;
using namespace tandem::server;

constexpr Now kNow{Millis(125000), 1700000000123};

Settings settings() {
  Settings s;
  s.dev = true;
  s.store_commit_thread = false;  // one thread: every input replays the same
  s.jwt_secret = std::string(server::testing::kSecret);
  s.admin_token = "fuzz-admin-token-0123456789";
  s.publish_api_key = "fuzz-publish-key-0123456789";
  return s;
}

HttpRequest request_of(std::string_view text, std::vector<std::string>& reports) {
  const std::vector<std::string_view> lines = fuzz::split_lines(text);
  auto line = [&](std::size_t i) { return i < lines.size() ? std::string(lines[i]) : std::string(); };
  HttpRequest request;
  request.method = line(0);
  request.path = line(1);
  request.authorization = line(2);
  if (!line(3).empty()) reports.push_back(line(3));
  for (std::size_t i = 4; i < lines.size(); ++i) {
    const std::string_view arg = lines[i];
    const std::size_t eq = arg.find('=');
    if (eq == std::string_view::npos) request.query.emplace_back(std::string(arg), "");
    else request.query.emplace_back(std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1)));
  }
  return request;
}

const std::string* query_value(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.query)
    if (key == name) return &value;
  return nullptr;
}

void check_dev_token(const Settings& s, const HttpRequest& request, const HttpResponse& response) {
  auto body = json::parse_json(response.body);
  json::Fields f(body.value().get(), "dev_token");
  std::string token;
  FUZZ_CHECK(f.str("token", token, {1, 1 << 20, false}), "a dev token answer without a token: " + response.body);
  auto claims = jwt::verify(token, {s.jwt_secret, kNow.wall / 1000, 0});
  FUZZ_CHECK(claims.ok(), "the dev token does not verify: " + (claims.ok() ? std::string() : claims.error().message));
  const std::string* name = query_value(request, "name");
  FUZZ_CHECK(name && claims->name == *name, "the dev token is for another name: " + response.body);
}

}  // namespace

// Once, before the first input: no "dev token minted" line per input.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  log::set_level(log::Level::Warn);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Settings kSettings = settings();
  static const std::set<int> kStatuses{200, 400, 401, 403, 404, 405, 500, 503};

  Metrics metrics;
  metrics.set_room_lister([] {
    return std::vector<RoomSummary>{{"chat:lobby", 2, 3}, {"workflow:42", 1, 1}};
  });
  std::vector<std::string> reports;
  const HttpRequest request = request_of(fuzz::as_text(data, size), reports);
  HttpApi::ServerState state;
  state.metrics = &metrics;
  state.instance = "i-1";
  state.cluster_reports = &reports;
  HttpApi api(kSettings, [&] { return state; }, Millis(5000));
  api.set_publisher([](std::string_view, Now, HttpApi::Respond respond) { respond(HttpResponse{200, "application/json", "{}"}); });
  api.set_changes_reader([](store::ReadRequest::ChangesPage page, Hub::ChangesPageReader then) {
    FUZZ_CHECK(page.limit >= 2 && page.limit <= 501, "a change page of " + std::to_string(page.limit));
    std::vector<store::StoredChange> changes;
    for (std::int64_t seq = 9; seq > 9 - static_cast<std::int64_t>(page.limit) && seq > 0; --seq)
      changes.push_back({seq, "alice", 1700000000000 + seq, R"({"type":"node_deleted","node":"n1"})"});
    then(std::move(changes));
  });

  std::vector<HttpResponse> answers;
  api.handle(request, kNow, [&](HttpResponse response) { answers.push_back(std::move(response)); });
  FUZZ_CHECK(answers.size() == 1, std::to_string(answers.size()) + " answers to one request");
  const HttpResponse& answer = answers.front();
  FUZZ_CHECK(kStatuses.count(answer.status), "undocumented status " + std::to_string(answer.status));
  if (answer.content_type == "application/json")
    FUZZ_CHECK(json::parse_json(answer.body).ok(), "a JSON answer does not parse: " + answer.body);
  if (answer.status == 200 && request.path == "/api/v1/dev/token") check_dev_token(kSettings, request, answer);
  return 0;
}
