// idempotent_requests_test.cpp — PROTOCOL.md §3, idempotent resend: a request id applied in a
// session is answered `ack` duplicate:true when it comes again, without running the handler;
// the window keeps the last dedup_window ids; ids of durable changes are stored, so the same
// session continued after a restart (a new hub on the same SQLite file) still recognises them.
// A failed request is not remembered: its resend is evaluated afresh.
#include <gtest/gtest.h>

#include <filesystem>

#include "fakes.h"
#include "hub.h"
#include "session_book.h"
#include "store/sqlite_store.h"

namespace tandem::server {
namespace {

constexpr UnixMillis kWallStart = 1700000000000;

// A stand-in family: `chat` counts applications, records a write and acks after the commit;
// text "fail" is refused (not applied).
struct CountingFamily {
  int applied = 0;
  Hub::Registration registration() {
    return [this](HandlerRegistry& registry) {
      registry.on<protocol::ChatSend>([this](HandlerContext& ctx, const protocol::ChatSend& chat) {
        if (chat.text == "fail") return ctx.error(protocol::errc::invalid_message, "refused");
        if (chat.text == "locked") return ctx.error(protocol::errc::locked, "someone else holds it");
        ++applied;
        ctx.hub.writes().add(store::WriteBatch::RaiseFence{applied});
        ctx.ack_after_commit();
      });
      // An ephemeral request: acked at once, nothing stored.
      registry.on<protocol::TypingSend>([](HandlerContext& ctx, const protocol::TypingSend&) { ctx.ack(); });
    };
  }
};

std::string chat(const std::string& id, const std::string& text = "hi") {
  return R"({"type":"chat","id":")" + id + R"(","room":"chat:lobby","text":")" + text + R"("})";
}

class idempotent_requests_test : public ::testing::Test {
 protected:
  idempotent_requests_test() {
    path_ = std::filesystem::temp_directory_path() /
            ("tandem-dedup-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    std::filesystem::remove(path_);
  }
  ~idempotent_requests_test() override {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }

  std::unique_ptr<store::SqliteStore> open_store() {
    store::SqliteOptions options;
    options.path = path_.string();
    auto opened = store::SqliteStore::open(options);
    EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().message);
    return opened.ok() ? std::move(opened).value() : nullptr;
  }
  static Settings settings(int dedup_window = 1024) {
    Settings s;
    s.jwt_secret = std::string(testing::kSecret);
    s.dedup_window = dedup_window;
    return s;
  }
  static ConnectionId connect(Hub& hub, std::optional<std::string> session = std::nullopt) {
    OpenRequest request;
    request.token = testing::token_for("ana", kWallStart / 1000 + 3600);
    request.session = std::move(session);
    return hub.open(request, Now{Millis(0), kWallStart});
  }
  // Sends `text`, commits, and returns the answers.
  static std::vector<protocol::ServerFrame> exchange(Hub& hub, ConnectionId id, const std::string& text) {
    hub.receive(id, text, Now{Millis(1), kWallStart + 1});
    hub.commit();
    return testing::drain_frames(hub, id);
  }
  static const protocol::Ack* ack_of(const std::vector<protocol::ServerFrame>& frames) {
    return frames.size() == 1 ? std::get_if<protocol::Ack>(&frames[0].message) : nullptr;
  }

