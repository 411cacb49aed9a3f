// cluster_test.cpp — two hubs as two instances (engine/cluster.h, docs/SCALING.md): the room's
// owner runs it, the other instance forwards its client's messages there and queues what comes
// back on the client's socket. Ana is on instance a, Ben on instance b; they share workflow:1
// (owned by a, where it was first used): subscribe, presence both ways, chat, a lock denied
// naming its holder, and Ben leaving. The hubs run in one process, joined by an in-process link
// and directory (the Redis engine's are tested against a real Redis).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/cluster.h"
#include "engine/cluster_message.h"
#include "fakes.h"
#include "http_answer.h"
#include "hub.h"
#include "store/sqlite_store.h"
#include "ydocs/ydocs.h"
#include "yjs_updates.h"
#include "yjs/lib0.h"
#include "yjs/messages.h"

namespace tandem::server {
namespace {

constexpr UnixMillis kWall = 1700000000000;

// Every instance's inbox, who owns which room (the first instance to ask), which instances
// are dead (their rooms free), and the gaps each instance's inbox had.
struct Network {
  std::map<std::string, std::deque<std::string>> inboxes;
  std::map<std::string, std::string> owners;
  std::set<std::string> dead;
  std::map<std::string, std::uint64_t> gaps;
  std::set<std::string> away;  // instances whose inbox has no listener: messages to them are lost
  std::map<std::string, std::string> reports;  // the last heartbeat report of each instance
  std::set<std::string> instances;             // every link made (broadcasts reach them all)
};

class InProcessLink final : public ClusterLink {
 public:
  InProcessLink(Network& network, std::string instance) : network_(network), instance_(std::move(instance)) {
    network_.instances.insert(instance_);
  }
  const std::string& instance() const override { return instance_; }
  void send(const std::string& to, std::string message) override { queued_.emplace_back(to, std::move(message)); }
  void broadcast(std::string message) override {
    for (const std::string& to : network_.instances) queued_.emplace_back(to, message);
  }
  void flush() override {
    for (auto& [to, message] : queued_) {
      if (!network_.away.contains(to))
        network_.inboxes[to].push_back(std::move(message));
      else if (std::find(unreached_.begin(), unreached_.end(), to) == unreached_.end())
        unreached_.push_back(to);
    }
    queued_.clear();
  }
  std::uint64_t gaps() const override { return network_.gaps[instance_]; }
  std::vector<std::string> unreached() override { return std::exchange(unreached_, {}); }
  std::vector<std::string> receive() override {
    auto& inbox = network_.inboxes[instance_];
    std::vector<std::string> out(std::make_move_iterator(inbox.begin()), std::make_move_iterator(inbox.end()));
    inbox.clear();
    return out;
  }

 private:
  Network& network_;
  std::string instance_;
  std::vector<std::pair<std::string, std::string>> queued_;
  std::vector<std::string> unreached_;
};

class InProcessDirectory final : public RoomDirectory {
 public:
  InProcessDirectory(Network& network, std::string instance) : network_(network), instance_(std::move(instance)) {}
  const std::string& instance() const override { return instance_; }
  Result<std::vector<std::string>> acquire(const std::vector<std::string>& rooms) override {
    std::vector<std::string> owners;
    for (const std::string& room : rooms) {
      auto [owner, fresh] = network_.owners.try_emplace(room, instance_);
      if (network_.dead.contains(owner->second)) owner->second = instance_;
      owners.push_back(owner->second);
    }
    return owners;
  }
  Result<Heartbeat> heartbeat(const std::vector<std::string>& peers, const std::string& report) override {
    network_.reports[instance_] = report;
    Heartbeat beat;
    for (const auto& [instance, said] : network_.reports)
      if (instance != instance_ && !network_.dead.contains(instance)) beat.reports.push_back(said);
    for (const std::string& peer : peers)
      if (network_.dead.contains(peer)) beat.dead.push_back(peer);
    return beat;
  }
  Result<std::vector<std::string>> renew(const std::vector<std::string>& rooms) override {
    std::vector<std::string> lost;
    for (const std::string& room : rooms)
      if (network_.owners[room] != instance_) lost.push_back(room);
    return lost;
  }
  void release(const std::vector<std::string>& rooms) override {
    for (const std::string& room : rooms)
      if (network_.owners[room] == instance_) network_.owners.erase(room);
  }

 private:
  Network& network_;
  std::string instance_;
};

// One instance: a hub with its edge, link and directory.
struct Instance {
  Instance(Network& network, const std::string& name, const Settings& settings, store::Store* store = nullptr)
      : link(network, name), directory(network, name), hub(settings, ids, edge, nullptr, store) {
    hub.attach_cluster(directory, link);
    hub.set_publish_runner([this](std::string_view body, Now now, Hub::PublishAnswer answer) {
      publish(hub, body, now, [answer](HttpResponse response) { answer(response.status, response.body); }, true);
    });
  }
  testing::FakeEdge edge;
  testing::CountingIds ids;
  InProcessLink link;
  InProcessDirectory directory;
  Hub hub;
};

class cluster_test : public ::testing::Test {
 protected:
  cluster_test() {
    settings_.jwt_secret = std::string(testing::kSecret);
    a_ = std::make_unique<Instance>(network_, "a", settings_);
    b_ = std::make_unique<Instance>(network_, "b", settings_);
  }
  Now now() const { return Now{Millis(1000 + step_ * 10), kWall + step_ * 10}; }
  // Loop passes on both instances until no message is in flight between them.
  void settle() {
    for (int round = 0; round < 10; ++round) {
      ++step_;
      for (Instance* i : {a_.get(), b_.get()}) {
        if (i == nullptr) continue;  // a dead instance
        i->hub.tick(now());
        i->hub.commit();
      }
      bool in_flight = false;
      for (const auto& [name, inbox] : network_.inboxes) in_flight = in_flight || !inbox.empty();
      if (!in_flight) return;
    }
    FAIL() << "messages still in flight after 10 rounds";
  }
  ConnectionId connect(Instance& on, const std::string& sub) {
    OpenRequest request;
    request.token = testing::token_for(sub, kWall / 1000 + 3600);
    const ConnectionId id = on.hub.open(request, now());
    settle();
    testing::drain_frames(on.hub, id);
    return id;
  }
  template <class M>
  static std::vector<M> all(const std::vector<protocol::ServerFrame>& frames) {
    return testing::messages_of<M>(frames);
  }
  static std::vector<std::string> users_of(const std::vector<protocol::PresenceMember>& members) {
    std::vector<std::string> users;
    for (const auto& m : members) users.push_back(m.user.id);
    std::sort(users.begin(), users.end());
    return users;
  }
  void send(Instance& on, ConnectionId id, const std::string& text) {
    on.hub.receive(id, text, now());
    settle();
  }

