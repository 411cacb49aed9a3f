// server_test_support.h — what the tests against a real tandem-server share: a fixture that
// runs one server per test, and a probe that decodes what the server sent.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "server_process.h"
#include "tandem/json.h"
#include "tandem/protocol/codec.h"
#include "tokens.h"
#include "transport_probe.h"

namespace tandem::integration {

// Every server message received so far, batches unpacked, undecodable ones skipped (tests
// that care look at the raw frames).
inline std::vector<protocol::ServerFrame> decoded(const EventLog& log) {
  std::vector<protocol::ServerFrame> out;
  for (const std::string& frame : log.messages)
    for (auto& result : protocol::decode_server(frame))
      if (result.ok()) out.push_back(std::move(result).value());
  return out;
}

// The messages of type M among everything `log` received so far, in order.
template <class M>
std::vector<M> received_of(const EventLog& log) {
  std::vector<M> out;
  for (const auto& frame : decoded(log))
    if (const M* m = std::get_if<M>(&frame.message)) out.push_back(*m);
  return out;
}

// Waits for the first server message of type M (with request id `id` when given).
template <class M>
std::optional<std::pair<M, std::optional<std::string>>> wait_for_message(
    TransportProbe& probe, std::optional<std::string> id = std::nullopt, milliseconds timeout = kStepDeadline) {
  std::optional<std::pair<M, std::optional<std::string>>> found;
  probe.wait_for(
      [&] {
        for (const auto& frame : decoded(probe.log))
          if (const M* m = std::get_if<M>(&frame.message); m != nullptr && (!id || frame.id == id)) {
            found.emplace(*m, frame.id);
            return true;
          }
        return probe.log.closed.has_value();
      },
      timeout);
  return found;
}

// The seq of a room event (a message with room, seq and ts: PROTOCOL.md §4), if it is one of
// `room`'s.
inline std::optional<std::int64_t> room_event_seq(const protocol::ServerMessage& message, const std::string& room) {
  return std::visit(
      [&](const auto& m) -> std::optional<std::int64_t> {
        if constexpr (requires { m.room; m.seq; m.ts; }) {
          if (m.room == room) return m.seq;
        }
        return std::nullopt;
      },
      message);
}

// The {"room","epoch","seq"} of a publish answer.
struct Published {
  std::string room, epoch;
  std::int64_t seq = -1;
};
inline Published read_published(const std::string& body) {
  Published p;
  auto root = json::parse_json(body);
  if (!root) return p;
  json::Fields f(root.value().get(), "answer");
  f.str("room", p.room, {1, 128, false});
  f.str("epoch", p.epoch, {1, 128, false});
  f.int64("seq", p.seq, 0, 1LL << 53);
  return p;
}

// One fresh server per test, started with the flags the test suite asks for.
class ServerTest : public ::testing::Test {
 protected:
  explicit ServerTest(std::vector<std::string> flags = {}) : server(std::move(flags)) {}
  void SetUp() override { ASSERT_NO_THROW(server.start()); }

  // A raw transport connected with `token` in the URL (nothing else done).
  void open_with_token(TransportProbe& probe, const std::string& token) {
    probe.open(server.ws_url() + "?token=" + token);
  }

  ServerProcess server;
};

}  // namespace tandem::integration
