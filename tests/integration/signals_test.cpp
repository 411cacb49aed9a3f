// signals_test.cpp — the signals family against a real tandem-server (PROTOCOL.md §12): a
// signal reaches exactly the connection it names, with the sender's connection and user, and
// nobody else in the room; a target outside the room is not_found, a sender outside it
// not_subscribed, and neither delivers anything.
#include <gtest/gtest.h>

#include "server_test_support.h"

namespace tandem::integration {
namespace {

constexpr const char* kRoom = "call:standup";

class signals_test : public ServerTest {
 protected:
  static std::string token(const std::string& sub) {
    TokenSpec spec;
    spec.sub = sub;
    spec.name = sub;
    auto claims = claims_for(spec);
    claims.rooms = {"call:*"};
    return server::jwt::mint(claims, kTestSecret);
  }
  // Connected; subscribed to `room` when given. Returns the connection id.
  std::string connect(TransportProbe& probe, const std::string& sub, const char* room = kRoom) {
    open_with_token(probe, token(sub));
    auto connected = wait_for_message<protocol::Connected>(probe);
    EXPECT_TRUE(connected.has_value());
    if (room) {
      probe.send(std::string(R"({"type":"subscribe","id":"s","room":")") + room + R"("})");
      EXPECT_TRUE(wait_for_message<protocol::Subscribed>(probe, "s").has_value());
    }
    return connected ? connected->first.connection_id : "";
  }
  static std::string signal(const std::string& id, const std::string& to, const std::string& room = kRoom) {
    return R"({"type":"signal","id":")" + id + R"(","room":")" + room + R"(","to":")" + to +
           R"(","data":{"kind":"offer","sdp":"v=0 o=- 1 1 IN IP4 127.0.0.1"}})";
  }
  static std::size_t signals_in(const TransportProbe& probe) {
    std::size_t n = 0;
    for (const auto& frame : decoded(probe.log)) n += std::holds_alternative<protocol::SignalMessage>(frame.message);
    return n;
  }
};

TEST_F(signals_test, a_signal_reaches_only_its_target_with_the_senders_ids) {
  TransportProbe ana, ben, cleo;
  const std::string ana_id = connect(ana, "ana");
  const std::string ben_id = connect(ben, "ben");
  connect(cleo, "cleo");

  ana.send(signal("o1", ben_id));
  ASSERT_TRUE(wait_for_message<protocol::Ack>(ana, "o1").has_value());
  auto offer = wait_for_message<protocol::SignalMessage>(ben);
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->first.room, kRoom);
  EXPECT_EQ(offer->first.from, ana_id);
  EXPECT_EQ(offer->first.user, "ana");
  EXPECT_EQ(offer->first.data, R"({"kind":"offer","sdp":"v=0 o=- 1 1 IN IP4 127.0.0.1"})");

  // Ben answers to `from`; the answer reaches Ana. Cleo, in the room all along, got nothing:
  // her ping's pong comes after anything queued for her before it.
  ben.send(signal("a1", offer->first.from));
  ASSERT_TRUE(wait_for_message<protocol::Ack>(ben, "a1").has_value());
  ASSERT_TRUE(wait_for_message<protocol::SignalMessage>(ana).has_value());
  cleo.send(R"({"type":"ping","id":"p"})");
  ASSERT_TRUE(wait_for_message<protocol::Pong>(cleo, "p").has_value());
  EXPECT_EQ(signals_in(cleo), 0u);
}

TEST_F(signals_test, a_target_outside_the_room_is_not_found_and_gets_nothing) {
  TransportProbe ana, outsider;
  connect(ana, "ana");
  const std::string outsider_id = connect(outsider, "dan", "call:other");

  ana.send(signal("x1", outsider_id));
  auto error = wait_for_message<protocol::ErrorReply>(ana, "x1");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->first.code, "not_found");
  ana.send(signal("x2", "c999999"));  // no such connection
  ASSERT_TRUE(wait_for_message<protocol::ErrorReply>(ana, "x2").has_value());
  ana.send(signal("x3", "c0" + outsider_id.substr(1)));  // a leading zero names nobody
  ASSERT_TRUE(wait_for_message<protocol::ErrorReply>(ana, "x3").has_value());

  outsider.send(R"({"type":"ping","id":"p"})");
  ASSERT_TRUE(wait_for_message<protocol::Pong>(outsider, "p").has_value());
  EXPECT_EQ(signals_in(outsider), 0u);
}

TEST_F(signals_test, a_sender_outside_the_room_is_not_subscribed) {
  TransportProbe ana, ben;
  connect(ana, "ana", nullptr);
  const std::string ben_id = connect(ben, "ben");
  ana.send(signal("y1", ben_id));
  auto error = wait_for_message<protocol::ErrorReply>(ana, "y1");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->first.code, "not_subscribed");
  ben.send(R"({"type":"ping","id":"p"})");
  ASSERT_TRUE(wait_for_message<protocol::Pong>(ben, "p").has_value());
  EXPECT_EQ(signals_in(ben), 0u);
}

}  // namespace
}  // namespace tandem::integration
