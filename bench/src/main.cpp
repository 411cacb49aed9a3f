// bench/src/main.cpp — tandem-bench: a load tool for tandem-server (not a test).
//
// Phases: (1) N clients connect with tokens minted from --secret and wait for `connected`
// (prints connections established, connect time, server RSS with --server-pid); (2) they
// subscribe to one room; (3) the scenario runs for --duration seconds:
//   fanout          M publishers send presence updates at --rate per second with a --payload
//                   byte pad; each carries its send time in state.data.t (µs), so receivers
//                   measure latency. Prints delivered messages/s and latency p50/p99/max.
//   presence-storm  every client moves its cursor at --rate per second; prints the bytes the
//                   clients received (conflated by the server) against the bytes the same
//                   updates would have cost unconflated (every update to every other member).
//   edits           workflow edits with durability: each client creates its own node in the
//                   --room (a workflow: room), then keeps --window node_update requests in
//                   flight as fast as acks come back. An ack means the edit is in the server's
//                   store (group commit). Prints acked edits/s and ack latency p50/p99/max.
//   members         the big-room check (PROTOCOL.md §7 crowds): after the join (timed above,
//                   with the bytes it cost and the server's RSS per member), the first client
//                   pages through presence_list and checks that every client is listed exactly
//                   once and the count is right. Exit 3 when it is not. No --duration.
// One epoll loop drives every connection (ws_conn.h).
#include <arpa/inet.h>
#include <string.h>  // memmem (GNU)
#include <sys/epoll.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "ws_conn.h"

namespace tandem::bench {
namespace {

using Clock = std::chrono::steady_clock;

enum class Scenario { Fanout, PresenceStorm, Edits, Members };

// Every flag, with its default.
struct Options {
  std::string url = "ws://127.0.0.1:8080/ws";
  std::string secret;           // the server's jwt_secret (required)
  int clients = 100;            // connections, all in one room
  int publishers = 1;           // fanout: how many of the clients publish
  double rate = 10;             // updates per second per publisher
  int payload = 100;            // bytes of padding in each update's data
  double duration_s = 10;       // scenario length
  Scenario scenario = Scenario::Fanout;
  std::string room = "bench:room";
  int server_pid = 0;           // 0: do not report server RSS
  int connect_timeout_s = 30;   // give up on the connection phase after this
  int window = 16;              // edits: requests in flight per client
};

const char kUsage[] =
    "usage: tandem-bench --secret S [--url ws://127.0.0.1:8080/ws] [--clients 100] [--publishers 1]\n"
    "                    [--rate 10] [--payload 100] [--duration 10] [--scenario fanout|presence-storm]\n"
    "                    [--room bench:room] [--server-pid PID] [--connect-timeout 30]\n"
    "                    [--scenario edits --room workflow:bench --window 16] [--scenario members]\n";

bool parse_options(int argc, char** argv, Options& o) {
  auto scenario = [&o](const std::string& v) {
    if (v == "fanout") o.scenario = Scenario::Fanout;
    else if (v == "presence-storm") o.scenario = Scenario::PresenceStorm;
    else if (v == "edits") o.scenario = Scenario::Edits;
    else if (v == "members") o.scenario = Scenario::Members;
    else return false;
    return true;
  };
  if (!parse_flags(argc, argv,
                   {text_flag("--url", o.url), text_flag("--secret", o.secret), int_flag("--clients", o.clients),
                    int_flag("--publishers", o.publishers), number_flag("--rate", o.rate), int_flag("--payload", o.payload),
                    number_flag("--duration", o.duration_s), text_flag("--room", o.room),
                    int_flag("--server-pid", o.server_pid), int_flag("--connect-timeout", o.connect_timeout_s),
                    {"--scenario", scenario}, int_flag("--window", o.window)}))
    return false;
  if (o.secret.empty()) std::fprintf(stderr, "--secret is required (the server's jwt_secret)\n");
  return !o.secret.empty() && o.clients > 0 && o.publishers >= 0 && o.rate > 0 && o.payload >= 0 &&
         o.payload <= 900 && o.duration_s > 0;
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}

// VmRSS of a process in KiB, or -1.
long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:")) return std::atol(line.c_str() + 6);
  return -1;
}

// One bench client: its connection and what it has seen.
struct Client {
  WsConn conn;
  bool connected = false;   // `connected` received
  bool subscribed = false;  // `subscribed` received
  std::string refusal;      // an error answer to subscribe, if any
  std::uint32_t interest = EPOLLIN | EPOLLOUT;  // what epoll watches for this socket now
  // edits: send times of the requests in flight (answered in order), and counts.
  std::string last_list;     // members: the latest presence_list answer
  std::deque<std::int64_t> in_flight_us;
  std::uint64_t next_request = 0;
  std::uint64_t acked = 0, refused = 0;
};

class Bench {
 public:
  explicit Bench(Options options) : o_(std::move(options)) {}
  int run();

