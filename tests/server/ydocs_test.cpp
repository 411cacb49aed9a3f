// tests/server/ydocs_test.cpp — Yjs documents on the hub (ydocs/ydocs.h) with a real SQLite
// store and a fake edge: the order of a join's answer, relays only after the commit,
// compaction by a client's answer and its safety when several answers cross, the log after a
// restart, awareness removal on close.
//
// The updates are built by hand, each a String item "x" of one client in y.getText("t"); a
// client's whole state is the same items merged into one update (several client groups), as
// Y.encodeStateAsUpdate would give for them.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "stored_hub_fixture.h"
#include "yjs_updates.h"
#include "yjs/lib0.h"
#include "yjs/messages.h"
#include "yjs/update_check.h"
#include "ydocs/ydocs.h"

namespace tandem::server::testing {
namespace {

namespace ywebsocket = yjs::ywebsocket;

const std::string kEmptyStep1 = ywebsocket::encode_sync_step1(std::string_view("\0", 1));
const std::string kEmptyStep2 = ywebsocket::encode_sync_step2(std::string_view("\0\0", 2));

class YDocsTest : public StoredHubFixture {
 protected:
  ConnectionId open(const std::string& sub, const std::string& doc = "notes") {
    jwt::Claims claims;
    claims.sub = sub;
    claims.rooms = {"*"};
    claims.exp = kWall / 1000 + 3600;
    OpenRequest request;
    request.token = jwt::mint(claims, kSecret);
    request.wire = Wire::YWebsocket;
    request.ydoc = doc;
    const ConnectionId id = hub_->open(request, at(0));
    hub_->commit();  // the document's log is read
    return id;
  }
  void send(ConnectionId id, const std::string& message) {
    hub_->receive(id, message, at(0));
  }
  void update(ConnectionId id, const std::vector<int>& clients) { send(id, ywebsocket::encode_sync_update(yjs_update_of(clients))); }
  void answer(ConnectionId id, const std::vector<int>& clients) { send(id, ywebsocket::encode_sync_step2(yjs_update_of(clients))); }
  // Every binary message queued for `id`.
  std::vector<std::string> drain(ConnectionId id) {
    std::vector<std::string> out;
    MessageKind kind = MessageKind::Text;
    while (Bytes frame = hub_->next_frame(id, kind)) {
      EXPECT_EQ(kind, MessageKind::Binary);
      out.push_back(*frame);
    }
    return out;
  }
  YDocSummary summary(const std::string& doc = "notes") {
    for (const YDocSummary& s : hub_->ydocs().summaries())
      if (s.doc == doc) return s;
    return {};
  }
  // The clients whose items the stored log holds (read from the store, as after a restart).
  std::set<std::uint64_t> stored_clients(const std::string& doc = "notes") {
    std::set<std::uint64_t> clients;
    const store::YDocRecord record = store_->load_ydoc(doc).value();
    for (const store::StoredYUpdate& u : record.updates) {
      const yjs::UpdateSummary summary = yjs::check_update(u.data).value();
      for (const yjs::ClientRanges& c : summary.structs) clients.insert(c.client);
    }
    return clients;
  }
  std::size_t stored_entries(const std::string& doc = "notes") { return store_->load_ydoc(doc).value().updates.size(); }
};

TEST_F(YDocsTest, a_join_gets_the_log_then_the_synced_marker_then_a_request_for_its_state) {
  const ConnectionId ana = open("ana");
  update(ana, {1});
  update(ana, {2});
  hub_->commit();
  const ConnectionId ben = open("ben");
  send(ben, ywebsocket::encode_sync_step1(std::string_view("\0", 1)));
  EXPECT_EQ(drain(ben), (std::vector<std::string>{ywebsocket::encode_sync_update(yjs_update_of({1})),
                                                  ywebsocket::encode_sync_update(yjs_update_of({2})), kEmptyStep2,
                                                  kEmptyStep1}));
  // A second sync step 1 (y-websocket's resync) gets the log again, not another request.
  send(ben, ywebsocket::encode_sync_step1(std::string_view("\0", 1)));
  EXPECT_EQ(drain(ben).back(), kEmptyStep2);
}

TEST_F(YDocsTest, an_update_reaches_the_others_only_once_it_is_stored) {
  const ConnectionId ana = open("ana");
  const ConnectionId ben = open("ben");
  drain(ben);
  update(ana, {1});
  EXPECT_TRUE(drain(ben).empty());  // held for the commit
  EXPECT_EQ(stored_entries(), 0u);
  hub_->commit();
  EXPECT_EQ(stored_entries(), 1u);
  EXPECT_EQ(drain(ben), std::vector<std::string>{ywebsocket::encode_sync_update(yjs_update_of({1}))});
  EXPECT_TRUE(drain(ana).empty());  // not echoed to its sender
  // An update carrying nothing new is neither stored nor relayed.
  update(ana, {1});
  hub_->commit();
  EXPECT_EQ(stored_entries(), 1u);
  EXPECT_TRUE(drain(ben).empty());
}

TEST_F(YDocsTest, the_answer_to_the_state_request_replaces_what_its_client_had_been_sent) {
  const ConnectionId ana = open("ana");
  for (int client = 1; client <= 5; ++client) update(ana, {client});
  hub_->commit();
  EXPECT_EQ(stored_entries(), 5u);
  const ConnectionId ben = open("ben");
  send(ben, kEmptyStep1);  // its own step 1: it gets the log and the request
  drain(ben);
  answer(ben, {1, 2, 3, 4, 5, 9});  // everything, and an offline edit of its own (client 9)
  hub_->commit();
  EXPECT_EQ(stored_entries(), 1u);
  EXPECT_EQ(summary().updates, 1u);
  EXPECT_EQ(stored_clients(), (std::set<std::uint64_t>{1, 2, 3, 4, 5, 9}));
  // Its offline edit reaches Ana (the whole answer: it brings something new).
  EXPECT_EQ(drain(ana), std::vector<std::string>{ywebsocket::encode_sync_update(yjs_update_of({1, 2, 3, 4, 5, 9}))});

  // After a restart the compacted log is what a join gets.
  start();
  const ConnectionId cleo = open("cleo");
  send(cleo, kEmptyStep1);
  const auto frames = drain(cleo);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], ywebsocket::encode_sync_update(yjs_update_of({1, 2, 3, 4, 5, 9})));
}

