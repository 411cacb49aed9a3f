// session_book_test.cpp — sessions: issue, resume within the window by the same user only,
// expiry, and a resume while the old connection is still open naming it for closing.
#include <gtest/gtest.h>

#include "fakes.h"
#include "session_book.h"

namespace tandem::server {
namespace {

using testing::CountingIds;

class session_book_test : public ::testing::Test {
 protected:
  SessionBook book_{Millis(1000), 4};
  CountingIds ids_;
};

TEST_F(session_book_test, a_connection_without_a_session_gets_a_new_one) {
  SessionClaim claim = book_.claim(std::nullopt, "ana", 1, ids_, Millis(0));
  EXPECT_EQ(claim.start, SessionStart::New);
  EXPECT_EQ(claim.session, "s-1");
  EXPECT_FALSE(claim.replaced);
  EXPECT_EQ(book_.size(), 1u);
}

TEST_F(session_book_test, a_dropped_session_resumes_within_the_window_for_the_same_user) {
  const std::string session = book_.claim(std::nullopt, "ana", 1, ids_, Millis(0)).session;
  book_.detach(session, 1, Millis(100));
  EXPECT_EQ(book_.detached(), 1u);
  SessionClaim again = book_.claim(session, "ana", 2, ids_, Millis(1099));
  EXPECT_EQ(again.start, SessionStart::Resumed);
  EXPECT_EQ(again.session, session);
  EXPECT_FALSE(again.replaced);  // the old connection is gone already
  EXPECT_EQ(book_.detached(), 0u);
  book_.expire(Millis(5000));  // attached again: the window no longer applies
  EXPECT_EQ(book_.size(), 1u);
}

TEST_F(session_book_test, another_user_cannot_resume_a_session) {
  const std::string session = book_.claim(std::nullopt, "ana", 1, ids_, Millis(0)).session;
  book_.detach(session, 1, Millis(0));
  SessionClaim ben = book_.claim(session, "ben", 2, ids_, Millis(10));
  EXPECT_EQ(ben.start, SessionStart::New);
  EXPECT_NE(ben.session, session);
  EXPECT_EQ(book_.claim(session, "ana", 3, ids_, Millis(20)).start, SessionStart::Resumed);  // still Ana's
}

TEST_F(session_book_test, a_session_past_its_window_is_forgotten) {
  const std::string session = book_.claim(std::nullopt, "ana", 1, ids_, Millis(0)).session;
  book_.detach(session, 1, Millis(0));
  EXPECT_EQ(book_.claim(session, "ana", 2, ids_, Millis(1000)).start, SessionStart::New);  // at the edge: gone
  book_.expire(Millis(1000));
  EXPECT_EQ(book_.size(), 1u);  // only the new session of connection 2
}

TEST_F(session_book_test, resuming_a_session_whose_connection_is_open_names_that_connection) {
  const std::string session = book_.claim(std::nullopt, "ana", 1, ids_, Millis(0)).session;
  SessionClaim moved = book_.claim(session, "ana", 2, ids_, Millis(10));
  EXPECT_EQ(moved.start, SessionStart::Resumed);
  ASSERT_TRUE(moved.replaced);
  EXPECT_EQ(*moved.replaced, 1u);
  book_.detach(session, 1, Millis(20));  // the replaced connection's close: the session stays with 2
  EXPECT_EQ(book_.detached(), 0u);
}

TEST_F(session_book_test, an_unknown_session_starts_a_new_one) {
  SessionClaim claim = book_.claim(std::string("s-forged"), "ana", 1, ids_, Millis(0));
  EXPECT_EQ(claim.start, SessionStart::New);
  EXPECT_NE(claim.session, "s-forged");
}

TEST_F(session_book_test, a_request_forgotten_as_applied_is_applied_again_and_the_window_holds) {
  const std::string session = book_.claim(std::nullopt, "ana", 1, ids_, Millis(0)).session;
  for (const char* id : {"r1", "r2", "r3"}) book_.remember_applied(session, id);
  book_.forget_applied(session, "r2");  // its change was dropped before it was stored
  EXPECT_TRUE(book_.was_applied(session, "r1"));
  EXPECT_FALSE(book_.was_applied(session, "r2"));
  for (const char* id : {"r4", "r5", "r6"}) book_.remember_applied(session, id);  // window: 4
  EXPECT_FALSE(book_.was_applied(session, "r1")) << "r2's place in the window went with it";
  EXPECT_TRUE(book_.was_applied(session, "r3"));
  book_.forget_applied("unknown", "r3");  // nothing to forget
}

TEST_F(session_book_test, a_known_session_resumed_takes_what_the_store_says_it_applied_elsewhere) {
  const std::string session = book_.claim(std::nullopt, "ana", 1, ids_, Millis(0)).session;
  book_.remember_applied(session, "here");
  book_.detach(session, 1, Millis(10));
  const store::SessionRecord stored{session, "ana", {"elsewhere"}};  // applied on another instance
  EXPECT_EQ(book_.claim(session, "ana", 2, ids_, Millis(20), &stored).start, SessionStart::Resumed);
  EXPECT_TRUE(book_.was_applied(session, "here"));
  EXPECT_TRUE(book_.was_applied(session, "elsewhere"));
  const store::SessionRecord later{session, "ana", {"on-a-third"}};
  book_.adopt(session, "ana", 3, Millis(30), &later);
  EXPECT_TRUE(book_.was_applied(session, "on-a-third"));
}

}  // namespace
}  // namespace tandem::server