 private:
  bool connect_all();
  bool subscribe_all();
  void settle();
  void run_scenario();
  void run_edits();
  bool run_member_list();
  void send_edit(Client& client, int index);
  // Runs the loop until `done` or the deadline; true when done.
  template <class Pred>
  bool loop_until(Pred done, Clock::time_point deadline);
  void poll_once(int timeout_ms);
  void on_message(Client& client, std::string_view text);
  void report_rss(const char* when) const;

  Options o_;
  int epoll_ = -1;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<std::int64_t> latencies_us_;
  std::uint64_t updates_delivered_ = 0;
  bool measuring_ = false;
  long rss_base_kib_ = -1;  // server RSS before any bench connection
  long rss_connected_kib_ = -1;  // and with every client connected (before the room)
};

void Bench::report_rss(const char* when) const {
  if (o_.server_pid <= 0) return;
  const long kib = rss_kib(o_.server_pid);
  std::printf("server RSS %s: %ld KiB", when, kib);
  if (kib > 0 && rss_base_kib_ > 0 && !clients_.empty())
    std::printf(" (+%.1f KiB per connection over the idle server", double(kib - rss_base_kib_) / double(clients_.size()));
  if (kib > 0 && rss_connected_kib_ > 0 && !clients_.empty())
    std::printf(", %+.1f KiB per member over the connected clients", double(kib - rss_connected_kib_) / double(clients_.size()));
  if (kib > 0 && rss_base_kib_ > 0 && !clients_.empty()) std::printf(")");
  std::printf("\n");
}

// Where `pattern` is in `text` from `from` on, or npos. memmem, not string_view::find: that one
// stops at every '"' (the first byte of each pattern here, and of every JSON key) to compare,
// which made the bench spend half its time looking for acks in 64 KiB batch frames.
std::size_t find_from(std::string_view text, std::string_view pattern, std::size_t from = 0) {
  if (from > text.size()) return std::string_view::npos;
  const void* at = memmem(text.data() + from, text.size() - from, pattern.data(), pattern.size());
  return at == nullptr ? std::string_view::npos : static_cast<std::size_t>(static_cast<const char*>(at) - text.data());
}

void Bench::on_message(Client& client, std::string_view text) {
  // edits: every answer (ack or error) to a request with an id ends the oldest one in flight.
  if (o_.scenario == Scenario::Edits && client.subscribed) {
    const std::int64_t now = now_us();
    constexpr std::string_view kAck = "\"type\":\"ack\"", kError = "\"type\":\"error\"";
    for (std::string_view kind : {kAck, kError}) {
      for (std::size_t at = find_from(text, kind); at != std::string_view::npos; at = find_from(text, kind, at + 1)) {
        if (client.in_flight_us.empty()) continue;
        if (measuring_) latencies_us_.push_back(now - client.in_flight_us.front());
        client.in_flight_us.pop_front();
        ++(kind == kAck ? client.acked : client.refused);
      }
    }
  }
  if (o_.scenario == Scenario::Members && text.find("\"type\":\"presence_list\"") != std::string_view::npos)
    client.last_list = std::string(text);
  if (!client.connected && text.find("\"type\":\"connected\"") != std::string_view::npos) client.connected = true;
  if (!client.subscribed && text.find("\"type\":\"subscribed\"") != std::string_view::npos) client.subscribed = true;
  if (!client.subscribed && client.refusal.empty() && text.find("\"type\":\"error\"") != std::string_view::npos)
    client.refusal = std::string(text.substr(0, 200));
  if (!measuring_ || o_.scenario == Scenario::Edits) return;
  // Every update (a batch frame may carry several) holds "t":<µs> in its state's data; no
  // other field of the protocol is named "t".
  constexpr std::string_view kStamp = "\"t\":";
  const std::int64_t now = now_us();
  for (std::size_t at = find_from(text, kStamp); at != std::string_view::npos; at = find_from(text, kStamp, at + 1)) {
    const std::int64_t sent = std::atoll(std::string(text.substr(at + kStamp.size(), 20)).c_str());
    ++updates_delivered_;
    latencies_us_.push_back(now - sent);
  }
}

void Bench::poll_once(int timeout_ms) {
  epoll_event events[256];
  const int n = epoll_wait(epoll_, events, 256, timeout_ms);
  for (int i = 0; i < n; ++i) {
    Client& client = *static_cast<Client*>(events[i].data.ptr);
    if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) client.conn.on_writable();
    if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
      client.conn.on_readable([&](std::string_view text) { on_message(client, text); });
  }
  // Interest follows what each connection has to write; epoll_ctl only on a change (one
  // syscall per connection per loop turn would make the bench its own bottleneck).
  for (auto& client : clients_) {
    if (client->conn.fd() < 0) continue;
    const std::uint32_t wanted = client->conn.state() == WsConn::State::Closed
                                     ? 0u
                                     : (EPOLLIN | (client->conn.wants_write() ? EPOLLOUT : 0u));
    if (wanted == client->interest) continue;
    client->interest = wanted;
    epoll_event ev{};
    ev.data.ptr = client.get();
    ev.events = wanted;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, client->conn.fd(), &ev);
  }
}

