// chat_test.cpp — the chat family against a real tandem-server with its SQLite store
// (PROTOCOL.md §10): a message reaches every member with its seq and is acked; a new member gets
// the last 256 messages in order (also after a kill -9 and restart); typing clears by itself
// after typing_timeout_ms, and on chat and on disconnect; clear needs the "chat:clear"
// permission; a resent chat id is acked duplicate:true and stored once.
#include <gtest/gtest.h>

#include <chrono>
#include <variant>

#include "server_test_support.h"

namespace tandem::integration {
namespace {

constexpr const char* kRoom = "chat:lobby";
constexpr int kTypingTimeoutMs = 400;

template <class M>
std::vector<M> all_of(const TransportProbe& probe) {
  std::vector<M> out;
  for (const auto& frame : decoded(probe.log))
    if (const M* m = std::get_if<M>(&frame.message)) out.push_back(*m);
  return out;
}

class chat_test : public ServerTest {
 protected:
  // 300 chats in one go (the history test): a burst above the default rate limit's 200.
  chat_test() : ServerTest({"--typing-timeout-ms", std::to_string(kTypingTimeoutMs), "--rate-burst", "1000"}) {}

  static std::string token(const std::string& sub, std::vector<std::string> perms = {}) {
    TokenSpec spec;
    spec.sub = sub;
    spec.name = "Name of " + sub;
    auto claims = claims_for(spec);
    claims.perms = std::move(perms);
    return server::jwt::mint(claims, kTestSecret);
  }
  // Connected (the `connected` answer) — with `session` to continue one.
  protocol::Connected connect(TransportProbe& probe, const std::string& token_text,
                              const std::string& session = "") {
    probe.open(server.ws_url() + "?token=" + token_text + (session.empty() ? "" : "&session=" + session));
    auto connected = wait_for_message<protocol::Connected>(probe);
    EXPECT_TRUE(connected.has_value()) << server.output();
    return connected ? connected->first : protocol::Connected{};
  }
  // Subscribes and returns the `history` snapshot that follows `subscribed`.
  protocol::ChatHistory join(TransportProbe& probe, const char* room = kRoom) {
    probe.send(protocol::encode_client(protocol::Subscribe{room, std::nullopt}, "sub"));
    EXPECT_TRUE(wait_for_message<protocol::Subscribed>(probe, "sub").has_value()) << server.output();
    auto history = wait_for_message<protocol::ChatHistory>(probe);
    EXPECT_TRUE(history.has_value()) << server.output();
    return history ? history->first : protocol::ChatHistory{};
  }
  static void say(TransportProbe& probe, const std::string& text, const std::string& id) {
    probe.send(protocol::encode_client(protocol::ChatSend{kRoom, text}, id));
  }
  // Sends typing and pumps the typist's transport until the server acked it.
  static void type(TransportProbe& typist, const std::string& id) {
    typist.send(protocol::encode_client(protocol::TypingSend{kRoom, true}, id));
    ASSERT_TRUE(wait_for_message<protocol::Ack>(typist, id).has_value());
  }
  static std::optional<protocol::Ack> acked(TransportProbe& probe, const std::string& id) {
    auto ack = wait_for_message<protocol::Ack>(probe, id);
    return ack ? std::optional(ack->first) : std::nullopt;
  }
  // Waits for a typing event from `user` with `active`.
  static bool wait_typing(TransportProbe& probe, const std::string& user, bool active,
                          milliseconds timeout = kStepDeadline) {
    return probe.wait_for(
        [&] {
          for (const auto& t : all_of<protocol::TypingEvent>(probe))
            if (t.user == user && t.active == active) return true;
          return false;
        },
        timeout);
  }
};

TEST_F(chat_test, a_message_reaches_every_member_with_its_seq_and_is_acked_after_it) {
  TransportProbe ana, ben;
  connect(ana, token("ana"));
  connect(ben, token("ben"));
  join(ana);
  join(ben);
  say(ana, "Deploying now 🚀", "c1");
  ASSERT_TRUE(acked(ana, "c1").has_value());

  auto at_ben = wait_for_message<protocol::ChatMessage>(ben);
  ASSERT_TRUE(at_ben.has_value());
  EXPECT_EQ(at_ben->first.room, kRoom);
  EXPECT_EQ(at_ben->first.user, "ana");
  EXPECT_EQ(at_ben->first.name, "Name of ana");
  EXPECT_EQ(at_ben->first.color, "#3366cc");
  EXPECT_EQ(at_ben->first.text, "Deploying now 🚀");
  EXPECT_GT(at_ben->first.seq, 0);
  EXPECT_GT(at_ben->first.ts, 0);

  // The sender got the event too, before its ack (PROTOCOL.md §3 Order).
  std::size_t event_at = 0, ack_at = 0, index = 0;
  for (const auto& frame : decoded(ana.log)) {
    ++index;
    if (std::holds_alternative<protocol::ChatMessage>(frame.message)) event_at = index;
    if (std::holds_alternative<protocol::Ack>(frame.message) && frame.id == "c1") ack_at = index;
  }
  EXPECT_GT(event_at, 0u);
  EXPECT_LT(event_at, ack_at);
}

TEST_F(chat_test, a_new_member_gets_the_last_256_messages_in_order) {
  TransportProbe ana, ben;
  connect(ana, token("ana"));
  join(ana);
  for (int i = 1; i <= 300; ++i) say(ana, "m" + std::to_string(i), "m" + std::to_string(i));
  ASSERT_TRUE(acked(ana, "m300").has_value()) << server.output();

  connect(ben, token("ben"));
  const protocol::ChatHistory history = join(ben);
  ASSERT_EQ(history.messages.size(), 256u);
  for (std::size_t i = 0; i < history.messages.size(); ++i) {
    EXPECT_EQ(history.messages[i].text, "m" + std::to_string(45 + i));
    if (i > 0) {
      EXPECT_EQ(history.messages[i].seq, history.messages[i - 1].seq + 1);
    }
  }
  EXPECT_EQ(history.seq, history.messages.back().seq);
}

TEST_F(chat_test, the_history_survives_a_kill_and_restart) {
  TransportProbe ana, ben;
  connect(ana, token("ana"));
  join(ana);
  for (int i = 1; i <= 5; ++i) say(ana, "before crash " + std::to_string(i), "k" + std::to_string(i));
  ASSERT_TRUE(acked(ana, "k5").has_value());

  server.kill_now();
  ASSERT_NO_THROW(server.start());
  connect(ben, token("ben"));
  const protocol::ChatHistory history = join(ben);
  ASSERT_EQ(history.messages.size(), 5u);
  EXPECT_EQ(history.messages.front().text, "before crash 1");
  EXPECT_EQ(history.messages.back().text, "before crash 5");
  EXPECT_EQ(history.messages.back().user, "ana");
}

TEST_F(chat_test, typing_clears_by_itself_after_the_timeout) {
  TransportProbe ana, ben;
  connect(ana, token("ana"));
  connect(ben, token("ben"));
  join(ana);
  join(ben);
  const auto sent = std::chrono::steady_clock::now();
  type(ben, "t1");
  ASSERT_TRUE(wait_typing(ana, "ben", true));
  ASSERT_TRUE(wait_typing(ana, "ben", false, milliseconds{kTypingTimeoutMs * 10})) << "typing never cleared";
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - sent);
  EXPECT_GE(took.count(), kTypingTimeoutMs);
  // The typist itself is not told about its own indicator.
  ben.send(R"({"type":"ping","id":"p"})");
  ASSERT_TRUE(wait_for_message<protocol::Pong>(ben, "p").has_value());
  EXPECT_TRUE(all_of<protocol::TypingEvent>(ben).empty());
}

TEST_F(chat_test, typing_ends_with_a_chat_message_and_with_a_disconnect) {
  TransportProbe ana;
  connect(ana, token("ana"));
  join(ana);
  {
    TransportProbe ben;
    connect(ben, token("ben"));
    join(ben);
    type(ben, "t1");
    ASSERT_TRUE(wait_typing(ana, "ben", true));
    say(ben, "done typing", "b1");
    ASSERT_TRUE(acked(ben, "b1").has_value());
    ASSERT_TRUE(wait_for_message<protocol::ChatMessage>(ana).has_value());
    // active:false came before the message, well before the timeout.
    bool stopped_before_chat = false;
    for (const auto& frame : decoded(ana.log)) {
      if (auto* t = std::get_if<protocol::TypingEvent>(&frame.message); t && !t->active) stopped_before_chat = true;
      if (std::holds_alternative<protocol::ChatMessage>(frame.message)) break;
    }
    EXPECT_TRUE(stopped_before_chat);

    type(ben, "t2");
    ASSERT_TRUE(ana.wait_for([&] { return all_of<protocol::TypingEvent>(ana).size() >= 3; }));
  }  // ben's connection goes away while typing
  ASSERT_TRUE(ana.wait_for([&] {
    auto events = all_of<protocol::TypingEvent>(ana);
    return events.size() >= 4 && !events.back().active;
  }));
}

TEST_F(chat_test, clear_needs_the_chat_clear_permission) {
  TransportProbe ana, moderator, late;
  connect(ana, token("ana"));
  connect(moderator, token("mod", {"chat:clear"}));
  join(ana);
  join(moderator);
  say(ana, "keep me?", "a1");
  ASSERT_TRUE(acked(ana, "a1").has_value());

  ana.send(protocol::encode_client(protocol::ChatClear{kRoom}, "x1"));
  auto refused = wait_for_message<protocol::ErrorReply>(ana, "x1");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->first.code, "forbidden");
  EXPECT_TRUE(all_of<protocol::Cleared>(moderator).empty());

