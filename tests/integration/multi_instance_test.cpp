// multi_instance_test.cpp — the first "done when" of issue 14 (docs/SCALING.md), with real
// processes: two users connected to DIFFERENT tandem-server instances that share rooms (the
// Redis engine, one PostgreSQL: server_cluster.h) work together exactly as on one server —
//   - they see each other in presence (snapshot, joins) and each other's cursors (§7);
//   - a lock one holds is denied to the other naming the holder (§8);
//   - a takeover reaches the holder and moves the lock when the holder unlocks, and when the
//     holder keeps quiet past the grace (§8);
//   - they edit one workflow with the fences their locks give and converge on one document:
//     the same room events in the same seq order, the same doc_snapshot fetched on each
//     instance (§9);
//   - they chat, and a later subscriber on the instance that does not own the chat room gets
//     the history in its subscribe answer (§10);
//   - an event published (POST /api/v1/publish) on the instance that does not own the room
//     reaches both (§13).
// multi_instance_test connects each user straight to its instance; multi_instance_nginx_test
// goes through nginx round robin (as docs/OPERATIONS.md runs it), making sure the users land on
// different instances, and publishes through nginx too.
//
// Ownership is known from the order of events (server_cluster.h): Ana (instance 0) subscribes
// to workflow:42 first, so instance 0 owns it; Ben (instance 1) subscribes to chat:lobby first,
// so instance 1 owns that one. Each user is thus a local member of one room and a remote member
// of the other.
//
// Needs the ctest fixture "services" (PostgreSQL and Redis) and nginx.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "quiet_client.h"
#include "server_cluster.h"
#include "server_test_support.h"
#include "tandem/json.h"
#include "tandem/protocol/errors.h"

namespace tandem::integration {
namespace {

using namespace protocol;

constexpr const char* kWorkflow = "workflow:42";
constexpr const char* kChat = "chat:lobby";
constexpr const char* kPublishKey = "publish-key-0123456789";
constexpr const char* kPublishAuth = "Authorization: Bearer publish-key-0123456789\r\n";
constexpr std::int64_t kGraceMs = 1000;  // --lock-grace-ms: a takeover the holder ignores moves after this
// A step that crosses instances goes through Redis (and PostgreSQL) once or twice each way:
// generous, for a loaded 2-core machine under sanitizers. A passing step returns at once.
constexpr milliseconds kCrossDeadline = 3 * kStepDeadline;

// One user's connection and everything it received, decoded as it arrives.
struct User {
  User(std::string sub_, std::string name_, std::string color_)
      : sub(std::move(sub_)), name(std::move(name_)), color(std::move(color_)) {}

  std::string sub, name, color;
  std::unique_ptr<TransportProbe> probe;
  std::string connection;  // its connection_id (c<N>-<instance>)
  std::size_t instance = 0;
  std::vector<ServerFrame> frames;  // decoded so far, batches unpacked
  std::size_t raw_decoded = 0;      // of probe->log.messages

  void refresh() {
    if (!probe) return;
    for (; raw_decoded < probe->log.messages.size(); ++raw_decoded)
      for (auto& result : decode_server(probe->log.messages[raw_decoded]))
        if (result.ok()) frames.push_back(std::move(result).value());
  }
  bool closed() const { return probe && probe->log.closed.has_value(); }
};

// A message found in a user's frames: the message, its request id, and where it was.
template <class M>
struct Found {
  M message;
  std::optional<std::string> id;
  std::size_t index = 0;
};


std::string execution_update(const std::string& run, const std::string& status) {
  return R"({"type":"execution_update","room":")" + std::string(kWorkflow) + R"(","execution":")" + run +
         R"(","status":")" + status + R"(","node":"n1","progress":0.5})";
}

class MultiInstanceTest : public ::testing::Test {
 protected:
  explicit MultiInstanceTest(bool nginx)
      : cluster({.instances = 2,
                 .flags = {"--publish-api-key", kPublishKey, "--lock-grace-ms", std::to_string(kGraceMs)},
                 .nginx = nginx}) {}

  void SetUp() override { ASSERT_NO_THROW(cluster.start()); }
  void TearDown() override {
    if (HasFailure()) std::printf("%s\n", cluster.outputs().c_str());
  }

