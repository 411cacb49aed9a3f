// tests/fuzz/publish_body_fuzz.cpp — fuzzes the body of POST /api/v1/publish: the codec's
// decode_publish (one message) and the server's publish() (one message or a batch, validated
// then applied to live rooms), on a fresh server without a store where alice has joined
// workflow:42 and created node n1 in it.
//
// Input: the body, as the edge hands it over. PROTOCOL.md's `json publish` examples and
// tests/fuzz/seeds/publish_body/ (batches, node updates) are the seeds.
//
// Invariants:
//   - decode_publish: what decodes encodes (encode_publish) to a body that decodes to the same;
//   - publish(): exactly one answer, with a status it documents and a JSON body; only a body
//     that is JSON by itself gets past 400; every frame it sends to members decodes.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fakes.h"
#include "fuzz_support.h"
#include "hub.h"
#include "jwt.h"
#include "publish_api.h"
#include "tandem/json.h"
#include "tandem/protocol/codec.h"
#include "tandem/protocol/publish.h"

namespace {

using namespace tandem;
using namespace tandem::server;

constexpr Now kNow{Millis(5000), 1700000000000};

void check_codec_round_trip(std::string_view body) {
  auto decoded = protocol::decode_publish(body);
  if (!decoded) return;
  const std::string encoded = protocol::encode_publish(decoded.value());
  auto again = protocol::decode_publish(encoded);
  FUZZ_CHECK(again.ok(), "an encoded publish body does not decode: " + encoded);
  FUZZ_CHECK(again.value() == decoded.value(), "a publish body changed in a round trip: " + std::string(body) +
                                                   "\nencoded: " + encoded);
}

void drain(Hub& hub, ConnectionId id) {
  while (Bytes frame = hub.next_frame(id))
    for (const auto& decoded : protocol::decode_server(*frame))
      FUZZ_CHECK(decoded.ok(), "the hub queued a frame that does not decode: " + *frame);
}

Settings settings() {
  Settings s;
  s.jwt_secret = std::string(server::testing::kSecret);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Settings kSettings = settings();
  static const std::set<int> kStatuses{200, 400, 404, 409, 503};
  const std::string_view body = fuzz::as_text(data, size);
  check_codec_round_trip(body);

  server::testing::FakeEdge edge;
  server::testing::CountingIds ids;
  Hub hub(kSettings, ids, edge);
  OpenRequest alice;
  alice.token = server::testing::token_for("alice", kNow.wall / 1000 + 3600);
  const ConnectionId id = hub.open(alice, kNow);
  hub.receive(id, R"({"type":"subscribe","id":"1","room":"workflow:42"})", kNow);
  hub.receive(id, R"({"type":"node_create","id":"2","room":"workflow:42","node":{"id":"n1","type":"http_request"}})",
              kNow);
  hub.commit();
  drain(hub, id);

  std::vector<HttpResponse> answers;
  publish(hub, body, kNow, [&](HttpResponse response) { answers.push_back(std::move(response)); });
  hub.commit();
  FUZZ_CHECK(answers.size() == 1, std::to_string(answers.size()) + " answers to one publish");
  const HttpResponse& answer = answers.front();
  FUZZ_CHECK(kStatuses.count(answer.status), "undocumented status " + std::to_string(answer.status));
  FUZZ_CHECK(json::parse_json(answer.body).ok(), "the answer is not JSON: " + answer.body);
  if (answer.status != 400)
    FUZZ_CHECK(json::parse_json(body).ok(), "a body that is not JSON was published (" + std::to_string(answer.status) +
                                                "): " + std::string(body));
  drain(hub, id);
  hub.closed(id);
  return 0;
}