TEST_F(YDocsTest, answers_that_cross_updates_and_each_other_never_lose_content) {
  const ConnectionId ana = open("ana");
  update(ana, {1});
  update(ana, {2});
  hub_->commit();
  // Ben and Cleo join; each is asked for its state, having been sent clients 1 and 2.
  const ConnectionId ben = open("ben");
  const ConnectionId cleo = open("cleo");
  send(ben, kEmptyStep1);
  send(cleo, kEmptyStep1);
  hub_->commit();
  // Meanwhile Ana writes client 3, which Ben's answer does not hold.
  update(ana, {3});
  hub_->commit();
  answer(ben, {1, 2, 7});  // covers entries 1-2 (what Ben had been sent) and its own client 7
  hub_->commit();
  EXPECT_EQ(stored_clients(), (std::set<std::uint64_t>{1, 2, 3, 7}));
  // Cleo's answer was computed before client 3 and 7 reached it: it covers only 1-2 (already
  // replaced) and its own client 8.
  answer(cleo, {1, 2, 8});
  hub_->commit();
  EXPECT_EQ(stored_clients(), (std::set<std::uint64_t>{1, 2, 3, 7, 8}));
  // A late joiner is asked again past the threshold of entries; whatever order the answers
  // come in, the log keeps the union.
  const ConnectionId dana = open("dana");
  send(dana, kEmptyStep1);
  hub_->commit();
  answer(dana, {1, 2, 3, 7, 8});
  hub_->commit();
  EXPECT_EQ(stored_clients(), (std::set<std::uint64_t>{1, 2, 3, 7, 8}));
  EXPECT_LE(stored_entries(), 3u);
}

TEST_F(YDocsTest, a_long_log_asks_a_writer_for_its_state) {
  settings_.ydoc_compact_after = 4;
  start();
  const ConnectionId ana = open("ana");
  send(ana, kEmptyStep1);
  hub_->commit();
  drain(ana);
  answer(ana, {});  // its first answer (an empty document)
  for (int client = 1; client <= 4; ++client) update(ana, {client});
  hub_->commit();
  // The fourth entry asked Ana again (an empty step 1 after its updates).
  EXPECT_EQ(drain(ana), std::vector<std::string>{kEmptyStep1});
  answer(ana, {1, 2, 3, 4});
  hub_->commit();
  EXPECT_EQ(stored_entries(), 1u);
  EXPECT_EQ(stored_clients(), (std::set<std::uint64_t>{1, 2, 3, 4}));
}

TEST_F(YDocsTest, an_update_past_max_ydoc_bytes_closes_its_sender_and_changes_nothing) {
  settings_.max_ydoc_bytes = 40;
  start();
  const ConnectionId ana = open("ana");
  update(ana, {1, 2});  // 20 bytes
  hub_->commit();
  update(ana, {3, 4, 5});  // 28 more
  hub_->commit();
  const CloseRequest* close = hub_->close_request(ana);
  ASSERT_NE(close, nullptr);
  EXPECT_EQ(close->code, 4413);
  EXPECT_EQ(stored_clients(), (std::set<std::uint64_t>{1, 2}));
}