  // Connects `user` to instance `wanted` and waits for `connected`.
  virtual void connect(User& user, std::size_t wanted) = 0;

  // Opens a connection for `user` at `ws_url` and waits for `connected`; records where it landed.
  void open(User& user, const std::string& ws_url) {
    user.probe = std::make_unique<TransportProbe>();
    user.frames.clear();
    user.raw_decoded = 0;
    TokenSpec spec;
    spec.sub = user.sub;
    spec.name = user.name;
    spec.color = user.color;
    user.probe->open(ws_url + "?token=" + mint_token(spec));
    auto connected = wait<Connected>(user, [](const Connected&) { return true; });
    ASSERT_TRUE(connected.has_value()) << user.sub << " got no connected through " << ws_url;
    user.connection = connected->message.connection_id;
    auto instance = cluster.instance_of_connection(user.connection);
    ASSERT_TRUE(instance.has_value()) << "connection id " << user.connection << " names no instance";
    user.instance = *instance;
  }

  // Polls every user's transport once (a probe sends and receives only while polled).
  void pump() {
    for (User* user : users_)
      if (user->probe) user->probe->transport.poll(milliseconds{5});
  }

  // The first message of type M in `user`'s frames from index `from` on that `match` accepts;
  // nothing at the deadline or when the connection closed first.
  template <class M>
  std::optional<Found<M>> wait(User& user, const std::function<bool(const M&)>& match, std::size_t from = 0) {
    std::optional<Found<M>> found;
    pump_until(
        [&] {
          user.refresh();
          for (std::size_t i = from; i < user.frames.size(); ++i)
            if (const M* m = std::get_if<M>(&user.frames[i].message); m != nullptr && match(*m)) {
              found = Found<M>{*m, user.frames[i].id, i};
              return true;
            }
          return user.closed();
        },
        [&] { pump(); }, kCrossDeadline);
    return found;
  }
  // Whatever answered request `id` (the first message carrying it), if anything did in time.
  std::optional<Found<ServerMessage>> answer_to(User& user, const std::string& id) {
    std::optional<Found<ServerMessage>> found;
    pump_until(
        [&] {
          user.refresh();
          for (std::size_t i = 0; i < user.frames.size(); ++i)
            if (user.frames[i].id == id) {
              found = Found<ServerMessage>{user.frames[i].message, id, i};
              return true;
            }
          return user.closed();
        },
        [&] { pump(); }, kCrossDeadline);
    return found;
  }
  // The answer to request `id` when it is an M (nothing when it is something else: no waiting
  // out the deadline for an answer that came otherwise).
  template <class M>
  std::optional<Found<M>> answer(User& user, const std::string& id) {
    auto answered = answer_to(user, id);
    if (!answered) return std::nullopt;
    if (const M* m = std::get_if<M>(&answered->message)) return Found<M>{*m, answered->id, answered->index};
    ADD_FAILURE() << user.sub << "'s request " << id << " was answered "
                  << encode(ServerFrame{answered->id, answered->message});
    return std::nullopt;
  }
  std::optional<ErrorReply> error_for(User& user, const std::string& id) {
    auto error = answer<ErrorReply>(user, id);
    return error ? std::optional<ErrorReply>(error->message) : std::nullopt;
  }

  template <class M>
  void send(User& user, const M& message, std::optional<std::string> id = std::nullopt) {
    ASSERT_EQ(user.probe->send(encode_client(message, std::move(id))), SendStatus::Sent) << user.sub;
  }
  // Sends a request and waits for its ack.
  template <class M>
  void acked(User& user, const M& message, const std::string& id) {
    send(user, message, id);
    ASSERT_TRUE(answer<Ack>(user, id).has_value()) << user.sub << "'s request " << id << " was not acked";
  }
  // Subscribes and returns the answer (the snapshots follow it).
  std::optional<Found<Subscribed>> subscribe(User& user, const std::string& room, const std::string& id) {
    send(user, Subscribe{room, std::nullopt}, id);
    auto subscribed = answer<Subscribed>(user, id);
    EXPECT_TRUE(subscribed.has_value()) << user.sub << " was not subscribed to " << room;
    return subscribed;
  }