  std::filesystem::path path_;
  testing::FakeEdge edge_;
  testing::CountingIds ids_;
};

TEST_F(idempotent_requests_test, a_resent_id_is_acked_as_duplicate_without_being_applied_again) {
  auto store = open_store();
  CountingFamily family;
  Hub hub(settings(), ids_, edge_, family.registration(), store.get());
  const ConnectionId c = connect(hub);
  hub.commit();
  testing::drain_frames(hub, c);  // connected

  auto first = exchange(hub, c, chat("7"));
  ASSERT_NE(ack_of(first), nullptr);
  EXPECT_FALSE(ack_of(first)->duplicate);
  auto again = exchange(hub, c, chat("7"));
  ASSERT_NE(ack_of(again), nullptr);
  EXPECT_TRUE(ack_of(again)->duplicate);
  EXPECT_EQ(again[0].id, std::optional<std::string>("7"));
  EXPECT_EQ(family.applied, 1);
  EXPECT_EQ(store->fence_high_water().value(), 1);  // nothing written twice either
}

TEST_F(idempotent_requests_test, a_failed_request_is_not_remembered_and_its_resend_is_evaluated_afresh) {
  CountingFamily family;
  Hub hub(settings(), ids_, edge_, family.registration());
  const ConnectionId c = connect(hub);
  testing::drain_frames(hub, c);
  auto failed = exchange(hub, c, chat("3", "fail"));
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<protocol::ErrorReply>(failed[0].message));
  auto retried = exchange(hub, c, chat("3"));
  ASSERT_NE(ack_of(retried), nullptr);
  EXPECT_FALSE(ack_of(retried)->duplicate);
  EXPECT_EQ(family.applied, 1);
}

TEST_F(idempotent_requests_test, only_the_last_dedup_window_ids_are_remembered) {
  CountingFamily family;
  Hub hub(settings(2), ids_, edge_, family.registration());
  const ConnectionId c = connect(hub);
  testing::drain_frames(hub, c);
  for (const char* id : {"1", "2", "3"}) exchange(hub, c, chat(id));
  EXPECT_TRUE(ack_of(exchange(hub, c, chat("3")))->duplicate);
  EXPECT_TRUE(ack_of(exchange(hub, c, chat("2")))->duplicate);
  EXPECT_FALSE(ack_of(exchange(hub, c, chat("1")))->duplicate);  // fell out of the window: applied again
  EXPECT_EQ(family.applied, 4);
}

TEST_F(idempotent_requests_test, ephemeral_acks_never_push_a_stored_changes_id_out_of_the_window) {
  CountingFamily family;
  Hub hub(settings(2), ids_, edge_, family.registration());
  const ConnectionId c = connect(hub);
  testing::drain_frames(hub, c);
  exchange(hub, c, chat("1"));
  for (const char* id : {"t1", "t2", "t3", "t4"})
    exchange(hub, c, R"({"type":"typing","id":")" + std::string(id) + R"(","room":"chat:lobby"})");
  EXPECT_TRUE(ack_of(exchange(hub, c, chat("1")))->duplicate);
  EXPECT_EQ(family.applied, 1);
}

TEST_F(idempotent_requests_test, refusals_of_well_formed_requests_do_not_count_as_bad_frames) {
  CountingFamily family;
  Settings s = settings();
  s.max_bad_frames = 2;
  Hub hub(s, ids_, edge_, family.registration());
  const ConnectionId c = connect(hub);
  testing::drain_frames(hub, c);
  for (int i = 0; i < 10; ++i) exchange(hub, c, chat("l" + std::to_string(i), "locked"));
  EXPECT_EQ(hub.close_request(c), nullptr);  // an editor bumping into locks is not abusive
  for (int i = 0; i < 3; ++i) exchange(hub, c, chat("f" + std::to_string(i), "fail"));
  ASSERT_NE(hub.close_request(c), nullptr);  // malformed input still is
  EXPECT_EQ(hub.close_request(c)->code, protocol::close::protocol_violation.code);
}

TEST_F(idempotent_requests_test, the_same_session_after_a_restart_still_recognises_its_stored_ids) {
  std::string session;
  {
    auto store = open_store();
    CountingFamily family;
    Hub hub(settings(), ids_, edge_, family.registration(), store.get());
    const ConnectionId c = connect(hub);
    hub.commit();
    auto frames = testing::drain_frames(hub, c);
    ASSERT_FALSE(frames.empty());
    session = std::get<protocol::Connected>(frames[0].message).session;
    ASSERT_NE(ack_of(exchange(hub, c, chat("41"))), nullptr);
  }  // the server is gone; its store file stays

  auto store = open_store();
  CountingFamily family;
  Hub hub(settings(), ids_, edge_, family.registration(), store.get());
  const ConnectionId c = connect(hub, session);
  hub.commit();
  auto frames = testing::drain_frames(hub, c);
  ASSERT_FALSE(frames.empty());
  const auto& connected = std::get<protocol::Connected>(frames[0].message);
  EXPECT_EQ(connected.session, session);
  EXPECT_TRUE(connected.resumed);
  auto again = exchange(hub, c, chat("41"));
  ASSERT_NE(ack_of(again), nullptr);
  EXPECT_TRUE(ack_of(again)->duplicate);
  EXPECT_EQ(family.applied, 0);
  auto fresh = exchange(hub, c, chat("42"));
  EXPECT_FALSE(ack_of(fresh)->duplicate);
  EXPECT_EQ(family.applied, 1);
}

TEST_F(idempotent_requests_test, another_users_stored_session_is_not_continued) {
  std::string session;
  {
    auto store = open_store();
    Hub hub(settings(), ids_, edge_, CountingFamily{}.registration(), store.get());
    OpenRequest request;
    request.token = testing::token_for("ben", kWallStart / 1000 + 3600);
    const ConnectionId c = hub.open(request, Now{Millis(0), kWallStart});
    hub.commit();
    session = std::get<protocol::Connected>(testing::drain_frames(hub, c).at(0).message).session;
  }
  auto store = open_store();
  Hub hub(settings(), ids_, edge_, CountingFamily{}.registration(), store.get());
  const ConnectionId c = connect(hub, session);  // ana presents ben's session
  hub.commit();  // the session read from the store
  const protocol::Connected connected = std::get<protocol::Connected>(testing::drain_frames(hub, c).at(0).message);
  EXPECT_NE(connected.session, session);
  EXPECT_FALSE(connected.resumed);
}

}  // namespace
}  // namespace tandem::server
