// documents_test.cpp — workflow documents against a real tandem-server with its SQLite store
// (PROTOCOL.md §9): edits reach another member in order with contiguous seqs, doc_snapshot on
// join (and not after a recovered subscribe), lock-aware refusal (`locked`) and `stale_fence`,
// every acked edit present after a kill -9 and restart, a resend of an applied request acked
// duplicate:true and applied once (on the same connection, and in the same session after a
// restart), and the change history read in pages over HTTP.
#include <cJSON.h>

#include <algorithm>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "server_test_support.h"
#include "tandem/protocol/errors.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

constexpr const char* kRoom = "workflow:docs";
constexpr std::string_view kAdminToken = "documents-admin-token-0123456789";
constexpr int kGraceMs = 600;  // --lock-grace-ms: a takeover of a quiet holder moves this soon

using Frame = protocol::ServerFrame;

// A document event seen by a member: its type, seq and the user who made it.
struct SeenEvent {
  std::string type;
  std::int64_t seq = 0;
  std::string user;
  bool operator==(const SeenEvent&) const = default;
};

std::optional<SeenEvent> as_doc_event(const Frame& frame) {
  return std::visit(
      [](const auto& m) -> std::optional<SeenEvent> {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, protocol::NodeCreated> || std::is_same_v<M, protocol::NodeUpdated> ||
                      std::is_same_v<M, protocol::NodeDeleted> || std::is_same_v<M, protocol::EdgeCreated> ||
                      std::is_same_v<M, protocol::EdgeDeleted>)
          return SeenEvent{M::kType, m.seq, m.user};
        return std::nullopt;
      },
      frame.message);
}

std::vector<SeenEvent> doc_events(const EventLog& log) {
  std::vector<SeenEvent> out;
  for (const Frame& frame : decoded(log))
    if (auto event = as_doc_event(frame)) out.push_back(*event);
  return out;
}

std::vector<protocol::ErrorReply> errors_in(const EventLog& log) {
  std::vector<protocol::ErrorReply> out;
  for (const Frame& frame : decoded(log))
    if (auto* error = std::get_if<protocol::ErrorReply>(&frame.message)) out.push_back(*error);
  return out;
}

protocol::Node node(const std::string& id, const std::string& type = "step") {
  protocol::Node n;
  n.id = id;
  n.type = type;
  return n;
}

protocol::NodeFields label(const std::string& text) {
  protocol::NodeFields fields;
  fields.label = text;
  return fields;
}

class documents_test : public ServerTest {
 protected:
  documents_test()
      : ServerTest({"--admin-token", std::string(kAdminToken), "--lock-grace-ms", std::to_string(kGraceMs),
                    "--max-bad-frames", "1000"}) {}

  // Authenticated as `sub` (named `name`), optionally continuing `session`; returns `connected`.
  protocol::Connected connect(TransportProbe& probe, const std::string& sub, const std::string& name,
                              const std::string& session = "") {
    probes_.push_back(&probe);
    TokenSpec spec;
    spec.sub = sub;
    spec.name = name;
    std::string url = server.ws_url() + "?token=" + mint_token(spec);
    if (!session.empty()) url += "&session=" + session;
    probe.open(url);
    auto connected = first<protocol::Connected>(probe);
    EXPECT_TRUE(connected.has_value()) << server.output();
    return connected ? *connected : protocol::Connected{};
  }
  // Subscribed to kRoom (with `since` when given); returns the `subscribed` answer once what
  // the subscribe brings arrived: the replayed events and presence_state after a recovery, the
  // snapshots up to doc_snapshot otherwise.
  protocol::Subscribed subscribe(TransportProbe& probe, std::optional<protocol::StreamPosition> since = std::nullopt) {
    send(probe, protocol::Subscribe{kRoom, since}, "sub");
    auto subscribed = answer<protocol::Subscribed>(probe, "sub");
    EXPECT_TRUE(subscribed.has_value()) << server.output();
    if (!subscribed) return {};
    if (subscribed->recovered) {
      EXPECT_TRUE(first<protocol::PresenceSnapshot>(probe).has_value());
    } else {
      EXPECT_TRUE(first<protocol::DocSnapshot>(probe).has_value());
    }
    return *subscribed;
  }
  void join(TransportProbe& probe, const std::string& sub, const std::string& name) {
    connect(probe, sub, name);
    subscribe(probe);
  }