  // Every event of `room` that `user` received, encoded, in arrival order.
  std::vector<std::pair<std::int64_t, std::string>> room_events(User& user, const std::string& room) {
    user.refresh();
    std::vector<std::pair<std::int64_t, std::string>> events;
    for (const ServerFrame& frame : user.frames)
      if (auto seq = room_event_seq(frame.message, room))
        events.emplace_back(*seq, encode(ServerFrame{std::nullopt, frame.message}));
    return events;
  }

  // ---- the story, step by step (each asserts; the test stops at the first step that fails) ----

  // Ana subscribes to the workflow first (her instance takes it), then Ben: both see each other.
  void join_and_see_each_other() {
    ASSERT_NE(ana.instance, ben.instance) << "both users are on instance " << ana.instance;
    auto ana_in = subscribe(ana, kWorkflow, "s1");
    ASSERT_TRUE(ana_in.has_value());
    workflow_seq = ana_in->message.seq;
    ASSERT_TRUE(wait<LockState>(ana, [](const LockState& s) { return s.room == kWorkflow; }).has_value());
    ASSERT_TRUE(wait<DocSnapshot>(ana, [](const DocSnapshot& s) { return s.room == kWorkflow; }).has_value());

    auto ben_in = subscribe(ben, kWorkflow, "s1");
    ASSERT_TRUE(ben_in.has_value());
    EXPECT_EQ(ben_in->message.epoch, ana_in->message.epoch) << "one room, one epoch, whatever the instance";
    EXPECT_EQ(ben_in->message.seq, ana_in->message.seq);

    // Ben's snapshot shows Ana (her connection on the other instance) and himself.
    auto snapshot = wait<PresenceSnapshot>(ben, [](const PresenceSnapshot& s) { return s.room == kWorkflow; },
                                           ben_in->index);
    ASSERT_TRUE(snapshot.has_value());
    auto member = [&](const PresenceSnapshot& s, const User& who) -> const PresenceMember* {
      for (const PresenceMember& m : s.members)
        if (m.user.id == who.sub) return &m;
      return nullptr;
    };
    const PresenceMember* ana_seen = member(snapshot->message, ana);
    ASSERT_NE(ana_seen, nullptr) << "Ben's presence_state lacks Ana";
    EXPECT_EQ(ana_seen->user.name, "Ana");
    EXPECT_EQ(ana_seen->user.color, ana.color);
    ASSERT_EQ(ana_seen->metas.size(), 1u);
    EXPECT_EQ(ana_seen->metas[0].connection, ana.connection);
    EXPECT_NE(member(snapshot->message, ben), nullptr) << "Ben's presence_state lacks Ben";

    // Ana sees Ben join, with his connection on the other instance.
    auto joined = wait<PresenceDiff>(ana, [&](const PresenceDiff& d) {
      return d.room == kWorkflow &&
             std::any_of(d.joins.begin(), d.joins.end(), [&](const PresenceMember& m) { return m.user.id == ben.sub; });
    });
    ASSERT_TRUE(joined.has_value()) << "Ana saw no presence_diff join of Ben";
    for (const PresenceMember& m : joined->message.joins) {
      if (m.user.id != ben.sub) continue;
      EXPECT_EQ(m.user.name, "Ben");
      ASSERT_EQ(m.metas.size(), 1u);
      EXPECT_EQ(m.metas[0].connection, ben.connection);
    }
  }

  // Each moves the cursor; the other gets it in a presence_update naming the mover's connection.
  void see_each_others_cursors() {
    Presence ana_state;
    ana_state.cursor = Cursor{120.5, -40};
    ana_state.node = "n1";
    send(ana, PresenceSet{kWorkflow, ana_state});
    auto at_ben = wait<PresenceUpdate>(ben, [&](const PresenceUpdate& u) {
      return u.room == kWorkflow && u.user == ana.sub && !u.metas.empty() && u.metas[0].state.cursor.has_value();
    });
    ASSERT_TRUE(at_ben.has_value()) << "Ben never saw Ana's cursor";
    ASSERT_EQ(at_ben->message.metas.size(), 1u);
    EXPECT_EQ(at_ben->message.metas[0].connection, ana.connection);
    EXPECT_EQ(at_ben->message.metas[0].state, ana_state);

    Presence ben_state;
    ben_state.cursor = Cursor{10, 20};
    send(ben, PresenceSet{kWorkflow, ben_state});
    auto at_ana = wait<PresenceUpdate>(ana, [&](const PresenceUpdate& u) {
      return u.room == kWorkflow && u.user == ben.sub && !u.metas.empty() && u.metas[0].state.cursor.has_value();
    });
    ASSERT_TRUE(at_ana.has_value()) << "Ana never saw Ben's cursor";
    ASSERT_EQ(at_ana->message.metas.size(), 1u);
    EXPECT_EQ(at_ana->message.metas[0].connection, ben.connection);
    EXPECT_EQ(at_ana->message.metas[0].state, ben_state);
  }

