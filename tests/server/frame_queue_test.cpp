// frame_queue_test.cpp — the outbound queue: FIFO, byte accounting, batches within a budget,
// and latest-state replacement (a keyed message drops the older queued one with its key and
// lands at the end).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frame_queue.h"

namespace tandem::server {
namespace {

Bytes bytes(std::string text) { return std::make_shared<const std::string>(std::move(text)); }
StateKey key(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

std::vector<std::string> drain(FrameQueue& queue) {
  std::vector<std::string> out;
  while (!queue.empty()) out.push_back(*queue.take_front());
  return out;
}

TEST(frame_queue_test, keeps_order_and_counts_bytes) {
  FrameQueue queue;
  queue.push(bytes("aa"));
  queue.push(bytes("bbb"));
  EXPECT_EQ(queue.count(), 2u);
  EXPECT_EQ(queue.bytes(), 5u);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"aa", "bbb"}));
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST(frame_queue_test, a_keyed_message_replaces_the_queued_one_with_its_key_and_goes_last) {
  FrameQueue queue;
  queue.push(bytes("ana@1"), key("ana"));
  queue.push(bytes("leave-ben"));
  queue.push(bytes("cleo@1"), key("cleo"));
  queue.push(bytes("ana@2"), key("ana"));
  queue.push(bytes("ana@3"), key("ana"));
  EXPECT_EQ(queue.count(), 3u);
  EXPECT_EQ(queue.bytes(), std::string("leave-bencleo@1ana@3").size());
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"leave-ben", "cleo@1", "ana@3"}));
}

TEST(frame_queue_test, a_key_taken_already_no_longer_replaces_anything) {
  FrameQueue queue;
  queue.push(bytes("ana@1"), key("ana"));
  queue.push(bytes("x"));
  EXPECT_EQ(*queue.take_front(), "ana@1");  // on the wire now: the next one must go out too
  queue.push(bytes("ana@2"), key("ana"));
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"x", "ana@2"}));
}

TEST(frame_queue_test, replacing_the_front_message_exposes_the_next_one) {
  FrameQueue queue;
  queue.push(bytes("ana@1"), key("ana"));
  queue.push(bytes("ana@2"), key("ana"));
  EXPECT_EQ(queue.count(), 1u);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"ana@2"}));
}

TEST(frame_queue_test, batches_fill_the_budget_but_always_take_one) {
  FrameQueue queue;
  queue.push(bytes(std::string(10, 'a')));
  queue.push(bytes(std::string(10, 'b')), key("b"));
  queue.push(bytes(std::string(10, 'c')));
  std::vector<Bytes> batch;
  queue.take_batch(2 + 10 + 1 + 10, batch);  // [a,b] exactly
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(*batch[1], std::string(10, 'b'));
  queue.push(bytes("b2"), key("b"));  // "b" left the queue with the batch: nothing to replace
  queue.take_batch(3, batch);          // over budget: one message anyway
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(*batch[0], std::string(10, 'c'));
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"b2"}));
}

TEST(frame_queue_test, a_long_keyed_stream_stays_bounded_and_in_order) {
  // A reader that never catches up: per-user updates replace each other, other messages
  // queue, and compaction keeps the index right.
  FrameQueue queue;
  std::vector<std::string> expected_events;
  for (int round = 0; round < 2000; ++round) {
    for (const char* user : {"ana", "ben", "cleo"}) queue.push(bytes(std::string(user) + "@" + std::to_string(round)), key(user));
    if (round % 10 == 0) {
      queue.push(bytes("event" + std::to_string(round)));
      expected_events.push_back("event" + std::to_string(round));
    }
    if (round % 3 == 0 && !queue.empty()) {
      const std::string taken = *queue.take_front();
      if (taken.starts_with("event")) expected_events.erase(expected_events.begin());
    }
  }
  EXPECT_LE(queue.count(), 3u + expected_events.size());
  std::vector<std::string> rest = drain(queue);
  std::vector<std::string> events;
  for (const std::string& m : rest)
    if (m.starts_with("event")) events.push_back(m);
  EXPECT_EQ(events, expected_events);
  // The newest state of each user is last among that user's messages and is from round 1999.
  for (const char* user : {"ana", "ben", "cleo"}) {
    std::string last;
    for (const std::string& m : rest)
      if (m.starts_with(user)) last = m;
    EXPECT_EQ(last, std::string(user) + "@1999");
  }
}

TEST(frame_queue_test, replacements_behind_a_reader_that_never_drains_do_not_grow_memory) {
  FrameQueue queue;
  queue.push(bytes("stuck"));  // the reader never takes even this one
  for (int round = 0; round < 20000; ++round)
    for (const char* user : {"ana", "ben", "cleo"}) queue.push(bytes(std::string(user) + "@" + std::to_string(round)), key(user));
  EXPECT_EQ(queue.count(), 4u);
  EXPECT_LE(queue.slots(), 2 * queue.count() + 64 + 1);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"stuck", "ana@19999", "ben@19999", "cleo@19999"}));
}

TEST(frame_queue_test, clear_forgets_messages_and_keys) {
  FrameQueue queue;
  queue.push(bytes("ana@1"), key("ana"));
  queue.clear();
  EXPECT_TRUE(queue.empty());
  queue.push(bytes("ana@2"), key("ana"));
  EXPECT_EQ(queue.count(), 1u);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"ana@2"}));
}

}  // namespace
}  // namespace tandem::server
