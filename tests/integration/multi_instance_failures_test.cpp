// multi_instance_failures_test.cpp — issue 14's failure tests (docs/SCALING.md "Failures") with
// real processes: tandem-server instances on one PostgreSQL and a Redis (server_cluster.h),
// driven by native clients on the client core (reconnect, session resume, offline queue,
// idempotent resend with the original ids: PROTOCOL.md §3) and by raw sockets.
//
//   multi_instance_kill_test — kill -9 under load. Two instances behind nginx, twenty clients
//     connected through nginx (ten on each), sending chat and node edits into three shared rooms
//     while the instance that owns two of them is killed with SIGKILL. Proves: the killed
//     instance's clients reconnect through nginx to the survivor and every client resumes its
//     rooms with `recovered:true` (the rooms moved to the survivor, loaded from PostgreSQL);
//     every request is answered and EVERY ACKED REQUEST IS STORED EXACTLY ONCE (a fresh reader's
//     chat history, document and room log against the set of acked requests; no loss, no
//     duplicate); every replica converges on the reader's view; the killed instance's members
//     leave presence in the survivor's room within the documented bound (instance_ttl_ms + a
//     third of it; asserted within 3x for a busy machine, measured and printed); their locks
//     there are resumed by their holders (same fence) or released after the grace (`unlocked`
//     disconnected, then granted again with a larger fence); locks in the moved rooms come back
//     with larger fences (fences grow across instances).
//   multi_instance_redis_restart_test — Redis restarted (empty) under load. Two instances on a
//     Redis of the test's own, six clients (three on each) chatting into two rooms (one owned by
//     each instance), Redis restarted mid-run. Proves: service resumes by itself (clients are
//     reconnected, chat flows again between users on different instances within a generous
//     deadline, measured and printed) and every acked message is in the history exactly once.
//   multi_instance_postgres_restart_test — the same load while PostgreSQL (a server of the
//     test's own) restarts: as on one instance, the instances retry until it is back, no request
//     fails and every acked message is stored exactly once.
//   multi_instance_lock_safety_test — lock safety across instances. Two instances, ten raw
//     clients (five on each) hammering lock / takeover / renew / node_update with fence /
//     unlock (and writes with a fence they no longer hold) on five nodes of one workflow room
//     for kLockRunTime (30 s). Proves, from the room's own event order (two observers, one per
//     instance, see the same contiguous log): no resource ever has two holders (`locked` only
//     while free), fences strictly increase per resource, every accepted node_update carries
//     the current holder's fence at that point of the log and every acked write is in the log
//     exactly once, every grant a client got is a `locked` event of that client, and no write
//     with a lost fence is ever accepted.
//   multi_instance_findings_test — what those ran into, each narrowed down to a few frames of raw
//     clients on two instances: (1) two subscribes at once on an instance that does not own the
//     rooms leave the owner its rooms (the second one, waiting behind the first, must not load
//     and so claim the room from PostgreSQL); (2) a request applied and stored by an instance
//     that then dies, resent by its client on the survivor, is not applied again.
//   multi_instance_subscriber_gap_test — and (3): a subscribe forwarded to a room's owner while
//     the owner's Redis subscriber reconnects (Redis restarted, a blip) is answered, or its
//     client reconnected — not lost for good.
//
// Waiting is always for a condition with a generous deadline (wait.h); the only delays are the
// pacing between a client's requests. Needs the ctest fixture "services" and nginx.
// Debugging aids: TANDEM_TEST_LOG_LINES=N prints the last N lines of each instance's output on
// a failure (default 150); TANDEM_TRACE_WRITER=w3 prints every frame client-core writer w3 sent
// and received, TANDEM_TRACE_WRITER=all those of every writer not back in its rooms or that saw
// a request fail (kill and Redis tests).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "lws_transport.h"
#include "scripted_server.h"
#include "server_cluster.h"
#include "server_test_support.h"
#include "tandem/client.h"
#include "tandem/clock.h"
#include "tandem/protocol/errors.h"
#include "test_postgres.h"
#include "test_redis.h"

namespace tandem::integration {
namespace {

using namespace protocol;
using TimePoint = Clock::time_point;

long long ms_between(TimePoint from, TimePoint to) {
  return static_cast<long long>(std::chrono::duration_cast<milliseconds>(to - from).count());
}

// The last `lines` lines of `text`: server outputs in failure messages stay readable.
std::string tail(const std::string& text, std::size_t lines) {
  std::size_t at = text.size();
  for (std::size_t n = 0; n <= lines && at > 0; ++n) {
    const std::size_t nl = text.rfind('\n', at - 1);
    if (nl == std::string::npos) return text;
    at = nl;
  }
  return text.substr(at);
}

// How many of each instance's last lines a failing test prints: TANDEM_TEST_LOG_LINES, else 150.
std::size_t log_lines() {
  const char* wanted = std::getenv("TANDEM_TEST_LOG_LINES");
  return wanted ? static_cast<std::size_t>(std::strtoul(wanted, nullptr, 10)) : 150;
}

// The lines of `text` that contain `needle` (evidence from a server's output).
std::string grep(const std::string& text, std::string_view needle, std::size_t max_lines = 40) {
  std::istringstream in(text);
  std::string line, out;
  std::size_t n = 0;
  while (std::getline(in, line))
    if (line.find(needle) != std::string::npos && n++ < max_lines) out += line + "\n";
  return out;
}

// ---- a client on the client core, its transport tapped --------------------------------------

// The libwebsockets transport with a tap: the test sees every frame and close the client core
// gets, with the time it came — among them the answers to the core's own rejoins, with their
// `recovered`, which the core consumes itself.
class TappedTransport final : public Transport, private TransportEvents {
 public:
  TappedTransport() : inner(TransportProbe::quiet_settings()) {}
  void open(const std::string& url, TransportEvents& events) override {
    events_ = &events;
    inner.open(url, *this);
  }
  SendStatus send(std::string_view frame) override {
    if (on_send) on_send(frame);
    return inner.send(frame);
  }
  SendStatus send_binary(std::string_view message) override { return inner.send_binary(message); }
  void close(int code, std::string_view reason) override { inner.close(code, reason); }

  std::function<void(std::string_view)> on_send;
  std::function<void(std::string_view)> on_frame;
  std::function<void(int, std::string_view)> on_close;
  native::LwsTransport inner;

 private:
  void on_open() override { events_->on_open(); }
  void on_message(std::string_view frame) override {
    if (on_frame) on_frame(frame);
    events_->on_message(frame);
  }
  void on_closed(int code, std::string_view reason) override {
    if (on_close) on_close(code, reason);
    events_->on_closed(code, reason);
  }
  TransportEvents* events_ = nullptr;
};

template <class M>
struct Timed {
  TimePoint at;
  M message;
};

struct CloseSeen {
  TimePoint at;
  int code = 0;
  std::string reason;
};

// One user of the client core (as NativeClient wires it), recording what its tap saw.
class CoreClient {
 public:
  CoreClient(const std::string& url, const std::string& sub, std::uint64_t seed)
      : origin_(Clock::now()), rng_(seed), client_(config(url, sub), tap_, rng_) {
    tap_.on_frame = [this](std::string_view frame) {
      if (trace_on) trace.push_back(std::to_string(ms_between(origin_, Clock::now())) + " <- " + std::string(frame));
      record(frame);
    };
    tap_.on_send = [this](std::string_view frame) {
      if (trace_on) trace.push_back(std::to_string(ms_between(origin_, Clock::now())) + " -> " + std::string(frame));
    };
    tap_.on_close = [this](int code, std::string_view reason) {
      if (trace_on)
        trace.push_back(std::to_string(ms_between(origin_, Clock::now())) + " closed " + std::to_string(code) + " " +
                        std::string(reason));
      closes.push_back({Clock::now(), code, std::string(reason)});
    };
  }
  CoreClient(const CoreClient&) = delete;
  CoreClient& operator=(const CoreClient&) = delete;

  Client& client() { return client_; }
  Rooms& rooms() { return client_.rooms(); }
  TimePoint origin() const { return origin_; }
  void start() { client_.start(now()); }
  void poll(milliseconds wait) {
    client_.tick(now());
    tap_.inner.poll(wait);
    client_.tick(now());
  }
  bool poll_until(const std::function<bool()>& done, milliseconds timeout) {
    return pump_until(done, [&] { poll(milliseconds{10}); }, timeout);
  }
  void shutdown() {
    client_.stop();
    poll_until([this] { return tap_.inner.phase() == native::TransportPhase::Idle; }, milliseconds{2000});
    poll(milliseconds{0});
  }
  std::string connection_id() const { return client_.connected() ? client_.connected()->connection_id : std::string(); }
  // Open, and every room it joined is joined (not rejoining) on the current connection.
  bool settled(const std::vector<std::string>& rooms) const {
    if (client_.state() != State::Open) return false;
    for (const std::string& room : rooms)
      if (client_.rooms().status(room) != RoomStatus::Joined) return false;
    return true;
  }

  std::vector<Timed<Connected>> connected;
  std::vector<Timed<Subscribed>> subscribed;
  std::vector<Timed<Unlocked>> unlocked;
  std::vector<CloseSeen> closes;
  bool trace_on = false;
  std::vector<std::string> trace;

 private:
  static ClientConfig config(const std::string& url, const std::string& sub) {
    ClientConfig config;
    config.session.url = url;
    config.session.token = mint_token({.sub = sub, .name = sub});
    // A loaded 2-core machine running two servers, PostgreSQL, Redis and nginx: an answer may
    // take long, and a timed-out request is not resent (it would be neither acked nor known).
    config.outbox.ack_timeout = milliseconds{60000};
    return config;
  }
  Millis now() const { return std::chrono::duration_cast<Millis>(Clock::now() - origin_); }
  // Only the frames the test looks at are decoded (the rest is the core's business).
  void record(std::string_view frame) {
    if (frame.find("\"subscribed\"") == std::string_view::npos && frame.find("\"connected\"") == std::string_view::npos &&
        frame.find("\"unlocked\"") == std::string_view::npos)
      return;
    const TimePoint at = Clock::now();
    for (auto& result : decode_server(frame)) {
      if (!result.ok()) continue;
      const ServerMessage& m = result.value().message;
      if (const auto* c = std::get_if<Connected>(&m)) connected.push_back({at, *c});
      if (const auto* s = std::get_if<Subscribed>(&m)) subscribed.push_back({at, *s});
      if (const auto* u = std::get_if<Unlocked>(&m)) unlocked.push_back({at, *u});
    }
  }

  TimePoint origin_;
  TappedTransport tap_;
  SeededRng rng_;
  Client client_;  // last: it refers to tap_ and rng_
};

// ---- a raw connection (below the client core), every frame decoded and timed ----------------

struct TimedFrame {
  TimePoint at;
  ServerFrame frame;
};

class RawClient final : public TransportEvents {
 public:
  RawClient() : transport_(TransportProbe::quiet_settings()) {}
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void open(const std::string& url) { transport_.open(url, *this); }
  template <class M>
  bool send(const M& message, std::optional<std::string> id = std::nullopt) {
    return transport_.send(encode_client(message, std::move(id))) == SendStatus::Sent;
  }
  void poll(milliseconds wait) { transport_.poll(wait); }
  bool is_closed() const { return closed.has_value(); }