  template <class M>
  void send(TransportProbe& probe, const M& message, const std::string& id) {
    ASSERT_EQ(probe.send(protocol::encode_client(message, id)), SendStatus::Sent);
  }

  // The first message of type M on `probe` that `match` accepts (every probe is pumped meanwhile).
  template <class M>
  std::optional<M> wait_match(TransportProbe& probe, const std::function<bool(const M&, const Frame&)>& match) {
    std::optional<M> found;
    pump_until(
        [&] {
          for (const Frame& frame : decoded(probe.log))
            if (const M* m = std::get_if<M>(&frame.message); m != nullptr && match(*m, frame)) {
              found = *m;
              return true;
            }
          return probe.log.closed.has_value();
        },
        [&] {
          for (TransportProbe* p : probes_) p->transport.poll(milliseconds{5});
        });
    return found;
  }
  template <class M>
  std::optional<M> first(TransportProbe& probe) {
    return wait_match<M>(probe, [](const M&, const Frame&) { return true; });
  }
  template <class M>
  std::optional<M> answer(TransportProbe& probe, const std::string& id) {
    return wait_match<M>(probe, [&](const M&, const Frame& f) { return f.id == id; });
  }

  // Sends an edit and waits for its answer: the ack, or the error.
  template <class M>
  std::variant<protocol::Ack, protocol::ErrorReply> edit(TransportProbe& probe, const M& message, const std::string& id) {
    send(probe, message, id);
    std::optional<std::variant<protocol::Ack, protocol::ErrorReply>> got;
    pump_until(
        [&] {
          for (const Frame& frame : decoded(probe.log)) {
            if (frame.id != id) continue;
            if (auto* ack = std::get_if<protocol::Ack>(&frame.message)) got = *ack;
            if (auto* error = std::get_if<protocol::ErrorReply>(&frame.message)) got = *error;
          }
          return got.has_value() || probe.log.closed.has_value();
        },
        [&] {
          for (TransportProbe* p : probes_) p->transport.poll(milliseconds{5});
        });
    EXPECT_TRUE(got.has_value()) << "no answer to " << id << "\n" << server.output();
    return got.value_or(protocol::ErrorReply{"timeout", "no answer", std::nullopt});
  }
  template <class M>
  void expect_ack(TransportProbe& probe, const M& message, const std::string& id) {
    auto answered = edit(probe, message, id);
    ASSERT_TRUE(std::holds_alternative<protocol::Ack>(answered))
        << id << ": " << std::get<protocol::ErrorReply>(answered).code << " "
        << std::get<protocol::ErrorReply>(answered).message;
  }
  template <class M>
  protocol::ErrorReply expect_error(TransportProbe& probe, const M& message, const std::string& id,
                                    std::string_view code) {
    auto answered = edit(probe, message, id);
    EXPECT_TRUE(std::holds_alternative<protocol::ErrorReply>(answered)) << id << " was acked";
    if (!std::holds_alternative<protocol::ErrorReply>(answered)) return {};
    const auto& error = std::get<protocol::ErrorReply>(answered);
    EXPECT_EQ(error.code, code) << id << ": " << error.message;
    return error;
  }

  // What a fresh client is sent on subscribing.
  protocol::DocSnapshot snapshot_for_a_newcomer() {
    TransportProbe probe;
    connect(probe, "reader", "Reader");
    send(probe, protocol::Subscribe{kRoom, std::nullopt}, "sub");
    auto snapshot = first<protocol::DocSnapshot>(probe);
    std::erase(probes_, &probe);
    EXPECT_TRUE(snapshot.has_value()) << server.output();
    return snapshot.value_or(protocol::DocSnapshot{});
  }

  HttpReply get_changes(const std::string& query, std::string_view bearer = kAdminToken) {
    std::string headers;
    if (!bearer.empty()) headers = "Authorization: Bearer " + std::string(bearer) + "\r\n";
    return http_get(server.port(), std::string("/api/v1/rooms/") + kRoom + "/changes" + query, milliseconds{2000},
                    headers);
  }

  std::vector<TransportProbe*> probes_;
};

