// chat_view_test.cpp — the chat panel's logic: message and typing lines, the typing throttle
// (start, ~1/s refresh, stop on empty input and when idle), pending lines from send to echo
// (ack, failure, echo matching, grace), and the feed of new messages.
#include "chat_view.h"

#include <gtest/gtest.h>

namespace canvas {
namespace {

using tandem::Millis;
using tandem::protocol::ChatEntry;

ChatEntry message(std::string user, std::string name, std::string text, std::int64_t seq) {
  return ChatEntry{std::move(user), std::move(name), "#3366ff", std::move(text), seq, 1000 + seq};
}

TEST(chat_view_test, chat_line_names_the_sender_or_falls_back_to_the_id) {
  EXPECT_EQ(chat_line(message("ben", "Ben", "hi", 1)), "Ben: hi");
  EXPECT_EQ(chat_line(message("ben", "", "hi", 1)), "ben: hi");
}

TEST(chat_view_test, typing_line_leaves_us_out_and_counts_the_others) {
  EXPECT_EQ(typing_line({}, "ana"), "");
  EXPECT_EQ(typing_line({{"ana", "Ana"}}, "ana"), "");
  EXPECT_EQ(typing_line({{"ana", "Ana"}, {"ben", "Ben"}}, "ana"), "Ben is typing...");
  EXPECT_EQ(typing_line({{"ben", "Ben"}, {"cy", "Cy"}}, "ana"), "Ben and Cy are typing...");
  EXPECT_EQ(typing_line({{"ben", "Ben"}, {"cy", "Cy"}, {"dee", ""}}, "ana"), "3 people are typing...");
  EXPECT_EQ(typing_line({{"dee", ""}}, "ana"), "dee is typing...");
}

TEST(typing_throttle_test, starts_at_once_then_refreshes_at_most_once_a_second) {
  TypingThrottle typing;
  EXPECT_EQ(typing.input_changed(Millis{0}, true), std::optional(true));
  EXPECT_EQ(typing.input_changed(Millis{300}, true), std::nullopt);
  EXPECT_EQ(typing.input_changed(Millis{999}, true), std::nullopt);
  EXPECT_EQ(typing.input_changed(Millis{1000}, true), std::optional(true));
  EXPECT_EQ(typing.input_changed(Millis{1500}, true), std::nullopt);
  EXPECT_TRUE(typing.active());
}

TEST(typing_throttle_test, emptied_input_stops_at_once_and_only_once) {
  TypingThrottle typing;
  EXPECT_EQ(typing.input_changed(Millis{0}, false), std::nullopt);  // never started
  EXPECT_EQ(typing.input_changed(Millis{10}, true), std::optional(true));
  EXPECT_EQ(typing.input_changed(Millis{20}, false), std::optional(false));
  EXPECT_EQ(typing.input_changed(Millis{30}, false), std::nullopt);
  EXPECT_EQ(typing.input_changed(Millis{40}, true), std::optional(true));  // starts again at once
}

TEST(typing_throttle_test, idle_input_stops_the_indicator_before_the_server_would) {
  TypingThrottle typing;
  ASSERT_EQ(typing.input_changed(Millis{0}, true), std::optional(true));
  ASSERT_EQ(typing.input_changed(Millis{2000}, true), std::optional(true));
  EXPECT_EQ(typing.tick(Millis{4999}), std::nullopt);  // 2999 ms since the last keystroke
  EXPECT_EQ(typing.tick(Millis{5000}), std::optional(false));
  EXPECT_EQ(typing.tick(Millis{9000}), std::nullopt);
  EXPECT_FALSE(typing.active());
}

TEST(typing_throttle_test, a_sent_message_or_a_failed_send_lets_the_next_keystroke_start_again) {
  TypingThrottle typing;
  ASSERT_EQ(typing.input_changed(Millis{0}, true), std::optional(true));
  typing.message_sent();
  EXPECT_EQ(typing.tick(Millis{10'000}), std::nullopt);  // nothing to stop: the server did
  EXPECT_EQ(typing.input_changed(Millis{10'001}, true), std::optional(true));
  typing.send_failed();
  EXPECT_EQ(typing.input_changed(Millis{10'002}, true), std::optional(true));
}

TEST(pending_chat_test, a_line_stays_until_acked_and_echoed) {
  PendingChat pending;
  const auto id = pending.add("hello", 7);
  std::deque<ChatEntry> chat{message("ana", "Ana", "hello", 7)};  // an older one, same text
  pending.reconcile(chat, "ana", Millis{0});
  ASSERT_EQ(pending.lines().size(), 1u);
  EXPECT_EQ(pending.lines()[0].state, PendingState::Sending);

  pending.acked(id, Millis{100});
  pending.reconcile(chat, "ana", Millis{200});
  ASSERT_EQ(pending.lines().size(), 1u);
  EXPECT_EQ(pending.lines()[0].state, PendingState::Acked);

  chat.push_back(message("ben", "Ben", "hello", 8));  // someone else's
  pending.reconcile(chat, "ana", Millis{300});
  EXPECT_EQ(pending.lines().size(), 1u);
  chat.push_back(message("ana", "Ana", "hello", 9));
  pending.reconcile(chat, "ana", Millis{400});
  EXPECT_TRUE(pending.lines().empty());
}

TEST(pending_chat_test, an_echo_before_the_ack_also_ends_the_line) {
  PendingChat pending;
  const auto id = pending.add("hi", 0);
  pending.reconcile({message("ana", "Ana", "hi", 1)}, "ana", Millis{0});
  EXPECT_TRUE(pending.lines().empty());
  pending.acked(id, Millis{1});  // late ack: nothing left to change
  EXPECT_TRUE(pending.lines().empty());
}

TEST(pending_chat_test, the_same_text_twice_needs_two_echoes) {
  PendingChat pending;
  pending.add("ok", 3);
  pending.add("ok", 3);
  std::deque<ChatEntry> chat{message("ana", "Ana", "ok", 4)};
  pending.reconcile(chat, "ana", Millis{0});
  ASSERT_EQ(pending.lines().size(), 1u);
  pending.reconcile(chat, "ana", Millis{1});  // the first echo is not matched again
  ASSERT_EQ(pending.lines().size(), 1u);
  chat.push_back(message("ana", "Ana", "ok", 5));
  pending.reconcile(chat, "ana", Millis{2});
  EXPECT_TRUE(pending.lines().empty());
}

TEST(pending_chat_test, an_acked_line_without_echo_leaves_after_the_grace) {
  PendingChat pending;
  const auto id = pending.add("gone", 0);
  pending.acked(id, Millis{1000});
  pending.reconcile({}, "ana", Millis{1000} + PendingChat::kEchoGrace - Millis{1});
  EXPECT_EQ(pending.lines().size(), 1u);
  pending.reconcile({}, "ana", Millis{1000} + PendingChat::kEchoGrace);
  EXPECT_TRUE(pending.lines().empty());
}

TEST(pending_chat_test, a_failed_line_stays_marked_until_dismissed) {
  PendingChat pending;
  const auto kept = pending.add("still sending", 0);
  const auto id = pending.add("refused", 0);
  pending.failed(id, "too_big");
  pending.reconcile({}, "ana", Millis{60'000});
  ASSERT_EQ(pending.lines().size(), 2u);
  ASSERT_NE(pending.find(id), nullptr);
  EXPECT_EQ(pending.find(id)->state, PendingState::Failed);
  EXPECT_EQ(pending.find(id)->error, "too_big");
  EXPECT_STREQ(to_string(pending.find(id)->state), "failed");
  pending.dismiss(kept);  // only failed lines can be dismissed
  pending.dismiss(id);
  ASSERT_EQ(pending.lines().size(), 1u);
  EXPECT_EQ(pending.lines()[0].local_id, kept);
}

TEST(chat_feed_test, reports_each_message_once_and_again_after_a_reset) {
  ChatFeed feed;
  std::deque<ChatEntry> chat{message("ben", "Ben", "morning", 4), message("ana", "Ana", "hi", 5)};
  auto fresh = feed.take_new(chat);
  ASSERT_EQ(fresh.size(), 2u);
  EXPECT_EQ(fresh[0].text, "morning");
  EXPECT_TRUE(feed.take_new(chat).empty());
  chat.push_back(message("ben", "Ben", "how are you", 6));
  fresh = feed.take_new(chat);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].seq, 6);
  // The room started over (a fresh history with lower seqs): shown again.
  fresh = feed.take_new({message("cy", "Cy", "new room", 1)});
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].text, "new room");
}

}  // namespace
}  // namespace canvas
