// hostile_rooms_test.cpp — a table of hostile or malformed room, presence and lock messages
// sent to a real tandem-server: each must get its documented error (PROTOCOL.md §2, §15) on a
// connection that stays open, and the server must stay up afterwards (healthz + a ping on a
// fresh connection). A burst past max_bad_frames must close 4400 (§16), and still the server
// stays up.
#include <string>
#include <vector>

#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;
using protocol::Connected;
using protocol::ErrorReply;
using protocol::Pong;

namespace {

struct HostileCase {
  const char* what;
  std::string frame;                // sent as one text frame
  const char* code;                 // the error code expected
  std::optional<std::string> id;    // the id the error must carry (when the id was readable)
};

const std::string kJoined = "workflow:1";  // the connection subscribes to this room first

std::vector<HostileCase> hostile_cases() {
  const std::string long_resource(200, 'r');
  const std::string long_room = "workflow:" + std::string(300, 'w');
  return {
      {"lock: ttl_ms is a string", R"({"type":"lock","id":"h1","room":"workflow:1","resource":"n1","ttl_ms":"30000"})", "invalid_message", "h1"},
      {"lock: resource missing", R"({"type":"lock","id":"h2","room":"workflow:1"})", "invalid_message", "h2"},
      {"lock: room missing", R"({"type":"lock","id":"h3","resource":"n1"})", "invalid_message", "h3"},
      {"lock: huge ttl_ms", R"({"type":"lock","id":"h4","room":"workflow:1","resource":"n1","ttl_ms":99999999999})", "invalid_message", "h4"},
      {"lock: negative ttl_ms", R"({"type":"lock","id":"h5","room":"workflow:1","resource":"n1","ttl_ms":-5})", "invalid_message", "h5"},
      {"lock: fractional ttl_ms", R"({"type":"lock","id":"h6","room":"workflow:1","resource":"n1","ttl_ms":1500.5})", "invalid_message", "h6"},
      {"lock: oversize resource", R"({"type":"lock","id":"h7","room":"workflow:1","resource":")" + long_resource + R"("})", "too_big", "h7"},
      {"lock: empty resource", R"({"type":"lock","id":"h8","room":"workflow:1","resource":""})", "invalid_message", "h8"},
      {"lock: resource with a space", R"({"type":"lock","id":"h9","room":"workflow:1","resource":"n 1"})", "invalid_message", "h9"},
      {"lock: resource is an object", R"({"type":"lock","id":"h10","room":"workflow:1","resource":{"id":"n1"}})", "invalid_message", "h10"},
      {"lock: resource is null", R"({"type":"lock","id":"h11","room":"workflow:1","resource":null})", "invalid_message", "h11"},
      {"lock: room not joined", R"({"type":"lock","id":"h12","room":"workflow:2","resource":"n1"})", "not_subscribed", "h12"},
      {"renew: not held", R"({"type":"renew","id":"h13","room":"workflow:1","resource":"n1"})", "not_found", "h13"},
      {"unlock: not held", R"({"type":"unlock","id":"h14","room":"workflow:1","resource":"n1"})", "not_found", "h14"},
      {"takeover: resource missing", R"({"type":"takeover","id":"h15","room":"workflow:1"})", "invalid_message", "h15"},
      {"takeover: room not joined", R"({"type":"takeover","id":"h16","room":"workflow:9","resource":"n1"})", "not_subscribed", "h16"},
      {"subscribe: another user's room", R"({"type":"subscribe","id":"h17","room":"user:someone-else"})", "forbidden", "h17"},
      {"subscribe: room without kind", R"({"type":"subscribe","id":"h18","room":"lobby"})", "invalid_message", "h18"},
      {"subscribe: oversize room", R"({"type":"subscribe","id":"h19","room":")" + long_room + R"("})", "too_big", "h19"},
      {"subscribe: room is a number", R"({"type":"subscribe","id":"h20","room":42})", "invalid_message", "h20"},
      {"subscribe: since.seq negative", R"({"type":"subscribe","id":"h21","room":"workflow:1","since":{"epoch":"e1","seq":-1}})", "invalid_message", "h21"},
      {"unsubscribe: room not joined", R"({"type":"unsubscribe","id":"h22","room":"workflow:3"})", "not_subscribed", "h22"},
      {"presence: cursor x is a string", R"({"type":"presence","id":"h23","room":"workflow:1","state":{"cursor":{"x":"a","y":1}}})", "invalid_message", "h23"},
      {"presence: cursor out of range", R"({"type":"presence","id":"h24","room":"workflow:1","state":{"cursor":{"x":1e12,"y":1}}})", "invalid_message", "h24"},
      {"presence: state is an array", R"({"type":"presence","id":"h25","room":"workflow:1","state":[1,2]})", "invalid_message", "h25"},
      {"unknown type", R"({"type":"lock_everything","id":"h26"})", "unknown_type", "h26"},
      {"type is a number", R"({"type":5,"id":"h27"})", "invalid_message", "h27"},
      {"an array from a client", R"([{"type":"lock","room":"workflow:1","resource":"n1"}])", "invalid_message", std::nullopt},
      {"a bare null", "null", "invalid_message", std::nullopt},
      {"truncated JSON", R"({"type":"lock","room":)", "bad_json", std::nullopt},
      {"id with forbidden characters", R"({"type":"lock","id":"bad id!","room":"workflow:1","resource":"n1"})", "invalid_message", std::nullopt},
  };
}

class hostile_rooms_test : public ServerTest {
 protected:
  // Enough bad frames allowed that the whole table fits in one connection.
  hostile_rooms_test() : ServerTest({"--max-bad-frames", "1000"}) {}