  moderator.send(protocol::encode_client(protocol::ChatClear{kRoom}, "x2"));
  ASSERT_TRUE(acked(moderator, "x2").has_value());
  auto cleared = wait_for_message<protocol::Cleared>(ana);
  ASSERT_TRUE(cleared.has_value());
  EXPECT_EQ(cleared->first.user, "mod");
  EXPECT_GT(cleared->first.seq, 0);

  connect(late, token("late"));
  EXPECT_TRUE(join(late).messages.empty());
}

TEST_F(chat_test, a_resent_chat_id_is_acked_as_duplicate_and_stored_once) {
  std::string session;
  {
    TransportProbe ana;
    session = connect(ana, token("ana")).session;
    join(ana);
    say(ana, "only once", "7");
    ASSERT_TRUE(acked(ana, "7").has_value());
  }
  TransportProbe ana_again, ben;
  const protocol::Connected resumed = connect(ana_again, token("ana"), session);
  EXPECT_EQ(resumed.session, session);
  join(ana_again);
  say(ana_again, "only once", "7");
  auto again = acked(ana_again, "7");
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->duplicate);

  connect(ben, token("ben"));
  const protocol::ChatHistory history = join(ben);
  ASSERT_EQ(history.messages.size(), 1u);
  EXPECT_EQ(history.messages[0].text, "only once");
}

TEST_F(chat_test, chat_is_refused_in_user_rooms_and_outside_the_room) {
  TransportProbe ana;
  connect(ana, token("ana"));
  ana.send(protocol::encode_client(protocol::ChatSend{"user:ana", "hi me"}, "u1"));
  auto refused = wait_for_message<protocol::ErrorReply>(ana, "u1");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->first.code, "invalid_message");
  say(ana, "not in the room", "u2");
  auto outside = wait_for_message<protocol::ErrorReply>(ana, "u2");
  ASSERT_TRUE(outside.has_value());
  EXPECT_EQ(outside->first.code, "not_subscribed");
}

}  // namespace
}  // namespace tandem::integration