  // The answer to request `id` (its first message carrying the id), if it came.
  const TimedFrame* answer(const std::string& id) const {
    auto it = answers_.find(id);
    return it == answers_.end() ? nullptr : &frames[it->second];
  }

  std::function<void(const TimedFrame&)> on_frame;  // each decoded message as it comes
  std::vector<TimedFrame> frames;                    // every decoded message, batches unpacked
  std::optional<CloseSeen> closed;
  std::size_t undecodable = 0;

 private:
  void on_open() override {}
  void on_message(std::string_view text) override {
    const TimePoint at = Clock::now();
    for (auto& result : decode_server(text)) {
      if (!result.ok()) {
        ++undecodable;
        continue;
      }
      frames.push_back({at, std::move(result).value()});
      if (frames.back().frame.id) answers_.try_emplace(*frames.back().frame.id, frames.size() - 1);
      if (on_frame) on_frame(frames.back());
    }
  }
  void on_closed(int code, std::string_view reason) override { closed = CloseSeen{Clock::now(), code, std::string(reason)}; }

  native::LwsTransport transport_;
  std::map<std::string, std::size_t> answers_;
};

// Polls `raw` and `pump` until `raw` has the answer to `id` (nothing at the deadline or on a close).
const TimedFrame* await_answer(RawClient& raw, const std::string& id, const std::function<void()>& pump,
                               milliseconds timeout) {
  pump_until([&] { return raw.answer(id) != nullptr || raw.is_closed(); },
             [&] {
               raw.poll(milliseconds{0});
               pump();
             },
             timeout);
  return raw.answer(id);
}

// Opens `raw` at `ws_url` as `sub` and waits for `connected`; returns its connection id.
std::optional<std::string> connect_raw(RawClient& raw, const std::string& ws_url, const std::string& sub,
                                       const std::function<void()>& pump, milliseconds timeout) {
  raw.open(ws_url + "?token=" + mint_token({.sub = sub, .name = sub}));
  std::optional<std::string> connection;
  pump_until(
      [&] {
        for (const TimedFrame& f : raw.frames)
          if (const auto* c = std::get_if<Connected>(&f.frame.message)) connection = c->connection_id;
        return connection.has_value() || raw.is_closed();
      },
      [&] {
        raw.poll(milliseconds{1});
        pump();
      },
      timeout);
  return connection;
}

// ---- what a writer sent and how it was answered ---------------------------------------------

enum class OpKind { Chat, Create, Update };

struct Op {
  OpKind kind = OpKind::Chat;
  std::string room;
  std::string key;  // chat: the text; create: the node id; update: "<node>@<x>"
  std::string node;
  double x = 0;
  bool answered = false, acked = false, duplicate = false;
  std::string failure;  // the error when not acked
  TimePoint sent_at{};  // when it was submitted (sent, or queued while offline)
};

// A client-core user sending paced requests, each remembered with its answer.
struct Writer {
  Writer(const std::string& url, int number, std::uint64_t seed)
      : index(number), sub("w" + std::to_string(number)), core(url, sub, seed) {}

  void submit(Op op) {
    op.sent_at = Clock::now();
    ops.push_back(std::move(op));
    const std::size_t k = ops.size() - 1;
    auto done = [this, k](Result<Acked> r) {
      Op& o = ops[k];
      o.answered = true;
      ++answered;
      if (r.ok()) {
        o.acked = true;
        o.duplicate = r.value().duplicate;
        if (o.duplicate) ++duplicates;
      } else {
        o.failure = r.error().code + " " + r.error().message;
        failures.push_back("request " + std::to_string(k) + " (" + o.key + "): " + o.failure);
      }
    };
    const Op& o = ops[k];
    switch (o.kind) {
      case OpKind::Chat:
        core.rooms().send_chat(o.room, o.key, done);
        break;
      case OpKind::Create: {
        Node node;
        node.id = o.node;
        node.type = "step";
        node.x = o.x;
        core.rooms().create_node(o.room, node, done);
        break;
      }
      case OpKind::Update: {
        NodeFields fields;
        fields.x = o.x;
        core.rooms().update_node(o.room, o.node, fields, std::nullopt, done);
        break;
      }
    }
  }
  std::size_t in_flight() const { return ops.size() - static_cast<std::size_t>(answered); }