  void connect(TransportProbe& probe) {
    open_with_token(probe, mint_token());
    ASSERT_TRUE(wait_for_message<Connected>(probe).has_value()) << server.output();
  }

  // The server still serves: healthz, and a fresh connection answers a ping.
  void expect_server_up() {
    EXPECT_EQ(server.get("/healthz").status, 200);
    TransportProbe fresh;
    connect(fresh);
    ASSERT_EQ(fresh.send(protocol::encode_client(protocol::Ping{}, "alive")), SendStatus::Sent);
    EXPECT_TRUE(wait_for_message<Pong>(fresh, "alive").has_value());
  }
};

std::vector<ErrorReply> errors_in(const EventLog& log, std::vector<std::optional<std::string>>* ids) {
  std::vector<ErrorReply> out;
  for (auto& frame : decoded(log))
    if (auto* e = std::get_if<ErrorReply>(&frame.message)) {
      out.push_back(*e);
      ids->push_back(frame.id);
    }
  return out;
}

}  // namespace

TEST_F(hostile_rooms_test, each_hostile_message_gets_its_error_and_the_server_stays_up) {
  TransportProbe probe;
  connect(probe);
  ASSERT_EQ(probe.send(protocol::encode_client(protocol::Subscribe{kJoined, std::nullopt}, "join")), SendStatus::Sent);
  ASSERT_TRUE(wait_for_message<protocol::Subscribed>(probe, "join").has_value());

  const auto cases = hostile_cases();
  ASSERT_GE(cases.size(), 20u);
  std::size_t answered = 0;
  for (const HostileCase& c : cases) {
    ASSERT_EQ(probe.send(c.frame), SendStatus::Sent) << c.what;
    // One case at a time: wait for exactly one more error, so each answer is matched to its cause.
    std::vector<std::optional<std::string>> ids;
    ASSERT_TRUE(probe.wait_for([&] {
      ids.clear();
      return errors_in(probe.log, &ids).size() > answered || probe.log.closed.has_value();
    })) << c.what << ": no answer";
    ASSERT_FALSE(probe.log.closed.has_value()) << c.what << ": connection closed " << probe.log.closed->code;
    const auto errors = errors_in(probe.log, &ids);
    ASSERT_EQ(errors.size(), answered + 1) << c.what;
    EXPECT_EQ(errors.back().code, c.code) << c.what << ": " << errors.back().message;
    if (c.id) {
      EXPECT_EQ(ids.back(), c.id) << c.what;
    }
    ++answered;
  }
  // The connection itself is still usable.
  ASSERT_EQ(probe.send(protocol::encode_client(protocol::Ping{}, "after")), SendStatus::Sent);
  EXPECT_TRUE(wait_for_message<Pong>(probe, "after").has_value());
  expect_server_up();
}

class hostile_burst_test : public ServerTest {
 protected:
  hostile_burst_test() : ServerTest({"--max-bad-frames", "5"}) {}
};

TEST_F(hostile_burst_test, a_burst_of_bad_lock_requests_closes_4400_and_the_server_stays_up) {
  TransportProbe probe;
  open_with_token(probe, mint_token());
  ASSERT_TRUE(wait_for_message<Connected>(probe).has_value()) << server.output();
  for (int i = 0; i < 10; ++i)
    probe.send(R"({"type":"lock","room":"workflow:1","resource":"n1","ttl_ms":-1})");
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(probe.log.closed->code, 4400);

  EXPECT_EQ(server.get("/healthz").status, 200);
  TransportProbe fresh;
  open_with_token(fresh, mint_token());
  ASSERT_TRUE(wait_for_message<Connected>(fresh).has_value());
  ASSERT_EQ(fresh.send(protocol::encode_client(protocol::Ping{}, "alive")), SendStatus::Sent);
  EXPECT_TRUE(wait_for_message<Pong>(fresh, "alive").has_value());
}
