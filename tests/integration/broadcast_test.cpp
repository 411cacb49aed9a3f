// broadcast_test.cpp — the broadcast family (PROTOCOL.md §12a) through native clients (the client
// core on libwebsockets) against a real tandem-server: Rooms::broadcast from one member reaches
// the others' on_broadcast with the sender named, not the sender unless it asked for self (its
// copy then comes before its ack), and a member joining afterwards is not replayed anything.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "quiet_client.h"
#include "server_test_support.h"

namespace tandem::integration {
namespace {

constexpr const char* kRoom = "workflow:bcast";

struct Member {
  Member(const std::string& url, const std::string& sub, std::uint64_t seed) : client(quiet_client(url, sub, seed)) {
    rooms().on_broadcast = [this](const protocol::BroadcastMessage& b) { got.push_back(b); };
  }
  Rooms& rooms() { return client->client().rooms(); }
  std::string connection_id() const { return client->client().connected()->connection_id; }

  std::unique_ptr<native::NativeClient> client;
  std::vector<protocol::BroadcastMessage> got;
};

class broadcast_test : public ServerTest {
 protected:
  bool poll_until(const std::function<bool()>& done, milliseconds timeout = kStepDeadline) {
    return pump_until(done, [&] {
      for (Member* m : everyone_) m->client->poll(milliseconds{5});
    }, timeout);
  }
  void start_joined(Member& m) {
    everyone_.push_back(&m);
    m.client->start();
    std::optional<Result<protocol::Subscribed>> joined;
    m.rooms().join(kRoom, std::nullopt, [&](Result<protocol::Subscribed> r) { joined = std::move(r); });
    ASSERT_TRUE(poll_until([&] { return joined.has_value(); })) << server.output();
    ASSERT_TRUE(joined->ok()) << joined->error().message;
  }
  Result<Acked> acked_broadcast(Member& from, const std::string& event, std::optional<std::string> data, bool self) {
    std::optional<Result<Acked>> answer;
    from.rooms().broadcast(kRoom, event, std::move(data), self, [&](Result<Acked> r) { answer = std::move(r); });
    EXPECT_TRUE(poll_until([&] { return answer.has_value(); })) << server.output();
    return answer ? *answer : Result<Acked>(Error{"timeout", "no answer"});
  }

  std::vector<Member*> everyone_;
};

TEST_F(broadcast_test, a_broadcast_reaches_every_other_member_and_the_sender_only_with_self) {
  Member ana(server.ws_url(), "ana", 1), ben(server.ws_url(), "ben", 2), cleo(server.ws_url(), "cleo", 3);
  start_joined(ana);
  start_joined(ben);
  start_joined(cleo);

  // Fire and forget, then an acked one: once Ana's ack is back, both reached every queue.
  auto sent = ana.rooms().broadcast(kRoom, "dragging", R"({"node":"n3","x":12.5})", false);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent.value(), SendStatus::Sent);
  ASSERT_TRUE(acked_broadcast(ana, "reaction", R"("🎉")", false).ok());
  ASSERT_TRUE(poll_until([&] { return ben.got.size() == 2 && cleo.got.size() == 2; })) << server.output();
  EXPECT_EQ(ben.got[0], (protocol::BroadcastMessage{kRoom, "dragging", R"({"node":"n3","x":12.5})", "ana", "ana",
                                                    "#3366cc", ana.connection_id()}));
  EXPECT_EQ(ben.got[1].event, "reaction");
  EXPECT_EQ(ben.got[1].data, R"("🎉")");
  EXPECT_EQ(cleo.got[0], ben.got[0]);
  EXPECT_TRUE(ana.got.empty()) << "no self: the sender gets nothing";

  // With self, the sender's copy arrives before its ack.
  ana.got.clear();
  std::size_t copies_at_ack = 99;
  ana.rooms().broadcast(kRoom, "wave", std::nullopt, true, [&](Result<Acked> r) {
    EXPECT_TRUE(r.ok());
    copies_at_ack = ana.got.size();
  });
  ASSERT_TRUE(poll_until([&] { return copies_at_ack != 99 && ben.got.size() == 3; })) << server.output();
  EXPECT_EQ(copies_at_ack, 1u);
  EXPECT_EQ(ana.got[0].connection, ana.connection_id());
  EXPECT_FALSE(ana.got[0].data.has_value());

  // A late joiner gets no replay; the room's log has no broadcast (seq unchanged).
  Member dan(server.ws_url(), "dan", 4);
  start_joined(dan);
  EXPECT_EQ(dan.rooms().replica(kRoom)->position()->seq, 0);
  ASSERT_TRUE(acked_broadcast(ben, "ping", "1", false).ok());
  ASSERT_TRUE(poll_until([&] { return dan.got.size() == 1; }));
  EXPECT_EQ(dan.got[0].event, "ping") << "the first broadcast Dan sees is the one sent after he joined";
}

TEST_F(broadcast_test, errors_come_back_with_their_codes) {
  Member ana(server.ws_url(), "ana", 1);
  start_joined(ana);
  // A room this client never joined: the core refuses it (no wire round trip).
  auto unjoined = ana.rooms().broadcast("workflow:other", "e", std::nullopt, false);
  ASSERT_FALSE(unjoined.ok());
  EXPECT_EQ(unjoined.error().code, "not_subscribed");
  // Data over 32 KiB: refused by the core with the code the server would give.
  auto too_big = acked_broadcast(ana, "e", "\"" + std::string(40000, 'x') + "\"", false);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, "too_big");
  // The server's not_subscribed, through a request sent raw (the core would hold it for a rejoin).
  std::optional<Result<protocol::ServerFrame>> raw;
  ana.client->client().request(protocol::BroadcastSend{"workflow:other", "e", std::nullopt, false},
                               [&](Result<protocol::ServerFrame> r) { raw = std::move(r); });
  ASSERT_TRUE(poll_until([&] { return raw.has_value(); }));
  ASSERT_FALSE(raw->ok());
  EXPECT_EQ(raw->error().code, "not_subscribed");
}

}  // namespace
}  // namespace tandem::integration