  int index;
  std::string sub;
  CoreClient core;
  std::size_t instance = 0;  // where it connected first
  std::vector<Op> ops;
  int answered = 0, duplicates = 0;
  std::vector<std::string> failures;
  TimePoint next_send{};
};

// Connects writers one at a time until `per_instance` landed on each instance: url_for(k) is
// instance k's URL (straight to it) or nginx's for every k (round robin spreads them); a writer
// that landed on an instance that has its share already is shut down and made again.
void connect_spread(std::vector<std::unique_ptr<Writer>>& writers, ServerCluster& cluster,
                    const std::function<std::string(std::size_t)>& url_for, std::size_t per_instance,
                    std::uint64_t seed_base) {
  std::vector<std::size_t> count(cluster.size(), 0);
  const std::size_t wanted = per_instance * cluster.size();
  for (int attempt = 0; writers.size() < wanted; ++attempt) {
    ASSERT_LT(attempt, static_cast<int>(wanted) * 4) << "clients do not spread over the instances";
    std::size_t target = 0;
    while (count[target] >= per_instance) ++target;
    auto w = std::make_unique<Writer>(url_for(target), static_cast<int>(writers.size()),
                                      seed_base + static_cast<std::uint64_t>(attempt));
    if (const char* traced = std::getenv("TANDEM_TRACE_WRITER"))
      w->core.trace_on = w->sub == traced || std::string_view(traced) == "all";
    w->core.start();
    ASSERT_TRUE(w->core.poll_until([&] { return w->core.client().connected().has_value(); }, kStepDeadline))
        << w->sub << " did not connect\n" << tail(cluster.outputs(), 80);
    auto instance = cluster.instance_of_connection(w->core.connection_id());
    ASSERT_TRUE(instance.has_value()) << w->core.connection_id();
    if (count[*instance] >= per_instance) {
      w->core.shutdown();
      continue;
    }
    ++count[*instance];
    w->instance = *instance;
    writers.push_back(std::move(w));
  }
}

// The traces TANDEM_TRACE_WRITER asked for (a writer's name, or "all": then those of the
// writers not settled in `rooms`, or that saw a failure), times in ms since each writer began.
void print_traces(const std::vector<std::unique_ptr<Writer>>& writers, const std::vector<std::string>& rooms,
                  TimePoint event, const char* what) {
  const char* traced = std::getenv("TANDEM_TRACE_WRITER");
  if (!traced) return;
  const bool all = std::string_view(traced) == "all";
  for (const auto& w : writers) {
    if (w->core.trace.empty() || (all && w->core.settled(rooms) && w->failures.empty())) continue;
    std::printf("trace of %s (instance %zu, %s at %lld ms):\n", w->sub.c_str(), w->instance, what,
                ms_between(w->core.origin(), event));
    for (const std::string& line : w->core.trace) std::printf("  %s\n", line.substr(0, 4000).c_str());
  }
}

void poll_writers(std::vector<std::unique_ptr<Writer>>& writers, milliseconds wait) {
  for (auto& w : writers) w->core.poll(wait);
}

// Joins every writer to `rooms` (the founders first, so they own what they join first).
void join_all(std::vector<std::unique_ptr<Writer>>& writers, const std::vector<std::string>& rooms,
              ServerCluster& cluster) {
  for (auto& w : writers) {
    int joined = 0;
    std::string failure;
    for (const std::string& room : rooms)
      w->core.rooms().join(room, std::nullopt, [&](Result<Subscribed> r) {
        if (!r.ok()) failure = room + ": " + r.error().code + " " + r.error().message;
        ++joined;
      });
    ASSERT_TRUE(pump_until([&] { return joined == static_cast<int>(rooms.size()); },
                           [&] { poll_writers(writers, milliseconds{1}); }, 3 * kStepDeadline))
        << w->sub << " did not join\n" << tail(cluster.outputs(), 80);
    ASSERT_TRUE(failure.empty()) << w->sub << " " << failure;
  }
}

// Every message the reader needs from the rooms, read through a fresh connection.
struct StoredView {
  std::map<std::string, std::vector<ChatEntry>> history;  // chat rooms
  DocSnapshot doc;                                        // the workflow room
  std::vector<ServerMessage> doc_log;                     // its events since seq 0
};

// A fresh reader on `ws_url`: the chat rooms' history, the workflow's document and its whole
// log (resubscribed with since {epoch, 0}: the log is shorter than recovery_history).
StoredView read_rooms(const std::string& ws_url, const std::vector<std::string>& chat_rooms, const std::string& doc_room,
                      const std::string& outputs_hint) {
  StoredView view;
  RawClient reader;
  const auto pump = [&] { reader.poll(milliseconds{10}); };
  const milliseconds deadline = 3 * kStepDeadline;
  EXPECT_TRUE(connect_raw(reader, ws_url, "reader", pump, deadline).has_value()) << outputs_hint;
  std::vector<std::string> rooms = chat_rooms;
  if (!doc_room.empty()) rooms.push_back(doc_room);
  std::map<std::string, std::string> epochs;
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    const std::string id = "s" + std::to_string(i);
    reader.send(Subscribe{rooms[i], std::nullopt}, id);
    const TimedFrame* answer = await_answer(reader, id, pump, deadline);
    const auto* subscribed = answer ? std::get_if<Subscribed>(&answer->frame.message) : nullptr;
    EXPECT_NE(subscribed, nullptr) << "the reader was not subscribed to " << rooms[i] << outputs_hint;
    if (!subscribed) return view;
    epochs[rooms[i]] = subscribed->epoch;
  }
  // The snapshots follow the answers: a history per room and the document.
  const auto snapshots_in = [&] {
    bool doc = doc_room.empty();
    for (const TimedFrame& f : reader.frames) {
      if (const auto* h = std::get_if<ChatHistory>(&f.frame.message))
        if (std::find(chat_rooms.begin(), chat_rooms.end(), h->room) != chat_rooms.end())
          view.history.try_emplace(h->room, h->messages);
      if (const auto* d = std::get_if<DocSnapshot>(&f.frame.message); d && d->room == doc_room && !doc) {
        view.doc = *d;
        doc = true;
      }
    }
    return view.history.size() == chat_rooms.size() && doc;
  };
  EXPECT_TRUE(pump_until(snapshots_in, pump, deadline)) << "the reader got no snapshots" << outputs_hint;
  if (doc_room.empty()) return view;
  const std::size_t before = reader.frames.size();
  reader.send(Subscribe{doc_room, StreamPosition{epochs[doc_room], 0}}, "log");
  const TimedFrame* log = await_answer(reader, "log", pump, deadline);
  const auto* replay = log ? std::get_if<Subscribed>(&log->frame.message) : nullptr;
  EXPECT_TRUE(replay && replay->recovered) << "the document's whole log should be in its history" << outputs_hint;
  if (!replay) return view;
  // The replayed events end with the presence_state that follows a recovered subscribe.
  EXPECT_TRUE(pump_until(
      [&] {
        for (std::size_t i = before; i < reader.frames.size(); ++i)
          if (const auto* p = std::get_if<PresenceSnapshot>(&reader.frames[i].frame.message); p && p->room == doc_room)
            return true;
        return false;
      },
      pump, deadline));
  for (std::size_t i = before; i < reader.frames.size(); ++i) {
    const ServerMessage& m = reader.frames[i].frame.message;
    if (const auto* c = std::get_if<NodeCreated>(&m); c && c->room == doc_room) view.doc_log.push_back(m);
    if (const auto* u = std::get_if<NodeUpdated>(&m); u && u->room == doc_room) view.doc_log.push_back(m);
  }
  return view;
}

std::string update_key(const std::string& node, double x) {
  return node + "@" + std::to_string(static_cast<long long>(x));
}

// Every acked op of `writers` is in `view` exactly once, every other one at most once, and
// nothing is there that nobody sent. Returns the number of ops checked.
std::size_t expect_exactly_once(const std::vector<std::unique_ptr<Writer>>& writers, const StoredView& view) {
  std::map<std::string, std::map<std::string, int>> chats;  // room -> text -> times stored
  for (const auto& [room, entries] : view.history)
    for (const ChatEntry& e : entries) ++chats[room][e.text];
  std::map<std::string, int> created, updated;
  for (const ServerMessage& m : view.doc_log) {
    if (const auto* c = std::get_if<NodeCreated>(&m)) ++created[c->node.id];
    if (const auto* u = std::get_if<NodeUpdated>(&m)) ++updated[update_key(u->node, u->fields.x.value_or(-1))];
  }
  std::size_t checked = 0;
  std::map<std::string, std::map<std::string, int>> sent_chats;
  std::map<std::string, int> sent_created, sent_updated;
  for (const auto& w : writers)
    for (const Op& op : w->ops) {
      ++checked;
      int stored = 0;
      switch (op.kind) {
        case OpKind::Chat:
          stored = chats[op.room][op.key];
          ++sent_chats[op.room][op.key];
          break;
        case OpKind::Create:
          stored = created[op.key];
          ++sent_created[op.key];
          break;
        case OpKind::Update:
          stored = updated[op.key];
          ++sent_updated[op.key];
          break;
      }
      if (op.acked)
        EXPECT_EQ(stored, 1) << w->sub << "'s acked " << op.key << " in " << op.room << " is stored " << stored
                             << " times" << (op.duplicate ? " (acked as a duplicate)" : "");
      else
        EXPECT_LE(stored, 1) << w->sub << "'s unacked " << op.key << " (" << op.failure << ") is stored " << stored
                             << " times";
    }
  for (const auto& [room, texts] : chats)
    for (const auto& text : texts)
      EXPECT_TRUE(sent_chats[room].contains(text.first)) << "chat " << text.first << " in " << room << " was sent by nobody";
  for (const auto& node : created)
    EXPECT_TRUE(sent_created.contains(node.first)) << "node " << node.first << " was made by nobody";
  for (const auto& update : updated)
    EXPECT_TRUE(sent_updated.contains(update.first)) << "update " << update.first << " was sent by nobody";
  return checked;
}

// Every writer's replicas of `chat_rooms` and `doc_room` equal the reader's view.
bool replicas_match(const std::vector<std::unique_ptr<Writer>>& writers, const StoredView& view,
                    const std::vector<std::string>& chat_rooms, const std::string& doc_room) {
  WorkflowDocument doc;
  doc.replace(view.doc.nodes, view.doc.edges);
  for (const auto& w : writers) {
    for (const std::string& room : chat_rooms) {
      const RoomReplica* replica = w->core.rooms().replica(room);
      auto it = view.history.find(room);
      if (!replica || it == view.history.end()) return false;
      if (replica->chat().size() != it->second.size() ||
          !std::equal(replica->chat().begin(), replica->chat().end(), it->second.begin()))
        return false;
    }
    if (!doc_room.empty()) {
      const RoomReplica* replica = w->core.rooms().replica(doc_room);
      if (!replica || !(replica->document() == doc)) return false;
    }
  }
  return true;
}

std::string median_and_max(std::vector<long long> values) {
  if (values.empty()) return "none";
  std::sort(values.begin(), values.end());
  return "median " + std::to_string(values[values.size() / 2]) + " ms, max " + std::to_string(values.back()) + " ms";
}

// =============================================================================================
// 1. kill -9 under load
// =============================================================================================

constexpr const char* kVictimChat = "chat:kill-a";      // owned by instance 0, the one killed
constexpr const char* kVictimDoc = "workflow:kill";     // owned by instance 0
constexpr const char* kSurvivorChat = "chat:kill-b";    // owned by instance 1, the survivor
constexpr std::size_t kKillClientsPerInstance = 10;     // 20 clients
constexpr int kKillOpsPerClient = 60;                   // 1,200 requests
constexpr std::size_t kKillInFlight = 3;                // unanswered requests per client at most
constexpr milliseconds kKillPace{120};                  // between a client's requests
constexpr int kKillAfterAcks = 300;                     // SIGKILL once this many were acked (and many are in flight)
constexpr std::int64_t kKillGraceMs = 2000;             // --lock-grace-ms
constexpr std::int64_t kInstanceTtlMs = ServerCluster::kInstanceTtlMs;
constexpr std::int64_t kLeaveBoundMs = kInstanceTtlMs + kInstanceTtlMs / 3;  // docs/SCALING.md's bound
constexpr milliseconds kKillRunDeadline{120000};

// What writer c does as its k-th request: chat into each chat room, a new node, moves of it.
Op kill_op(int c, int k, int latest_node) {
  Op op;
  switch (k % 5) {
    case 0:
    case 1:
      op.kind = OpKind::Chat;
      op.room = k % 5 == 0 ? kVictimChat : kSurvivorChat;
      op.key = "w" + std::to_string(c) + "-m" + std::to_string(k);
      break;
    case 2:
      op.kind = OpKind::Create;
      op.room = kVictimDoc;
      op.node = op.key = "w" + std::to_string(c) + "-n" + std::to_string(k);
      op.x = k;
      break;
    default:
      op.kind = OpKind::Update;
      op.room = kVictimDoc;
      op.node = "w" + std::to_string(c) + "-n" + std::to_string(latest_node);
      op.x = c * 1000 + k;
      op.key = update_key(op.node, op.x);
      break;
  }
  return op;
}

// A test on a ServerCluster of its own: started before the test; on a failure each
// instance's last lines are printed.
class cluster_fixture : public ::testing::Test {
 protected:
  virtual ServerCluster& cluster_under_test() = 0;
  void SetUp() override { ASSERT_NO_THROW(cluster_under_test().start()); }
  void TearDown() override {
    if (!HasFailure()) return;
    ServerCluster& cluster = cluster_under_test();
    for (std::size_t k = 0; k < cluster.size(); ++k)
      std::printf("---- instance %s, last lines ----\n%s\n", ServerCluster::instance_id(k).c_str(),
                  tail(cluster.instance(k).output(), log_lines()).c_str());
  }
};

class multi_instance_kill_test : public cluster_fixture {
 protected:
  multi_instance_kill_test()
      : cluster({.instances = 2,
                 .flags = {"--lock-grace-ms", std::to_string(kKillGraceMs), "--chat-history", "2000",
                           "--recovery-history", "5000"},
                 .nginx = true}) {}
  ServerCluster& cluster_under_test() override { return cluster; }
  ServerCluster cluster;
};

TEST_F(multi_instance_kill_test, sigkill_of_the_owner_under_load_loses_no_acked_request_and_stores_none_twice) {
  const std::vector<std::string> rooms = {kVictimChat, kVictimDoc, kSurvivorChat};
  std::vector<std::unique_ptr<Writer>> writers;
  ASSERT_NO_FATAL_FAILURE(connect_spread(
      writers, cluster, [&](std::size_t) { return cluster.nginx_ws_url(); }, kKillClientsPerInstance, 1000));

  // Ownership: the first subscriber's instance takes a room (server_cluster.h). A writer on
  // instance 0 opens the victim's rooms, one on instance 1 the survivor's.
  auto first_on = [&](std::size_t instance) -> Writer& {
    for (auto& w : writers)
      if (w->instance == instance) return *w;
    return *writers.front();
  };
  {
    Writer& victim_founder = first_on(0);
    Writer& survivor_founder = first_on(1);
    ASSERT_EQ(victim_founder.instance, 0u);
    ASSERT_EQ(survivor_founder.instance, 1u);
    int joined = 0;
    for (const char* room : {kVictimChat, kVictimDoc})
      victim_founder.core.rooms().join(room, std::nullopt, [&](Result<Subscribed> r) { joined += r.ok() ? 1 : 100; });
    ASSERT_TRUE(pump_until([&] { return joined >= 2; }, [&] { poll_writers(writers, milliseconds{1}); }, kStepDeadline));
    survivor_founder.core.rooms().join(kSurvivorChat, std::nullopt, [&](Result<Subscribed> r) { joined += r.ok() ? 1 : 100; });
    ASSERT_TRUE(pump_until([&] { return joined >= 3; }, [&] { poll_writers(writers, milliseconds{1}); }, kStepDeadline));
    ASSERT_EQ(joined, 3) << "a founder's join failed";
  }
  ASSERT_NO_FATAL_FAILURE(join_all(writers, rooms, cluster));

  // Every writer holds a lock in a room of each instance ("desk-<user>").
  const std::vector<std::string> lock_rooms = {kVictimChat, kSurvivorChat};
  {
    int granted = 0;
    std::vector<std::string> refused;
    for (auto& w : writers)
      for (const std::string& room : lock_rooms)
        w->core.rooms().lock(room, "desk-" + w->sub, 60000, [&, sub = w->sub](Result<LockAnswer> r) {
          if (r.ok() && r.value().outcome == LockOutcome::Granted)
            ++granted;
          else
            refused.push_back(sub);
        });
    ASSERT_TRUE(pump_until([&] { return granted + static_cast<int>(refused.size()) == 2 * static_cast<int>(writers.size()); },
                           [&] { poll_writers(writers, milliseconds{1}); }, 3 * kStepDeadline));
    ASSERT_TRUE(refused.empty()) << refused.front() << "'s lock was refused";
  }

  // A bystander on instance 0 that will not come back (a raw socket): it joins the survivor's
  // room and locks there, so that room's owner has to drop it when instance 0 dies.
  RawClient bystander;
  RawClient observer;  // on the survivor, in the survivor's room: sees presence and locks
  const auto pump_all = [&] {
    for (auto& w : writers) w->core.poll(milliseconds{1});
    bystander.poll(milliseconds{0});
    observer.poll(milliseconds{0});
  };
  auto bystander_connection = connect_raw(bystander, cluster.instance(0).ws_url(), "bystander", pump_all, kStepDeadline);
  ASSERT_TRUE(bystander_connection.has_value());
  bystander.send(Subscribe{kSurvivorChat, std::nullopt}, "s1");
  ASSERT_TRUE(await_answer(bystander, "s1", pump_all, kStepDeadline));
  bystander.send(Lock{kSurvivorChat, "desk-bystander", 60000}, "l1");
  const TimedFrame* bystander_lock = await_answer(bystander, "l1", pump_all, kStepDeadline);
  ASSERT_TRUE(bystander_lock && std::holds_alternative<LockGranted>(bystander_lock->frame.message));

  ASSERT_TRUE(connect_raw(observer, cluster.instance(1).ws_url(), "observer", pump_all, kStepDeadline).has_value());
  observer.send(Subscribe{kSurvivorChat, std::nullopt}, "s1");
  ASSERT_TRUE(await_answer(observer, "s1", pump_all, kStepDeadline));

  // ---- load, and the kill in the middle of it ----
  auto acked = [&] {
    int n = 0;
    for (auto& w : writers) n += w->answered;
    return n;
  };
  std::optional<TimePoint> killed_at;
  std::map<std::string, std::int64_t> fences_at_kill;            // "<room>/<resource>" -> fence
  std::vector<std::string> victim_connections;                    // instance 0's clients at the kill
  std::map<int, std::optional<TimePoint>> back_at;                // writer -> settled again after the kill
  int in_flight_at_kill = 0;
  std::vector<int> latest_node(writers.size(), 2);
  const bool finished = pump_until(
      [&] {
        const TimePoint now = Clock::now();
        for (auto& w : writers)
          while (static_cast<int>(w->ops.size()) < kKillOpsPerClient && w->in_flight() < kKillInFlight &&
                 now >= w->next_send) {
            const int k = static_cast<int>(w->ops.size());
            if (k % 5 == 2) latest_node[static_cast<std::size_t>(w->index)] = k;
            w->submit(kill_op(w->index, k, latest_node[static_cast<std::size_t>(w->index)]));
            w->next_send = now + kKillPace;
          }
        // Killed while requests are in flight (the writers keep the same pace, so they tend
        // to be all answered at once): some applied and not yet acked, some not yet applied.
        std::size_t in_flight = 0;
        for (auto& w : writers) in_flight += w->in_flight();
        if (!killed_at && acked() >= kKillAfterAcks && in_flight >= writers.size()) {
          for (auto& w : writers) {
            in_flight_at_kill += static_cast<int>(w->in_flight());
            for (const std::string& room : lock_rooms)
              if (auto fence = w->core.rooms().fence(room, "desk-" + w->sub)) fences_at_kill[room + "/desk-" + w->sub] = *fence;
            if (w->instance == 0) victim_connections.push_back(w->core.connection_id());
          }
          victim_connections.push_back(*bystander_connection);
          cluster.instance(0).kill_now();
          killed_at = Clock::now();
        }
        if (killed_at)
          for (auto& w : writers)
            if (!back_at[w->index] && !w->core.closes.empty() && w->core.closes.back().at > *killed_at &&
                w->core.settled(rooms))
              back_at[w->index] = Clock::now();
        return acked() == kKillOpsPerClient * static_cast<int>(writers.size());
      },
      pump_all, kKillRunDeadline);
  ASSERT_TRUE(killed_at.has_value());
  ASSERT_TRUE(finished) << "answered " << acked() << " of " << kKillOpsPerClient * writers.size();

  // Every client is back, with its locks, and the survivor's owner let the dead members go.
  const std::string bystander_desk = "desk-bystander";
  auto leave_times = [&] {  // connection -> when the observer saw it leave the survivor's room
    std::map<std::string, TimePoint> left;
    for (const TimedFrame& f : observer.frames)
      if (const auto* d = std::get_if<PresenceDiff>(&f.frame.message); d && d->room == kSurvivorChat)
        for (const PresenceMember& m : d->leaves)
          for (const PresenceMeta& meta : m.metas) left.try_emplace(meta.connection, f.at);
    return left;
  };
  auto unlocked_at = [&](const std::string& resource) -> std::optional<Timed<Unlocked>> {
    for (const TimedFrame& f : observer.frames)
      if (const auto* u = std::get_if<Unlocked>(&f.frame.message); u && u->room == kSurvivorChat && u->resource == resource)
        return Timed<Unlocked>{f.at, *u};
    return std::nullopt;
  };
  const bool all_back = pump_until(
      [&] {
        for (auto& w : writers) {
          if (!w->core.settled(rooms)) return false;
          if (!back_at[w->index]) back_at[w->index] = Clock::now();
          for (const std::string& room : lock_rooms)
            if (w->core.rooms().lock_status(room, "desk-" + w->sub) != HeldLockStatus::Held) return false;
        }
        const auto left = leave_times();
        for (const std::string& c : victim_connections)
          if (!left.contains(c)) return false;
        return unlocked_at(bystander_desk).has_value();
      },
      pump_all, milliseconds{30000});
  EXPECT_TRUE(all_back) << "not every client came back with its locks, or the dead members did not leave";

  for (auto& w : writers) EXPECT_TRUE(w->failures.empty()) << w->sub << ": " << w->failures.front();
  print_traces(writers, rooms, *killed_at, "killed");

  // Every client lost its connection after the kill (instance 0's died; instance 1's were closed
  // with 1012 because they talked to instance 0's rooms) and rejoined every room with
  // recovered:true (the rooms moved, their logs came from PostgreSQL).
  std::vector<long long> back_victims, back_survivors;
  int resumed_sessions = 0, recovered_rejoins = 0, restart_closes = 0;
  for (auto& w : writers) {
    const bool closed_after = std::any_of(w->core.closes.begin(), w->core.closes.end(),
                                          [&](const CloseSeen& c) { return c.at > *killed_at; });
    EXPECT_TRUE(closed_after) << w->sub << " (instance " << w->instance << ") was never disconnected by the kill";
    if (w->instance == 1) {
      EXPECT_TRUE(std::any_of(w->core.closes.begin(), w->core.closes.end(),
                              [&](const CloseSeen& c) { return c.at > *killed_at && c.code == 1012; }))
          << w->sub << " on the survivor was not closed with 1012 when the owner of its rooms died";
    }
    for (const CloseSeen& c : w->core.closes)
      if (c.at > *killed_at && c.code == 1012) ++restart_closes;
    for (const auto& c : w->core.connected)
      if (c.at > *killed_at && c.message.resumed) ++resumed_sessions;
    EXPECT_TRUE(w->core.client().connected() && w->core.client().connected()->connection_id.ends_with("-i1"))
        << w->sub << " is on " << w->core.connection_id();
    for (const std::string& room : rooms) {
      bool rejoined = false;
      for (const auto& s : w->core.subscribed) {
        if (s.at <= *killed_at || s.message.room != room) continue;
        rejoined = true;
        EXPECT_TRUE(s.message.recovered) << w->sub << " rejoined " << room << " at seq " << s.message.seq
                                         << " without recovery (its events after since were not all in the history)";
        if (s.message.recovered) ++recovered_rejoins;
      }
      EXPECT_TRUE(rejoined) << w->sub << " never rejoined " << room << " after the kill";
    }
    if (back_at[w->index]) (w->instance == 0 ? back_victims : back_survivors).push_back(ms_between(*killed_at, *back_at[w->index]));
  }

  // Presence: every member instance 0 had in the survivor's room left within the bound.
  const auto left = leave_times();
  std::vector<long long> leave_ms;
  for (const std::string& c : victim_connections) {
    auto it = left.find(c);
    if (it == left.end()) {
      ADD_FAILURE() << "the survivor never dropped " << c << " from presence";
      continue;
    }
    leave_ms.push_back(ms_between(*killed_at, it->second));
  }
  const long long bystander_left_ms = left.contains(*bystander_connection) ? ms_between(*killed_at, left.at(*bystander_connection)) : -1;
  EXPECT_GE(bystander_left_ms, 0);
  EXPECT_LE(bystander_left_ms, 3 * kLeaveBoundMs) << "the dead instance's member left presence after " << bystander_left_ms
                                                  << " ms; the bound is " << kLeaveBoundMs << " ms";
  for (long long ms : leave_ms) EXPECT_LE(ms, 3 * kLeaveBoundMs);

  // Locks: the bystander's (its holder never came back) is released after the grace; the
  // writers' are resumed (same fence) or released and granted again (a larger fence).
  const auto bystander_unlock = unlocked_at(bystander_desk);
  long long bystander_unlock_ms = -1;
  if (bystander_unlock) {
    bystander_unlock_ms = ms_between(*killed_at, bystander_unlock->at);
    EXPECT_EQ(bystander_unlock->message.reason, UnlockReason::Disconnected);
    if (bystander_left_ms >= 0) {
      EXPECT_GE(bystander_unlock_ms - bystander_left_ms, kKillGraceMs - 300)
          << "the dead member's lock was released before its grace ended";
    }
    EXPECT_LE(bystander_unlock_ms, 3 * kLeaveBoundMs + kKillGraceMs + 1000);
  } else {
    ADD_FAILURE() << "the dead member's lock was never released";
  }
  int resumed_locks = 0, regranted_locks = 0;
  for (auto& w : writers)
    for (const std::string& room : lock_rooms) {
      const std::string key = room + "/desk-" + w->sub;
      auto now_fence = w->core.rooms().fence(room, "desk-" + w->sub);
      ASSERT_TRUE(fences_at_kill.contains(key)) << key << " was not held at the kill";
      if (!now_fence) continue;  // reported by all_back
      EXPECT_GE(*now_fence, fences_at_kill[key]) << key;
      if (room == kVictimChat) {  // the room was loaded again: its locks were released
        EXPECT_GT(*now_fence, fences_at_kill[key]) << key << " kept its fence across the room's move";
      }
      if (room == kSurvivorChat) (*now_fence == fences_at_kill[key] ? resumed_locks : regranted_locks)++;
    }

  int duplicates = 0;
  for (auto& w : writers) duplicates += w->duplicates;
  std::printf("[ info ] killed instance 0 with %d requests in flight (%d acked before); %d of %zu requests answered "
              "as duplicates of ones applied before\n",
              in_flight_at_kill, kKillAfterAcks, duplicates, writers.size() * kKillOpsPerClient);
  std::printf("[ info ] back (reconnected, every room rejoined) after the kill: killed instance's clients %s; "
              "survivor's clients %s; %d closes 1012, %d sessions resumed, %d rejoins recovered:true\n",
              median_and_max(back_victims).c_str(), median_and_max(back_survivors).c_str(), restart_closes,
              resumed_sessions, recovered_rejoins);
  std::printf("[ info ] presence: the dead instance's bystander left after %lld ms (bound instance_ttl_ms + 1/3 = %lld "
              "ms, asserted <= 3x); all %zu of its members: %s\n",
              bystander_left_ms, static_cast<long long>(kLeaveBoundMs), leave_ms.size(), median_and_max(leave_ms).c_str());
  std::printf("[ info ] locks: the bystander's released after %lld ms (grace %lld ms); writers' locks in the survivor's "
              "room: %d resumed with their fence, %d released and granted again\n",
              bystander_unlock_ms, static_cast<long long>(kKillGraceMs), resumed_locks, regranted_locks);

  // ---- what is stored: a fresh reader on the survivor ----
  const StoredView view = read_rooms(cluster.instance(1).ws_url(), {kVictimChat, kSurvivorChat}, kVictimDoc,
                                     "\n" + tail(cluster.instance(1).output(), 80));
  const std::size_t checked = expect_exactly_once(writers, view);
  std::printf("[ info ] %zu requests checked against the store: %zu + %zu chat messages, %zu document events\n", checked,
              view.history.count(kVictimChat) ? view.history.at(kVictimChat).size() : 0,
              view.history.count(kSurvivorChat) ? view.history.at(kSurvivorChat).size() : 0, view.doc_log.size());
  EXPECT_TRUE(pump_until([&] { return replicas_match(writers, view, {kVictimChat, kSurvivorChat}, kVictimDoc); },
                         pump_all, 3 * kStepDeadline))
      << "a client's replica differs from what a fresh reader gets";
  for (auto& w : writers) w->core.shutdown();
}


// =============================================================================================
// 2. Redis restarted under load
// =============================================================================================

constexpr const char* kRedisChatA = "chat:redis-a";  // owned by instance 0
constexpr const char* kRedisChatB = "chat:redis-b";  // owned by instance 1
constexpr std::size_t kRedisClientsPerInstance = 3;  // 6 clients
constexpr int kRedisMessagesPerClient = 150;         // 900 messages at least: more while the restart lasts
constexpr int kMessagesAfterRestart = 10;           // each writer sends at least this many once the service is back
constexpr std::size_t kRedisInFlight = 3;
constexpr milliseconds kRedisPace{60};
constexpr int kRestartAfterAcks = 250;
// From Redis answering again until chat sent afterwards crosses between the instances both
// ways: docs/SCALING.md says Redis's restart + the subscriber's backoff (<= 2 s). Generous.
constexpr milliseconds kResumeDeadline{30000};
constexpr milliseconds kRedisRunDeadline{120000};

// Which shared service a restart test restarts under the instances.
enum class Restarted { Redis, Postgres };

class multi_instance_restart_fixture : public cluster_fixture {
 protected:
  // Six client-core clients (three straight to each instance) chat into two rooms, one owned by
  // each instance; `restart` runs after kRestartAfterAcks acks while they send. Asserts that
  // service resumes by itself (chat crosses between the instances both ways), every client is
  // back in its rooms, no request fails, and every acked message is stored exactly once.
  void chat_through_a_restart(ServerCluster& cluster, Restarted which, const std::function<void()>& restart);
};

class multi_instance_redis_restart_test : public multi_instance_restart_fixture {
 protected:
  multi_instance_redis_restart_test()
      : cluster({.instances = 2, .flags = {"--chat-history", "2000"}, .nginx = false}, redis.url()) {}
  ServerCluster& cluster_under_test() override { return cluster; }
  tandem::test::RedisServer redis;  // the test's own (it restarts it); declared first: outlives the cluster
  ServerCluster cluster;
};

// PostgreSQL restarted (fast: every session cut) under the instances: as on one instance
// (postgres_outage_test), they retry until it is back and their clients only wait.
class multi_instance_postgres_restart_test : public multi_instance_restart_fixture {
 protected:
  multi_instance_postgres_restart_test()
      : cluster({.instances = 2, .flags = {"--chat-history", "2000"}, .nginx = false}, "", postgres.url()) {}
  ServerCluster& cluster_under_test() override { return cluster; }
  tandem::test::PostgresCluster postgres;  // the test's own (it restarts it); outlives the cluster
  ServerCluster cluster;
};

TEST_F(multi_instance_redis_restart_test, redis_restarted_under_load_service_resumes_and_no_acked_message_is_lost) {
  chat_through_a_restart(cluster, Restarted::Redis, [this] { redis.restart(); });
}

TEST_F(multi_instance_postgres_restart_test, postgresql_restarted_under_load_clients_wait_and_no_acked_message_is_lost) {
  chat_through_a_restart(cluster, Restarted::Postgres, [this] { postgres.restart(); });
}

void multi_instance_restart_fixture::chat_through_a_restart(ServerCluster& cluster, Restarted which,
                                                            const std::function<void()>& restart) {
  const char* const what = which == Restarted::Redis ? "Redis" : "PostgreSQL";
  const std::vector<std::string> rooms = {kRedisChatA, kRedisChatB};
  std::vector<std::unique_ptr<Writer>> writers;
  ASSERT_NO_FATAL_FAILURE(connect_spread(
      writers, cluster, [&](std::size_t k) { return cluster.instance(k).ws_url(); }, kRedisClientsPerInstance, 2000));
  // Each instance owns one room: a writer on it subscribes first.
  for (std::size_t k = 0; k < 2; ++k) {
    Writer& founder = *writers[k * kRedisClientsPerInstance];
    ASSERT_EQ(founder.instance, k);
    bool joined = false;
    founder.core.rooms().join(rooms[k], std::nullopt, [&](Result<Subscribed> r) {
      EXPECT_TRUE(r.ok()) << r.error().message;
      joined = true;
    });
    ASSERT_TRUE(pump_until([&] { return joined; }, [&] { poll_writers(writers, milliseconds{1}); }, kStepDeadline));
  }
  ASSERT_NO_FATAL_FAILURE(join_all(writers, rooms, cluster));

  auto acked = [&] {
    int n = 0;
    for (auto& w : writers) n += w->answered;
    return n;
  };
  auto submitted = [&] {
    int n = 0;
    for (auto& w : writers) n += static_cast<int>(w->ops.size());
    return n;
  };
  std::future<TimePoint> restarting;  // the restart runs beside the clients; it gives when the service answered again
  std::optional<TimePoint> restart_asked, back;
  // A writer sends its share, and goes on while the restart lasts (however long a busy machine
  // makes it), then a few more: the service is always restarted under load, and chat sent
  // after it is back shows that service resumed.
  const auto wants_to_send = [&](const Writer& w) {
    if (static_cast<int>(w.ops.size()) < kRedisMessagesPerClient || !back) return true;
    const auto after = std::count_if(w.ops.begin(), w.ops.end(), [&](const Op& op) { return op.sent_at > *back; });
    return after < kMessagesAfterRestart;
  };
  // Chat crossing instances again after the restart: the first time a message sent after
  // Redis came back by a writer on instance `from` is in the replica of a writer on the other.
  std::optional<TimePoint> crossed[2];
  TimePoint next_cross_check{};
  std::map<int, std::optional<TimePoint>> back_at;
  const auto pump = [&] { poll_writers(writers, milliseconds{1}); };
  const bool finished = pump_until(
      [&] {
        const TimePoint now = Clock::now();
        for (auto& w : writers)
          while (wants_to_send(*w) && w->in_flight() < kRedisInFlight && now >= w->next_send) {
            const int k = static_cast<int>(w->ops.size());
            Op op;
            op.kind = OpKind::Chat;
            op.room = rooms[static_cast<std::size_t>(k % 2)];
            op.key = "w" + std::to_string(w->index) + "-m" + std::to_string(k);
            w->submit(std::move(op));
            w->next_send = now + kRedisPace;
          }
        if (!restart_asked && acked() >= kRestartAfterAcks) {
          restart_asked = now;
          restarting = std::async(std::launch::async, [&restart] {
            restart();
            return Clock::now();
          });
        }
        if (restarting.valid() && !back && restarting.wait_for(milliseconds{0}) == std::future_status::ready)
          back = restarting.get();
        if (back && now >= next_cross_check) {
          next_cross_check = now + milliseconds{100};
          for (std::size_t from = 0; from < 2; ++from) {
            if (crossed[from]) continue;
            std::set<std::string> sent_after;
            for (auto& w : writers)
              if (w->instance == from)
                for (const Op& op : w->ops)
                  if (op.sent_at > *back) sent_after.insert(op.key);
            for (auto& w : writers) {
              if (w->instance == from || crossed[from]) continue;
              for (const std::string& room : rooms)
                if (const RoomReplica* r = w->core.rooms().replica(room))
                  for (const ChatEntry& e : r->chat())
                    if (sent_after.contains(e.text)) crossed[from] = now;
            }
          }
        }
        if (restart_asked)
          for (auto& w : writers)
            if (!back_at[w->index] && !w->core.closes.empty() && w->core.closes.back().at > *restart_asked &&
                w->core.settled(rooms))
              back_at[w->index] = now;
        return back && acked() == submitted() && !std::any_of(writers.begin(), writers.end(), [&](auto& w) { return wants_to_send(*w); }) &&
               crossed[0] && crossed[1];
      },
      pump, kRedisRunDeadline);
  ASSERT_TRUE(restart_asked.has_value());
  if (restarting.valid()) {
    ASSERT_NO_THROW(back = restarting.get());
  }
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(finished) << "answered " << acked() << " of " << submitted()
                        << "; chat crossed from instance 0: " << crossed[0].has_value()
                        << ", from instance 1: " << crossed[1].has_value();
  for (std::size_t from = 0; from < 2; ++from) {
    ASSERT_TRUE(crossed[from].has_value()) << "chat from instance " << from << " never reached the other after the restart";
    EXPECT_LE(ms_between(*back, *crossed[from]), static_cast<long long>(kResumeDeadline.count()));
  }
  EXPECT_TRUE(pump_until(
      [&] {
        for (auto& w : writers)
          if (!w->core.settled(rooms)) return false;
        return true;
      },
      pump, kResumeDeadline))
      << "not every client is back in its rooms";
  for (auto& w : writers) EXPECT_TRUE(w->failures.empty()) << w->sub << ": " << w->failures.front();
  print_traces(writers, rooms, *restart_asked, which == Restarted::Redis ? "Redis restarted" : "PostgreSQL restarted");

  int restart_closes = 0, failed = 0, duplicates = 0;
  std::vector<long long> back_ms;
  for (auto& w : writers) {
    for (const CloseSeen& c : w->core.closes)
      if (c.at > *restart_asked && c.code == 1012) ++restart_closes;
    failed += static_cast<int>(w->failures.size());
    duplicates += w->duplicates;
    if (back_at[w->index]) back_ms.push_back(ms_between(*back, *back_at[w->index]));
  }
  // The instances noticed: messages between them may have been lost, clients were reconnected.
  std::string noticed;
  for (std::size_t k = 0; k < cluster.size(); ++k)
    noticed += grep(cluster.instance(k).output(), "may have been lost");
  if (which == Restarted::Redis) {
    EXPECT_FALSE(noticed.empty()) << "no instance saw the gap of the restart";
  }
  std::printf("[ info ] %s restarted after %d acks (down for %lld ms); %d closes 1012; clients back in their rooms "
              "(from %s answering): %s; chat crossed instances again after %lld ms (0 -> 1) and %lld ms (1 -> 0); "
              "%d requests failed, %d acked as duplicates\n",
              what, kRestartAfterAcks, ms_between(*restart_asked, *back), restart_closes, what, median_and_max(back_ms).c_str(),
              ms_between(*back, *crossed[0]), ms_between(*back, *crossed[1]), failed, duplicates);

  const StoredView view = read_rooms(cluster.instance(1).ws_url(), rooms, "", "\n" + tail(cluster.instance(1).output(), 80));
  const std::size_t checked = expect_exactly_once(writers, view);
  std::printf("[ info ] %zu messages checked against the store: %zu + %zu in the histories\n", checked,
              view.history.count(kRedisChatA) ? view.history.at(kRedisChatA).size() : 0,
              view.history.count(kRedisChatB) ? view.history.at(kRedisChatB).size() : 0);
  EXPECT_TRUE(pump_until([&] { return replicas_match(writers, view, rooms, ""); }, pump, 3 * kStepDeadline))
      << "a client's replica differs from what a fresh reader gets";
  for (auto& w : writers) w->core.shutdown();
}


// =============================================================================================
// 3. lock safety across instances
// =============================================================================================

constexpr const char* kLockRoom = "workflow:locks";  // owned by instance 0
constexpr int kLockNodes = 5;
constexpr std::size_t kLockersPerInstance = 5;  // 10 lockers
constexpr milliseconds kLockRunTime{30000};     // how long they hammer (the issue asks for 30 s)
constexpr std::int64_t kLockGraceMs = 300;      // --lock-grace-ms: a takeover the holder ignores moves after this
constexpr std::int64_t kDefaultLeaseMs = 2000;  // --lock-ttl-ms: the lease of a takeover's grant
constexpr std::int64_t kShortestLeaseMs = 400;  // some locks run out while held (--lock-ttl-min-ms is below it)
constexpr milliseconds kAnswerDeadline{20000};  // an unanswered request is a stuck client
constexpr const char* kMarkerNode = "n-end";    // written last: every observer has the whole log once it has this

std::string lock_node(int k) { return "n" + std::to_string(k); }

// What one locker got: a grant (lock, takeover or renew) or a write's answer.
struct Grant {
  int locker = 0;
  std::string connection, user, resource, via;
  std::int64_t fence = 0;
  TimePoint at;
};
struct WriteResult {
  int locker = 0;
  std::string user, resource, label;
  std::int64_t fence = 0;
  bool stale_probe = false;  // sent with the fence of a lock this connection had just released
  bool accepted = false;
  std::string code;  // the error when refused
  TimePoint at;
};

// A raw client taking locks and writing with their fences, as a little state machine.
struct Locker {
  enum class Step { Idle, Locking, Holding, Writing, Renewing, Unlocking, StaleWriting };