TEST_F(documents_test, edits_reach_another_member_in_order_with_contiguous_seqs) {
  TransportProbe ana, ben;
  join(ana, "ana", "Ana");
  join(ben, "ben", "Ben");
  expect_ack(ana, protocol::NodeCreate{kRoom, node("n1", "trigger")}, "1");
  expect_ack(ana, protocol::NodeCreate{kRoom, node("n2")}, "2");
  expect_ack(ana, protocol::EdgeCreate{kRoom, {"e1", "n1", "n2"}}, "3");
  expect_ack(ana, protocol::NodeUpdate{kRoom, "n2", label("Fetch"), std::nullopt}, "4");
  expect_ack(ana, protocol::NodeCreate{kRoom, node("n3")}, "5");
  expect_ack(ana, protocol::EdgeCreate{kRoom, {"e2", "n2", "n3"}}, "6");
  expect_ack(ana, protocol::EdgeCreate{kRoom, {"e3", "n1", "n3"}}, "7");
  expect_ack(ana, protocol::NodeDelete{kRoom, "n2", std::nullopt}, "8");  // drops e1 and e2
  expect_ack(ana, protocol::EdgeDelete{kRoom, "e3"}, "9");

  const std::vector<std::string> types = {"node_created", "node_created", "edge_created", "node_updated",
                                          "node_created", "edge_created", "edge_created", "edge_deleted",
                                          "edge_deleted", "node_deleted", "edge_deleted"};
  ASSERT_TRUE(ben.wait_for([&] { return doc_events(ben.log).size() >= types.size(); })) << server.output();
  const std::vector<SeenEvent> seen = doc_events(ben.log);
  ASSERT_EQ(seen.size(), types.size());
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].type, types[i]) << i;
    EXPECT_EQ(seen[i].user, "ana") << i;
    if (i > 0) {
      EXPECT_EQ(seen[i].seq, seen[i - 1].seq + 1) << i;
    }
  }
  EXPECT_EQ(doc_events(ana.log), seen);  // the editor sees the same log
  // The events carry what changed.
  for (const Frame& frame : decoded(ben.log)) {
    if (auto* updated = std::get_if<protocol::NodeUpdated>(&frame.message)) {
      EXPECT_EQ(updated->node, "n2");
      EXPECT_EQ(updated->fields, label("Fetch"));
    }
  }

  // A newcomer's snapshot is the result, current at the last seq.
  const protocol::DocSnapshot snapshot = snapshot_for_a_newcomer();
  EXPECT_EQ(snapshot.seq, seen.back().seq);
  ASSERT_EQ(snapshot.nodes.size(), 2u);
  EXPECT_EQ(snapshot.nodes[0], node("n1", "trigger"));
  EXPECT_EQ(snapshot.nodes[1].id, "n3");
  EXPECT_TRUE(snapshot.edges.empty());
}

TEST_F(documents_test, doc_snapshot_follows_lock_state_on_join_and_not_after_a_recovered_subscribe) {
  TransportProbe ana;
  join(ana, "ana", "Ana");
  expect_ack(ana, protocol::NodeCreate{kRoom, node("n1")}, "1");
  expect_ack(ana, protocol::EdgeCreate{kRoom, {"e1", "n1", "n1"}}, "2");

  protocol::Subscribed joined;
  {
    TransportProbe ben;
    connect(ben, "ben", "Ben");
    joined = subscribe(ben);
    std::vector<std::string> after;
    bool seen = false;
    for (const Frame& frame : decoded(ben.log)) {
      seen = seen || std::holds_alternative<protocol::Subscribed>(frame.message);
      if (seen) after.push_back(protocol::type_of(frame.message));
    }
    ASSERT_GE(after.size(), 4u);
    EXPECT_EQ(std::vector<std::string>(after.begin(), after.begin() + 4),
              (std::vector<std::string>{"subscribed", "presence_state", "lock_state", "doc_snapshot"}));
    auto snapshot = first<protocol::DocSnapshot>(ben);
    ASSERT_TRUE(snapshot.has_value());
    EXPECT_EQ(snapshot->seq, joined.seq);
    ASSERT_EQ(snapshot->nodes.size(), 1u);
    ASSERT_EQ(snapshot->edges.size(), 1u);
    EXPECT_EQ(snapshot->edges[0], (protocol::Edge{"e1", "n1", "n1"}));
    std::erase(probes_, &ben);
  }  // Ben's connection is gone

  // Ana edits meanwhile; Ben comes back with what he saw: the missed events, no snapshot.
  expect_ack(ana, protocol::NodeUpdate{kRoom, "n1", label("moved on"), std::nullopt}, "3");
  TransportProbe ben_again;
  connect(ben_again, "ben", "Ben");
  const protocol::Subscribed back = subscribe(ben_again, protocol::StreamPosition{joined.epoch, joined.seq});
  EXPECT_TRUE(back.recovered);
  std::vector<std::string> replayed;
  for (const Frame& frame : decoded(ben_again.log)) replayed.push_back(protocol::type_of(frame.message));
  EXPECT_EQ(std::count(replayed.begin(), replayed.end(), "doc_snapshot"), 0);
  EXPECT_EQ(doc_events(ben_again.log), (std::vector<SeenEvent>{{"node_updated", joined.seq + 1, "ana"}}));
}