TEST_F(YDocsTest, awareness_states_leave_with_their_connection_and_foreign_clients_are_ignored) {
  const ConnectionId ana = open("ana");
  const ConnectionId ben = open("ben");
  const std::vector<yjs::AwarenessEntry> mine{{11, 1, R"({"user":"ana"})"}};
  send(ana, ywebsocket::encode_awareness(mine));
  EXPECT_EQ(drain(ben), std::vector<std::string>{ywebsocket::encode_awareness(mine)});
  // Ben cannot remove or change Ana's client.
  const std::vector<yjs::AwarenessEntry> forged{{11, 2, "null"}};
  send(ben, ywebsocket::encode_awareness(forged));
  EXPECT_TRUE(drain(ana).empty());
  // A query gets every state known.
  send(ben, std::string(1, '\x03'));
  EXPECT_EQ(drain(ben), std::vector<std::string>{ywebsocket::encode_awareness(mine)});
  // A joiner gets the states known with its first sync, before the request for its state.
  const ConnectionId cleo = open("cleo");
  send(cleo, kEmptyStep1);
  EXPECT_EQ(drain(cleo), (std::vector<std::string>{kEmptyStep2, ywebsocket::encode_awareness(mine), kEmptyStep1}));
  hub_->closed(ana);
  const std::vector<yjs::AwarenessEntry> gone{{11, 2, "null"}};
  EXPECT_EQ(drain(ben), std::vector<std::string>{ywebsocket::encode_awareness(gone)});
}

// What a Hocuspocus provider sends: the address, then a y-websocket-shaped message; its auth.
std::string addressed(std::string_view doc, std::string_view message) {
  yjs::Lib0Writer w;
  w.write_var_string(doc);
  w.write_bytes(message);
  return std::move(w).take();
}
std::string provider_auth(std::string_view doc, std::string_view token) {
  yjs::Lib0Writer w;
  w.write_var_string(doc);
  w.write_var_uint(2);  // Auth
  w.write_var_uint(0);  // Token
  w.write_var_string(token);
  w.write_var_string("4.8.0");
  return std::move(w).take();
}

TEST_F(YDocsTest, a_hocuspocus_connection_authenticates_each_document_and_is_closed_for_anything_before) {
  auto hocuspocus = [&] {
    OpenRequest request;
    request.wire = Wire::Hocuspocus;
    return hub_->open(request, at(0));
  };
  jwt::Claims claims;
  claims.sub = "ana";
  claims.rooms = {"doc:notes", "doc:public/*"};
  claims.read_only = {"doc:public/*"};
  claims.exp = kWall / 1000 + 3600;
  const std::string token = jwt::mint(claims, kSecret);

  const ConnectionId early = hocuspocus();
  send(early, addressed("notes", kEmptyStep1));
  ASSERT_NE(hub_->close_request(early), nullptr);
  EXPECT_EQ(hub_->close_request(early)->code, 4401);

  const ConnectionId ana = hocuspocus();
  send(ana, provider_auth("notes", token));
  send(ana, provider_auth("public/faq", token));
  send(ana, provider_auth("secret", token));
  send(ana, addressed("other", kEmptyStep1));  // never authenticated on this connection
  hub_->commit();
  EXPECT_EQ(drain(ana), (std::vector<std::string>{
                            yjs::hocuspocus::encode_authenticated("notes", yjs::hocuspocus::Scope::ReadWrite),
                            yjs::hocuspocus::encode_authenticated("public/faq", yjs::hocuspocus::Scope::ReadOnly),
                            yjs::hocuspocus::encode_permission_denied("secret", "the token's rooms do not include doc:secret"),
                            yjs::hocuspocus::encode_permission_denied("other", "authenticate for this document first")}));
  // Its updates are acknowledged once stored (SyncStatus 1); a read-only document's are refused (0).
  send(ana, addressed("notes", ywebsocket::encode_sync_update(yjs_update_of({1}))));
  send(ana, addressed("public/faq", ywebsocket::encode_sync_update(yjs_update_of({2}))));
  hub_->commit();
  EXPECT_EQ(drain(ana), (std::vector<std::string>{yjs::hocuspocus::encode_sync_status("notes", true),
                                                  yjs::hocuspocus::encode_sync_status("public/faq", false)}));
  EXPECT_EQ(stored_entries("notes"), 1u);
  EXPECT_EQ(stored_entries("public/faq"), 0u);
  EXPECT_EQ(hub_->close_request(ana), nullptr);
}

}  // namespace
}  // namespace tandem::server::testing