  Locker(int number, std::uint64_t seed) : index(number), user("locker" + std::to_string(number)), rng(seed) {}

  double chance() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }
  milliseconds pace() { return milliseconds{5 + static_cast<int>(rng() % 20)}; }
  std::string next_id() { return "q" + std::to_string(++ids); }
  template <class M>
  void request(const M& message, Step next, TimePoint now) {
    pending = next_id();
    pending_since = now;
    step = next;
    EXPECT_TRUE(raw.send(message, pending)) << user << " could not send";
  }

  int index;
  std::string user;
  std::mt19937_64 rng;
  RawClient raw;
  std::string connection;
  std::size_t instance = 0;
  Step step = Step::Idle;
  std::string pending;  // the id of the request awaited
  TimePoint pending_since{};
  int ids = 0, writes = 0;
  std::string via;  // lock or takeover: what the awaited grant answers
  std::string resource;
  std::int64_t fence = 0, lease_ms = 0;
  int writes_left = 0;
  bool dawdled = false, takeover_asked = false;
  bool polite = false;  // unlocks when someone asks for a takeover
  TimePoint next_at{};
  std::string pending_label;
};

class multi_instance_lock_safety_test : public cluster_fixture {
 protected:
  multi_instance_lock_safety_test()
      : cluster({.instances = 2,
                 // No instance dies in this test: the production heartbeat bound (10 s) instead of
                 // the cluster's 3 s, so a stall of the machine (or of Redis) for a few seconds —
                 // both instances once lost their beat together in CI, 3 s into an ASan run —
                 // does not drop every client mid-run. (The last --instance-ttl-ms wins.)
                 .flags = {"--lock-grace-ms", std::to_string(kLockGraceMs), "--lock-ttl-ms", std::to_string(kDefaultLeaseMs),
                           "--lock-ttl-min-ms", "200", "--instance-ttl-ms", "10000"},
                 .nginx = false}) {}
  ServerCluster& cluster_under_test() override { return cluster; }