TEST_F(documents_test, an_edit_to_a_node_locked_by_another_connection_is_refused_naming_the_holder) {
  TransportProbe ana, ben;
  join(ana, "ana", "Ana");
  join(ben, "ben", "Ben");
  expect_ack(ana, protocol::NodeCreate{kRoom, node("n3")}, "1");
  send(ana, protocol::Lock{kRoom, "n3", std::nullopt}, "lock");
  auto granted = answer<protocol::LockGranted>(ana, "lock");
  ASSERT_TRUE(granted.has_value());
  ASSERT_TRUE(first<protocol::Locked>(ben).has_value());
  const auto events_before = doc_events(ben.log).size();

  const protocol::ErrorReply refused =
      expect_error(ben, protocol::NodeUpdate{kRoom, "n3", label("Ben's"), std::nullopt}, "b1", protocol::errc::locked);
  EXPECT_EQ(refused.message, "n3 is locked by Ana");
  expect_error(ben, protocol::NodeDelete{kRoom, "n3", std::nullopt}, "b2", protocol::errc::locked);

  // The holder writes, with or without its fence.
  expect_ack(ana, protocol::NodeUpdate{kRoom, "n3", label("Ana's"), std::nullopt}, "2");
  expect_ack(ana, protocol::NodeUpdate{kRoom, "n3", label("Ana's again"), granted->fence}, "3");
  ASSERT_TRUE(ben.wait_for([&] { return doc_events(ben.log).size() >= events_before + 2; }));
  EXPECT_EQ(doc_events(ben.log).size(), events_before + 2);  // Ben's refused edits published nothing
  EXPECT_EQ(snapshot_for_a_newcomer().nodes.at(0).label, "Ana's again");

  // Once released, anyone may write.
  send(ana, protocol::Unlock{kRoom, "n3"}, "unlock");
  ASSERT_TRUE(answer<protocol::Ack>(ana, "unlock").has_value());
  expect_ack(ben, protocol::NodeUpdate{kRoom, "n3", label("Ben's"), std::nullopt}, "b3");
}

TEST_F(documents_test, a_write_with_the_fence_of_a_lock_lost_to_a_takeover_is_a_stale_fence) {
  TransportProbe ana, ben;
  join(ana, "ana", "Ana");
  join(ben, "ben", "Ben");
  expect_ack(ana, protocol::NodeCreate{kRoom, node("n3")}, "1");
  send(ana, protocol::Lock{kRoom, "n3", std::nullopt}, "lock");
  auto held = answer<protocol::LockGranted>(ana, "lock");
  ASSERT_TRUE(held.has_value());

  // Ben takes over; Ana keeps quiet, so the lock moves after the grace. Then Ben releases it.
  send(ben, protocol::Takeover{kRoom, "n3"}, "take");
  auto moved = wait_match<protocol::LockGranted>(
      ben, [](const protocol::LockGranted&, const Frame& f) { return f.id == "take"; });
  ASSERT_TRUE(moved.has_value()) << server.output();
  EXPECT_GT(moved->fence, held->fence);
  send(ben, protocol::Unlock{kRoom, "n3"}, "release");
  ASSERT_TRUE(answer<protocol::Ack>(ben, "release").has_value());

  // Nobody holds n3 now, but Ana's fence is no longer the latest grant.
  expect_error(ana, protocol::NodeUpdate{kRoom, "n3", label("Ana's stale"), held->fence}, "2",
               protocol::errc::stale_fence);
  expect_error(ana, protocol::NodeDelete{kRoom, "n3", held->fence}, "3", protocol::errc::stale_fence);
  EXPECT_EQ(snapshot_for_a_newcomer().nodes.size(), 1u);
  EXPECT_EQ(snapshot_for_a_newcomer().nodes.at(0).label, "");
  // A fence proves a lock held now: Ben's, released, is no longer one either. Without a fence
  // (nobody holds n3) his write goes through.
  expect_error(ben, protocol::NodeUpdate{kRoom, "n3", label("Ben's"), moved->fence}, "b1", protocol::errc::stale_fence);
  expect_ack(ben, protocol::NodeUpdate{kRoom, "n3", label("Ben's"), std::nullopt}, "b2");
}

