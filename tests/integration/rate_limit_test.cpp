// rate_limit_test.cpp — the per-connection rate limit (PROTOCOL.md §17) against a real
// tandem-server with its default settings (rate_per_sec 100, rate_burst 200,
// max_rate_violations 100): a client floods 10,000 chats as fast as it can. The server acks
// no more than the bucket allows for the time the flood lasted, answers the rest rate_limited,
// and after 100 refusals closes the connection (4429); what it acked is stored and what it
// refused is not. A well-behaved client in the same room is not disturbed.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "server_test_support.h"
#include "tandem/protocol/errors.h"

namespace tandem::integration {
namespace {

constexpr const char* kRoom = "chat:flood";
constexpr int kFlood = 10000;

class rate_limit_test : public ServerTest {
 protected:
  void connect_and_join(TransportProbe& probe, const std::string& sub) {
    open_with_token(probe, mint_token({.sub = sub, .name = sub}));
    ASSERT_TRUE(wait_for_message<protocol::Connected>(probe).has_value()) << server.output();
    probe.send(protocol::encode_client(protocol::Subscribe{kRoom, std::nullopt}, "sub"));
    ASSERT_TRUE(wait_for_message<protocol::Subscribed>(probe, "sub").has_value()) << server.output();
  }
};

TEST_F(rate_limit_test, a_flood_of_chats_is_cut_at_the_advertised_rate_and_closed_4429) {
  TransportProbe flooder, bystander;
  connect_and_join(flooder, "flooder");
  connect_and_join(bystander, "bystander");

  const auto started = std::chrono::steady_clock::now();
  // 10,000 in about 2 s: 50 every 10 ms (pacing the load, not waiting for anything), until the
  // server closes the connection.
  for (int i = 1; i <= kFlood && !flooder.log.closed; ++i) {
    flooder.send(protocol::encode_client(protocol::ChatSend{kRoom, "flood " + std::to_string(i)}, "f" + std::to_string(i)));
    if (i % 50 == 0) flooder.wait_for([&] { return flooder.log.closed.has_value(); }, std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(flooder.wait_closed(std::chrono::seconds(30))) << server.output();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::set<std::string> acked, limited;
  for (const auto& frame : decoded(flooder.log)) {
    if (std::holds_alternative<protocol::Ack>(frame.message) && frame.id) acked.insert(*frame.id);
    if (const auto* error = std::get_if<protocol::ErrorReply>(&frame.message)) {
      EXPECT_EQ(error->code, protocol::errc::rate_limited);
      if (frame.id) limited.insert(*frame.id);
    }
  }
  // The bucket: 200 at once, then 100 per second for as long as the flood lasted (and a little
  // for the last second's rounding).
  EXPECT_GE(acked.size(), 200u);
  EXPECT_LE(static_cast<double>(acked.size()), 200 + 100 * seconds + 5) << "in " << seconds << " s";
  EXPECT_GE(limited.size(), 1u);
  EXPECT_LE(limited.size(), 100u);  // the 101st refusal closes instead
  ASSERT_TRUE(flooder.log.closed.has_value());
  // The close code arrives although the client is still sending (the server lingers, no reset).
  EXPECT_EQ(flooder.log.closed->code, 4429) << flooder.log.closed->reason;

  // What was acked reached the room, what was refused did not.
  std::set<std::string> seen;
  ASSERT_TRUE(bystander.wait_for([&] {
    seen.clear();
    for (const auto& message : received_of<protocol::ChatMessage>(bystander.log)) seen.insert(message.entry().text);
    return seen.size() >= acked.size();
  })) << seen.size() << " of " << acked.size();
  EXPECT_EQ(seen.size(), acked.size());
  EXPECT_FALSE(bystander.log.closed.has_value());

  // The server is fine, and the bystander still talks.
  bystander.send(protocol::encode_client(protocol::ChatSend{kRoom, "still here"}, "b1"));
  EXPECT_TRUE(wait_for_message<protocol::Ack>(bystander, "b1").has_value()) << server.output();
}

}  // namespace
}  // namespace tandem::integration