  // Advances one locker by at most one request.
  void advance(Locker& l, TimePoint now, bool stopping) {
    const ServerFrame* answer = nullptr;
    if (!l.pending.empty()) {
      const TimedFrame* a = l.raw.answer(l.pending);
      if (!a) {
        if (now - l.pending_since > kAnswerDeadline) {
          ADD_FAILURE() << l.user << "'s request " << l.pending << " was not answered in "
                        << kAnswerDeadline.count() << " ms";
          stuck = true;
        }
        return;
      }
      answer = &a->frame;
      l.pending.clear();
    }
    const auto* error = answer ? std::get_if<ErrorReply>(&answer->message) : nullptr;
    if (error) {
      static constexpr const char* kAsked[] = {"", "", "", "write", "renew", "unlock", "stale write"};
      const std::string asked = l.step == Locker::Step::Locking ? l.via : kAsked[static_cast<int>(l.step)];
      ++refusals[asked + " " + error->code];
    }
    switch (l.step) {
      case Locker::Step::Idle: {
        if (stopping || now < l.next_at) return;
        l.resource = lock_node(static_cast<int>(l.rng() % kLockNodes));
        l.takeover_asked = l.dawdled = false;
        if (l.chance() < 0.3) {
          l.via = "takeover";
          l.lease_ms = kDefaultLeaseMs;
          l.request(Takeover{kLockRoom, l.resource}, Locker::Step::Locking, now);
        } else {
          l.via = "lock";
          const std::int64_t leases[] = {kShortestLeaseMs, 1000, 1500};
          l.lease_ms = leases[l.rng() % 3];
          l.request(Lock{kLockRoom, l.resource, l.lease_ms}, Locker::Step::Locking, now);
        }
        return;
      }
      case Locker::Step::Locking: {
        if (const auto* g = std::get_if<LockGranted>(&answer->message)) {
          grants.push_back({l.index, l.connection, l.user, g->resource, l.via, g->fence, now});
          EXPECT_EQ(g->resource, l.resource);
          l.fence = g->fence;
          l.writes_left = 1 + static_cast<int>(l.rng() % 3);
          l.step = Locker::Step::Holding;
        } else {
          if (std::holds_alternative<LockDenied>(answer->message)) ++denials;
          l.step = Locker::Step::Idle;
        }
        l.next_at = now + l.pace();
        return;
      }
      case Locker::Step::Holding: {
        if (now < l.next_at) return;
        if ((l.takeover_asked && l.polite) || stopping) {
          l.request(Unlock{kLockRoom, l.resource}, Locker::Step::Unlocking, now);
          return;
        }
        if (l.writes_left > 0) {
          const double r = l.chance();
          if (r < 0.1) {
            l.request(Renew{kLockRoom, l.resource, l.lease_ms}, Locker::Step::Renewing, now);
          } else if (r < 0.17 && !l.dawdled) {  // keep quiet past the lease: the lock expires
            l.dawdled = true;
            l.next_at = now + milliseconds{l.lease_ms + 300};
          } else {
            send_write(l, l.fence, false, Locker::Step::Writing, now);
          }
          return;
        }
        if (l.chance() < 0.75) {
          l.request(Unlock{kLockRoom, l.resource}, Locker::Step::Unlocking, now);
        } else {  // walk away: the lock stays until it expires or is taken over
          l.step = Locker::Step::Idle;
          l.next_at = now + l.pace();
        }
        return;
      }
      case Locker::Step::Writing: {
        record_write(l, *answer, false, now);
        if (std::holds_alternative<Ack>(answer->message)) {
          --l.writes_left;
          l.step = Locker::Step::Holding;
        } else {
          l.step = Locker::Step::Idle;  // lost the lock (stale_fence): start again
        }
        l.next_at = now + l.pace();
        return;
      }
      case Locker::Step::Renewing: {
        if (const auto* g = std::get_if<LockGranted>(&answer->message)) {
          EXPECT_EQ(g->fence, l.fence) << l.user << "'s renew of " << l.resource << " changed the fence";
          grants.push_back({l.index, l.connection, l.user, g->resource, "renew", g->fence, now});
          l.step = Locker::Step::Holding;
        } else {
          l.step = Locker::Step::Idle;  // not_found: expired or taken over meanwhile
        }
        l.next_at = now + l.pace();
        return;
      }
      case Locker::Step::Unlocking: {
        // Released (or lost already): a write with the fence of the lock just let go must be
        // refused, whoever holds the node now.
        if (!stopping && l.chance() < 0.5) {
          send_write(l, l.fence, true, Locker::Step::StaleWriting, now);
          return;
        }
        l.step = Locker::Step::Idle;
        l.next_at = now + l.pace();
        return;
      }
      case Locker::Step::StaleWriting: {
        record_write(l, *answer, true, now);
        l.step = Locker::Step::Idle;
        l.next_at = now + l.pace();
        return;
      }
    }
  }