  // Ana makes node n1 and locks it; Ben is denied the lock (naming Ana) and the edit.
  void deny_each_others_locks() {
    Node n1;
    n1.id = "n1";
    n1.type = "http_request";
    n1.label = "Fetch orders";
    acked(ana, NodeCreate{kWorkflow, n1}, "d1");
    ASSERT_TRUE(wait<NodeCreated>(ben, [](const NodeCreated& e) { return e.node.id == "n1"; }).has_value());

    send(ana, Lock{kWorkflow, "n1", 60000}, "l1");
    auto granted = answer<LockGranted>(ana, "l1");
    ASSERT_TRUE(granted.has_value()) << "Ana's lock was not granted";
    ana_fence = granted->message.fence;
    auto locked = wait<Locked>(ben, [](const Locked& l) { return l.resource == "n1"; });
    ASSERT_TRUE(locked.has_value()) << "Ben saw no locked event";
    EXPECT_EQ(locked->message.holder.user, ana.sub);
    EXPECT_EQ(locked->message.fence, ana_fence);

    send(ben, Lock{kWorkflow, "n1", std::nullopt}, "l1");
    auto denied = answer<LockDenied>(ben, "l1");
    ASSERT_TRUE(denied.has_value()) << "Ben's lock was not denied";
    EXPECT_EQ(denied->message.holder.user, ana.sub);
    EXPECT_EQ(denied->message.holder.name, "Ana");
    EXPECT_EQ(denied->message.holder.color, ana.color);
    EXPECT_EQ(denied->message.expires_at, granted->message.expires_at);

    NodeFields label;
    label.label = "Ben was here";
    send(ben, NodeUpdate{kWorkflow, "n1", label, std::nullopt}, "d1");
    auto refused = error_for(ben, "d1");
    ASSERT_TRUE(refused.has_value()) << "Ben's edit of Ana's locked node was not refused";
    EXPECT_EQ(refused->code, errc::locked);
    EXPECT_NE(refused->message.find("Ana"), std::string::npos) << refused->message;
  }

  // Ben asks to take n1 over: Ana is asked, unlocks, and the lock moves to Ben with a new fence.
  void take_over_when_the_holder_unlocks() {
    send(ben, Takeover{kWorkflow, "n1"}, "t1");
    auto asked = wait<TakeoverRequested>(ana, [](const TakeoverRequested& t) { return t.resource == "n1"; });
    ASSERT_TRUE(asked.has_value()) << "Ana got no takeover_requested";
    EXPECT_EQ(asked->message.by.user, ben.sub);
    EXPECT_EQ(asked->message.by.name, "Ben");
    EXPECT_EQ(asked->message.grace_ms, kGraceMs);

    acked(ana, Unlock{kWorkflow, "n1"}, "u1");
    auto moved = answer<LockGranted>(ben, "t1");
    ASSERT_TRUE(moved.has_value()) << "Ben's takeover was not granted";
    EXPECT_GT(moved->message.fence, ana_fence);
    ben_fence = moved->message.fence;
    for (User* who : {&ana, &ben}) {
      auto taken = wait<Unlocked>(*who, [](const Unlocked& u) { return u.reason == UnlockReason::TakenOver; });
      ASSERT_TRUE(taken.has_value()) << who->sub << " saw no unlocked (taken_over)";
      auto relocked = wait<Locked>(*who, [&](const Locked& l) { return l.holder.user == ben.sub; });
      ASSERT_TRUE(relocked.has_value()) << who->sub << " saw no locked for Ben";
      EXPECT_EQ(relocked->message.fence, ben_fence);
      EXPECT_GT(relocked->message.seq, taken->message.seq);
    }
  }

