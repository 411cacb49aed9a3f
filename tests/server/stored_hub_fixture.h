// tests/server/stored_hub_fixture.h — a GoogleTest fixture: the hub on a real SQLite file that
// survives "restarts" (start() again = a new store and hub on the same file; dropping the hub
// without commit() is a kill -9), with helpers to open connections with tokens for any room.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "fakes.h"
#include "hub.h"
#include "store/sqlite_store.h"

namespace tandem::server::testing {

class StoredHubFixture : public ::testing::Test {
 protected:
  static constexpr UnixMillis kWall = 1700000000000;
  static Now at(std::int64_t ms) { return Now{Millis(ms), kWall + ms}; }

  // The file is named after the running test, so tests never share one.
  StoredHubFixture() {
    path_ = (std::filesystem::temp_directory_path() /
             (std::string("tandem-") + ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() +
              "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db"))
                .string();
    remove_files();
    settings_.jwt_secret = std::string(kSecret);
    settings_.store_give_up_ms = 0;  // a store failing kStoreRetries commits in a row is given up at once
    // Commits inline: every commit(now) is one whole pass, so tests can count passes. The
    // commit thread has tests of its own (commit_thread_test) and runs in every server test.
    settings_.store_commit_thread = false;
    start();
  }
  ~StoredHubFixture() override {
    hub_.reset();
    store_.reset();
    remove_files();
  }

  // A (re)start on the same file.
  void start() {
    hub_.reset();
    store_.reset();
    store::SqliteOptions options;
    options.path = path_;
    options.wall_clock = [this] { return store_now_; };
    auto opened = store::SqliteStore::open(options);
    EXPECT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    hub_ = std::make_unique<Hub>(settings_, ids_, edge_, nullptr, store_.get());
  }

  // A connection of user `sub` (named `sub`) allowed in every room, optionally presenting a session.
  ConnectionId connect(const std::string& sub, std::optional<std::string> session = std::nullopt) {
    jwt::Claims claims;
    claims.sub = sub;
    claims.name = sub;
    claims.rooms = {"*"};
    claims.exp = kWall / 1000 + 3600;
    OpenRequest request;
    request.token = jwt::mint(claims, kSecret);
    request.session = std::move(session);
    return hub_->open(request, at(0));
  }

  std::string path_;
  UnixMillis store_now_ = kWall;  // the store's wall clock (session last_used, expiry)
  Settings settings_;
  FakeEdge edge_;
  CountingIds ids_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<Hub> hub_;

 private:
  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }
};

}  // namespace tandem::server::testing