TEST_F(documents_test, a_resend_of_an_applied_edit_is_acked_duplicate_and_applied_once) {
  TransportProbe ana, ben;
  join(ana, "ana", "Ana");
  join(ben, "ben", "Ben");
  expect_ack(ana, protocol::NodeCreate{kRoom, node("n1")}, "7");
  // The same id again (a client that never saw the ack resends it as is), and the same id with
  // another content: both were applied already, neither is applied again.
  send(ana, protocol::NodeCreate{kRoom, node("n1")}, "7");
  send(ana, protocol::NodeCreate{kRoom, node("n2")}, "7");
  std::size_t acks = 0, duplicates = 0;
  ASSERT_TRUE(ana.wait_for([&] {
    acks = duplicates = 0;
    for (const Frame& f : decoded(ana.log)) {
      auto* ack = std::get_if<protocol::Ack>(&f.message);
      if (!ack || f.id != "7") continue;
      ++acks;
      duplicates += ack->duplicate ? 1 : 0;
    }
    return duplicates == 2;
  })) << acks << " acks, " << duplicates << " duplicate";
  EXPECT_EQ(acks, 3u);
  EXPECT_TRUE(errors_in(ana.log).empty());
  expect_ack(ana, protocol::NodeUpdate{kRoom, "n1", label("after"), std::nullopt}, "8");  // a marker
  ASSERT_TRUE(ben.wait_for([&] { return doc_events(ben.log).size() >= 2; }));
  const auto seen = doc_events(ben.log);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].type, "node_created");
  EXPECT_EQ(seen[1].type, "node_updated");
  const protocol::DocSnapshot snapshot = snapshot_for_a_newcomer();
  ASSERT_EQ(snapshot.nodes.size(), 1u);
  EXPECT_EQ(snapshot.nodes[0].id, "n1");
}

TEST_F(documents_test, every_acked_edit_survives_a_kill_and_restart_and_a_resend_in_the_same_session_is_not_reapplied) {
  std::string session;
  std::int64_t last_seq = 0;
  {
    TransportProbe ana;
    session = connect(ana, "ana", "Ana").session;
    subscribe(ana);
    expect_ack(ana, protocol::NodeCreate{kRoom, node("n1", "trigger")}, "1");
    expect_ack(ana, protocol::NodeCreate{kRoom, node("n2")}, "2");
    expect_ack(ana, protocol::NodeCreate{kRoom, node("n3")}, "3");
    expect_ack(ana, protocol::EdgeCreate{kRoom, {"e1", "n1", "n2"}}, "4");
    expect_ack(ana, protocol::EdgeCreate{kRoom, {"e2", "n2", "n3"}}, "5");
    protocol::NodeFields moved;
    moved.x = 42.5;
    moved.status = protocol::NodeStatus::Running;
    moved.data = R"({"url":"https://example.com/orders"})";
    expect_ack(ana, protocol::NodeUpdate{kRoom, "n2", moved, std::nullopt}, "6");
    expect_ack(ana, protocol::NodeDelete{kRoom, "n3", std::nullopt}, "7");  // and e2
    last_seq = doc_events(ana.log).back().seq;
    std::erase(probes_, &ana);
    server.kill_now();  // the last ack was sent: it must have been stored
  }
  ASSERT_NO_THROW(server.start());

  const protocol::DocSnapshot snapshot = snapshot_for_a_newcomer();
  EXPECT_EQ(snapshot.seq, last_seq);
  ASSERT_EQ(snapshot.nodes.size(), 2u);
  EXPECT_EQ(snapshot.nodes[0], node("n1", "trigger"));
  protocol::Node n2 = node("n2");
  n2.x = 42.5;
  n2.status = protocol::NodeStatus::Running;
  n2.data = R"({"url":"https://example.com/orders"})";
  EXPECT_EQ(snapshot.nodes[1], n2);
  EXPECT_EQ(snapshot.edges, (std::vector<protocol::Edge>{{"e1", "n1", "n2"}}));

  // Ana's client never saw ack "7" (say) and resends it in its session: acked, not re-applied.
  TransportProbe ana_again;
  const protocol::Connected continued = connect(ana_again, "ana", "Ana", session);
  EXPECT_EQ(continued.session, session) << server.output();
  subscribe(ana_again);
  auto resent = edit(ana_again, protocol::NodeCreate{kRoom, node("n1", "trigger")}, "1");
  ASSERT_TRUE(std::holds_alternative<protocol::Ack>(resent));
  EXPECT_TRUE(std::get<protocol::Ack>(resent).duplicate);
  EXPECT_EQ(snapshot_for_a_newcomer().seq, last_seq);  // nothing new in the log
}