  // Both edit with the fences their locks give: Ben's fence works, Ana's old one is stale.
  void edit_the_same_workflow() {
    NodeFields paid;
    paid.label = "Fetch paid orders";
    paid.x = 320;
    acked(ben, NodeUpdate{kWorkflow, "n1", paid, ben_fence}, "d2");
    auto updated = wait<NodeUpdated>(ana, [](const NodeUpdated& e) { return e.node == "n1" && e.fields.label; });
    ASSERT_TRUE(updated.has_value()) << "Ana never saw Ben's edit";
    EXPECT_EQ(updated->message.user, ben.sub);
    EXPECT_EQ(updated->message.fields, paid);

    NodeFields late;
    late.label = "Ana's late edit";
    send(ana, NodeUpdate{kWorkflow, "n1", late, ana_fence}, "d2");
    auto stale = error_for(ana, "d2");
    ASSERT_TRUE(stale.has_value()) << "Ana's write with her lost fence was not refused";
    EXPECT_EQ(stale->code, errc::stale_fence);

    Node n2;
    n2.id = "n2";
    n2.type = "transform";
    n2.x = 600;
    acked(ana, NodeCreate{kWorkflow, n2}, "d3");
    acked(ben, EdgeCreate{kWorkflow, Edge{"e1", "n1", "n2"}}, "d3");
    NodeFields running;
    running.status = NodeStatus::Running;
    acked(ana, NodeUpdate{kWorkflow, "n2", running, std::nullopt}, "d4");
  }

  // Ana takes n1 back; Ben keeps quiet, so it moves after the grace, and Ben's fence is stale.
  void take_over_when_the_holder_keeps_quiet() {
    const auto asked_at = Clock::now();
    send(ana, Takeover{kWorkflow, "n1"}, "t2");
    auto asked = wait<TakeoverRequested>(ben, [](const TakeoverRequested& t) { return t.resource == "n1"; });
    ASSERT_TRUE(asked.has_value()) << "Ben got no takeover_requested";
    EXPECT_EQ(asked->message.by.user, ana.sub);
    EXPECT_EQ(asked->message.by.name, "Ana");
    EXPECT_EQ(asked->message.grace_ms, kGraceMs);

    auto moved = answer<LockGranted>(ana, "t2");
    ASSERT_TRUE(moved.has_value()) << "Ana's takeover was not granted after the grace";
    EXPECT_GE(Clock::now() - asked_at, milliseconds{kGraceMs - 100}) << "the lock moved before the grace ended";
    EXPECT_GT(moved->message.fence, ben_fence);
    ana_fence = moved->message.fence;
    auto relocked = wait<Locked>(ben, [&](const Locked& l) { return l.fence == ana_fence; });
    ASSERT_TRUE(relocked.has_value()) << "Ben saw no locked for Ana's new fence";
    EXPECT_EQ(relocked->message.holder.user, ana.sub);

    NodeFields moved_by_ben;
    moved_by_ben.y = -10;
    send(ben, NodeUpdate{kWorkflow, "n1", moved_by_ben, ben_fence}, "d5");
    auto stale = error_for(ben, "d5");
    ASSERT_TRUE(stale.has_value()) << "Ben's write with his lost fence was not refused";
    EXPECT_EQ(stale->code, errc::stale_fence);
    send(ben, Renew{kWorkflow, "n1", std::nullopt}, "r1");
    auto renew = error_for(ben, "r1");
    ASSERT_TRUE(renew.has_value()) << "Ben renewed a lock he lost";
    EXPECT_EQ(renew->code, errc::not_found);

    NodeFields moved_by_ana;
    moved_by_ana.y = 50;
    acked(ana, NodeUpdate{kWorkflow, "n1", moved_by_ana, ana_fence}, "d5");
  }