template <class Pred>
bool Bench::loop_until(Pred done, Clock::time_point deadline) {
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    poll_once(5);
  }
  return true;
}

bool Bench::connect_all() {
  const auto url = parse_ws_url(o_.url);
  if (!url) {
    std::fprintf(stderr, "--url must be ws://host:port/path, got %s\n", o_.url.c_str());
    return false;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(url->port));
  if (inet_pton(AF_INET, url->host.c_str(), &address.sin_addr) != 1) {
    std::fprintf(stderr, "--url host must be an IPv4 address or localhost\n");
    return false;
  }
  if (o_.server_pid > 0) rss_base_kib_ = rss_kib(o_.server_pid);
  report_rss("before connecting");
  const auto started = Clock::now();
  const std::string host_header = url->host + ":" + std::to_string(url->port);
  for (int i = 0; i < o_.clients; ++i) {
    auto client = std::make_unique<Client>();
    if (!client->conn.start(address, host_header, url->path + "?token=" + mint_bench_token(o_.secret, "bench-" + std::to_string(i)))) {
      std::fprintf(stderr, "client %d: %s (raise ulimit -n?)\n", i, client->conn.failure().c_str());
      return false;
    }
    epoll_event ev{};
    ev.data.ptr = client.get();
    ev.events = EPOLLIN | EPOLLOUT;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, client->conn.fd(), &ev);
    clients_.push_back(std::move(client));
    if (i % 64 == 63) poll_once(0);  // keep the listen backlog from overflowing
  }
  auto settled = [&] {
    return std::all_of(clients_.begin(), clients_.end(), [](const auto& c) {
      return c->connected || c->conn.state() == WsConn::State::Closed;
    });
  };
  loop_until(settled, started + std::chrono::seconds(o_.connect_timeout_s));
  const double took_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  const auto connected = std::count_if(clients_.begin(), clients_.end(), [](const auto& c) { return c->connected; });
  std::printf("connections established: %ld/%d in %.0f ms\n", static_cast<long>(connected), o_.clients, took_ms);
  for (const auto& c : clients_)
    if (!c->connected) {
      std::printf("  first failure: %s\n", c->conn.failure().empty() ? "timed out" : c->conn.failure().c_str());
      break;
    }
  report_rss("with clients connected");
  if (o_.server_pid > 0) rss_connected_kib_ = rss_kib(o_.server_pid);
  return connected == o_.clients;
}

