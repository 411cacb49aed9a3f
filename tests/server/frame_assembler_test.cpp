// tests/server/frame_assembler_test.cpp — joining message pieces within max/hard bounds.
#include "frame_assembler.h"

#include <gtest/gtest.h>

namespace tandem::server {
namespace {

using Status = FrameAssembler::Status;

TEST(frame_assembler_test, single_piece_message_is_passed_through_without_copy) {
  FrameAssembler assembler(100, 1000);
  const std::string piece = R"({"type":"ping"})";
  auto out = assembler.feed(piece, true, true, false);
  EXPECT_EQ(out.status, Status::Complete);
  EXPECT_EQ(out.message, piece);
  EXPECT_EQ(out.message.data(), piece.data());
}

TEST(frame_assembler_test, pieces_are_joined_until_the_last) {
  FrameAssembler assembler(100, 1000);
  EXPECT_EQ(assembler.feed(R"({"ty)", true, false, false).status, Status::Partial);
  EXPECT_EQ(assembler.feed(R"(pe":"pi)", false, false, false).status, Status::Partial);
  auto out = assembler.feed(R"(ng"})", false, true, false);
  EXPECT_EQ(out.status, Status::Complete);
  EXPECT_EQ(out.message, R"({"type":"ping"})");
  EXPECT_EQ(out.bytes, 15u);
}

TEST(frame_assembler_test, message_of_exactly_max_bytes_is_accepted) {
  FrameAssembler assembler(10, 1000);
  EXPECT_EQ(assembler.feed("12345", true, false, false).status, Status::Partial);
  EXPECT_EQ(assembler.feed("67890", false, true, false).status, Status::Complete);
}

TEST(frame_assembler_test, oversize_message_is_dropped_and_reported_at_its_end) {
  FrameAssembler assembler(10, 1000);
  EXPECT_EQ(assembler.feed("123456", true, false, false).status, Status::Partial);
  EXPECT_EQ(assembler.feed("789012", false, false, false).status, Status::Partial);  // over: now discarding
  auto out = assembler.feed("345", false, true, false);
  EXPECT_EQ(out.status, Status::TooBig);
  EXPECT_EQ(out.bytes, 15u);
  EXPECT_TRUE(out.message.empty());
  // The next message starts clean.
  auto next = assembler.feed("ok", true, true, false);
  EXPECT_EQ(next.status, Status::Complete);
  EXPECT_EQ(next.message, "ok");
}

TEST(frame_assembler_test, single_piece_over_max_is_too_big) {
  FrameAssembler assembler(4, 1000);
  EXPECT_EQ(assembler.feed("12345", true, true, false).status, Status::TooBig);
}

TEST(frame_assembler_test, crossing_the_hard_limit_is_reported_once_at_once) {
  FrameAssembler assembler(10, 20);
  EXPECT_EQ(assembler.feed(std::string(15, 'x'), true, false, false).status, Status::Partial);
  auto crossed = assembler.feed(std::string(15, 'x'), false, false, false);
  EXPECT_EQ(crossed.status, Status::OverHardLimit);
  EXPECT_EQ(crossed.bytes, 30u);
  EXPECT_EQ(assembler.feed(std::string(15, 'x'), false, false, false).status, Status::Partial);
  EXPECT_EQ(assembler.feed("x", false, true, false).status, Status::Partial);  // the edge is closing anyway
}

TEST(frame_assembler_test, a_tandem_connection_takes_both_kinds_and_says_which) {
  FrameAssembler assembler(100, 1000);
  EXPECT_EQ(assembler.feed("\x01\x02", true, false, true).status, Status::Partial);
  auto out = assembler.feed("\x03", false, true, true);
  ASSERT_EQ(out.status, Status::Complete);
  EXPECT_EQ(out.kind, MessageKind::Binary);
  EXPECT_EQ(out.message, "\x01\x02\x03");
  auto text = assembler.feed("{}", true, true, false);
  ASSERT_EQ(text.status, Status::Complete);
  EXPECT_EQ(text.kind, MessageKind::Text);
}

TEST(frame_assembler_test, a_binary_connection_joins_binary_pieces_and_drops_text) {
  FrameAssembler assembler(100, 1000, Accepts::Binary);
  EXPECT_EQ(assembler.feed(std::string_view("\x00\x01", 2), true, false, true).status, Status::Partial);
  auto out = assembler.feed(std::string_view("\x00", 1), false, true, true);
  ASSERT_EQ(out.status, Status::Complete);
  EXPECT_EQ(out.message, std::string_view("\x00\x01\x00", 3));
  auto single = assembler.feed(std::string_view("\x07", 1), true, true, true);
  ASSERT_EQ(single.status, Status::Complete);
  EXPECT_EQ(single.message, std::string_view("\x07", 1));
  EXPECT_EQ(assembler.feed("{}", true, true, false).status, Status::WrongKind);
}

}  // namespace
}  // namespace tandem::server
