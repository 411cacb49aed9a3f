// hostile_documents_test.cpp — a table of malformed or hostile document, chat and stream
// messages, and of bad backend publish calls, sent to a real tandem-server with its SQLite store
// (issue 4): each WebSocket message gets its documented error (PROTOCOL.md §9–§11, §15) on a
// connection that stays open, each HTTP call its status (§13, §14), and nothing stored changes — the rooms' seq, document and chat history read by a fresh client are the
// same before and after the table, and again after a kill -9 and restart (so the store holds
// exactly what memory held).
#include <string>
#include <vector>

#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

struct HostileCase {
  const char* what;
  std::string frame;  // sent as one text frame
  const char* code;   // the error expected
};

constexpr const char* kDoc = "workflow:hostile";
constexpr const char* kChat = "chat:hostile";
constexpr const char* kAgent = "agent:hostile";

std::string node_create(const std::string& id, const std::string& node_json, const std::string& room = kDoc) {
  return R"({"type":"node_create","id":")" + id + R"(","room":")" + room + R"(","node":)" + node_json + "}";
}

std::vector<HostileCase> hostile_cases() {
  const std::string long_label(300, 'l');
  const std::string big_data = R"({"blob":")" + std::string(17 * 1024, 'd') + R"("})";
  const std::string long_text(5000, 't');
  return {
      {"node_create in a chat room", node_create("h1", R"({"id":"x1","type":"step"})", kChat), "invalid_message"},
      {"node_create without node", R"({"type":"node_create","id":"h2","room":"workflow:hostile"})", "invalid_message"},
      {"node_create id with a space", node_create("h3", R"({"id":"n 9","type":"step"})"), "invalid_message"},
      {"node_create without type", node_create("h4", R"({"id":"n9"})"), "invalid_message"},
      {"node_create oversize label", node_create("h5", R"({"id":"n9","type":"step","label":")" + long_label + R"("})"), "too_big"},
      {"node_create x out of range", node_create("h6", R"({"id":"n9","type":"step","x":1e12})"), "invalid_message"},
      {"node_create x is a string", node_create("h7", R"({"id":"n9","type":"step","x":"10"})"), "invalid_message"},
      {"node_create data is an array", node_create("h8", R"({"id":"n9","type":"step","data":[1,2]})"), "invalid_message"},
      {"node_create data over 16 KiB", node_create("h9", R"({"id":"n9","type":"step","data":)" + big_data + "}"), "too_big"},
      {"node_create unknown status", node_create("h10", R"({"id":"n9","type":"step","status":"exploded"})"), "invalid_message"},
      {"node_create existing id", node_create("h11", R"({"id":"n1","type":"step"})"), "conflict"},
      {"node_create in a room not joined", node_create("h12", R"({"id":"n9","type":"step"})", "workflow:other"), "not_subscribed"},
      {"node_update unknown node", R"({"type":"node_update","id":"h13","room":"workflow:hostile","node":"nope","fields":{"x":1}})", "not_found"},
      {"node_update without fields", R"({"type":"node_update","id":"h14","room":"workflow:hostile","node":"n1","fields":{}})", "invalid_message"},
      {"node_update negative fence", R"({"type":"node_update","id":"h15","room":"workflow:hostile","node":"n1","fields":{"x":1},"fence":-3})", "invalid_message"},
      {"node_update fence never granted", R"({"type":"node_update","id":"h16","room":"workflow:hostile","node":"n1","fields":{"x":1},"fence":999999})", "stale_fence"},
      {"node_delete unknown node", R"({"type":"node_delete","id":"h17","room":"workflow:hostile","node":"nope"})", "not_found"},
      {"edge_create to a missing node", R"({"type":"edge_create","id":"h18","room":"workflow:hostile","edge":{"id":"e9","from":"n1","to":"nope"}})", "not_found"},
      {"edge_create existing id", R"({"type":"edge_create","id":"h19","room":"workflow:hostile","edge":{"id":"e1","from":"n2","to":"n1"}})", "conflict"},
      {"edge_delete unknown edge", R"({"type":"edge_delete","id":"h20","room":"workflow:hostile","edge":"nope"})", "not_found"},
      {"chat with empty text", R"({"type":"chat","id":"h21","room":"chat:hostile","text":""})", "invalid_message"},
      {"chat over max_chat_bytes", R"({"type":"chat","id":"h22","room":"chat:hostile","text":")" + long_text + R"("})", "too_big"},
      {"chat text is a number", R"({"type":"chat","id":"h23","room":"chat:hostile","text":42})", "invalid_message"},
      {"chat in a room not joined", R"({"type":"chat","id":"h24","room":"chat:elsewhere","text":"hi"})", "not_subscribed"},
      {"clear without the permission", R"({"type":"clear","id":"h25","room":"chat:hostile"})", "forbidden"},
      {"typing active is a string", R"({"type":"typing","id":"h26","room":"chat:hostile","active":"yes"})", "invalid_message"},
      {"stream in a workflow room", R"({"type":"stream","id":"h27","room":"workflow:hostile","event":"token"})", "invalid_message"},
      {"stream_control unknown action", R"({"type":"stream_control","id":"h28","room":"agent:hostile","action":"explode"})", "invalid_message"},
      {"stream_control without a producer", R"({"type":"stream_control","id":"h29","room":"agent:hostile","action":"pause"})", "not_found"},
  };
}