bool Bench::subscribe_all() {
  const std::string request = R"({"type":"subscribe","id":"join","room":")" + o_.room + R"("})";
  for (auto& client : clients_) client->conn.send_text(request);
  const auto started = Clock::now();
  auto settled = [&] {
    return std::all_of(clients_.begin(), clients_.end(), [](const auto& c) {
      return c->subscribed || !c->refusal.empty() || c->conn.state() == WsConn::State::Closed;
    });
  };
  loop_until(settled, started + std::chrono::seconds(o_.connect_timeout_s));
  const auto joined = std::count_if(clients_.begin(), clients_.end(), [](const auto& c) { return c->subscribed; });
  std::printf("subscribed to %s: %ld/%d in %.0f ms\n", o_.room.c_str(), static_cast<long>(joined), o_.clients,
              std::chrono::duration<double, std::milli>(Clock::now() - started).count());
  for (const auto& c : clients_)
    if (!c->subscribed) {
      std::printf("  first refusal: %s\n", c->refusal.empty() ? c->conn.failure().c_str() : c->refusal.c_str());
      break;
    }
  return joined == o_.clients;
}

// The join storm (every join's presence_diff to every member: N^2 messages) is still draining
// after the last `subscribed`; measuring during it would time the backlog, not the fanout.
// Waits until no byte arrived for kQuietFor.
void Bench::settle() {
  constexpr auto kQuietFor = std::chrono::milliseconds(500);
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(o_.connect_timeout_s * 4);
  auto total = [&] {
    std::uint64_t bytes = 0;
    for (const auto& c : clients_) bytes += c->conn.bytes_received();
    return bytes;
  };
  const std::uint64_t at_start = total();
  std::uint64_t last = at_start;
  auto quiet_since = Clock::now();
  while (Clock::now() < deadline && Clock::now() - quiet_since < kQuietFor) {
    poll_once(5);
    if (const std::uint64_t now_bytes = total(); now_bytes != last) {
      last = now_bytes;
      quiet_since = Clock::now();
    }
  }
  // The last byte came at quiet_since; the quiet wait after it is not join traffic.
  std::printf("join traffic drained: %llu bytes, the last %.0f ms after the last subscribed\n",
              static_cast<unsigned long long>(last - at_start),
              std::chrono::duration<double, std::milli>(quiet_since - started).count());
}

void Bench::send_edit(Client& client, int index) {
  const std::uint64_t n = ++client.next_request;
  client.conn.send_text(R"({"type":"node_update","id":")" + std::to_string(n) + R"(","room":")" + o_.room +
                        R"(","node":"bench-)" + std::to_string(index) + R"(","fields":{"x":)" + std::to_string(n % 10000) +
                        "}}");
  client.in_flight_us.push_back(now_us());
}