  // Both saw the same room events in the same order, and both fetch the same document, each
  // through its own instance.
  void converge_on_one_document() {
    // Ana's last edit reached her before its ack; wait until it reached Ben too.
    const auto ana_events = room_events(ana, kWorkflow);
    ASSERT_FALSE(ana_events.empty());
    const std::int64_t last = ana_events.back().first;
    ASSERT_TRUE(pump_until(
        [&] {
          const auto events = room_events(ben, kWorkflow);
          return !events.empty() && events.back().first >= last;
        },
        [&] { pump(); }, kCrossDeadline))
        << "Ben never got event " << last;
    const auto ben_events = room_events(ben, kWorkflow);
    EXPECT_EQ(ana_events, ben_events);
    // Every event once, in seq order, without gaps, from the one after the subscribe.
    for (std::size_t i = 0; i < ana_events.size(); ++i)
      EXPECT_EQ(ana_events[i].first, workflow_seq + 1 + static_cast<std::int64_t>(i)) << ana_events[i].second;

    // Each fetches the document from its own instance (a subscribe again sends the snapshots).
    std::string docs[2];  // Ana's, Ben's: encoded
    DocSnapshot ana_doc;
    for (User* who : {&ana, &ben}) {
      auto again = subscribe(*who, kWorkflow, "s2");
      ASSERT_TRUE(again.has_value());
      EXPECT_EQ(again->message.seq, last);
      auto doc = wait<DocSnapshot>(*who, [](const DocSnapshot& d) { return d.room == kWorkflow; }, again->index);
      ASSERT_TRUE(doc.has_value()) << who->sub << " got no doc_snapshot";
      docs[who == &ben ? 1 : 0] = encode_server(doc->message);
      if (who == &ana) ana_doc = doc->message;
    }
    EXPECT_EQ(docs[0], docs[1]) << "Ana and Ben were sent different documents";
    const DocSnapshot& doc = ana_doc;
    EXPECT_EQ(doc.seq, last);
    ASSERT_EQ(doc.nodes.size(), 2u);
    const Node& n1 = doc.nodes[0].id == "n1" ? doc.nodes[0] : doc.nodes[1];
    const Node& n2 = doc.nodes[0].id == "n1" ? doc.nodes[1] : doc.nodes[0];
    EXPECT_EQ(n1.label, "Fetch paid orders");
    EXPECT_EQ(n1.x, 320.0);
    EXPECT_EQ(n1.y, 50.0);
    EXPECT_EQ(n2.status, NodeStatus::Running);
    EXPECT_EQ(doc.edges, (std::vector<Edge>{Edge{"e1", "n1", "n2"}}));
  }

  // Ben opens the chat room (his instance takes it), Ana joins from hers; they chat, and Cleo,
  // joining later on Ana's instance (not the chat room's owner), gets the history.
  void chat_with_history() {
    ASSERT_TRUE(subscribe(ben, kChat, "s3").has_value());
    ASSERT_TRUE(subscribe(ana, kChat, "s3").has_value());
    acked(ben, ChatSend{kChat, "morning from the other instance"}, "c1");
    ASSERT_TRUE(wait<ChatMessage>(ana, [](const ChatMessage& m) { return m.text == "morning from the other instance"; })
                    .has_value())
        << "Ana never got Ben's chat message";
    acked(ana, ChatSend{kChat, "hi, deploying now"}, "c2");
    ASSERT_TRUE(wait<ChatMessage>(ben, [](const ChatMessage& m) { return m.text == "hi, deploying now"; }).has_value())
        << "Ben never got Ana's chat message";

    connect(cleo, ana.instance);
    if (HasFatalFailure()) return;
    auto in = subscribe(cleo, kChat, "s1");
    ASSERT_TRUE(in.has_value());
    auto history = wait<ChatHistory>(cleo, [](const ChatHistory& h) { return h.room == kChat; }, in->index);
    ASSERT_TRUE(history.has_value()) << "Cleo got no history";
    ASSERT_EQ(history->message.messages.size(), 2u);
    const ChatEntry& first = history->message.messages[0];
    const ChatEntry& second = history->message.messages[1];
    EXPECT_EQ(first.user, ben.sub);
    EXPECT_EQ(first.name, "Ben");
    EXPECT_EQ(first.text, "morning from the other instance");
    EXPECT_EQ(second.user, ana.sub);
    EXPECT_EQ(second.name, "Ana");
    EXPECT_EQ(second.text, "hi, deploying now");
    EXPECT_LT(first.seq, second.seq);
  }

