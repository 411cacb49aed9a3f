// bots_test.cpp — the chat bots family against a real tandem-server (PROTOCOL.md "Chat bots"),
// with a raw connection playing the bot's worker (a token with "bot:helper" in its perms):
// bot_toggle needs "chat:bots" and a bot the server lists; a request to a bot that is off (or
// has no worker) is refused and posts nothing; a reply grows as conflated chat_partial texts
// and ends as a stored chat message with its reply id; ai_cancel and turning the bot off reach
// the worker; bot_max_replies is enforced; a worker that disconnects ends its reply as
// interrupted; a reply past bot_reply_timeout_ms ends as interrupted and frees its slot; the
// bots that are on survive a kill -9 and restart, also once more events than recovery_history
// came after the toggle (the server restates them).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <variant>
#include <vector>

#include "server_test_support.h"

namespace tandem::integration {
namespace {

constexpr const char* kRoom = "chat:bots";

class bots_test : public ServerTest {
 protected:
  explicit bots_test(std::vector<std::string> flags = {"--bots", "helper,pirate", "--bot-partial-ms", "200",
                                                        "--bot-max-replies", "2", "--rate-burst", "1000"})
      : ServerTest(std::move(flags)) {}

  static std::string token(const std::string& sub, std::vector<std::string> perms = {}) {
    TokenSpec spec;
    spec.sub = sub;
    spec.name = "Name of " + sub;
    auto claims = claims_for(spec);
    claims.perms = std::move(perms);
    return server::jwt::mint(claims, kTestSecret);
  }
  void connect(TransportProbe& probe, const std::string& token_text) {
    probe.open(server.ws_url() + "?token=" + token_text);
    ASSERT_TRUE(wait_for_message<protocol::Connected>(probe).has_value()) << server.output();
  }
  // Subscribes and returns the `history` snapshot that follows `subscribed`.
  protocol::ChatHistory join(TransportProbe& probe) {
    probe.send(protocol::encode_client(protocol::Subscribe{kRoom, std::nullopt}, "sub"));
    EXPECT_TRUE(wait_for_message<protocol::Subscribed>(probe, "sub").has_value()) << server.output();
    auto history = wait_for_message<protocol::ChatHistory>(probe);
    EXPECT_TRUE(history.has_value()) << server.output();
    return history ? history->first : protocol::ChatHistory{};
  }
  template <class M>
  static void send(TransportProbe& probe, const M& message, const std::string& id) {
    probe.send(protocol::encode_client(message, id));
  }
  // The answer to request `id`: "ack", or the error's code.
  std::string answer(TransportProbe& probe, const std::string& id) {
    std::string code;
    probe.wait_for([&] {
      for (const auto& frame : decoded(probe.log)) {
        if (frame.id != id) continue;
        if (std::holds_alternative<protocol::Ack>(frame.message)) code = "ack";
        if (const auto* error = std::get_if<protocol::ErrorReply>(&frame.message)) code = error->code;
      }
      return !code.empty();
    });
    EXPECT_FALSE(code.empty()) << "no answer to " << id << "\n" << server.output();
    return code;
  }
  // A member with "chat:bots" (mod), a member without (ben), the helper's worker; helper on.
  void set_up_room() {
    connect(mod, token("mod", {"chat:bots"}));
    connect(ben, token("ben"));
    connect(worker, token("helper-worker", {"bot:helper"}));
    join(mod);
    join(ben);
    send(mod, protocol::BotToggle{kRoom, "helper", true}, "on");
    ASSERT_EQ(answer(mod, "on"), "ack");
  }
  // Ben asks the helper; returns the request as the worker got it.
  protocol::AiRequest ask(const std::string& prompt, const std::string& id) {
    const std::size_t before = received_of<protocol::AiRequest>(worker.log).size();
    send(ben, protocol::AiRequest{kRoom, "helper", prompt}, id);
    EXPECT_EQ(answer(ben, id), "ack");
    EXPECT_TRUE(worker.wait_for([&] { return received_of<protocol::AiRequest>(worker.log).size() > before; }));
    auto requests = received_of<protocol::AiRequest>(worker.log);
    return requests.size() > before ? requests.back() : protocol::AiRequest{};
  }