// A bad POST /api/v1/publish and the status it must get.
struct HostilePublish {
  const char* what;
  std::string body;
  std::string headers;  // whole header lines
  int status;
};

constexpr const char* kPublishKey = "publish-key-for-the-hostile-table";
const std::string kAuth = std::string("Authorization: Bearer ") + kPublishKey + "\r\n";

std::vector<HostilePublish> hostile_publishes() {
  const std::string execution = R"({"type":"execution_update","room":"workflow:hostile","execution":"run-1","status":"running","progress":0.5})";
  return {
      {"publish without a key", execution, "", 401},
      {"publish with a wrong key", execution, "Authorization: Bearer not-the-publish-key-at-all\r\n", 403},
      {"publish with another scheme", execution, "Authorization: Basic cHVibGlzaA==\r\n", 403},
      {"publish body is not JSON", "{not json", kAuth, 400},
      {"publish a client message type", R"({"type":"chat","room":"chat:hostile","text":"hi"})", kAuth, 400},
      {"publish progress above 1", R"({"type":"execution_update","room":"workflow:hostile","execution":"run-1","status":"running","progress":1.5})", kAuth, 400},
      {"publish unknown execution status", R"({"type":"execution_update","room":"workflow:hostile","execution":"run-1","status":"exploded"})", kAuth, 400},
      {"publish node_update to a missing node", R"({"type":"node_update","room":"workflow:hostile","node":"nope","status":"running"})", kAuth, 404},
      {"publish node_update outside workflow rooms", R"({"type":"node_update","room":"chat:hostile","node":"n1","status":"running"})", kAuth, 400},
      {"publish an empty batch", "[]", kAuth, 400},
      {"publish a batch with one bad entry", "[" + execution + R"(,{"type":"execution_update","room":"workflow:hostile"}])", kAuth, 400},
      {"publish over max_frame_bytes", R"({"type":"execution_update","room":"workflow:hostile","execution":"run-1","status":"running","message":")" +
                                            std::string(70000, 'm') + R"("})", kAuth, 413},
  };
}

// What a fresh client reads of the rooms: the seq of each and its snapshots, encoded.
struct StoredView {
  std::int64_t doc_seq = -1, chat_seq = -1;
  std::string doc, history;
  bool operator==(const StoredView&) const = default;
};

class hostile_documents_test : public ServerTest {
 protected:
  hostile_documents_test() : ServerTest({"--max-bad-frames", "1000", "--publish-api-key", kPublishKey}) {}

