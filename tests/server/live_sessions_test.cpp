// live_sessions_test.cpp — the store forgets sessions unused for session_days while the server
// runs; a client connected all that time without storing a request (a watcher) keeps its session:
// the hub stores live sessions as used about hourly, so the watcher's first edit after days is
// stored like any other (before, its session row was gone and the edit failed every commit until
// the hub gave up on the store). Found in review; against the hub with a real SQLite file.
#include <gtest/gtest.h>

#include "stored_hub_fixture.h"

namespace tandem::server {
namespace {

constexpr std::int64_t kHour = 60LL * 60 * 1000;

class live_sessions_test : public testing::StoredHubFixture {};

TEST_F(live_sessions_test, a_watcher_connected_for_longer_than_session_days_can_still_edit) {
  ConnectionId ana = connect("ana");
  hub_->receive(ana, R"({"type":"subscribe","id":"s","room":"workflow:w1"})", at(1));
  hub_->commit();
  testing::drain_frames(*hub_, ana);

  // Eight days of a running server: the loop ticks, Ben's daily edits' commits run the store's
  // expiry of unused sessions.
  ConnectionId ben = connect("ben");
  hub_->receive(ben, R"({"type":"subscribe","id":"s","room":"workflow:w1"})", at(2));
  for (std::int64_t hour = 1; hour <= 8 * 24; ++hour) {
    store_now_ = kWall + hour * kHour;
    const Now now{Millis(hour * kHour), kWall + hour * kHour};
    hub_->tick(now);
    if (hour % 24 == 0) {  // Ben edits once a day: those commits run the store's expiry
      const std::string id = std::to_string(hour / 24);
      hub_->receive(ben, R"({"type":"node_create","id":")" + id + R"(","room":"workflow:w1","node":{"id":"b)" + id +
                             R"(","type":"code"}})", now);
    }
    hub_->commit();
  }
  testing::drain_frames(*hub_, ben);

  // Ana's first edit in eight days is stored and acked; the store keeps working.
  const Now later{Millis(8 * 24 * kHour + 1), kWall + 8 * 24 * kHour + 1};
  hub_->receive(ana, R"({"type":"node_create","id":"1","room":"workflow:w1","node":{"id":"n1","type":"code"}})", later);
  hub_->commit();
  EXPECT_FALSE(hub_->store_failed());
  bool acked = false;
  for (const auto& frame : testing::drain_frames(*hub_, ana))
    acked |= std::holds_alternative<protocol::Ack>(frame.message) && frame.id == std::optional<std::string>("1");
  EXPECT_TRUE(acked);
  const auto room = store_->load_room("workflow:w1");
  ASSERT_TRUE(room.ok());
  EXPECT_EQ(room->nodes.size(), 9u) << "Ben's eight nodes and Ana's";
}

}  // namespace
}  // namespace tandem::server