  void send_write(Locker& l, std::int64_t fence, bool stale_probe, Locker::Step next, TimePoint now) {
    NodeFields fields;
    l.pending_label = "L" + std::to_string(l.index) + ".f" + std::to_string(fence) + ".w" + std::to_string(++l.writes) +
                      (stale_probe ? ".stale" : "");
    fields.label = l.pending_label;
    l.request(NodeUpdate{kLockRoom, l.resource, fields, fence}, next, now);
  }

  void record_write(Locker& l, const ServerFrame& answer, bool stale_probe, TimePoint now) {
    WriteResult w{l.index, l.user, l.resource, l.pending_label, l.fence, stale_probe, false, "", now};
    if (std::holds_alternative<Ack>(answer.message))
      w.accepted = true;
    else if (const auto* e = std::get_if<ErrorReply>(&answer.message))
      w.code = e->code;
    else
      w.code = std::string("answered with ") + type_of(answer.message);
    writes.push_back(std::move(w));
  }

  ServerCluster cluster;
  std::vector<Grant> grants;
  std::vector<WriteResult> writes;
  std::map<std::string, int> refusals;  // "<request> <error code>" -> count
  int denials = 0;
  bool stuck = false;
};


// The fence a write label carries ("L<locker>.f<fence>.w<n>[.stale]"); nothing when it is not one.
std::optional<std::int64_t> label_fence(const std::string& label) {
  const auto f = label.find(".f");
  const auto w = label.find(".w");
  if (label.empty() || label[0] != 'L' || f == std::string::npos || w == std::string::npos || w < f + 3) return std::nullopt;
  return std::stoll(label.substr(f + 2, w - f - 2));
}