  void connect(TransportProbe& probe, const std::string& sub) {
    TokenSpec spec;
    spec.sub = sub;
    spec.name = sub;
    open_with_token(probe, mint_token(spec));
    ASSERT_TRUE(wait_for_message<protocol::Connected>(probe).has_value()) << server.output();
  }
  void join(TransportProbe& probe, const std::string& room) {
    probe.send(protocol::encode_client(protocol::Subscribe{room, std::nullopt}, "join-" + room));
    ASSERT_TRUE(wait_for_message<protocol::Subscribed>(probe, "join-" + room).has_value()) << room;
  }
  void expect_ack(TransportProbe& probe, const std::string& frame, const std::string& id) {
    probe.send(frame);
    auto ack = wait_for_message<protocol::Ack>(probe, id);
    ASSERT_TRUE(ack.has_value()) << frame << "\n" << server.output();
  }
  StoredView read_view() {
    TransportProbe probe;
    connect(probe, "reader");
    StoredView view;
    probe.send(protocol::encode_client(protocol::Subscribe{kDoc, std::nullopt}, "d"));
    probe.send(protocol::encode_client(protocol::Subscribe{kChat, std::nullopt}, "c"));
    auto doc = wait_for_message<protocol::DocSnapshot>(probe);
    auto history = [&] {
      std::optional<protocol::ChatHistory> found;
      probe.wait_for([&] {
        for (const auto& f : decoded(probe.log))
          if (auto* h = std::get_if<protocol::ChatHistory>(&f.message); h && h->room == kChat) found = *h;
        return found.has_value();
      });
      return found;
    }();
    EXPECT_TRUE(doc.has_value() && history.has_value()) << server.output();
    if (!doc || !history) return view;
    view.doc_seq = doc->first.seq;
    view.chat_seq = history->seq;
    view.doc = protocol::encode(protocol::ServerFrame{std::nullopt, doc->first});
    view.history = protocol::encode(protocol::ServerFrame{std::nullopt, *history});
    return view;
  }
};

std::vector<std::pair<protocol::ErrorReply, std::optional<std::string>>> errors_in(const EventLog& log) {
  std::vector<std::pair<protocol::ErrorReply, std::optional<std::string>>> out;
  for (auto& frame : decoded(log))
    if (auto* e = std::get_if<protocol::ErrorReply>(&frame.message)) out.emplace_back(*e, frame.id);
  return out;
}

}  // namespace

TEST_F(hostile_documents_test, each_hostile_input_gets_its_error_and_nothing_stored_changes) {
  TransportProbe probe;
  connect(probe, "mallory");
  join(probe, kDoc);
  join(probe, kChat);
  join(probe, kAgent);
  // Some real content to keep intact.
  expect_ack(probe, node_create("ok1", R"({"id":"n1","type":"trigger","label":"Start"})"), "ok1");
  expect_ack(probe, node_create("ok2", R"({"id":"n2","type":"step","x":10,"y":20})"), "ok2");
  expect_ack(probe, R"({"type":"edge_create","id":"ok3","room":"workflow:hostile","edge":{"id":"e1","from":"n1","to":"n2"}})", "ok3");
  expect_ack(probe, R"({"type":"chat","id":"ok4","room":"chat:hostile","text":"hello"})", "ok4");
  const StoredView before = read_view();
  ASSERT_GE(before.doc_seq, 3);

  const auto cases = hostile_cases();
  ASSERT_GE(cases.size(), 20u);
  std::size_t answered = 0;
  for (const HostileCase& c : cases) {
    ASSERT_EQ(probe.send(c.frame), SendStatus::Sent) << c.what;
    ASSERT_TRUE(probe.wait_for([&] { return errors_in(probe.log).size() > answered || probe.log.closed.has_value(); }))
        << c.what << ": no answer";
    ASSERT_FALSE(probe.log.closed.has_value()) << c.what << ": connection closed " << probe.log.closed->code;
    const auto errors = errors_in(probe.log);
    ASSERT_EQ(errors.size(), answered + 1) << c.what;
    EXPECT_EQ(errors.back().first.code, c.code) << c.what << ": " << errors.back().first.message;
    ++answered;
  }
  // Nothing acked among them, and the connection still works.
  ASSERT_EQ(probe.send(protocol::encode_client(protocol::Ping{}, "after")), SendStatus::Sent);
  EXPECT_TRUE(wait_for_message<protocol::Pong>(probe, "after").has_value());
  for (const auto& frame : decoded(probe.log))
    if (std::holds_alternative<protocol::Ack>(frame.message)) {
      const std::string id = frame.id.value_or("");
      EXPECT_EQ(id.rfind("ok", 0), 0u) << "a hostile request was acked: " << id;
    }

  for (const HostilePublish& p : hostile_publishes()) {
    const HttpReply reply = server.post("/api/v1/publish", p.body, p.headers);
    EXPECT_EQ(reply.status, p.status) << p.what << ": " << reply.body;
  }
  EXPECT_GE(cases.size() + hostile_publishes().size(), 40u);

  EXPECT_EQ(read_view(), before) << "the table changed stored state";
  server.kill_now();
  ASSERT_NO_THROW(server.start());
  EXPECT_EQ(read_view(), before) << "the store differs from what memory held";
}