void Bench::run_edits() {
  // Each client's own node (a conflict from an earlier run on the same store is fine too).
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    Client& c = *clients_[i];
    c.conn.send_text(R"({"type":"node_create","id":"create","room":")" + o_.room + R"(","node":{"id":"bench-)" +
                     std::to_string(i) + R"(","type":"bench"}})");
    c.in_flight_us.push_back(now_us());
  }
  loop_until([&] { return std::all_of(clients_.begin(), clients_.end(), [](const auto& c) { return c->in_flight_us.empty(); }); },
             Clock::now() + std::chrono::seconds(o_.connect_timeout_s));
  for (auto& c : clients_) c->acked = c->refused = 0;

  measuring_ = true;
  const auto started = Clock::now();
  const auto end = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.duration_s));
  while (Clock::now() < end) {
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      Client& c = *clients_[i];
      while (c.in_flight_us.size() < static_cast<std::size_t>(o_.window)) send_edit(c, static_cast<int>(i));
    }
    poll_once(1);
  }
  // Answers still due for what was sent.
  loop_until([&] { return std::all_of(clients_.begin(), clients_.end(), [](const auto& c) { return c->in_flight_us.empty(); }); },
             Clock::now() + std::chrono::seconds(10));
  measuring_ = false;
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::uint64_t acked = 0, refused = 0;
  for (const auto& c : clients_) {
    acked += c->acked;
    refused += c->refused;
  }
  std::printf("scenario edits: %zu client(s) in %s, %d in flight each, %.1f s\n", clients_.size(), o_.room.c_str(),
              o_.window, seconds);
  std::printf("acked edits/s: %.0f (%llu acked, %llu refused)\n", double(acked) / seconds,
              static_cast<unsigned long long>(acked), static_cast<unsigned long long>(refused));
  if (!latencies_us_.empty()) {
    std::sort(latencies_us_.begin(), latencies_us_.end());
    auto at = [&](double q) {
      return double(latencies_us_[std::min(latencies_us_.size() - 1, std::size_t(q * double(latencies_us_.size())))]) / 1000.0;
    };
    std::printf("ack latency ms: p50 %.2f  p99 %.2f  max %.2f\n", at(0.50), at(0.99), double(latencies_us_.back()) / 1000.0);
  }
}

// The text of string field `key` in `json` (the first one), or "".
std::string string_field(std::string_view json, std::string_view key) {
  const std::string pattern = "\"" + std::string(key) + "\":\"";
  const auto at = json.find(pattern);
  if (at == std::string_view::npos) return {};
  const auto from = at + pattern.size();
  return std::string(json.substr(from, json.find('"', from) - from));
}

bool Bench::run_member_list() {
  Client& asker = *clients_.front();
  std::vector<int> seen(clients_.size(), 0);
  std::string after;
  int pages = 0;
  long count = -1;
  const auto started = Clock::now();
  for (;;) {
    asker.last_list.clear();
    asker.conn.send_text(R"({"type":"presence_list","id":"list","room":")" + o_.room + R"(")" +
                         (after.empty() ? "" : R"(,"after":")" + after + R"(")") + "}");
    if (!loop_until([&] { return !asker.last_list.empty(); }, Clock::now() + std::chrono::seconds(o_.connect_timeout_s))) {
      std::printf("member list: no answer to presence_list (page %d)\n", pages + 1);
      return false;
    }
    ++pages;
    const std::string_view page = asker.last_list;
    constexpr std::string_view kUser = "\"user\":{\"id\":\"bench-";
    for (auto at = page.find(kUser); at != std::string_view::npos; at = page.find(kUser, at + 1)) {
      const long index = std::atol(std::string(page.substr(at + kUser.size(), 12)).c_str());
      if (index >= 0 && index < static_cast<long>(seen.size())) ++seen[static_cast<std::size_t>(index)];
    }
    if (const auto c = page.find("\"count\":"); c != std::string_view::npos)
      count = std::atol(std::string(page.substr(c + 8, 12)).c_str());
    after = string_field(page, "next");
    if (after.empty()) break;
  }
  const auto once = std::count(seen.begin(), seen.end(), 1);
  const bool right = once == static_cast<long>(clients_.size()) && count == static_cast<long>(clients_.size());
  std::printf("member list: %ld/%zu clients listed once in %d page(s), count %ld, %.0f ms: %s\n", static_cast<long>(once),
              clients_.size(), pages, count, std::chrono::duration<double, std::milli>(Clock::now() - started).count(),
              right ? "right" : "WRONG");
  return right;
}

