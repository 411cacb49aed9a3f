// outbox_test.cpp — request ids, ack/error matching, ack timeouts, the offline queue and the
// resend after a reconnect.
#include "tandem/outbox.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "fakes.h"
#include "tandem/protocol/errors.h"

using namespace tandem;
using namespace std::chrono_literals;
namespace errc = tandem::protocol::errc;

namespace {

// A wire the test switches on and off; records what reached it.
struct Wire {
  bool up = false;
  std::vector<std::string> frames;
  SendStatus send(std::string_view frame) {
    if (!up) return SendStatus::NotOpen;
    frames.emplace_back(frame);
    return SendStatus::Sent;
  }
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& text : frames) {
      auto decoded = protocol::decode_client(text);
      out.push_back(decoded && decoded->id ? *decoded->id : "?");
    }
    return out;
  }
};

// Collects what each request's callback received.
struct Outcome {
  int calls = 0;
  std::optional<protocol::ServerFrame> frame;
  std::optional<Error> error;
};
RequestCallback record(Outcome& outcome) {
  return [&outcome](Result<protocol::ServerFrame> result) {
    ++outcome.calls;
    if (result) outcome.frame = result.value();
    else outcome.error = result.error();
  };
}

protocol::ServerFrame ack(const std::string& id) { return {id, protocol::Ack{}}; }
protocol::ServerFrame error_reply(const std::string& id, std::string code, std::string message) {
  return {id, protocol::ErrorReply{std::move(code), std::move(message), std::nullopt}};
}

class outbox_fixture : public ::testing::Test {
 protected:
  Wire wire;
  OutboxSettings settings;
  std::optional<Outbox> outbox;
  void SetUp() override { make(); }
  void make() {
    outbox.emplace([this](std::string_view frame) { return wire.send(frame); }, settings);
  }
  void connect(Millis now) {
    wire.up = true;
    outbox->on_open(now);
  }
  void disconnect() {
    wire.up = false;
    outbox->on_closed();
  }
  RequestStatus ping(Outcome& outcome, Millis now = 0ms) { return outbox->submit(protocol::Ping{}, record(outcome), now); }
};

}  // namespace

using outbox_test = outbox_fixture;

TEST_F(outbox_test, ids_count_up_from_one_and_are_never_reused) {
  connect(0ms);
  Outcome a, b, c, d;
  EXPECT_EQ(ping(a), RequestStatus::Sent);
  EXPECT_EQ(ping(b), RequestStatus::Sent);
  outbox->on_frame(ack("1"));
  outbox->on_frame(ack("2"));
  outbox->stop();
  EXPECT_EQ(ping(c), RequestStatus::Queued);  // stopped = offline
  connect(1s);
  EXPECT_EQ(ping(d), RequestStatus::Sent);
  EXPECT_EQ(wire.ids(), (std::vector<std::string>{"1", "2", "3", "4"}));
}

TEST_F(outbox_test, sent_frame_carries_the_id_and_the_message) {
  connect(0ms);
  Outcome a;
  ping(a);
  ASSERT_EQ(wire.frames.size(), 1u);
  EXPECT_EQ(wire.frames[0], R"({"type":"ping","id":"1"})");
}

