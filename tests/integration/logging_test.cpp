// logging_test.cpp — a real tandem-server with --log-format json: every line it writes on
// stderr is one JSON object, and lines about a connection carry its conn and user fields.
#include <cJSON.h>

#include <sstream>
#include <thread>

#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

class logging_json_test : public ServerTest {
 protected:
  // debug: connects, refused tokens and disconnects are logged (docs/OPERATIONS.md).
  logging_json_test() : ServerTest({"--log-format", "json", "--log-level", "debug"}) {}
};

// A JSON line's string field, or "" when it has none.
std::string field(const cJSON* line, const char* name) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(line, name);
  return cJSON_IsString(item) ? item->valuestring : "";
}

}  // namespace

TEST_F(logging_json_test, every_stderr_line_is_a_json_object_and_connection_lines_carry_conn_and_user) {
  // A token signed with another key: refused (4401).
  TransportProbe forged;
  open_with_token(forged, forged_token());
  ASSERT_TRUE(forged.wait_closed()) << server.output();
  EXPECT_EQ(forged.log.closed->code, 4401);

  // A user who connects, then leaves.
  TransportProbe ana;
  open_with_token(ana, mint_token({.sub = "user-ana"}));
  const auto connected = wait_for_message<protocol::Connected>(ana);
  ASSERT_TRUE(connected.has_value()) << server.output();
  const std::string conn = connected->first.connection_id;
  ana.transport.close(1000, "bye");
  ASSERT_TRUE(ana.wait_closed());
  // The server logs the disconnect once it sees the close (the output is a file it appends to).
  const bool logged = pump_until([&] { return server.output().find(conn + ": disconnected") != std::string::npos; },
                                 [] { std::this_thread::sleep_for(milliseconds{20}); });  // between reads of the log
  ASSERT_TRUE(logged) << server.output();
  const StopResult stopped = server.stop();
  EXPECT_EQ(stopped.outcome, StopOutcome::Exited);

  // stdout and stderr share the file (server_process.h); stdout's one line is the one scripts wait for.
  const std::string listening = "listening on http://127.0.0.1:" + std::to_string(server.port());
  std::istringstream lines(server.output());
  std::string line;
  int parsed = 0;
  bool refused_line = false, ana_line = false, disconnect_line = false;
  while (std::getline(lines, line)) {
    if (line == listening) continue;
    cJSON* json = cJSON_Parse(line.c_str());
    ASSERT_TRUE(cJSON_IsObject(json)) << "not a JSON object: " << line;
    ++parsed;
    EXPECT_FALSE(field(json, "ts").empty()) << line;
    EXPECT_FALSE(field(json, "level").empty()) << line;
    EXPECT_TRUE(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(json, "msg"))) << line;
    const std::string msg = field(json, "msg");
    if (msg.find("token refused") != std::string::npos) refused_line = !field(json, "conn").empty();
    if (field(json, "conn") == conn && field(json, "user") == "user-ana") {
      ana_line = true;
      if (msg.find("disconnected") != std::string::npos) disconnect_line = true;
    }
    cJSON_Delete(json);
  }
  EXPECT_GE(parsed, 5) << server.output();  // start-up, the two connections, shutdown
  EXPECT_TRUE(refused_line) << "no \"token refused\" line with a conn field:\n" << server.output();
  EXPECT_TRUE(ana_line) << "no line with conn " << conn << " and user user-ana:\n" << server.output();
  EXPECT_TRUE(disconnect_line) << server.output();
}