void Bench::run_scenario() {
  const bool storm = o_.scenario == Scenario::PresenceStorm;
  const int senders = storm ? o_.clients : std::min(o_.publishers, o_.clients);
  const std::string pad(static_cast<std::size_t>(o_.payload), 'x');
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / o_.rate));
  std::vector<Clock::time_point> next(static_cast<std::size_t>(senders), Clock::now());
  // Spread the senders over one interval so they do not all fire in the same tick.
  for (int i = 0; i < senders; ++i) next[static_cast<std::size_t>(i)] += interval * i / std::max(1, senders);

  std::uint64_t bytes_before = 0;
  for (const auto& c : clients_) bytes_before += c->conn.bytes_received();
  std::uint64_t sent = 0, sent_bytes = 0;
  measuring_ = true;
  const auto started = Clock::now();
  const auto end = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.duration_s));
  int step = 0;
  while (Clock::now() < end) {
    const auto now = Clock::now();
    for (int i = 0; i < senders; ++i) {
      auto& due = next[static_cast<std::size_t>(i)];
      if (now < due) continue;
      due += interval;
      ++step;
      const std::string update = R"({"type":"presence","room":")" + o_.room + R"(","state":{"cursor":{"x":)" +
                                 std::to_string(step % 1000) + R"(,"y":)" + std::to_string(i) +
                                 R"(},"data":{"t":)" + std::to_string(now_us()) + R"(,"pad":")" + pad + R"("}}})";
      clients_[static_cast<std::size_t>(i)]->conn.send_text(update);
      ++sent;
      sent_bytes += update.size();
    }
    poll_once(1);
  }
  // Let the last tick's updates arrive.
  const auto drain_until = Clock::now() + std::chrono::milliseconds(500);
  while (Clock::now() < drain_until) poll_once(5);
  measuring_ = false;
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

  std::uint64_t bytes_after = 0;
  for (const auto& c : clients_) bytes_after += c->conn.bytes_received();
  const auto open = std::count_if(clients_.begin(), clients_.end(),
                                  [](const auto& c) { return c->conn.state() == WsConn::State::Open; });
  std::printf("scenario %s: %d sender(s) x %.1f/s for %.1f s, payload %d B: %llu updates sent\n",
              storm ? "presence-storm" : "fanout", senders, o_.rate, o_.duration_s, o_.payload,
              static_cast<unsigned long long>(sent));
  std::printf("delivered messages/s: %.0f (%llu updates received)\n", double(updates_delivered_) / seconds,
              static_cast<unsigned long long>(updates_delivered_));
  if (!latencies_us_.empty()) {
    std::sort(latencies_us_.begin(), latencies_us_.end());
    auto at = [&](double q) {
      return double(latencies_us_[std::min(latencies_us_.size() - 1, std::size_t(q * double(latencies_us_.size())))]) / 1000.0;
    };
    std::printf("latency ms: p50 %.2f  p99 %.2f  max %.2f\n", at(0.50), at(0.99), double(latencies_us_.back()) / 1000.0);
  } else {
    std::printf("latency ms: no updates received\n");
  }
  const std::uint64_t received = bytes_after - bytes_before;
  // Without conflation every update would reach every other member as one message of about
  // the size a conflated one has (the server adds the same envelope either way).
  const double per_update = updates_delivered_ ? double(received) / double(updates_delivered_) : 0.0;
  const double unconflated = double(sent) * double(o_.clients - 1) * per_update;
  std::printf("bytes out (received by clients): %llu (%.0f KB/s); without conflation about %.0f (%.1fx)\n",
              static_cast<unsigned long long>(received), double(received) / 1024.0 / seconds, unconflated,
              received ? unconflated / double(received) : 0.0);
  std::printf("connections still open: %ld/%d\n", static_cast<long>(open), o_.clients);
  (void)sent_bytes;
}

int Bench::run() {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  if (!connect_all()) return 1;
  if (!subscribe_all()) {
    std::printf("rooms are not available on this server (or access was refused): stopping after the connection phase\n");
    return 2;
  }
  settle();
  if (o_.scenario == Scenario::Members) {
    report_rss("with every client in the room");
    const bool right = run_member_list();
    report_rss("after the member list");
    return right ? 0 : 3;
  }
  if (o_.scenario == Scenario::Edits) {
    run_edits();
  } else {
    run_scenario();
  }
  report_rss("after the scenario");
  return 0;
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  tandem::bench::Options options;
  if (!tandem::bench::parse_options(argc, argv, options)) {
    std::fputs(tandem::bench::kUsage, stderr);
    return 64;
  }
  return tandem::bench::Bench(options).run();
}