TEST_F(multi_instance_lock_safety_test, ten_clients_on_two_instances_never_share_a_lock_nor_write_with_a_stale_fence) {
  std::vector<std::unique_ptr<Locker>> lockers;
  RawClient observers[2];
  const auto pump = [&] {
    for (auto& l : lockers) l->raw.poll(milliseconds{1});
    for (RawClient& o : observers) o.poll(milliseconds{0});
  };
  for (std::size_t i = 0; i < 2 * kLockersPerInstance; ++i) {
    auto l = std::make_unique<Locker>(static_cast<int>(i), 7000 + i);
    l->instance = i < kLockersPerInstance ? 0 : 1;
    l->polite = i % 2 == 0;
    auto connection = connect_raw(l->raw, cluster.instance(l->instance).ws_url(), l->user, pump, kStepDeadline);
    ASSERT_TRUE(connection.has_value()) << l->user;
    l->connection = *connection;
    Locker* self = l.get();
    l->raw.on_frame = [self](const TimedFrame& f) {
      if (const auto* t = std::get_if<TakeoverRequested>(&f.frame.message))
        if (t->resource == self->resource &&
            (self->step == Locker::Step::Holding || self->step == Locker::Step::Writing || self->step == Locker::Step::Renewing))
          self->takeover_asked = true;
    };
    lockers.push_back(std::move(l));
  }
  // Locker 0 (instance 0) subscribes first: instance 0 owns the room; instance 1's lockers and
  // observer reach it through Redis.
  for (auto& l : lockers) {
    l->raw.send(Subscribe{kLockRoom, std::nullopt}, "s1");
    const TimedFrame* in = await_answer(l->raw, "s1", pump, 3 * kStepDeadline);
    ASSERT_TRUE(in && std::holds_alternative<Subscribed>(in->frame.message)) << l->user << " was not subscribed";
  }
  for (std::size_t k = 0; k < 2; ++k) {
    ASSERT_TRUE(connect_raw(observers[k], cluster.instance(k).ws_url(), "observer" + std::to_string(k), pump, kStepDeadline));
    observers[k].send(Subscribe{kLockRoom, std::nullopt}, "s1");
    const TimedFrame* in = await_answer(observers[k], "s1", pump, 3 * kStepDeadline);
    ASSERT_TRUE(in && std::holds_alternative<Subscribed>(in->frame.message)) << "observer " << k << " was not subscribed";
  }
  Locker& first = *lockers.front();
  for (int k = 0; k <= kLockNodes; ++k) {
    Node node;
    node.id = k < kLockNodes ? lock_node(k) : kMarkerNode;
    node.type = "step";
    const std::string id = "c" + std::to_string(k);
    first.raw.send(NodeCreate{kLockRoom, node}, id);
    const TimedFrame* made = await_answer(first.raw, id, pump, kStepDeadline);
    ASSERT_TRUE(made && std::holds_alternative<Ack>(made->frame.message)) << "node " << node.id << " was not made";
  }

  // ---- hammer for kLockRunTime ----
  const TimePoint started = Clock::now();
  bool stopping = false;
  const bool quiet = pump_until(
      [&] {
        const TimePoint now = Clock::now();
        stopping = stopping || now - started >= kLockRunTime;
        for (auto& l : lockers) advance(*l, now, stopping);
        if (stuck) return true;
        if (!stopping) return false;
        return std::all_of(lockers.begin(), lockers.end(),
                           [](const auto& l) { return l->step == Locker::Step::Idle && l->pending.empty(); });
      },
      pump, kLockRunTime + 2 * kAnswerDeadline);
  const TimePoint ended = Clock::now();
  ASSERT_FALSE(stuck);
  ASSERT_TRUE(quiet) << "the lockers did not finish";
  for (auto& l : lockers) EXPECT_FALSE(l->raw.is_closed()) << l->user << " was disconnected: " << l->raw.closed->reason;

  // A last write every observer must see: then each has the whole log up to it.
  NodeFields end;
  end.label = "end";
  first.raw.send(NodeUpdate{kLockRoom, kMarkerNode, end, std::nullopt}, "end");
  const TimedFrame* ended_ack = await_answer(first.raw, "end", pump, kStepDeadline);
  ASSERT_TRUE(ended_ack && std::holds_alternative<Ack>(ended_ack->frame.message));
  std::vector<std::pair<std::int64_t, std::string>> logs[2];  // seq, the event encoded
  for (std::size_t k = 0; k < 2; ++k) {
    ASSERT_TRUE(pump_until(
        [&] {
          for (const TimedFrame& f : observers[k].frames)
            if (const auto* u = std::get_if<NodeUpdated>(&f.frame.message); u && u->node == kMarkerNode) return true;
          return false;
        },
        pump, 3 * kStepDeadline))
        << "observer " << k << " never saw the last write";
    for (const TimedFrame& f : observers[k].frames)
      if (auto seq = room_event_seq(f.frame.message, kLockRoom)) logs[k].emplace_back(*seq, encode(ServerFrame{std::nullopt, f.frame.message}));
  }
  // The observers see one log: the same events in the same order, every seq once, no gap.
  EXPECT_EQ(logs[0], logs[1]) << "the observers on the two instances saw different room logs";
  for (std::size_t i = 1; i < logs[0].size(); ++i)
    ASSERT_EQ(logs[0][i].first, logs[0][i - 1].first + 1) << "the log has a gap or a repeat at " << logs[0][i].second;

  // ---- replay the room's log: the lock table as the room itself ordered it ----
  struct Holder {
    std::string user;
    std::int64_t fence = 0;
  };
  std::map<std::string, std::optional<Holder>> held;
  std::map<std::string, std::int64_t> last_fence;
  std::set<std::tuple<std::string, std::int64_t, std::string>> locked_events;  // resource, fence, user
  std::map<std::string, int> logged_writes;                                   // label -> times in the log
  std::map<UnlockReason, int> unlocks;
  std::vector<std::string> violations;
  int locked_count = 0, writes_checked = 0;
  for (const TimedFrame& f : observers[0].frames) {
    const ServerMessage& m = f.frame.message;
    if (const auto* l = std::get_if<Locked>(&m); l && l->room == kLockRoom) {
      ++locked_count;
      auto& h = held[l->resource];
      if (h)
        violations.push_back("seq " + std::to_string(l->seq) + ": " + l->resource + " locked by " + l->holder.user +
                             " (fence " + std::to_string(l->fence) + ") while held by " + h->user + " (fence " +
                             std::to_string(h->fence) + ")");
      if (l->fence <= last_fence[l->resource])
        violations.push_back("seq " + std::to_string(l->seq) + ": " + l->resource + "'s fence " + std::to_string(l->fence) +
                             " after " + std::to_string(last_fence[l->resource]));
      last_fence[l->resource] = std::max(last_fence[l->resource], l->fence);
      h = Holder{l->holder.user, l->fence};
      locked_events.emplace(l->resource, l->fence, l->holder.user);
    } else if (const auto* u = std::get_if<Unlocked>(&m); u && u->room == kLockRoom) {
      ++unlocks[u->reason];
      auto& h = held[u->resource];
      if (!h) violations.push_back("seq " + std::to_string(u->seq) + ": " + u->resource + " unlocked while free");
      h.reset();
    } else if (const auto* n = std::get_if<NodeUpdated>(&m); n && n->room == kLockRoom && n->node != kMarkerNode) {
      ++writes_checked;
      const std::string label = n->fields.label.value_or("");
      ++logged_writes[label];
      const auto fence = label_fence(label);
      const auto& h = held[n->node];
      if (!fence)
        violations.push_back("seq " + std::to_string(n->seq) + ": a write nobody here sent: " + label);
      else if (!h)
        violations.push_back("seq " + std::to_string(n->seq) + ": " + n->user + "'s write " + label + " accepted while " +
                             n->node + " was free");
      else if (h->user != n->user || h->fence != *fence)
        violations.push_back("seq " + std::to_string(n->seq) + ": " + n->user + "'s write " + label + " (fence " +
                             std::to_string(*fence) + ") accepted while " + n->node + " was held by " + h->user +
                             " with fence " + std::to_string(h->fence));
    }
  }
  // What the clients were told agrees with the log.
  const auto times_logged = [&](const std::string& label) {
    auto it = logged_writes.find(label);
    return it == logged_writes.end() ? 0 : it->second;
  };
  int accepted = 0, stale_refused = 0, lost_refused = 0;
  for (const WriteResult& w : writes) {
    if (w.stale_probe) {
      if (w.accepted)
        violations.push_back(w.user + "'s write " + w.label + " with the fence of a lock it had released was accepted");
      else
        ++stale_refused;
      EXPECT_TRUE(w.accepted || w.code == errc::stale_fence) << w.user << "'s stale write " << w.label << ": " << w.code;
      continue;
    }
    if (w.accepted) {
      ++accepted;
      if (times_logged(w.label) != 1)
        violations.push_back(w.user + "'s acked write " + w.label + " is in the log " + std::to_string(times_logged(w.label)) +
                             " times");
    } else {
      ++lost_refused;
      EXPECT_EQ(w.code, errc::stale_fence) << w.user << "'s write " << w.label;
      if (times_logged(w.label) != 0) violations.push_back(w.user + "'s refused write " + w.label + " is in the log");
    }
  }
  for (const auto& entry : logged_writes) {
    const std::string& label = entry.first;
    const bool acked = std::any_of(writes.begin(), writes.end(), [&](const WriteResult& w) { return w.label == label && w.accepted; });
    if (!acked) violations.push_back("the log holds write " + label + " that no client got an ack for");
  }
  std::map<std::string, int> grants_by;
  for (const Grant& g : grants) {
    ++grants_by[g.via];
    if (!locked_events.contains({g.resource, g.fence, g.user}))
      violations.push_back(g.user + " was granted " + g.resource + " with fence " + std::to_string(g.fence) + " (" + g.via +
                           ") but the log never shows it locked so");
  }
  EXPECT_TRUE(violations.empty()) << violations.size() << " violations, the first:\n" << [&] {
    std::string text;
    for (std::size_t i = 0; i < violations.size() && i < 20; ++i) text += violations[i] + "\n";
    return text;
  }();

  long long highest_fence = 0;
  for (const auto& item : last_fence) highest_fence = std::max(highest_fence, static_cast<long long>(item.second));
  std::string refused_text;
  for (const auto& [what, n] : refusals) refused_text += " " + what + ": " + std::to_string(n) + ",";
  std::printf("[ info ] %lld ms of hammering by %zu clients on %d nodes (room on instance 0, half the clients on "
              "instance 1): %d grants by lock, %d by takeover, %d renewals, %d denials; the log (%zu events, both "
              "observers identical) shows %d locked, %d unlocked released, %d expired, %d taken_over, %d disconnected; "
              "%zu resources' fences strictly increasing up to %lld; %d writes checked against the holder's fence, "
              "%d acked, %d refused stale_fence after losing the lock, %d writes with a released fence refused; "
              "errors:%s\n",
              ms_between(started, ended), lockers.size(), kLockNodes, grants_by["lock"], grants_by["takeover"],
              grants_by["renew"], denials, logs[0].size(), locked_count, unlocks[UnlockReason::Released],
              unlocks[UnlockReason::Expired], unlocks[UnlockReason::TakenOver], unlocks[UnlockReason::Disconnected],
              last_fence.size(), highest_fence,
              writes_checked, accepted, lost_refused, stale_refused, refused_text.c_str());
  // The run covered what it is meant to: every way a lock moves, and refused stale writes.
  EXPECT_GT(grants_by["lock"], 100);
  EXPECT_GT(unlocks[UnlockReason::TakenOver], 0);
  EXPECT_GT(unlocks[UnlockReason::Expired], 0);
  EXPECT_GT(lost_refused, 0);
  EXPECT_GT(stale_refused, 0);
  EXPECT_GT(accepted, 100);
  EXPECT_EQ(unlocks[UnlockReason::Disconnected], 0);
}