  // POSTs an execution_update to `port`: it must be answered 200 and reach Ana and Ben with the
  // seq the answer names.
  void publish_reaches_both(int port, const std::string& run, const std::string& where) {
    const HttpReply reply = http_post(port, "/api/v1/publish", execution_update(run, "running"), kPublishAuth);
    ASSERT_EQ(reply.status, 200) << "publish " << where << ": " << reply.body;
    const Published published = read_published(reply.body);
    EXPECT_EQ(published.room, kWorkflow);
    EXPECT_GT(published.seq, workflow_seq);
    for (User* who : {&ana, &ben}) {
      auto update = wait<ExecutionUpdate>(*who, [&](const ExecutionUpdate& u) { return u.execution == run; });
      ASSERT_TRUE(update.has_value()) << who->sub << " never got the event published " << where;
      EXPECT_EQ(update->message.seq, published.seq);
      EXPECT_EQ(update->message.status, ExecutionStatus::Running);
      EXPECT_EQ(update->message.node, "n1");
      EXPECT_EQ(update->message.progress, 0.5);
    }
  }

  // The publish API on the instance that does not own the workflow room (Ben's).
  void see_events_published_on_the_other_instance() {
    publish_reaches_both(cluster.instance(ben.instance).port(), "run-1", "on the instance not owning the room");
  }

  // Ana on instance 0, Ben on instance 1.
  void connect_ana_and_ben() {
    connect(ana, 0);
    if (HasFatalFailure()) return;
    connect(ben, 1);
  }

  // The whole story, once Ana and Ben are connected.
  void work_together() {
    using Step = void (MultiInstanceTest::*)();
    const std::pair<const char*, Step> steps[] = {
        {"join and see each other", &MultiInstanceTest::join_and_see_each_other},
        {"see each other's cursors", &MultiInstanceTest::see_each_others_cursors},
        {"deny each other's locks", &MultiInstanceTest::deny_each_others_locks},
        {"take over when the holder unlocks", &MultiInstanceTest::take_over_when_the_holder_unlocks},
        {"edit the same workflow", &MultiInstanceTest::edit_the_same_workflow},
        {"take over when the holder keeps quiet", &MultiInstanceTest::take_over_when_the_holder_keeps_quiet},
        {"converge on one document", &MultiInstanceTest::converge_on_one_document},
        {"chat with history", &MultiInstanceTest::chat_with_history},
        {"see events published on the other instance", &MultiInstanceTest::see_events_published_on_the_other_instance},
    };
    for (const auto& [name, step] : steps) {
      SCOPED_TRACE(std::string("step: ") + name);
      (this->*step)();
      if (HasFatalFailure()) return;
    }
  }

  ServerCluster cluster;
  User ana{"user-ana", "Ana", "#e91e63"};
  User ben{"user-ben", "Ben", "#3f51b5"};
  User cleo{"user-cleo", "Cleo", "#009688"};
  std::int64_t workflow_seq = 0;  // the workflow room's seq when Ana subscribed
  std::int64_t ana_fence = 0;     // the fence of Ana's latest grant
  std::int64_t ben_fence = 0;     // the fence of Ben's grant

 private:
  std::vector<User*> users_{&ana, &ben, &cleo};
};

// Each user straight to its instance.
class multi_instance_test : public MultiInstanceTest {
 protected:
  multi_instance_test() : MultiInstanceTest(false) {}
  void connect(User& user, std::size_t wanted) override {
    open(user, cluster.instance(wanted).ws_url());
    if (HasFatalFailure()) return;
    ASSERT_EQ(user.instance, wanted) << "connection id " << user.connection;
  }
};

// Every user through nginx, which spreads them round robin: a connection that landed on the
// wrong instance is closed and opened again (round robin gives the next one to the other).
class multi_instance_nginx_test : public MultiInstanceTest {
 protected:
  multi_instance_nginx_test() : MultiInstanceTest(true) {}
  void connect(User& user, std::size_t wanted) override {
    constexpr int kAttempts = 6;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      open(user, cluster.nginx_ws_url());
      if (HasFatalFailure() || user.instance == wanted) return;
      user.probe.reset();  // the other instance: closed, and asked again
    }
    FAIL() << user.sub << " never landed on instance " << wanted << " in " << kAttempts << " connections";
  }
};

}  // namespace