TEST_F(outbox_test, requests_made_offline_wait_and_flush_in_order_on_open) {
  Outcome a, b, c;
  EXPECT_EQ(ping(a), RequestStatus::Queued);
  EXPECT_EQ(ping(b), RequestStatus::Queued);
  EXPECT_EQ(ping(c), RequestStatus::Queued);
  EXPECT_TRUE(wire.frames.empty());
  EXPECT_EQ(outbox->queued_count(), 3u);
  connect(5s);
  EXPECT_EQ(wire.ids(), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(outbox->queued_count(), 0u);
  EXPECT_EQ(outbox->pending_count(), 3u);
}

TEST_F(outbox_test, reconnect_resends_unacked_with_original_ids_then_flushes_the_queue) {
  connect(0ms);
  Outcome r1, r2, r3, r4, r5;
  ping(r1);
  ping(r2);
  ping(r3);
  outbox->on_frame(ack("2"));  // answered out of order: 1 and 3 stay unacked
  const std::vector<std::string> first_wire = wire.frames;
  disconnect();
  ping(r4);
  ping(r5);
  EXPECT_EQ(outbox->queued_count(), 4u);  // 1, 3 (off the wire now), 4, 5
  wire.frames.clear();
  connect(2s);
  EXPECT_EQ(wire.ids(), (std::vector<std::string>{"1", "3", "4", "5"}));
  // A resend is byte for byte the original frame (same id: the server deduplicates).
  EXPECT_EQ(wire.frames[0], first_wire[0]);
  EXPECT_EQ(wire.frames[1], first_wire[2]);
  EXPECT_EQ(r2.calls, 1);
  EXPECT_EQ(r1.calls + r3.calls + r4.calls + r5.calls, 0);
}

TEST_F(outbox_test, overflow_fails_that_request_at_once_and_changes_nothing_else) {
  settings.max_queued = 3;
  make();
  Outcome queued[3], overflow, later;
  for (auto& q : queued) EXPECT_EQ(ping(q), RequestStatus::Queued);
  EXPECT_EQ(ping(overflow), RequestStatus::QueueFull);
  ASSERT_EQ(overflow.calls, 1);  // at once, inside submit()
  ASSERT_TRUE(overflow.error.has_value());
  EXPECT_EQ(overflow.error->code, errc::queue_full);
  EXPECT_NE(overflow.error->message.find("offline queue full"), std::string::npos);
  EXPECT_NE(overflow.error->message.find("3"), std::string::npos);
  EXPECT_EQ(outbox->pending_count(), 3u);
  EXPECT_EQ(outbox->queued_count(), 3u);
  for (auto& q : queued) EXPECT_EQ(q.calls, 0);
  connect(1s);
  EXPECT_EQ(ping(later), RequestStatus::Sent);  // the refused request took no id
  EXPECT_EQ(wire.ids(), (std::vector<std::string>{"1", "2", "3", "4"}));
}

TEST_F(outbox_test, requests_unacked_when_the_connection_dropped_count_toward_the_bound) {
  settings.max_queued = 2;
  make();
  connect(0ms);
  Outcome a, b, c, d;
  ping(a);
  ping(b);
  ping(c);  // online: no bound on the wire, the server's acks bound it
  disconnect();
  EXPECT_EQ(ping(d), RequestStatus::QueueFull);
  EXPECT_EQ(outbox->pending_count(), 3u);
  EXPECT_EQ(a.calls + b.calls + c.calls, 0);
}

TEST_F(outbox_test, ack_completes_the_request_with_the_reply_frame) {
  connect(0ms);
  Outcome a;
  ping(a);
  EXPECT_EQ(outbox->on_frame(ack("1")), FrameRoute::Completed);
  ASSERT_EQ(a.calls, 1);
  ASSERT_TRUE(a.frame.has_value());
  EXPECT_TRUE(std::holds_alternative<protocol::Ack>(a.frame->message));
  EXPECT_EQ(outbox->pending_count(), 0u);
}

TEST_F(outbox_test, data_reply_with_the_same_id_completes_the_request) {
  connect(0ms);
  Outcome a;
  ping(a);
  // A pong stands for any data reply (subscribed, lock_granted): same id, not an ack.
  EXPECT_EQ(outbox->on_frame({"1", protocol::Pong{123}}), FrameRoute::Completed);
  ASSERT_TRUE(a.frame.has_value());
  EXPECT_EQ(std::get<protocol::Pong>(a.frame->message).ts, 123);
}

TEST_F(outbox_test, error_replies_are_routed_by_id) {
  connect(0ms);
  Outcome a, b, c;
  ping(a);
  ping(b);
  ping(c);
  EXPECT_EQ(outbox->on_frame(error_reply("2", "forbidden", "room chat:vip is not in your token")),
            FrameRoute::Completed);
  EXPECT_EQ(a.calls, 0);
  EXPECT_EQ(c.calls, 0);
  ASSERT_EQ(b.calls, 1);
  ASSERT_TRUE(b.error.has_value());
  EXPECT_EQ(b.error->code, "forbidden");
  EXPECT_EQ(b.error->message, "room chat:vip is not in your token");
  EXPECT_EQ(outbox->pending_count(), 2u);
}

TEST_F(outbox_test, duplicate_acks_are_ignored) {
  connect(0ms);
  Outcome a;
  ping(a);
  EXPECT_EQ(outbox->on_frame(ack("1")), FrameRoute::Completed);
  EXPECT_EQ(outbox->on_frame(ack("1")), FrameRoute::Duplicate);
  EXPECT_EQ(outbox->on_frame(error_reply("1", "internal", "late")), FrameRoute::Duplicate);
  EXPECT_EQ(a.calls, 1);
  EXPECT_FALSE(a.error.has_value());
}

TEST_F(outbox_test, frames_that_are_not_answers_to_our_requests_go_to_the_app) {
  connect(0ms);
  Outcome a;
  ping(a);
  EXPECT_EQ(outbox->on_frame({std::nullopt, protocol::Pong{1}}), FrameRoute::NotMine);  // no id
  EXPECT_EQ(outbox->on_frame(ack("7")), FrameRoute::NotMine);                           // never issued
  EXPECT_EQ(outbox->on_frame(ack("01")), FrameRoute::NotMine);                          // not our format
  EXPECT_EQ(outbox->on_frame(ack("x-1")), FrameRoute::NotMine);
  EXPECT_EQ(a.calls, 0);
}

TEST_F(outbox_test, ack_timeout_counts_only_while_on_the_wire_of_an_open_connection) {
  Outcome a;
  ping(a, 0ms);  // offline: not on the wire
  outbox->tick(60s);
  EXPECT_EQ(a.calls, 0);
  connect(60s);
  outbox->tick(69'999ms);
  EXPECT_EQ(a.calls, 0);
  disconnect();  // 9.999 s on the wire, then offline for a long time
  outbox->tick(200s);
  EXPECT_EQ(a.calls, 0);
  connect(200s);  // resent: the ack clock starts afresh
  outbox->tick(209'999ms);
  EXPECT_EQ(a.calls, 0);
  outbox->tick(210s);
  ASSERT_EQ(a.calls, 1);
  ASSERT_TRUE(a.error.has_value());
  EXPECT_EQ(a.error->code, errc::timeout);
  EXPECT_NE(a.error->message.find("request 1"), std::string::npos);
  EXPECT_EQ(outbox->pending_count(), 0u);
  // The late ack is a duplicate now.
  EXPECT_EQ(outbox->on_frame(ack("1")), FrameRoute::Duplicate);
  EXPECT_EQ(a.calls, 1);
}

TEST_F(outbox_test, timeouts_fail_only_the_expired_requests) {
  connect(0ms);
  Outcome early, late;
  ping(early, 0ms);
  ping(late, 4s);
  outbox->tick(10s);
  EXPECT_EQ(early.calls, 1);
  EXPECT_EQ(late.calls, 0);
  outbox->tick(14s);
  EXPECT_EQ(late.calls, 1);
}

TEST_F(outbox_test, a_failed_send_keeps_later_requests_behind_it) {
  connect(0ms);
  wire.up = false;  // the socket died; on_closed has not arrived yet
  Outcome a, b;
  EXPECT_EQ(ping(a), RequestStatus::Queued);
  EXPECT_EQ(ping(b), RequestStatus::Queued);
  outbox->on_closed();
  connect(1s);
  EXPECT_EQ(wire.ids(), (std::vector<std::string>{"1", "2"}));
}

TEST_F(outbox_test, stop_fails_every_pending_request_with_closed) {
  connect(0ms);
  Outcome on_wire, offline;
  ping(on_wire);
  disconnect();
  ping(offline);
  outbox->stop();
  for (Outcome* o : {&on_wire, &offline}) {
    ASSERT_EQ(o->calls, 1);
    ASSERT_TRUE(o->error.has_value());
    EXPECT_EQ(o->error->code, errc::closed);
  }
  EXPECT_EQ(outbox->pending_count(), 0u);
}

TEST_F(outbox_test, a_callback_may_submit_a_new_request) {
  connect(0ms);
  Outcome retry;
  int first_calls = 0;
  outbox->submit(
      protocol::Ping{},
      [&](Result<protocol::ServerFrame> result) {
        ++first_calls;
        if (!result) outbox->submit(protocol::Ping{}, record(retry), 10s);
      },
      0ms);
  outbox->tick(10s);  // times out; the callback submits a retry while tick() runs
  EXPECT_EQ(first_calls, 1);
  EXPECT_EQ(wire.ids(), (std::vector<std::string>{"1", "2"}));
  outbox->on_frame(ack("2"));
  EXPECT_EQ(retry.calls, 1);
}