  TransportProbe mod, ben, worker;
};

TEST_F(bots_test, toggling_needs_the_chat_bots_permission_and_a_bot_the_server_lists) {
  connect(mod, token("mod", {"chat:bots"}));
  connect(ben, token("ben"));
  join(mod);
  join(ben);
  send(ben, protocol::BotToggle{kRoom, "helper", true}, "t1");
  EXPECT_EQ(answer(ben, "t1"), "forbidden");
  send(mod, protocol::BotToggle{kRoom, "wizard", true}, "t2");
  EXPECT_EQ(answer(mod, "t2"), "not_found");
  EXPECT_TRUE(received_of<protocol::BotToggled>(mod.log).empty()) << "a refused toggle changes nothing";

  send(mod, protocol::BotToggle{kRoom, "helper", true}, "t3");
  EXPECT_EQ(answer(mod, "t3"), "ack");
  auto at_ben = wait_for_message<protocol::BotToggled>(ben);
  ASSERT_TRUE(at_ben.has_value());
  EXPECT_EQ(at_ben->first.bot, "helper");
  EXPECT_TRUE(at_ben->first.enabled);
  EXPECT_EQ(at_ben->first.user, "mod");
  EXPECT_GT(at_ben->first.seq, 0);
  // Turning it on again changes nothing: acked, no event.
  send(mod, protocol::BotToggle{kRoom, "helper", true}, "t4");
  EXPECT_EQ(answer(mod, "t4"), "ack");
  EXPECT_EQ(received_of<protocol::BotToggled>(mod.log).size(), 1u);
}

TEST_F(bots_test, a_request_to_a_bot_that_is_off_or_has_no_worker_is_refused_and_posts_nothing) {
  connect(mod, token("mod", {"chat:bots"}));
  connect(ben, token("ben"));
  join(mod);
  join(ben);
  send(ben, protocol::AiRequest{kRoom, "helper", "hello?"}, "a1");
  EXPECT_EQ(answer(ben, "a1"), "not_found");
  send(mod, protocol::BotToggle{kRoom, "helper", true}, "on");
  ASSERT_EQ(answer(mod, "on"), "ack");
  send(ben, protocol::AiRequest{kRoom, "helper", "hello?"}, "a2");
  EXPECT_EQ(answer(ben, "a2"), "not_found") << "on, but no worker connected";
  EXPECT_TRUE(received_of<protocol::ChatMessage>(ben.log).empty()) << "a refused request posts no prompt";
}

TEST_F(bots_test, a_reply_grows_conflated_and_ends_as_a_stored_chat_message) {
  set_up_room();
  const protocol::AiRequest request = ask("How do I deploy?", "a1");
  ASSERT_TRUE(request.reply.has_value());
  EXPECT_EQ(request.user, "ben");
  EXPECT_EQ(request.prompt, "How do I deploy?");
  // The prompt is Ben's chat message.
  auto prompt = wait_for_message<protocol::ChatMessage>(mod);
  ASSERT_TRUE(prompt.has_value());
  EXPECT_EQ(prompt->first.text, "How do I deploy?");
  EXPECT_EQ(prompt->first.user, "ben");

  // Five growing texts in a burst: members get the empty start, then at most one text per
  // bot_partial_ms, the newest last.
  const std::vector<std::string> texts = {"Start", "Start small,", "Start small, check", "Start small, check each",
                                          "Start small, check each step."};
  for (std::size_t i = 0; i < texts.size(); ++i)
    send(worker, protocol::ChatPartial{kRoom, *request.reply, texts[i]}, "p" + std::to_string(i));
  EXPECT_EQ(answer(worker, "p4"), "ack");
  ASSERT_TRUE(mod.wait_for([&] {
    auto partials = received_of<protocol::ChatPartial>(mod.log);
    return !partials.empty() && partials.back().text == texts.back();
  })) << server.output();
  const auto partials = received_of<protocol::ChatPartial>(mod.log);
  EXPECT_EQ(partials.front().text, "") << "the reply's start";
  EXPECT_LT(partials.size(), texts.size() + 1) << "conflated: a burst is not relayed text by text";
  for (const auto& partial : partials) {
    EXPECT_EQ(partial.bot, "helper");
    EXPECT_EQ(partial.reply, *request.reply);
  }

  // Another member's partial for it is refused: only its worker writes a reply.
  send(ben, protocol::ChatPartial{kRoom, *request.reply, "forged", std::nullopt, true}, "f1");
  EXPECT_EQ(answer(ben, "f1"), "not_found");

  send(worker, protocol::ChatPartial{kRoom, *request.reply, "Start small, check each step. Done.", std::nullopt, true},
       "done");
  EXPECT_EQ(answer(worker, "done"), "ack");
  ASSERT_TRUE(ben.wait_for([&] { return received_of<protocol::ChatMessage>(ben.log).size() >= 2; }));
  const protocol::ChatMessage reply = received_of<protocol::ChatMessage>(ben.log).back();
  EXPECT_EQ(reply.user, "bot:helper");
  EXPECT_EQ(reply.name, "helper");
  EXPECT_EQ(reply.text, "Start small, check each step. Done.");
  EXPECT_EQ(reply.reply, request.reply);

  // Ended: a late partial is refused; a newcomer finds prompt and reply in the history.
  send(worker, protocol::ChatPartial{kRoom, *request.reply, "late"}, "late");
  EXPECT_EQ(answer(worker, "late"), "not_found");
  TransportProbe late;
  connect(late, token("late"));
  const protocol::ChatHistory history = join(late);
  ASSERT_EQ(history.messages.size(), 2u);
  EXPECT_EQ(history.messages[0].text, "How do I deploy?");
  EXPECT_EQ(history.messages[1].user, "bot:helper");
  EXPECT_EQ(history.bots, "helper");
}

TEST_F(bots_test, cancel_and_turning_the_bot_off_reach_the_worker) {
  set_up_room();
  const protocol::AiRequest first = ask("one", "a1");
  ASSERT_TRUE(first.reply.has_value());
  send(ben, protocol::AiCancel{kRoom, *first.reply}, "c1");
  EXPECT_EQ(answer(ben, "c1"), "ack");
  auto cancel = wait_for_message<protocol::AiCancel>(worker);
  ASSERT_TRUE(cancel.has_value());
  EXPECT_EQ(cancel->first.reply, *first.reply);
  EXPECT_EQ(cancel->first.user, "ben");
  send(ben, protocol::AiCancel{kRoom, "helper.0.0"}, "c2");
  EXPECT_EQ(answer(ben, "c2"), "not_found");
  send(worker, protocol::ChatPartial{kRoom, *first.reply, "one [cancelled]", std::nullopt, true}, "d1");
  EXPECT_EQ(answer(worker, "d1"), "ack");

  const protocol::AiRequest second = ask("two", "a2");
  ASSERT_TRUE(second.reply.has_value());
  send(mod, protocol::BotToggle{kRoom, "helper", false}, "off");
  EXPECT_EQ(answer(mod, "off"), "ack");
  ASSERT_TRUE(worker.wait_for([&] {
    auto cancels = received_of<protocol::AiCancel>(worker.log);
    return cancels.size() >= 2 && cancels.back().reply == *second.reply && cancels.back().user == "mod";
  }));
  send(ben, protocol::AiRequest{kRoom, "helper", "three"}, "a3");
  EXPECT_EQ(answer(ben, "a3"), "not_found") << "off now";
}

TEST_F(bots_test, bot_max_replies_bounds_the_replies_growing_in_a_room) {
  set_up_room();
  ask("one", "a1");
  ask("two", "a2");
  send(ben, protocol::AiRequest{kRoom, "helper", "three"}, "a3");
  EXPECT_EQ(answer(ben, "a3"), "limit_exceeded");
}

TEST_F(bots_test, a_worker_that_disconnects_ends_its_reply_as_interrupted) {
  set_up_room();
  const protocol::AiRequest request = ask("hello", "a1");
  ASSERT_TRUE(request.reply.has_value());
  send(worker, protocol::ChatPartial{kRoom, *request.reply, "Half an"}, "p1");
  EXPECT_EQ(answer(worker, "p1"), "ack");
  worker.transport.close(1000, "bye");
  ASSERT_TRUE(worker.wait_closed());  // pumped: the close handshake goes through
  ASSERT_TRUE(ben.wait_for([&] {
    auto chats = received_of<protocol::ChatMessage>(ben.log);
    return chats.size() >= 2 && chats.back().reply == request.reply;
  })) << server.output();
  EXPECT_EQ(received_of<protocol::ChatMessage>(ben.log).back().text, "Half an (interrupted: the bot went away)");
}

// A short reply deadline and one reply at a time.
class bots_deadline_test : public bots_test {
 protected:
  bots_deadline_test()
      : bots_test({"--bots", "helper", "--bot-reply-timeout-ms", "500", "--bot-max-replies", "1", "--rate-burst",
                   "1000"}) {}
};

TEST_F(bots_deadline_test, a_reply_whose_worker_never_finishes_ends_at_the_deadline_and_frees_its_slot) {
  set_up_room();
  const protocol::AiRequest request = ask("hello", "a1");
  ASSERT_TRUE(request.reply.has_value());
  send(worker, protocol::ChatPartial{kRoom, *request.reply, "Stuck"}, "p1");
  EXPECT_EQ(answer(worker, "p1"), "ack");
  ASSERT_TRUE(ben.wait_for([&] {
    auto chats = received_of<protocol::ChatMessage>(ben.log);
    return chats.size() >= 2 && chats.back().reply == request.reply;
  })) << server.output();
  EXPECT_EQ(received_of<protocol::ChatMessage>(ben.log).back().text, "Stuck (interrupted: the bot took too long)");
  ASSERT_TRUE(worker.wait_for([&] {
    auto cancels = received_of<protocol::AiCancel>(worker.log);
    return !cancels.empty() && cancels.back().reply == *request.reply;
  })) << "the worker is told to stop";
  send(worker, protocol::ChatPartial{kRoom, *request.reply, "late", std::nullopt, true}, "late");
  EXPECT_EQ(answer(worker, "late"), "not_found");
  ask("again", "a2");  // the slot is free (bot_max_replies 1)
}

TEST_F(bots_test, the_bots_that_are_on_survive_a_kill_and_restart) {
  connect(mod, token("mod", {"chat:bots"}));
  join(mod);
  send(mod, protocol::BotToggle{kRoom, "helper", true}, "t1");
  send(mod, protocol::BotToggle{kRoom, "pirate", true}, "t2");
  send(mod, protocol::BotToggle{kRoom, "pirate", false}, "t3");
  ASSERT_EQ(answer(mod, "t3"), "ack");

  server.kill_now();
  ASSERT_NO_THROW(server.start());
  TransportProbe late;
  connect(late, token("late"));
  const protocol::ChatHistory history = join(late);
  EXPECT_EQ(history.bots, "helper");
}

// A short room log: the toggle would fall out of it; the server restates it in time.
class bots_short_log_test : public bots_test {
 protected:
  bots_short_log_test() : bots_test({"--bots", "helper,pirate", "--recovery-history", "10"}) {}
};

TEST_F(bots_short_log_test, a_toggle_older_than_the_room_log_is_restated_and_survives_a_restart) {
  connect(mod, token("mod", {"chat:bots"}));
  join(mod);
  send(mod, protocol::BotToggle{kRoom, "helper", true}, "t1");
  send(mod, protocol::BotToggle{kRoom, "pirate", true}, "t2");
  send(mod, protocol::BotToggle{kRoom, "pirate", false}, "t3");
  ASSERT_EQ(answer(mod, "t3"), "ack");
  for (int i = 1; i <= 12; ++i) send(mod, protocol::ChatSend{kRoom, "m" + std::to_string(i)}, "m" + std::to_string(i));
  ASSERT_EQ(answer(mod, "m12"), "ack");
  ASSERT_TRUE(mod.wait_for([&] {
    for (const auto& toggled : received_of<protocol::BotToggled>(mod.log))
      if (toggled.user == "tandem" && toggled.bot == "helper" && toggled.enabled) return true;
    return false;
  })) << "the helper's toggle was restated";
  for (const auto& toggled : received_of<protocol::BotToggled>(mod.log))
    EXPECT_FALSE(toggled.user == "tandem" && toggled.bot == "pirate") << "a bot that is off is not restated";

  server.kill_now();
  ASSERT_NO_THROW(server.start());
  TransportProbe late;
  connect(late, token("late"));
  EXPECT_EQ(join(late).bots, "helper");
}

}  // namespace
}  // namespace tandem::integration