TEST_F(multi_instance_test, two_users_on_different_instances_work_together_as_on_one_server) {
  connect_ana_and_ben();
  ASSERT_FALSE(HasFatalFailure());
  work_together();
}

TEST_F(multi_instance_nginx_test, two_users_spread_by_nginx_work_together_and_publish_goes_through_it) {
  connect_ana_and_ben();
  ASSERT_FALSE(HasFatalFailure());
  // Each instance counts the one client it has (the connections closed while spreading are gone).
  EXPECT_TRUE(pump_until(
      [&] { return cluster.instance(0).connections() == 1 && cluster.instance(1).connections() == 1; },
      [&] { pump(); }, kCrossDeadline))
      << "connections: " << cluster.instance(0).connections() << " and " << cluster.instance(1).connections();

  work_together();
  if (HasFatalFailure()) return;
  // A publish through nginx lands on either instance (round robin: two in a row reach both).
  publish_reaches_both(cluster.nginx_port(), "run-2", "through nginx (first)");
  publish_reaches_both(cluster.nginx_port(), "run-3", "through nginx (second)");
}

}  // namespace tandem::integration

namespace tandem::integration {

// The SSE fallback behind nginx (PROTOCOL.md §5.5): the event stream lives on one instance,
// the POSTs reach both round robin — an instance that does not hold the stream forwards the
// POST to the one that does — and nothing is lost, repeated or reordered. No sticky sessions.
TEST_F(multi_instance_nginx_test, an_sse_session_posts_through_either_instance_without_sticky_sessions) {
  auto sse_client = quiet_client(cluster.nginx_ws_url(), "ana", 11, native::Carrier::ServerSentEvents);
  auto ws_client = quiet_client(cluster.nginx_ws_url(), "ben", 12, native::Carrier::WebSocket);
  ClientGroup both{sse_client.get(), ws_client.get()};
  auto poll_both = [&](const std::function<bool()>& done) { return both.poll_until(done, kCrossDeadline); };
  ASSERT_TRUE(both.start_and_join("chat:sse-cluster", kCrossDeadline));
  const std::string stream = sse_client->sse_transport().stream_id();
  EXPECT_TRUE(stream.starts_with("i0.") || stream.starts_with("i1.")) << stream;

  // One message per POST, each acknowledged before the next: round robin sends every other one
  // to the instance without the stream.
  constexpr int kMessages = 12;
  int acked = 0;
  for (int k = 0; k < kMessages; ++k) {
    sse_client->client().rooms().send_chat("chat:sse-cluster", "m" + std::to_string(k), [&](Result<Acked> r) {
      EXPECT_TRUE(r.ok()) << r.error().code << " " << r.error().message;
      ++acked;
    });
    ASSERT_TRUE(poll_both([&] { return acked == k + 1; })) << "message " << k;
  }
  auto chat = [](native::NativeClient& c) { return c.client().rooms().replica("chat:sse-cluster")->chat(); };
  ASSERT_TRUE(poll_both([&] { return chat(*ws_client).size() == kMessages && chat(*sse_client).size() == kMessages; }));
  for (int k = 0; k < kMessages; ++k) EXPECT_EQ(chat(*ws_client)[static_cast<std::size_t>(k)].text, "m" + std::to_string(k));
  EXPECT_EQ(sse_client->sse_transport().stream_id(), stream) << "the stream should never have been replaced";
  // The instance without the stream forwarded its share, the other applied them all.
  auto metric = [&](std::size_t k, const std::string& name) {
    const std::string text = http_get(cluster.instance(k).port(), "/metrics").body;
    const std::size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1L : std::stol(text.substr(at + name.size() + 2));
  };
  const std::size_t holder = stream.starts_with("i0.") ? 0 : 1;
  EXPECT_GE(metric(holder, "tandem_sse_posts_total"), kMessages);
  EXPECT_GE(metric(1 - holder, "tandem_sse_posts_forwarded_total"), 1) << "round robin never reached the other instance";
  EXPECT_EQ(metric(1 - holder, "tandem_sse_posts_total"), 0);
  EXPECT_EQ(metric(holder, "tandem_sse_streams"), 1);
  both.shutdown();
}

}  // namespace tandem::integration