// =============================================================================================
// 4. what the failure tests ran into, narrowed down to a few frames each
// =============================================================================================

class multi_instance_findings_test : public cluster_fixture {
 protected:
  multi_instance_findings_test() : cluster({.instances = 2, .flags = {}, .nginx = false}) {}
  ServerCluster& cluster_under_test() override { return cluster; }
  ServerCluster cluster;
};

// Ana on instance 0 opens two rooms (instance 0 owns them). Ben on instance 1 subscribes to
// both at once, as the client core does when it joins several rooms or rejoins them after a
// reconnect: the second subscribe arrives while the first waits for its owner. Then Ana edits.
// Expected: instance 0 still owns its rooms — Ana's edit is acked, nobody is disconnected.
TEST_F(multi_instance_findings_test, two_subscribes_at_once_on_another_instance_leave_the_owner_its_rooms) {
  RawClient ana, ben;
  const auto pump = [&] {
    ana.poll(milliseconds{1});
    ben.poll(milliseconds{1});
  };
  ASSERT_TRUE(connect_raw(ana, cluster.instance(0).ws_url(), "ana", pump, kStepDeadline));
  ASSERT_TRUE(connect_raw(ben, cluster.instance(1).ws_url(), "ben", pump, kStepDeadline));
  for (const char* room : {"chat:parked", "workflow:parked"}) {
    ana.send(Subscribe{room, std::nullopt}, room);
    const TimedFrame* in = await_answer(ana, room, pump, kStepDeadline);
    ASSERT_TRUE(in && std::holds_alternative<Subscribed>(in->frame.message)) << "Ana was not subscribed to " << room;
  }
  ben.send(Subscribe{"chat:parked", std::nullopt}, "s1");
  ben.send(Subscribe{"workflow:parked", std::nullopt}, "s2");
  for (const char* id : {"s1", "s2"}) {
    const TimedFrame* in = await_answer(ben, id, pump, 3 * kStepDeadline);
    ASSERT_TRUE(in && std::holds_alternative<Subscribed>(in->frame.message)) << "Ben's subscribe " << id;
  }
  Node node;
  node.id = "n1";
  node.type = "step";
  ana.send(NodeCreate{"workflow:parked", node}, "d1");
  const TimedFrame* made = await_answer(ana, "d1", pump, 3 * kStepDeadline);
  EXPECT_TRUE(made && std::holds_alternative<Ack>(made->frame.message))
      << "Ana's edit in the room her instance owns was "
      << (made ? encode(made->frame) : ana.closed ? "not answered: closed " + std::to_string(ana.closed->code) + " " + ana.closed->reason : std::string("not answered"));
  EXPECT_FALSE(ana.is_closed()) << ana.closed->code << " " << ana.closed->reason;
  const std::string claimed = grep(cluster.instance(0).output(), "room_claimed_by_another_writer") +
                              grep(cluster.instance(0).output(), "moved to another instance");
  EXPECT_TRUE(claimed.empty()) << "instance 0 lost its room to a load by instance 1, which does not own it:\n" << claimed;
}


// Ben, on instance 1, chats in a room instance 0 owns: instance 0 applies and stores the message
// with its request id. Instance 0 dies; Ben comes back on instance 1 with his session, joins the
// room (instance 1 takes it, from PostgreSQL) and sends the same request again, as a client
// that never saw the ack does (PROTOCOL.md §3). Expected: ack duplicate:true, stored once.
TEST_F(multi_instance_findings_test, a_resend_after_the_owner_died_is_not_applied_twice) {
  RawClient ana, ben;
  const auto pump = [&] {
    ana.poll(milliseconds{1});
    ben.poll(milliseconds{1});
  };
  ASSERT_TRUE(connect_raw(ana, cluster.instance(0).ws_url(), "ana", pump, kStepDeadline));
  ana.send(Subscribe{"chat:resend", std::nullopt}, "s1");
  ASSERT_TRUE(await_answer(ana, "s1", pump, kStepDeadline));
  auto ben_connection = connect_raw(ben, cluster.instance(1).ws_url(), "ben", pump, kStepDeadline);
  ASSERT_TRUE(ben_connection);
  std::string session;
  for (const TimedFrame& f : ben.frames)
    if (const auto* c = std::get_if<Connected>(&f.frame.message)) session = c->session;
  ben.send(Subscribe{"chat:resend", std::nullopt}, "s1");
  ASSERT_TRUE(await_answer(ben, "s1", pump, kStepDeadline));
  ben.send(ChatSend{"chat:resend", "once"}, "m1");
  const TimedFrame* acked = await_answer(ben, "m1", pump, kStepDeadline);
  ASSERT_TRUE(acked && std::holds_alternative<Ack>(acked->frame.message));

  cluster.instance(0).kill_now();
  ASSERT_TRUE(pump_until([&] { return ben.is_closed(); }, pump, 3 * kStepDeadline)) << "Ben was not closed";
  RawClient again;
  const auto pump_again = [&] { again.poll(milliseconds{1}); };
  again.open(cluster.instance(1).ws_url() + "?token=" + mint_token({.sub = "ben", .name = "ben"}) + "&session=" + session);
  ASSERT_TRUE(pump_until(
      [&] {
        for (const TimedFrame& f : again.frames)
          if (std::holds_alternative<Connected>(f.frame.message)) return true;
        return again.is_closed();
      },
      pump_again, kStepDeadline));
  again.send(Subscribe{"chat:resend", std::nullopt}, "s2");
  const TimedFrame* in = await_answer(again, "s2", pump_again, 3 * kStepDeadline);
  ASSERT_TRUE(in && std::holds_alternative<Subscribed>(in->frame.message)) << (in ? encode(in->frame) : "no answer");
  again.send(ChatSend{"chat:resend", "once"}, "m1");
  const TimedFrame* resent = await_answer(again, "m1", pump_again, kStepDeadline);
  ASSERT_TRUE(resent);
  EXPECT_EQ(encode(resent->frame), encode(ServerFrame{"m1", Ack{true}})) << "the resend was applied again";
  std::vector<ChatEntry> history;
  for (const TimedFrame& f : again.frames)
    if (const auto* h = std::get_if<ChatHistory>(&f.frame.message)) history = h->messages;
  again.send(Subscribe{"chat:resend", std::nullopt}, "s3");
  ASSERT_TRUE(await_answer(again, "s3", pump_again, kStepDeadline));
  ASSERT_TRUE(pump_until(
      [&] {
        int n = 0;
        for (const TimedFrame& f : again.frames)
          if (const auto* h = std::get_if<ChatHistory>(&f.frame.message)) {
            history = h->messages;
            ++n;
          }
        return n >= 2;
      },
      pump_again, kStepDeadline));
  EXPECT_EQ(history.size(), 1u) << "the message is stored " << history.size() << " times";
}


// Two instances on a Redis of the test's own. Ben (instance 1) opens chat:gap, so instance 1
// owns it. Instance 1's Redis subscriber connection is cut (CLIENT KILL: what a Redis restart,
// a failover or a network blip does; after a Redis restart the instances' subscribers come
// back at different times); it reconnects after its backoff (100 ms, doubling). In that window Ana (instance 0) subscribes to chat:gap: instance
// 0 forwards her attach and her subscribe to instance 1's channel, where nobody listens (only
// instance 1's subscriber is cut, so instance 0 sees no gap of its own).
// Expected: Ana's subscribe is answered, or her connection is closed 1012 so her client
// resumes (docs/SCALING.md: a lost message is a gap, never a silent hole).
class multi_instance_subscriber_gap_test : public cluster_fixture {
 protected:
  multi_instance_subscriber_gap_test() : cluster({.instances = 2, .flags = {}, .nginx = false}, redis.url()) {}
  ServerCluster& cluster_under_test() override { return cluster; }
  tandem::test::RedisServer redis;  // the test's own: it cuts connections; declared first
  ServerCluster cluster;
};

TEST_F(multi_instance_subscriber_gap_test, a_subscribe_sent_while_the_owners_subscriber_reconnects_is_not_lost) {
  RawClient ana, ben;
  const auto pump = [&] {
    ana.poll(milliseconds{1});
    ben.poll(milliseconds{1});
  };
  ASSERT_TRUE(connect_raw(ben, cluster.instance(1).ws_url(), "ben", pump, kStepDeadline));
  ben.send(Subscribe{"chat:gap", std::nullopt}, "s1");
  const TimedFrame* in = await_answer(ben, "s1", pump, kStepDeadline);
  ASSERT_TRUE(in && std::holds_alternative<Subscribed>(in->frame.message));
  ASSERT_TRUE(connect_raw(ana, cluster.instance(0).ws_url(), "ana", pump, kStepDeadline));

  // Instance 1's subscriber: the newest pubsub connection (instance 1 starts after instance 0
  // is up, and each subscribes as it starts).
  // redis://:PASSWORD@HOST:PORT (test_redis.h); the password goes through the environment.
  const std::string& url = redis.url();
  const auto at = url.rfind('@');
  const auto colon = url.rfind(':');
  ASSERT_TRUE(url.rfind("redis://:", 0) == 0 && at != std::string::npos && colon > at) << url;
  const std::string cli = "REDISCLI_AUTH='" + url.substr(9, at - 9) + "' redis-cli -h " + url.substr(at + 1, colon - at - 1) +
                          " -p " + url.substr(colon + 1) + " ";
  std::istringstream clients(tandem::test::run_command(cli + "CLIENT LIST TYPE pubsub 2>/dev/null"));
  long long newest = -1;
  int subscribers = 0;
  for (std::string line; std::getline(clients, line);)
    if (line.rfind("id=", 0) == 0) {
      newest = std::max(newest, std::stoll(line.substr(3)));
      ++subscribers;
    }
  ASSERT_EQ(subscribers, 2) << "one subscriber connection per instance expected";
  const std::string killed = tandem::test::run_command(cli + "CLIENT KILL ID " + std::to_string(newest) + " 2>/dev/null");
  ana.send(Subscribe{"chat:gap", std::nullopt}, "s1");
  const bool heard = pump_until([&] { return ana.answer("s1") != nullptr || ana.is_closed(); }, pump, 3 * kStepDeadline);
  const std::string gaps = grep(cluster.instance(1).output(), "may have been lost");
  EXPECT_TRUE(heard) << "Ana's subscribe, sent while instance 1's subscriber was reconnecting, was neither answered "
                        "nor was her connection closed in "
                     << (3 * kStepDeadline).count() << " ms (subscriber connection killed: " << killed.substr(0, 1)
                     << "; instance 1 saw the gap: " << (gaps.empty() ? "no" : "yes") << ")";
  if (heard) return;
  // As a client core does after its ack timeout: ask again, long after the subscriber is back.
  ana.send(Subscribe{"chat:gap", std::nullopt}, "s2");
  const TimedFrame* again = await_answer(ana, "s2", pump, 3 * kStepDeadline);
  EXPECT_TRUE(again || ana.is_closed()) << "Ana's second subscribe, sent with Redis long back, was not answered either: "
                                           "the room stays out of reach for her connection";
}

}  // namespace
}  // namespace tandem::integration