  // Both instances on one SQLite file, as instances share one PostgreSQL (the writer claims
  // work the same): a_ and b_ are made again on it.
  void share_a_store() {
    store_path_ = (std::filesystem::temp_directory_path() /
                   ("tandem-cluster-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db"))
                      .string();
    remove_store_files();
    auto open_store = [&] {
      store::SqliteOptions options;
      options.path = store_path_;
      return std::move(store::SqliteStore::open(options)).value();
    };
    a_.reset();
    b_.reset();
    store_a_ = open_store();
    store_b_ = open_store();
    a_ = std::make_unique<Instance>(network_, "a", settings_, store_a_.get());
    b_ = std::make_unique<Instance>(network_, "b", settings_, store_b_.get());
  }
  void remove_store_files() {
    if (store_path_.empty()) return;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(store_path_ + suffix);
  }
  ~cluster_test() override {
    a_.reset();
    b_.reset();
    store_a_.reset();
    store_b_.reset();
    remove_store_files();
  }

  Settings settings_;
  Network network_;
  std::string store_path_;
  std::unique_ptr<store::Store> store_a_, store_b_;
  std::unique_ptr<Instance> a_;
  std::unique_ptr<Instance> b_;
  std::int64_t step_ = 0;
};

TEST_F(cluster_test, users_on_two_instances_share_a_room_run_by_its_owner) {
  const ConnectionId ana = connect(*a_, "ana");
  const ConnectionId ben = connect(*b_, "ben");

  send(*a_, ana, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  EXPECT_EQ(network_.owners["workflow:1"], "a") << "the first instance to use a room owns it";
  EXPECT_EQ(all<protocol::Subscribed>(testing::drain_frames(a_->hub, ana)).size(), 1u);

  // Ben, on b, joins the room a runs: his subscribe goes to a, the answers come back to him.
  send(*b_, ben, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  EXPECT_EQ(b_->hub.rooms().find("workflow:1"), nullptr) << "b does not run a room a owns";
  auto to_ben = testing::drain_frames(b_->hub, ben);
  ASSERT_EQ(all<protocol::Subscribed>(to_ben).size(), 1u);
  auto ben_sees = all<protocol::PresenceSnapshot>(to_ben);
  ASSERT_EQ(ben_sees.size(), 1u);
  EXPECT_EQ(users_of(ben_sees[0].members), (std::vector<std::string>{"ana", "ben"}));
  auto ana_sees = all<protocol::PresenceDiff>(testing::drain_frames(a_->hub, ana));
  ASSERT_EQ(ana_sees.size(), 1u);
  EXPECT_EQ(users_of(ana_sees[0].joins), (std::vector<std::string>{"ben"}));
  ASSERT_EQ(ana_sees[0].joins[0].metas.size(), 1u);
  EXPECT_EQ(ana_sees[0].joins[0].metas[0].connection, "c1-b") << "connection ids name their instance";

  // Chat from Ben reaches both, in the room's order, and Ben's ack comes back.
  send(*b_, ben, R"({"type":"chat","id":"m1","room":"workflow:1","text":"hello from b"})");
  auto ben_frames = testing::drain_frames(b_->hub, ben);
  ASSERT_EQ(all<protocol::ChatMessage>(ben_frames).size(), 1u);
  EXPECT_EQ(all<protocol::Ack>(ben_frames).size(), 1u);
  auto ana_chat = all<protocol::ChatMessage>(testing::drain_frames(a_->hub, ana));
  ASSERT_EQ(ana_chat.size(), 1u);
  EXPECT_EQ(ana_chat[0].text, "hello from b");
  EXPECT_EQ(ana_chat[0].user, "ben");

  // One lock table: Ana holds n1, Ben is denied and told it is Ana's.
  send(*a_, ana, R"({"type":"lock","id":"l","room":"workflow:1","resource":"node:n1"})");
  EXPECT_EQ(all<protocol::LockGranted>(testing::drain_frames(a_->hub, ana)).size(), 1u);
  send(*b_, ben, R"({"type":"lock","id":"l","room":"workflow:1","resource":"node:n1"})");
  auto denied = all<protocol::LockDenied>(testing::drain_frames(b_->hub, ben));
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0].holder.user, "ana");

  // Ben's socket closes on b: a hears it, and he leaves the room's presence.
  b_->hub.closed(ben);
  settle();
  auto left = all<protocol::PresenceDiff>(testing::drain_frames(a_->hub, ana));
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(users_of(left[0].leaves), (std::vector<std::string>{"ben"}));
}

// Ana (on a) and Ben (on b) share workflow:1, which a runs; Dan (on a) and Carl (on b) share
// workflow:2, which b runs.
TEST_F(cluster_test, an_instance_that_dies_is_cut_loose_its_members_leave_and_its_rooms_clients_reconnect) {
  const ConnectionId ana = connect(*a_, "ana");
  const ConnectionId dan = connect(*a_, "dan");
  const ConnectionId ben = connect(*b_, "ben");
  const ConnectionId carl = connect(*b_, "carl");
  send(*a_, ana, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  send(*b_, ben, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  send(*b_, carl, R"({"type":"subscribe","id":"s","room":"workflow:2"})");
  send(*a_, dan, R"({"type":"subscribe","id":"s","room":"workflow:2"})");
  ASSERT_EQ(network_.owners["workflow:2"], "b");
  testing::drain_frames(a_->hub, ana);

  // b dies (its heartbeat runs out): at a's next heartbeat Ben leaves workflow:1, and Dan —
  // whose room b ran — is closed 1012 to reconnect; Ana stays.
  network_.dead.insert("b");
  step_ += settings_.instance_ttl_ms / 10;  // past a heartbeat period
  a_->hub.tick(now());
  a_->hub.commit();
  auto left = all<protocol::PresenceDiff>(testing::drain_frames(a_->hub, ana));
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(users_of(left[0].leaves), (std::vector<std::string>{"ben"}));
  ASSERT_NE(a_->hub.close_request(dan), nullptr);
  EXPECT_EQ(a_->hub.close_request(dan)->code, 1012);
  EXPECT_EQ(a_->hub.close_request(ana), nullptr);

  // Dan reconnects: workflow:2 now belongs to whoever asks first among the living.
  a_->hub.closed(dan);
  const ConnectionId dan2 = connect(*a_, "dan");
  send(*a_, dan2, R"({"type":"subscribe","id":"s","room":"workflow:2"})");
  EXPECT_EQ(network_.owners["workflow:2"], "a");
  EXPECT_EQ(all<protocol::Subscribed>(testing::drain_frames(a_->hub, dan2)).size(), 1u);
}

TEST_F(cluster_test, a_room_another_instance_took_is_dropped_and_its_members_reconnect) {
  const ConnectionId ana = connect(*a_, "ana");
  const ConnectionId ben = connect(*b_, "ben");
  send(*a_, ana, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  send(*a_, ana, R"({"type":"subscribe","id":"s2","room":"workflow:2"})");
  send(*b_, ben, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  send(*a_, ana, R"({"type":"lock","id":"l","room":"workflow:1","resource":"node:n1"})");
  ASSERT_EQ(all<protocol::LockGranted>(testing::drain_frames(a_->hub, ana)).size(), 1u);

  // a was paused past its lease and b took workflow:1 meanwhile: a's next renewal finds out.
  network_.owners["workflow:1"] = "b";
  step_ += settings_.room_lease_ms / 10;  // past a renewal period
  settle();
  EXPECT_EQ(a_->hub.rooms().find("workflow:1"), nullptr) << "a forgot the room";
  EXPECT_FALSE(a_->hub.locks().has_locks_in("workflow:1")) << "and its locks (the new owner releases the stored ones)";
  EXPECT_NE(a_->hub.rooms().find("workflow:2"), nullptr) << "a keeps what is still its own";
  ASSERT_NE(a_->hub.close_request(ana), nullptr);
  EXPECT_EQ(a_->hub.close_request(ana)->code, 1012);
  ASSERT_NE(b_->hub.close_request(ben), nullptr) << "Ben, a's remote member there, is told to reconnect too";
  EXPECT_EQ(b_->hub.close_request(ben)->code, 1012);
  EXPECT_EQ(network_.owners["workflow:1"], "b") << "a did not give up b's lease";
}

// Both instances on one store (SQLite here; PostgreSQL in production): a paused owner whose
// room another instance has loaded meanwhile is refused by the store, drops the room and the
// unstored batch, and its members recover from the new owner — nothing unstored acknowledged.
TEST_F(cluster_test, an_owner_whose_commit_the_store_refuses_drops_the_rooms_of_the_batch_and_acks_nothing) {
  share_a_store();
  const ConnectionId ana = connect(*a_, "ana");
  const ConnectionId carl = connect(*b_, "carl");
  send(*a_, ana, R"({"type":"subscribe","id":"s","room":"workflow:3"})");
  send(*a_, ana, R"({"type":"chat","id":"m1","room":"workflow:3","text":"stored"})");
  ASSERT_EQ(all<protocol::Ack>(testing::drain_frames(a_->hub, ana)).size(), 1u);

  // a is paused; its lease runs out and b takes the room, loading (claiming) it.
  network_.owners["workflow:3"] = "b";
  send(*b_, carl, R"({"type":"subscribe","id":"s","room":"workflow:3"})");
  ASSERT_NE(b_->hub.rooms().find("workflow:3"), nullptr);
  // a wakes up and goes on: its commit is refused; nothing of it is acknowledged.
  a_->hub.receive(ana, R"({"type":"chat","id":"m2","room":"workflow:3","text":"lost"})", now());
  a_->hub.commit();
  auto to_ana = testing::drain_frames(a_->hub, ana);
  EXPECT_TRUE(all<protocol::Ack>(to_ana).empty());
  ASSERT_NE(a_->hub.close_request(ana), nullptr);
  EXPECT_EQ(a_->hub.close_request(ana)->code, 1012);
  EXPECT_EQ(a_->hub.rooms().find("workflow:3"), nullptr);
  EXPECT_FALSE(a_->hub.store_failed()) << "one lost room does not stop the instance";

  // Ana comes back on b and resends m2: applied once, after the stored m1.
  const ConnectionId ana2 = connect(*b_, "ana");
  send(*b_, ana2, R"({"type":"subscribe","id":"s","room":"workflow:3"})");
  send(*b_, ana2, R"({"type":"chat","id":"m2","room":"workflow:3","text":"lost"})");
  auto history = store_b_->load_room("workflow:3");
  ASSERT_TRUE(history.ok());
  std::vector<std::string> texts;
  for (const auto& entry : history->chat) texts.push_back(entry.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"stored", "lost"}));
}

// ---- Yjs documents: owned like rooms ("doc:{doc}"), forwarded like rooms -------------------

std::string yjs_update_of(int client) { return testing::yjs_update_of({client}); }

class yjs_cluster_test : public cluster_test {
 protected:
  // A y-websocket connection to document "notes" on `on`.
  ConnectionId open_notes(Instance& on, const std::string& sub) {
    jwt::Claims claims;
    claims.sub = sub;
    claims.rooms = {"doc:*"};
    claims.exp = kWall / 1000 + 3600;
    OpenRequest request;
    request.token = jwt::mint(claims, testing::kSecret);
    request.wire = Wire::YWebsocket;
    request.ydoc = "notes";
    const ConnectionId id = on.hub.open(request, now());
    settle();
    return id;
  }
  // A Tandem (/ws) connection on `on` allowed every document and workflow room, its `connected`
  // drained.
  ConnectionId open_tandem(Instance& on, const std::string& sub) {
    jwt::Claims claims;
    claims.sub = sub;
    claims.rooms = {"doc:*", "workflow:*"};
    claims.exp = kWall / 1000 + 3600;
    OpenRequest request;
    request.token = jwt::mint(claims, testing::kSecret);
    const ConnectionId id = on.hub.open(request, now());
    settle();
    drain_all(on, id);
    return id;
  }
  // Every binary message queued for `id` on `on`.
  static std::vector<std::string> drain(Instance& on, ConnectionId id) {
    std::vector<std::string> out;
    MessageKind kind = MessageKind::Text;
    while (Bytes frame = on.hub.next_frame(id, kind)) {
      EXPECT_EQ(kind, MessageKind::Binary);
      out.push_back(*frame);
    }
    return out;
  }
  // Every message queued for `id` on `on`, whatever its kind.
  static void drain_all(Instance& on, ConnectionId id) {
    MessageKind kind = MessageKind::Text;
    while (on.hub.next_frame(id, kind)) {
    }
  }
  static std::size_t connections_to_notes(Instance& on) {
    for (const YDocSummary& doc : on.hub.ydocs().summaries())
      if (doc.doc == "notes") return doc.connections;
    return 0;
  }
  const std::string empty_step1_ = yjs::ywebsocket::encode_sync_step1(std::string_view("\0", 1));
  const std::string empty_step2_ = yjs::ywebsocket::encode_sync_step2(std::string_view("\0\0", 2));
};

TEST_F(yjs_cluster_test, a_document_runs_on_its_owner_and_a_client_elsewhere_is_forwarded_to_it) {
  share_a_store();
  const ConnectionId ana = open_notes(*a_, "ana");
  send(*a_, ana, yjs::ywebsocket::encode_sync_update(yjs_update_of(1)));
  EXPECT_EQ(network_.owners.at("doc:notes"), "a") << "the first instance to use a document owns it";

  // Ben, on b: his messages go to a, a's answers come back to him as binary messages.
  const ConnectionId ben = open_notes(*b_, "ben");
  send(*b_, ben, empty_step1_);
  EXPECT_EQ(drain(*b_, ben), (std::vector<std::string>{yjs::ywebsocket::encode_sync_update(yjs_update_of(1)),
                                                       empty_step2_, empty_step1_}));
  EXPECT_FALSE(b_->hub.ydocs().live("notes")) << "b does not run a document a owns";
  EXPECT_EQ(connections_to_notes(*a_), 2u);
  drain(*a_, ana);

  // His update is stored by a and relayed to Ana.
  send(*b_, ben, yjs::ywebsocket::encode_sync_update(yjs_update_of(2)));
  EXPECT_EQ(drain(*a_, ana), std::vector<std::string>{yjs::ywebsocket::encode_sync_update(yjs_update_of(2))});
  EXPECT_EQ(store_a_->load_ydoc("notes")->updates.size(), 2u);

  // His awareness reaches Ana; when his socket closes on b, a removes it at Ana.
  send(*b_, ben, yjs::ywebsocket::encode_awareness(std::vector<yjs::AwarenessEntry>{{77, 1, R"({"user":{"name":"ben"}})"}}));
  EXPECT_EQ(drain(*a_, ana).size(), 1u);
  b_->hub.closed(ben);
  settle();
  EXPECT_EQ(connections_to_notes(*a_), 1u);
  EXPECT_EQ(drain(*a_, ana), std::vector<std::string>{yjs::ywebsocket::encode_awareness(std::vector<yjs::AwarenessEntry>{{77, 2, "null"}})});
}

// Yjs over a Tandem connection (binary messages in Hocuspocus framing on /ws) is forwarded too,
// its kind kept both ways.
TEST_F(yjs_cluster_test, yjs_over_a_tandem_connection_elsewhere_is_forwarded_as_binary) {
  const ConnectionId ana = open_notes(*a_, "ana");
  send(*a_, ana, yjs::ywebsocket::encode_sync_update(yjs_update_of(1)));
  const ConnectionId ben = open_tandem(*b_, "ben");

  // The provider's auth message, no token: the connection's decides.
  b_->hub.receive(ben, testing::hocuspocus_auth("notes", ""), now(), MessageKind::Binary);
  b_->hub.receive(ben, yjs::hocuspocus::encode_sync_step1("notes", std::string_view("\0", 1)), now(), MessageKind::Binary);
  settle();
  const std::vector<std::string> got = drain(*b_, ben);
  EXPECT_EQ(got, (std::vector<std::string>{yjs::hocuspocus::encode_authenticated("notes", yjs::hocuspocus::Scope::ReadWrite),
                                           yjs::hocuspocus::encode_sync_update("notes", yjs_update_of(1)),
                                           yjs::hocuspocus::encode_sync_step2("notes", std::string_view("\0\0", 2)),
                                           yjs::hocuspocus::encode_sync_step1("notes", std::string_view("\0", 1))}));
  EXPECT_FALSE(b_->hub.ydocs().live("notes"));

  // Its JSON goes on beside it: a text message still answers as text.
  send(*b_, ben, R"({"type":"ping","id":"p"})");
  MessageKind kind = MessageKind::Binary;
  ASSERT_NE(b_->hub.next_frame(ben, kind), nullptr);
  EXPECT_EQ(kind, MessageKind::Text);
}

// A message forwarded to the owner the edge knew, arriving after that instance let the document
// go and another took it: the owner does not run it without its lease; the client reconnects.
TEST_F(yjs_cluster_test, a_message_for_a_document_its_instance_let_go_is_refused_there) {
  const ConnectionId ana = open_notes(*a_, "ana");
  send(*a_, ana, empty_step1_);
  ASSERT_EQ(network_.owners.at("doc:notes"), "a");
  const ConnectionId ben = open_tandem(*b_, "ben");
  // Ben's auth goes out from b towards a...
  b_->hub.receive(ben, testing::hocuspocus_auth("notes", ""), now(), MessageKind::Binary);
  b_->hub.commit();
  b_->hub.commit();
  std::deque<std::string> in_flight = std::exchange(network_.inboxes["a"], {});
  ASSERT_FALSE(in_flight.empty());
  // ...while a lets the document go (Ana leaves) and b... another instance takes it.
  a_->hub.closed(ana);
  a_->hub.ydocs().forget_idle();  // as after its next commit
  ASSERT_FALSE(a_->hub.ydocs().live("notes"));
  step_ += settings_.room_lease_ms / 10;
  settle();  // the lease given up (released at the next renewal)
  EXPECT_EQ(network_.owners.count("doc:notes"), 0u);
  network_.owners["doc:notes"] = "c";
  network_.inboxes["a"] = std::move(in_flight);
  settle();
  EXPECT_FALSE(a_->hub.ydocs().live("notes")) << "a did not load a document it no longer owns";
  ASSERT_NE(b_->hub.close_request(ben), nullptr);
  EXPECT_EQ(b_->hub.close_request(ben)->code, 1012);
}

// A lease taken for a connection that went away (or never sent a message) is not kept.
TEST_F(yjs_cluster_test, a_document_taken_for_nobody_is_given_up) {
  const ConnectionId ana = open_notes(*a_, "ana");  // says nothing
  step_ += settings_.room_lease_ms / 10;
  settle();
  EXPECT_EQ(network_.owners.count("doc:notes"), 0u) << "no lease renewed for nothing";
  send(*a_, ana, empty_step1_);  // her first message takes it again
  EXPECT_EQ(network_.owners.at("doc:notes"), "a");
  EXPECT_TRUE(a_->hub.ydocs().live("notes"));
}

// A paused owner whose document another instance has loaded (claimed) since: its commit is
// refused, the update is neither stored nor relayed, and its connections reconnect (1012).
TEST_F(yjs_cluster_test, an_owner_that_lost_a_document_to_another_instance_stores_nothing_and_reconnects_its_clients) {
  share_a_store();
  const ConnectionId ana = open_notes(*a_, "ana");
  send(*a_, ana, yjs::ywebsocket::encode_sync_update(yjs_update_of(1)));
  ASSERT_EQ(store_a_->load_ydoc("notes")->updates.size(), 1u);

  network_.owners["doc:notes"] = "b";  // a's lease ran out while it was paused
  const ConnectionId carl = open_notes(*b_, "carl");
  send(*b_, carl, empty_step1_);
  ASSERT_TRUE(b_->hub.ydocs().live("notes")) << "b took the document over";

  a_->hub.receive(ana, yjs::ywebsocket::encode_sync_update(yjs_update_of(2)), now());
  a_->hub.commit();
  ASSERT_NE(a_->hub.close_request(ana), nullptr);
  EXPECT_EQ(a_->hub.close_request(ana)->code, 1012);
  EXPECT_FALSE(a_->hub.ydocs().live("notes"));
  EXPECT_FALSE(a_->hub.store_failed()) << "one lost document does not stop the instance";
  EXPECT_EQ(store_b_->load_ydoc("notes")->updates.size(), 1u) << "the stale owner's update was not stored";
}

// The lease alone (no commit yet): renewing finds another instance holds it.
TEST_F(yjs_cluster_test, an_owner_whose_lease_is_gone_closes_the_documents_connections) {
  const ConnectionId ana = open_notes(*a_, "ana");
  send(*a_, ana, empty_step1_);
  ASSERT_TRUE(a_->hub.ydocs().live("notes"));
  network_.owners["doc:notes"] = "b";
  for (int i = 0; i < 2 && a_->hub.close_request(ana) == nullptr; ++i) {
    step_ += settings_.room_lease_ms / 10;  // past the renewal interval (lease / 3)
    settle();
  }
  ASSERT_NE(a_->hub.close_request(ana), nullptr);
  EXPECT_EQ(a_->hub.close_request(ana)->code, 1012);
  EXPECT_FALSE(a_->hub.ydocs().live("notes"));

  // Ana reconnects to a: a no longer takes the document for its own, it forwards her to b.
  const ConnectionId ana2 = open_notes(*a_, "ana");
  send(*a_, ana2, empty_step1_);
  EXPECT_FALSE(a_->hub.ydocs().live("notes"));
  EXPECT_TRUE(b_->hub.ydocs().live("notes"));
  EXPECT_EQ(drain(*a_, ana2).back(), empty_step1_) << "b's answer reached her through a";
}

// A session another instance created, presented to one that never saw it, whose user room
// nobody runs (its instance died): the session, the room's owner (this instance) and the room are read together,
// and the client is in.
TEST_F(cluster_test, a_session_from_another_instance_resumes_where_its_user_room_is_free) {
  share_a_store();
  OpenRequest first;
  first.token = testing::token_for("ana", kWall / 1000 + 3600);
  const ConnectionId ana = a_->hub.open(first, now());
  settle();
  auto connected = all<protocol::Connected>(testing::drain_frames(a_->hub, ana));
  ASSERT_EQ(connected.size(), 1u);
  // a dies: its leases (user:ana's among them) are free for the living.
  a_.reset();
  network_.dead.insert("a");
  network_.inboxes.erase("a");
  network_.instances.erase("a");  // nothing reaches it any more

  OpenRequest again = first;
  again.session = connected[0].session;
  const ConnectionId back = b_->hub.open(again, now());
  settle();
  auto resumed = all<protocol::Connected>(testing::drain_frames(b_->hub, back));
  ASSERT_EQ(resumed.size(), 1u) << "authenticated within a few passes";
  EXPECT_TRUE(resumed[0].resumed);
  EXPECT_EQ(resumed[0].session, connected[0].session);
  EXPECT_EQ(network_.owners["user:ana"], "b");
}

TEST_F(cluster_test, max_rooms_counts_the_rooms_a_connection_uses_on_every_instance) {
  settings_.max_rooms = 2;
  a_ = std::make_unique<Instance>(network_, "a", settings_);
  b_ = std::make_unique<Instance>(network_, "b", settings_);
  const ConnectionId ana = connect(*a_, "ana");
  const ConnectionId ben = connect(*b_, "ben");
  send(*a_, ana, R"({"type":"subscribe","id":"s1","room":"workflow:1"})");  // a runs it
  send(*b_, ben, R"({"type":"subscribe","id":"s1","room":"workflow:1"})");  // through a
  send(*b_, ben, R"({"type":"subscribe","id":"s2","room":"workflow:2"})");  // b runs it
  EXPECT_EQ(all<protocol::Subscribed>(testing::drain_frames(b_->hub, ben)).size(), 2u);
  for (const char* room : {"workflow:3", "workflow:1x"}) {  // one free, one a runs
    if (std::string(room) == "workflow:1x") send(*a_, ana, R"({"type":"subscribe","id":"s3","room":"workflow:1x"})");
    send(*b_, ben, std::string(R"({"type":"subscribe","id":"s3","room":")") + room + R"("})");
    auto errors = all<protocol::ErrorReply>(testing::drain_frames(b_->hub, ben));
    ASSERT_EQ(errors.size(), 1u) << room;
    EXPECT_EQ(errors[0].code, protocol::errc::limit_exceeded) << room;
  }
}

// A client whose connection on a went half-open resumes its session on b: a's connection of
// it is closed 4409, and Ana's lock (in a room a runs) comes back to her new connection.
TEST_F(cluster_test, a_session_resumed_on_another_instance_closes_its_old_connection_and_keeps_its_locks) {
  share_a_store();
  OpenRequest first;
  first.token = testing::token_for("ana", kWall / 1000 + 3600);
  const ConnectionId old_ana = a_->hub.open(first, now());
  settle();
  auto connected = all<protocol::Connected>(testing::drain_frames(a_->hub, old_ana));
  ASSERT_EQ(connected.size(), 1u);
  send(*a_, old_ana, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  send(*a_, old_ana, R"({"type":"lock","id":"l","room":"workflow:1","resource":"node:n1"})");
  auto granted = all<protocol::LockGranted>(testing::drain_frames(a_->hub, old_ana));
  ASSERT_EQ(granted.size(), 1u);

  OpenRequest again = first;
  again.session = connected[0].session;
  const ConnectionId new_ana = b_->hub.open(again, now());
  settle();
  auto resumed = all<protocol::Connected>(testing::drain_frames(b_->hub, new_ana));
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_TRUE(resumed[0].resumed);
  ASSERT_NE(a_->hub.close_request(old_ana), nullptr);
  EXPECT_EQ(a_->hub.close_request(old_ana)->code, 4409);
  a_->hub.closed(old_ana);
  settle();

  // Back in the room through b: her lock is hers again, with the same fence.
  send(*b_, new_ana, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  send(*b_, new_ana, R"({"type":"lock","id":"l2","room":"workflow:1","resource":"node:n1"})");
  auto regranted = all<protocol::LockGranted>(testing::drain_frames(b_->hub, new_ana));
  ASSERT_EQ(regranted.size(), 1u);
  EXPECT_EQ(regranted[0].fence, granted[0].fence);
}

// Found by the e2e test: a subscribe parked behind another (its owner not known yet) must not
// load the room — a load claims it in the store and would take it from its owner.
TEST_F(cluster_test, a_subscribe_waiting_behind_another_never_claims_a_room_another_instance_runs) {
  share_a_store();
  const ConnectionId ana = connect(*a_, "ana");
  const ConnectionId ben = connect(*b_, "ben");
  send(*a_, ana, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  b_->hub.receive(ben, R"({"type":"subscribe","id":"s1","room":"workflow:2"})", now());
  b_->hub.receive(ben, R"({"type":"subscribe","id":"s2","room":"workflow:1"})", now());
  settle();
  EXPECT_EQ(all<protocol::Subscribed>(testing::drain_frames(b_->hub, ben)).size(), 2u);
  EXPECT_EQ(b_->hub.rooms().find("workflow:1"), nullptr);
  testing::drain_frames(a_->hub, ana);
  send(*a_, ana, R"({"type":"chat","id":"m","room":"workflow:1","text":"still mine"})");
  EXPECT_EQ(all<protocol::Ack>(testing::drain_frames(a_->hub, ana)).size(), 1u);
  EXPECT_EQ(a_->hub.close_request(ana), nullptr) << "a kept its room";
}

TEST_F(cluster_test, messages_lost_between_instances_reconnect_every_client_they_concern) {
  const ConnectionId ana = connect(*a_, "ana");
  const ConnectionId dan = connect(*a_, "dan");
  const ConnectionId solo = connect(*a_, "solo");
  const ConnectionId ben = connect(*b_, "ben");
  send(*a_, ana, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  send(*a_, solo, R"({"type":"subscribe","id":"s","room":"workflow:3"})");
  send(*b_, ben, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  send(*b_, ben, R"({"type":"subscribe","id":"s","room":"workflow:2"})");
  send(*a_, dan, R"({"type":"subscribe","id":"s","room":"workflow:2"})");

  // a's inbox had a gap: what Ben sent to workflow:1 and what b sent Dan may be lost. Both
  // reconnect (Ben told through b); Ana and Solo, who dealt with a alone, stay.
  ++network_.gaps["a"];
  settle();
  ASSERT_NE(a_->hub.close_request(dan), nullptr);
  EXPECT_EQ(a_->hub.close_request(dan)->code, 1012);
  ASSERT_NE(b_->hub.close_request(ben), nullptr);
  EXPECT_EQ(b_->hub.close_request(ben)->code, 1012);
  EXPECT_EQ(a_->hub.close_request(ana), nullptr);
  EXPECT_EQ(a_->hub.close_request(solo), nullptr);
  auto left = all<protocol::PresenceDiff>(testing::drain_frames(a_->hub, ana));
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(users_of(left.back().leaves), (std::vector<std::string>{"ben"}));
}

TEST_F(cluster_test, a_subscribe_sent_while_the_owners_inbox_is_away_reconnects_its_client) {
  const ConnectionId ben = connect(*b_, "ben");
  send(*b_, ben, R"({"type":"subscribe","id":"s","room":"workflow:1"})");  // b runs it
  const ConnectionId ana = connect(*a_, "ana");
  // b's subscriber is reconnecting (Redis restarted): Ana's attach and subscribe reach nobody.
  // a learns it from the link and closes Ana 1012; she subscribes again once reconnected.
  network_.away.insert("b");
  send(*a_, ana, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  network_.away.clear();
  ASSERT_NE(a_->hub.close_request(ana), nullptr) << "a silent hole: Ana is never answered";
  EXPECT_EQ(a_->hub.close_request(ana)->code, 1012);
  EXPECT_EQ(b_->hub.close_request(ben), nullptr) << "Ben, who talked to b alone, stays";
}

TEST_F(cluster_test, a_frame_from_a_connection_the_owner_never_saw_attach_closes_it_1012) {
  const ConnectionId ben = connect(*b_, "ben");
  send(*b_, ben, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  const ConnectionId ana = connect(*a_, "ana");
  // Ana's frames for b's room come without their attach (lost where neither side could see).
  a_->link.send("b", cluster::encode(cluster::Frame{"a", ana, R"({"type":"subscribe","id":"s","room":"workflow:1"})", false}));
  settle();
  ASSERT_NE(a_->hub.close_request(ana), nullptr);
  EXPECT_EQ(a_->hub.close_request(ana)->code, 1012);
  EXPECT_EQ(b_->hub.rooms().find("workflow:1")->members.size(), 1u) << "only Ben is a member";
}

TEST_F(cluster_test, a_broadcast_to_members_on_another_instance_crosses_once_per_pass) {
  const ConnectionId ana = connect(*a_, "ana");
  std::vector<ConnectionId> on_b;
  for (int i = 0; i < 5; ++i) on_b.push_back(connect(*b_, "user" + std::to_string(i)));
  send(*a_, ana, R"({"type":"subscribe","id":"s","room":"chat:lobby"})");
  for (ConnectionId c : on_b) send(*b_, c, R"({"type":"subscribe","id":"s","room":"chat:lobby"})");
  for (ConnectionId c : on_b) testing::drain_frames(b_->hub, c);
  testing::drain_frames(a_->hub, ana);

  a_->hub.receive(ana, R"({"type":"chat","id":"m","room":"chat:lobby","text":"to everyone"})", now());
  a_->hub.commit();
  // One message to b carries the chat event once for its five members.
  ASSERT_EQ(network_.inboxes["b"].size(), 1u);
  const std::string& deliver = network_.inboxes["b"].front();
  std::size_t copies = 0;
  for (auto at = deliver.find("to everyone"); at != std::string::npos; at = deliver.find("to everyone", at + 1)) ++copies;
  EXPECT_EQ(copies, 1u);
  settle();
  for (ConnectionId c : on_b) EXPECT_EQ(all<protocol::ChatMessage>(testing::drain_frames(b_->hub, c)).size(), 1u);
}

// Broadcast (PROTOCOL.md §12a) is handled by the room's owner like any room message: from Ben on
// b it reaches Ana on a and Cleo on b, naming Ben's connection on b; Ben's ack comes back to b;
// nothing is stored or stamped (the owner's room keeps its seq); b never runs the room.
TEST_F(cluster_test, a_broadcast_from_a_member_on_b_reaches_the_members_on_a_and_b) {
  const ConnectionId ana = connect(*a_, "ana");
  const ConnectionId ben = connect(*b_, "ben");
  const ConnectionId cleo = connect(*b_, "cleo");
  send(*a_, ana, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  send(*b_, ben, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  send(*b_, cleo, R"({"type":"subscribe","id":"s","room":"workflow:1"})");
  ASSERT_EQ(network_.owners["workflow:1"], "a");
  testing::drain_frames(a_->hub, ana);
  testing::drain_frames(b_->hub, ben);
  testing::drain_frames(b_->hub, cleo);

  send(*b_, ben, R"({"type":"broadcast","id":"b1","room":"workflow:1","event":"dragging","data":{"node":"n1"}})");
  const protocol::BroadcastMessage expected{"workflow:1", "dragging", R"({"node":"n1"})", "ben", "Ana", "#112233", "c1-b"};
  auto to_ana = all<protocol::BroadcastMessage>(testing::drain_frames(a_->hub, ana));
  ASSERT_EQ(to_ana.size(), 1u);
  EXPECT_EQ(to_ana[0], expected) << "token_for names every user Ana";
  auto to_cleo = all<protocol::BroadcastMessage>(testing::drain_frames(b_->hub, cleo));
  ASSERT_EQ(to_cleo.size(), 1u);
  EXPECT_EQ(to_cleo[0], expected);
  auto to_ben = testing::drain_frames(b_->hub, ben);
  ASSERT_EQ(to_ben.size(), 1u) << "the sender gets its ack only";
  ASSERT_TRUE(std::holds_alternative<protocol::Ack>(to_ben[0].message));
  EXPECT_EQ(to_ben[0].id, "b1");

  send(*b_, ben, R"({"type":"broadcast","id":"b2","room":"workflow:1","event":"wave","self":true})");
  to_ben = testing::drain_frames(b_->hub, ben);
  ASSERT_EQ(to_ben.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<protocol::BroadcastMessage>(to_ben[0].message));
  EXPECT_TRUE(std::holds_alternative<protocol::Ack>(to_ben[1].message));
  EXPECT_EQ(all<protocol::BroadcastMessage>(testing::drain_frames(a_->hub, ana)).size(), 1u);
  EXPECT_EQ(all<protocol::BroadcastMessage>(testing::drain_frames(b_->hub, cleo)).size(), 1u);

  EXPECT_EQ(b_->hub.rooms().find("workflow:1"), nullptr) << "b does not run a room a owns";
  ASSERT_NE(a_->hub.rooms().find("workflow:1"), nullptr);
  EXPECT_EQ(a_->hub.rooms().find("workflow:1")->seq, 0) << "no seq taken";
}

TEST_F(cluster_test, a_room_its_owner_forgets_is_given_up_and_the_next_user_elsewhere_takes_it) {
  const ConnectionId ana = connect(*a_, "ana");
  const ConnectionId ben = connect(*b_, "ben");
  send(*a_, ana, R"({"type":"subscribe","id":"s","room":"workflow:9"})");
  ASSERT_EQ(network_.owners["workflow:9"], "a");
  send(*a_, ana, R"({"type":"unsubscribe","id":"u","room":"workflow:9"})");  // empty now: forgotten, given up
  EXPECT_EQ(network_.owners.count("workflow:9"), 0u);

  send(*b_, ben, R"({"type":"subscribe","id":"s","room":"workflow:9"})");
  EXPECT_EQ(network_.owners["workflow:9"], "b");
  EXPECT_NE(b_->hub.rooms().find("workflow:9"), nullptr) << "b runs it now";
  EXPECT_EQ(all<protocol::Subscribed>(testing::drain_frames(b_->hub, ben)).size(), 1u);
}

TEST_F(cluster_test, a_users_tabs_on_two_instances_share_one_user_room_run_by_its_owner) {
  connect(*a_, "ana");
  EXPECT_EQ(network_.owners["user:ana"], "a");
  connect(*b_, "ana");  // her second tab lands on b
  EXPECT_EQ(b_->hub.rooms().find("user:ana"), nullptr) << "b does not run a's room";
  ASSERT_NE(a_->hub.rooms().find("user:ana"), nullptr);
  EXPECT_EQ(a_->hub.rooms().find("user:ana")->members.size(), 2u) << "both tabs are in it, on a";
}

TEST_F(cluster_test, publish_runs_on_the_rooms_owner_wherever_it_arrives_and_never_takes_a_room_from_it) {
  const ConnectionId ana = connect(*a_, "ana");
  const ConnectionId ben = connect(*b_, "ben");
  send(*a_, ana, R"({"type":"subscribe","id":"s","room":"workflow:5"})");
  send(*b_, ben, R"({"type":"subscribe","id":"s","room":"workflow:5"})");
  testing::drain_frames(a_->hub, ana);
  testing::drain_frames(b_->hub, ben);

  // Published on b, run by a (the owner), answered by b with a's answer.
  const std::string event = R"({"type":"execution_update","room":"workflow:5","execution":"r","status":"running"})";
  std::optional<HttpResponse> elsewhere;
  publish(b_->hub, event, now(), [&](HttpResponse response) { elsewhere = std::move(response); });
  settle();
  ASSERT_TRUE(elsewhere.has_value());
  EXPECT_EQ(elsewhere->status, 200) << elsewhere->body;
  EXPECT_NE(elsewhere->body.find(R"("seq":)"), std::string::npos) << elsewhere->body;
  EXPECT_EQ(b_->hub.rooms().find("workflow:5"), nullptr) << "b did not open a's room";
  EXPECT_EQ(network_.owners["workflow:5"], "a");
  EXPECT_EQ(all<protocol::ExecutionUpdate>(testing::drain_frames(a_->hub, ana)).size(), 1u);
  EXPECT_EQ(all<protocol::ExecutionUpdate>(testing::drain_frames(b_->hub, ben)).size(), 1u);

  const HttpResponse here = testing::publish_and_commit(a_->hub, event, now());
  EXPECT_EQ(here.status, 200) << here.body;
  const std::string free_room = R"({"type":"execution_update","room":"workflow:6","execution":"r","status":"running"})";
  EXPECT_EQ(testing::publish_and_commit(b_->hub, free_room, now()).status, 200);
  EXPECT_EQ(network_.owners["workflow:6"], "b") << "a room nobody ran is taken by the instance publishing to it";

  // A batch across instances is refused whole; a publish whose owner dies first is answered 503.
  const std::string across = "[" + event + "," + free_room + "]";
  std::optional<HttpResponse> mixed;
  publish(b_->hub, across, now(), [&](HttpResponse response) { mixed = std::move(response); });
  settle();
  ASSERT_TRUE(mixed.has_value());
  EXPECT_EQ(mixed->status, 409) << mixed->body;
  std::optional<HttpResponse> orphan;
  publish(b_->hub, event, now(), [&](HttpResponse response) { orphan = std::move(response); });
  b_->hub.commit();  // the owner learnt, the publish sent to a
  b_->hub.closed(ben);  // b no longer deals with a but for the publish
  ASSERT_FALSE(orphan.has_value());
  network_.inboxes["a"].clear();  // a dies with the message unread
  network_.dead.insert("a");
  step_ += settings_.instance_ttl_ms / 10;
  b_->hub.tick(now());
  ASSERT_TRUE(orphan.has_value());
  EXPECT_EQ(orphan->status, 503) << orphan->body;
}

TEST_F(cluster_test, only_a_subscribe_takes_a_free_rooms_lease) {
  const ConnectionId ben = connect(*b_, "ben");
  send(*b_, ben, R"({"type":"chat","id":"m","room":"workflow:77","text":"hi"})");
  auto errors = all<protocol::ErrorReply>(testing::drain_frames(b_->hub, ben));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, protocol::errc::not_subscribed);
  EXPECT_EQ(network_.owners.count("workflow:77"), 0u) << "a refused message took no lease";
}

TEST(cluster_message_test, every_kind_survives_a_round_trip) {
  const std::vector<cluster::Message> messages{
      cluster::Attach{"a", 7, {"c7-a", {"ana", "Ana", "#112233"}, {"workflow:*"}, {"chat:clear"}, "s1", {}, 0, {}}},
      cluster::Attach{"a", 8, {"c8-a", {"ana", "Ana", "#112233"}, {"doc:*"}, {}, {}, {"doc:handbook"}, 1, "notes/7"}},
      cluster::Frame{"a", 7, std::string("{\"type\":\"ping\"}\0x", 18), false},
      cluster::Frame{"a", 7, std::string("\0\0\1\0", 4), true},
      cluster::Join{"a", 7, "user:ana"},
      cluster::Detach{"a", 7},
      cluster::Deliver{"b", {"one", std::string("\0\1", 2)}, "tb", {{7, {0, 1}}, {8, {1}}}},
      cluster::Close{"b", 7, 1012, "restart"},
      cluster::Publish{"a", 3, R"({"type":"execution_update"})"},
      cluster::Answer{"b", 3, 409, R"({"error":"conflict"})"},
      cluster::SessionMoved{"a", "s1", "c9-a"},
      cluster::SsePost{"a", 4, "b.9f3c", "2", "ana", "{\"type\":\"ping\"}\n{}"},
  };
  for (const cluster::Message& message : messages) {
    auto decoded = cluster::decode(cluster::encode(message));
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(cluster::encode(decoded.value()), cluster::encode(message));
    EXPECT_EQ(decoded->index(), message.index());
  }
}

TEST(cluster_message_test, a_truncated_or_forged_message_is_refused) {
  cluster::Deliver deliver{"a", {"one", "two"}, "tt", {{7, {0, 1}}, {8, {1}}}};
  const std::string bytes = cluster::encode(deliver);
  ASSERT_TRUE(cluster::decode(bytes).ok());
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(cluster::decode(std::string_view(bytes).substr(0, cut)).ok()) << "cut at " << cut;
  EXPECT_FALSE(cluster::decode("v1:a1:12:xy1:t1:11:11:5").ok()) << "an index past the frames";
  EXPECT_TRUE(cluster::decode("v1:a1:12:xy1:t1:11:11:0").ok());
  EXPECT_FALSE(cluster::decode("v1:a1:12:xy1:x1:11:11:0").ok()) << "an unknown kind";
  EXPECT_FALSE(cluster::decode("v1:a1:12:xy0:1:11:11:0").ok()) << "kinds missing";
  EXPECT_FALSE(cluster::decode("z").ok());
}

TEST_F(cluster_test, a_room_outside_the_token_is_refused_without_asking_who_owns_it) {
  const ConnectionId ben = connect(*b_, "ben");
  send(*b_, ben, R"({"type":"subscribe","id":"s","room":"secret:vault"})");
  auto errors = all<protocol::ErrorReply>(testing::drain_frames(b_->hub, ben));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, protocol::errc::forbidden);
  EXPECT_EQ(network_.owners.count("secret:vault"), 0u) << "no instance took a room nobody may enter";
}

}  // namespace
}  // namespace tandem::server