TEST_F(documents_test, the_change_history_reads_newest_first_in_pages) {
  TransportProbe ana;
  join(ana, "ana", "Ana");
  for (int i = 1; i <= 4; ++i)
    expect_ack(ana, protocol::NodeCreate{kRoom, node("n" + std::to_string(i))}, std::to_string(i));
  expect_ack(ana, protocol::NodeDelete{kRoom, "n4", std::nullopt}, "5");
  const std::vector<SeenEvent> events = doc_events(ana.log);
  ASSERT_EQ(events.size(), 5u);

  std::vector<std::int64_t> seqs;
  std::vector<std::string> types;
  std::string query = "?limit=2";
  for (int page = 0; page < 10; ++page) {
    const HttpReply reply = get_changes(query);
    ASSERT_EQ(reply.status, 200) << reply.body;
    cJSON* body = cJSON_Parse(reply.body.c_str());
    ASSERT_NE(body, nullptr) << reply.body;
    EXPECT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "room")), kRoom);
    const cJSON* changes = cJSON_GetObjectItemCaseSensitive(body, "changes");
    EXPECT_LE(cJSON_GetArraySize(changes), 2);
    const cJSON* change = nullptr;
    cJSON_ArrayForEach(change, changes) {
      seqs.push_back(static_cast<std::int64_t>(cJSON_GetObjectItemCaseSensitive(change, "seq")->valuedouble));
      EXPECT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(change, "user")), "ana");
      EXPECT_GT(cJSON_GetObjectItemCaseSensitive(change, "ts")->valuedouble, 0);
      const cJSON* event = cJSON_GetObjectItemCaseSensitive(change, "event");
      types.emplace_back(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(event, "type")));
      EXPECT_EQ(cJSON_GetObjectItemCaseSensitive(event, "seq")->valuedouble, seqs.back());
    }
    const cJSON* next = cJSON_GetObjectItemCaseSensitive(body, "next_before");
    const bool last = cJSON_IsNull(next);
    if (!last) query = "?limit=2&before=" + std::to_string(static_cast<std::int64_t>(next->valuedouble));
    cJSON_Delete(body);
    if (last) break;
  }
  std::vector<std::int64_t> expected_seqs;
  std::vector<std::string> expected_types;
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    expected_seqs.push_back(it->seq);
    expected_types.push_back(it->type);
  }
  EXPECT_EQ(seqs, expected_seqs);
  EXPECT_EQ(types, expected_types);

  // The default page holds them all; bad arguments and a missing token are refused.
  EXPECT_EQ(get_changes("").status, 200);
  EXPECT_EQ(get_changes("?limit=0").status, 400);
  EXPECT_EQ(get_changes("?limit=501").status, 400);
  EXPECT_EQ(get_changes("?before=x").status, 400);
  EXPECT_EQ(get_changes("", "").status, 401);
  EXPECT_EQ(get_changes("", "not-the-admin-token-0123456789").status, 403);
  EXPECT_EQ(http_get(server.port(), "/api/v1/rooms/chat:lobby/changes", milliseconds{2000},
                     "Authorization: Bearer " + std::string(kAdminToken) + "\r\n")
                .status,
            400);
}

}  // namespace
