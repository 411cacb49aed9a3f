// bench/src/race.cpp — tandem-race: one workload driven the same way against tandem-server and
// the peers of bench/peers/ (node ws, Socket.IO), so their figures can stand side by side
// (bench/race.sh runs them all; docs/PERFORMANCE.md has the figures). A benchmark, not a test.
//
// The workload: N clients connect and join one room; M of them send, each either keeping K
// messages in flight (closed loop: a sender sends its next message when one of its own comes
// back to it, which is why a room's messages reach their sender too) or at a fixed total rate
// (open loop, --rate). Every message carries its send time and its sender in a P-byte payload
// ("~T<µs>~S<sender>~xxx…"), found by the same scan whatever envelope a server wraps it in, so
// every receiver measures its latency. After --warmup seconds, --duration seconds are measured:
// delivered messages/s (every client's receipts), latency p50/p99/max, and the server's RSS
// (/proc/PID/status: idle, with the clients, peak VmHWM, after) and the CPU seconds the server
// and the load tool used while measuring (/proc/PID/stat). --idle only connects and
// reports RSS per connection. --messages C sends C messages per sender and checks that every
// client got every one (the smoke test's mode: exit status 3 when one is missing).
//
// Index: Options · payload stamp · Adapter (what differs per server: tandem, ws, socketio) ·
// Race (the epoll loop, phases, figures) · main.
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "ws_conn.h"

namespace tandem::bench {
namespace {

using Clock = std::chrono::steady_clock;

// ---- Options -------------------------------------------------------------------------------

enum class Target { Tandem, Ws, SocketIo, Floor };
enum class TandemType { Chat, Broadcast };

struct Options {
  Target target = Target::Tandem;
  std::string url;                    // ws://host:port[/path]; the path defaults per target
  std::string secret;                 // tandem: the server's jwt_secret (tokens are minted from it)
  TandemType tandem_type = TandemType::Chat;  // tandem: which message the senders send
  std::string label = "run";          // scenario name, echoed in the JSON
  int clients = 100;                  // connections, all in one room
  int senders = 10;                   // how many of them send
  int in_flight = 4;                  // closed loop: messages each sender keeps in flight
  double rate = 0;                    // > 0: open loop, messages per second over all senders
  int payload = 64;                   // bytes of each message's payload (the stamp included)
  double warmup_s = 2;                // load before measuring
  double duration_s = 10;             // measured
  long messages = 0;                  // > 0: check mode, this many messages per sender
  bool idle = false;                  // connect only; RSS per connection
  std::string room = "bench:race";
  int server_pid = 0;                 // 0: no RSS figures
  int connect_timeout_s = 60;
  std::string json_path;              // where the figures go as one JSON object (optional)
};

const char kUsage[] =
    "usage: tandem-race --target tandem|ws|socketio|floor --url ws://127.0.0.1:PORT [--secret S]\n"
    "                   [--tandem-type chat|broadcast] [--clients 100] [--senders 10] [--in-flight 4 | --rate R]\n"
    "                   [--payload 64] [--warmup 2] [--duration 10] [--messages C] [--idle] [--room bench:race]\n"
    "                   [--server-pid PID] [--connect-timeout 60] [--label NAME] [--json FILE]\n";

// The stamp every payload starts with: "~T" + 16 digits of µs + "~S" + sender + "~".
constexpr int kMinPayload = 32;

bool parse_options(int argc, char** argv, Options& o) {
  auto target = [&o](const std::string& v) {
    if (v == "tandem") o.target = Target::Tandem;
    else if (v == "ws") o.target = Target::Ws;
    else if (v == "floor") o.target = Target::Floor;
    else if (v == "socketio") o.target = Target::SocketIo;
    else return false;
    return true;
  };
  auto tandem_type = [&o](const std::string& v) {
    if (v == "chat") o.tandem_type = TandemType::Chat;
    else if (v == "broadcast") o.tandem_type = TandemType::Broadcast;
    else return false;
    return true;
  };
  if (!parse_flags(argc, argv,
                   {{"--target", target}, text_flag("--url", o.url), text_flag("--secret", o.secret),
                    {"--tandem-type", tandem_type}, text_flag("--label", o.label), int_flag("--clients", o.clients),
                    int_flag("--senders", o.senders), int_flag("--in-flight", o.in_flight), number_flag("--rate", o.rate),
                    int_flag("--payload", o.payload), number_flag("--warmup", o.warmup_s),
                    number_flag("--duration", o.duration_s), long_flag("--messages", o.messages),
                    text_flag("--room", o.room), int_flag("--server-pid", o.server_pid),
                    int_flag("--connect-timeout", o.connect_timeout_s), text_flag("--json", o.json_path),
                    switch_flag("--idle", o.idle)}))
    return false;
  if (o.url.empty()) std::fprintf(stderr, "--url is required\n");
  if (o.target == Target::Tandem && o.secret.empty()) std::fprintf(stderr, "--secret is required for tandem\n");
  if (o.payload < kMinPayload || o.payload > 4000) std::fprintf(stderr, "--payload must be %d..4000\n", kMinPayload);
  return !o.url.empty() && !(o.target == Target::Tandem && o.secret.empty()) && o.clients > 0 && o.senders >= 0 &&
         o.senders <= o.clients && o.in_flight > 0 && o.rate >= 0 && o.payload >= kMinPayload && o.payload <= 4000 &&
         o.warmup_s >= 0 && o.duration_s > 0 && o.messages >= 0;
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}

// A "Vm…:" figure of /proc/PID/status in KiB (VmRSS now, VmHWM the peak), or -1.
long proc_status_kib(int pid, std::string_view field) {
  if (pid <= 0) return -1;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':')
      return std::atol(line.c_str() + field.size() + 1);
  return -1;
}

// CPU seconds (user + system) a process has used so far, or -1.
double proc_cpu_s(int pid) {
  if (pid <= 0) return -1;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return -1;
  const std::size_t close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {  // fields 14 and 15: utime, stime (ticks)
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// CPU seconds this process has used so far.
double own_cpu_s() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// The machine's 1-minute load average (other work on a shared machine shows here), or -1.
double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = -1;
  in >> one;
  return one;
}

// ---- payload stamp -------------------------------------------------------------------------

std::string make_payload(std::int64_t sent_us, int sender, int size) {
  char stamp[48];
  const int n = std::snprintf(stamp, sizeof stamp, "~T%016lld~S%d~", static_cast<long long>(sent_us), sender);
  std::string payload(stamp, static_cast<std::size_t>(n));
  if (payload.size() < static_cast<std::size_t>(size)) payload.append(static_cast<std::size_t>(size) - payload.size(), 'x');
  return payload;
}

// Calls found(sent_us, sender) for every stamp in a frame (a server may batch several messages).
template <class F>
void for_each_stamp(std::string_view text, F&& found) {
  for (std::size_t at = text.find("~T"); at != std::string_view::npos; at = text.find("~T", at + 2)) {
    if (at + 2 + 16 + 3 > text.size() || text[at + 18] != '~' || text[at + 19] != 'S') continue;
    std::int64_t sent = 0;
    for (std::size_t i = at + 2; i < at + 18; ++i) sent = sent * 10 + (text[i] - '0');
    int sender = 0;
    std::size_t i = at + 20;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) sender = sender * 10 + (text[i] - '0');
    if (i == at + 20) continue;
    found(sent, sender);
  }
}

// ---- Adapter -------------------------------------------------------------------------------

// One bench client: its connection and what it has seen. One of these per connection.
struct Client {
  WsConn conn;
  int index = 0;
  bool ready = false;    // the server's handshake is done (tandem: `connected`; socketio: "40")
  bool joined = false;   // the room's join was answered
  std::string refusal;   // the first error the server sent, if any
  std::uint64_t errors = 0;
  std::uint32_t interest = EPOLLIN | EPOLLOUT;  // what epoll watches for this socket now
  bool touched = false;  // in Race::touched_: its interest or outbound bytes may have changed
  // As a sender: messages sent, in flight (closed loop), next request id.
  std::uint64_t sent = 0;
  int in_flight = 0;
  Clock::time_point next_due{};  // open loop
  // As a receiver: stamped messages received.
  std::uint64_t received = 0;
};

// What differs between the servers: the upgrade path, the handshake after it, the join request
// and how a payload is wrapped. Timing and counting are the same for all. One per run.
class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual const char* name() const = 0;
  virtual std::string default_path() const = 0;                // path of the upgrade request
  virtual std::string query(int /*client*/) const { return ""; }  // appended to it (tandem: the token)
  virtual void on_open(Client& /*client*/) {}                   // the upgrade completed
  // Every text message: handshake, join answer, errors, pings. Stamps are counted elsewhere.
  virtual void on_text(Client& client, std::string_view text) = 0;
  virtual std::string join(const std::string& room) const = 0;
  virtual std::string message(const std::string& room, std::string_view payload, std::uint64_t id) const = 0;
};

// tandem-server (docs/PROTOCOL.md): token in the query, `connected`, `subscribe` answered
// `subscribed`; the message kind is one small subclass each (chat today; broadcast next).
class TandemAdapter : public Adapter {
 public:
  explicit TandemAdapter(std::string secret) : secret_(std::move(secret)) {}
  std::string default_path() const override { return "/ws"; }
  std::string query(int client) const override {
    return "?token=" + mint_bench_token(secret_, "race-" + std::to_string(client));
  }
  void on_text(Client& client, std::string_view text) override {
    if (!client.ready && text.find("\"type\":\"connected\"") != std::string_view::npos) client.ready = true;
    if (!client.joined && text.find("\"type\":\"subscribed\"") != std::string_view::npos &&
        text.find("\"id\":\"join\"") != std::string_view::npos)
      client.joined = true;
    for (std::size_t at = text.find("\"type\":\"error\""); at != std::string_view::npos;
         at = text.find("\"type\":\"error\"", at + 1)) {
      ++client.errors;
      if (client.refusal.empty()) client.refusal = std::string(text.substr(0, 300));
    }
  }
  std::string join(const std::string& room) const override {
    return R"({"type":"subscribe","id":"join","room":")" + room + R"("})";
  }

 private:
  std::string secret_;
};

// Durable chat: stored before it is acked, a room event with a seq (PROTOCOL.md §10).
class TandemChatAdapter : public TandemAdapter {
 public:
  using TandemAdapter::TandemAdapter;
  const char* name() const override { return "tandem-chat"; }
  std::string message(const std::string& room, std::string_view payload, std::uint64_t id) const override {
    return R"({"type":"chat","id":")" + std::to_string(id) + R"(","room":")" + room + R"(","text":")" +
           std::string(payload) + R"("})";
  }
};

// Ephemeral broadcast (issue 15 item 2, not stored, no seq; sender included by "self").
class TandemBroadcastAdapter : public TandemAdapter {
 public:
  using TandemAdapter::TandemAdapter;
  const char* name() const override { return "tandem-broadcast"; }
  std::string message(const std::string& room, std::string_view payload, std::uint64_t /*id*/) const override {
    return R"({"type":"broadcast","room":")" + room + R"(","event":"race","data":")" + std::string(payload) +
           R"(","self":true})";
  }
};

// bench/peers/ws-peer.mjs: ready at the upgrade; {"type":"join"} answered {"type":"joined"}.
// tandem-floor (src/floor_server.cpp) speaks the same protocol, named "floor".
class WsPeerAdapter : public Adapter {
 public:
  explicit WsPeerAdapter(const char* name = "ws") : name_(name) {}
  const char* name() const override { return name_; }
  std::string default_path() const override { return "/"; }
  void on_open(Client& client) override { client.ready = true; }
  void on_text(Client& client, std::string_view text) override {
    if (!client.joined && text.starts_with("{\"type\":\"joined\"")) client.joined = true;
  }
  std::string join(const std::string& room) const override { return R"({"type":"join","room":")" + room + R"("})"; }
  std::string message(const std::string& room, std::string_view payload, std::uint64_t /*id*/) const override {
    return R"({"type":"msg","room":")" + room + R"(","data":")" + std::string(payload) + R"("})";
  }

 private:
  const char* name_;
};

// bench/peers/socketio-peer.mjs over engine.io v4's WebSocket transport: the server opens with
// "0{…}", the client connects the main namespace with "40" (answered "40{…}"); events are
// "42[name, args…]"; the server's ping "2" is answered "3".
class SocketIoAdapter : public Adapter {
 public:
  const char* name() const override { return "socketio"; }
  std::string default_path() const override { return "/socket.io/?EIO=4&transport=websocket"; }
  void on_text(Client& client, std::string_view text) override {
    if (text == "2") {
      client.conn.send_text("3");
    } else if (text.starts_with("0{")) {
      client.conn.send_text("40");
    } else if (text.starts_with("40")) {
      client.ready = true;
    } else if (text.starts_with("42[\"joined\"")) {
      client.joined = true;
    } else if (text.starts_with("44")) {
      ++client.errors;
      if (client.refusal.empty()) client.refusal = std::string(text.substr(0, 300));
    }
  }
  std::string join(const std::string& room) const override { return R"(42["join",")" + room + R"("])"; }
  std::string message(const std::string& room, std::string_view payload, std::uint64_t /*id*/) const override {
    return R"(42["msg",")" + room + R"(",")" + std::string(payload) + R"("])";
  }
};

std::unique_ptr<Adapter> make_adapter(const Options& o) {
  switch (o.target) {
    case Target::Tandem:
      if (o.tandem_type == TandemType::Broadcast) return std::make_unique<TandemBroadcastAdapter>(o.secret);
      return std::make_unique<TandemChatAdapter>(o.secret);
    case Target::Ws: return std::make_unique<WsPeerAdapter>();
    case Target::Floor: return std::make_unique<WsPeerAdapter>("floor");
    case Target::SocketIo: return std::make_unique<SocketIoAdapter>();
  }
  return nullptr;
}

// ---- Race ----------------------------------------------------------------------------------

struct Rss {
  long idle = -1, connected = -1, peak = -1, after = -1;  // KiB
};

class Race {
 public:
  explicit Race(Options options) : o_(std::move(options)), adapter_(make_adapter(o_)) {}
  int run();

 private:
  enum class Phase { Setup, Warmup, Measure, Drain };

  bool connect_all();
  bool join_all();
  void settle();
  void run_load();
  bool run_check();
  void send_one(Client& client);
  template <class Pred>
  bool loop_until(Pred done, Clock::time_point deadline);
  void poll_once(int timeout_ms);
  void touch(Client& client);
  void on_message(Client& client, std::string_view text);
  void report();
  std::uint64_t total_received() const;

  Options o_;
  std::unique_ptr<Adapter> adapter_;
  int epoll_ = -1;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<Client*> touched_;  // clients whose interest to update after this loop turn
  Phase phase_ = Phase::Setup;
  std::vector<std::int64_t> latencies_us_;  // receipts during Measure
  std::uint64_t delivered_ = 0;             // receipts during Measure
  double measured_s_ = 0;
  double server_cpu_s_ = -1, bench_cpu_s_ = -1;  // CPU seconds used during the measured window
  double load_average_ = -1;                      // at the end of it
  double connect_ms_ = 0, join_ms_ = 0, settle_ms_ = 0;
  std::uint64_t settle_bytes_ = 0;
  Rss rss_;
  std::uint64_t lost_ = 0;  // receipts still missing after the drain (sent x clients - received)
  bool check_passed_ = false;
};

void Race::touch(Client& client) {
  if (client.touched) return;
  client.touched = true;
  touched_.push_back(&client);
}

std::uint64_t Race::total_received() const {
  std::uint64_t n = 0;
  for (const auto& c : clients_) n += c->received;
  return n;
}

void Race::send_one(Client& client) {
  ++client.sent;
  client.conn.send_text(adapter_->message(o_.room, make_payload(now_us(), client.index, o_.payload), client.sent));
  touch(client);
}

void Race::on_message(Client& client, std::string_view text) {
  adapter_->on_text(client, text);
  touch(client);  // the adapter may have answered (a pong, the namespace connect)
  const std::int64_t now = now_us();
  for_each_stamp(text, [&](std::int64_t sent, int sender) {
    ++client.received;
    if (phase_ == Phase::Measure) {
      ++delivered_;
      latencies_us_.push_back(now - sent);
    }
    // Closed loop: one of this sender's own messages came back; the next one goes out.
    if (sender == client.index && client.in_flight > 0) {
      --client.in_flight;
      const bool sending = (phase_ == Phase::Warmup || phase_ == Phase::Measure) ||
                           (o_.messages > 0 && phase_ == Phase::Setup && client.sent < static_cast<std::uint64_t>(o_.messages));
      if (sending && o_.rate == 0) {
        send_one(client);
        ++client.in_flight;
      }
    }
  });
}

void Race::poll_once(int timeout_ms) {
  epoll_event events[512];
  const int n = epoll_wait(epoll_, events, 512, timeout_ms);
  for (int i = 0; i < n; ++i) {
    Client& client = *static_cast<Client*>(events[i].data.ptr);
    const bool was_open = client.conn.state() == WsConn::State::Open;
    if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) client.conn.on_writable();
    if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
      client.conn.on_readable([&](std::string_view text) { on_message(client, text); });
    if (!was_open && client.conn.state() == WsConn::State::Open) adapter_->on_open(client);
    touch(client);
  }
  // What was queued this turn goes out now (one write per connection per turn, not one per
  // message), and epoll's interest follows what is left: epoll_ctl only on a change.
  for (Client* client : touched_) {
    client->touched = false;
    if (client->conn.state() == WsConn::State::Open && client->conn.wants_write()) client->conn.on_writable();
    const std::uint32_t wanted = client->conn.state() == WsConn::State::Closed
                                     ? 0u
                                     : (EPOLLIN | (client->conn.wants_write() ? EPOLLOUT : 0u));
    if (wanted == client->interest) continue;
    client->interest = wanted;
    epoll_event ev{};
    ev.data.ptr = client;
    ev.events = wanted;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, client->conn.fd(), &ev);
  }
  touched_.clear();
}

template <class Pred>
bool Race::loop_until(Pred done, Clock::time_point deadline) {
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    poll_once(5);
  }
  return true;
}

// Connects every client, keeping at most kConnecting handshakes under way (a burst of
// thousands of SYNs overflows the listen backlog and costs 1-s retransmits, timing the kernel).
bool Race::connect_all() {
  constexpr int kConnecting = 200;
  const auto url = parse_ws_url(o_.url);
  if (!url) {
    std::fprintf(stderr, "--url must be ws://host:port[/path], got %s\n", o_.url.c_str());
    return false;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(url->port));
  if (inet_pton(AF_INET, url->host.c_str(), &address.sin_addr) != 1) {
    std::fprintf(stderr, "--url host must be an IPv4 address or localhost\n");
    return false;
  }
  const std::string path = url->path == "/" ? adapter_->default_path() : url->path;
  const std::string host_header = url->host + ":" + std::to_string(url->port);
  rss_.idle = proc_status_kib(o_.server_pid, "VmRSS");
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(o_.connect_timeout_s);
  int pending = 0;  // started, neither ready nor closed
  auto count_pending = [&] {
    pending = 0;
    for (const auto& c : clients_)
      if (!c->ready && c->conn.state() != WsConn::State::Closed) ++pending;
  };
  while (static_cast<int>(clients_.size()) < o_.clients && Clock::now() < deadline) {
    while (pending < kConnecting && static_cast<int>(clients_.size()) < o_.clients) {
      auto client = std::make_unique<Client>();
      client->index = static_cast<int>(clients_.size());
      if (!client->conn.start(address, host_header, path + adapter_->query(client->index))) {
        std::fprintf(stderr, "client %d: %s (raise ulimit -n?)\n", client->index, client->conn.failure().c_str());
        return false;
      }
      epoll_event ev{};
      ev.data.ptr = client.get();
      ev.events = client->interest;
      epoll_ctl(epoll_, EPOLL_CTL_ADD, client->conn.fd(), &ev);
      clients_.push_back(std::move(client));
      ++pending;
    }
    poll_once(5);
    count_pending();
  }
  loop_until([&] { count_pending(); return pending == 0; }, deadline);
  connect_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  const auto ready = std::count_if(clients_.begin(), clients_.end(), [](const auto& c) { return c->ready; });
  std::printf("%s: %ld/%d connections ready in %.0f ms\n", adapter_->name(), static_cast<long>(ready), o_.clients, connect_ms_);
  for (const auto& c : clients_)
    if (!c->ready) {
      std::printf("  first failure: %s\n", !c->refusal.empty()        ? c->refusal.c_str()
                                            : c->conn.failure().empty() ? "timed out"
                                                                        : c->conn.failure().c_str());
      break;
    }
  return ready == o_.clients;
}

bool Race::join_all() {
  const std::string request = adapter_->join(o_.room);
  for (auto& client : clients_) {
    client->conn.send_text(request);
    touch(*client);
  }
  const auto started = Clock::now();
  loop_until(
      [&] {
        return std::all_of(clients_.begin(), clients_.end(), [](const auto& c) {
          return c->joined || !c->refusal.empty() || c->conn.state() == WsConn::State::Closed;
        });
      },
      started + std::chrono::seconds(o_.connect_timeout_s));
  join_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  const auto joined = std::count_if(clients_.begin(), clients_.end(), [](const auto& c) { return c->joined; });
  std::printf("%s: %ld/%d joined %s in %.0f ms\n", adapter_->name(), static_cast<long>(joined), o_.clients, o_.room.c_str(), join_ms_);
  for (const auto& c : clients_)
    if (!c->joined) {
      std::printf("  first refusal: %s\n", c->refusal.empty() ? c->conn.failure().c_str() : c->refusal.c_str());
      break;
    }
  return joined == o_.clients;
}

// What joining set off (Tandem: presence diffs to every member, N^2 messages) may still be
// arriving after the last join answer; measuring during it would time that backlog. Waits
// until no byte arrived for kQuietFor.
void Race::settle() {
  constexpr auto kQuietFor = std::chrono::milliseconds(500);
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(o_.connect_timeout_s);
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
  settle_bytes_ = last - at_start;
  settle_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
}

void Race::run_load() {
  const auto as_duration = [](double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  const int senders = o_.senders;
  // Open loop: each sender sends every senders/rate seconds, the senders spread over one interval.
  const auto interval = o_.rate > 0 ? as_duration(double(senders) / o_.rate) : Clock::duration{};
  std::printf("%s %s: load on: %g s warm-up, then %g s measured\n", adapter_->name(), o_.label.c_str(), o_.warmup_s, o_.duration_s);
  const auto started = Clock::now();
  phase_ = o_.warmup_s > 0 ? Phase::Warmup : Phase::Measure;
  for (int i = 0; i < senders; ++i) {
    Client& c = *clients_[static_cast<std::size_t>(i)];
    if (o_.rate > 0) {
      c.next_due = started + interval * i / std::max(1, senders);
    } else {
      for (int k = 0; k < o_.in_flight; ++k) {
        send_one(c);
        ++c.in_flight;
      }
    }
  }
  const auto measure_from = started + as_duration(o_.warmup_s);
  const auto measure_until = measure_from + as_duration(o_.duration_s);
  Clock::time_point measure_started = measure_from;
  double server_cpu_from = proc_cpu_s(o_.server_pid), bench_cpu_from = own_cpu_s();
  while (Clock::now() < measure_until) {
    const auto now = Clock::now();
    if (phase_ == Phase::Warmup && now >= measure_from) {
      phase_ = Phase::Measure;
      measure_started = now;
      server_cpu_from = proc_cpu_s(o_.server_pid);
      bench_cpu_from = own_cpu_s();
    }
    if (o_.rate > 0) {
      for (int i = 0; i < senders; ++i) {
        Client& c = *clients_[static_cast<std::size_t>(i)];
        if (now < c.next_due) continue;
        c.next_due += interval;
        send_one(c);
      }
    }
    poll_once(1);
  }
  measured_s_ = std::chrono::duration<double>(Clock::now() - measure_started).count();
  if (o_.server_pid > 0) server_cpu_s_ = proc_cpu_s(o_.server_pid) - server_cpu_from;
  bench_cpu_s_ = own_cpu_s() - bench_cpu_from;
  load_average_ = load_average();
  // Drain: nothing new is sent; what was sent should reach every client.
  phase_ = Phase::Drain;
  std::uint64_t sent = 0;
  for (const auto& c : clients_) sent += c->sent;
  const std::uint64_t expected = sent * clients_.size();
  loop_until([&] { return total_received() >= expected; }, Clock::now() + std::chrono::seconds(10));
  const std::uint64_t received = total_received();
  lost_ = received < expected ? expected - received : 0;
}

bool Race::run_check() {
  // Closed loop until each sender has sent --messages (on_message sends the rest).
  for (int i = 0; i < o_.senders; ++i) {
    Client& c = *clients_[static_cast<std::size_t>(i)];
    for (int k = 0; k < o_.in_flight && c.sent < static_cast<std::uint64_t>(o_.messages); ++k) {
      send_one(c);
      ++c.in_flight;
    }
  }
  const std::uint64_t each = static_cast<std::uint64_t>(o_.senders) * static_cast<std::uint64_t>(o_.messages);
  loop_until([&] { return std::all_of(clients_.begin(), clients_.end(), [&](const auto& c) { return c->received >= each; }); },
             Clock::now() + std::chrono::seconds(o_.connect_timeout_s));
  settle();  // anything extra (a duplicate) would arrive now
  bool ok = true;
  for (const auto& c : clients_) {
    if (c->received != each) {
      std::printf("check: client %d received %llu of %llu messages\n", c->index, static_cast<unsigned long long>(c->received),
                  static_cast<unsigned long long>(each));
      ok = false;
    }
  }
  if (ok)
    std::printf("check: every one of %llu messages reached all %zu clients, senders included\n",
                static_cast<unsigned long long>(each), clients_.size());
  return ok;
}

void Race::report() {
  std::sort(latencies_us_.begin(), latencies_us_.end());
  auto at = [&](double q) {
    if (latencies_us_.empty()) return -1.0;
    return double(latencies_us_[std::min(latencies_us_.size() - 1, std::size_t(q * double(latencies_us_.size())))]) / 1000.0;
  };
  const double p50 = at(0.50), p99 = at(0.99), max = latencies_us_.empty() ? -1.0 : double(latencies_us_.back()) / 1000.0;
  const double per_s = measured_s_ > 0 ? double(delivered_) / measured_s_ : 0;
  const double per_cpu_s = server_cpu_s_ > 0 ? double(delivered_) / server_cpu_s_ : -1;
  std::uint64_t sent = 0, errors = 0;
  for (const auto& c : clients_) {
    sent += c->sent;
    errors += c->errors;
  }
  const auto open = std::count_if(clients_.begin(), clients_.end(),
                                  [](const auto& c) { return c->conn.state() == WsConn::State::Open; });
  const double per_conn_bytes = rss_.connected > 0 && rss_.idle > 0 ? double(rss_.connected - rss_.idle) * 1024.0 / double(clients_.size()) : -1;
  if (!o_.idle && o_.messages == 0) {
    std::printf("%s %s: delivered %.0f msg/s (%llu in %.1f s), latency ms p50 %.2f p99 %.2f max %.2f; sent %llu, missing after drain %llu, errors %llu\n",
                adapter_->name(), o_.label.c_str(), per_s, static_cast<unsigned long long>(delivered_), measured_s_, p50, p99, max,
                static_cast<unsigned long long>(sent), static_cast<unsigned long long>(lost_), static_cast<unsigned long long>(errors));
    std::printf("%s %s: CPU seconds while measuring: server %.1f (%.0f msg per server CPU second), load tool %.1f; load average %.2f\n",
                adapter_->name(), o_.label.c_str(), server_cpu_s_, per_cpu_s, bench_cpu_s_, load_average_);
  }
  if (o_.server_pid > 0)
    std::printf("%s %s: server RSS KiB idle %ld, with clients %ld (%.0f B per connection), peak %ld, after %ld\n", adapter_->name(),
                o_.label.c_str(), rss_.idle, rss_.connected, per_conn_bytes, rss_.peak, rss_.after);
  for (const auto& c : clients_)
    if (!c->refusal.empty()) {
      std::printf("  first error from the server: %s\n", c->refusal.c_str());
      break;
    }
  if (o_.json_path.empty()) return;
  const char* mode = o_.idle ? "idle" : o_.messages > 0 ? "check" : o_.rate > 0 ? "open-loop" : "closed-loop";
  std::FILE* out = std::fopen(o_.json_path.c_str(), "w");
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", o_.json_path.c_str());
    return;
  }
  std::fprintf(out,
               "{\"target\":\"%s\",\"scenario\":\"%s\",\"clients\":%d,\"senders\":%d,\"in_flight\":%d,\"rate\":%g,\"payload\":%d,"
               "\"warmup_s\":%g,\"duration_s\":%.2f,\"mode\":\"%s\",\"connect_ms\":%.0f,\"join_ms\":%.0f,\"settle_ms\":%.0f,"
               "\"settle_bytes\":%llu,\"sent\":%llu,\"delivered\":%llu,\"delivered_per_s\":%.0f,"
               "\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},\"missing_after_drain\":%llu,\"errors\":%llu,"
               "\"open_at_end\":%ld,\"rss_kib\":{\"idle\":%ld,\"connected\":%ld,\"peak\":%ld,\"after\":%ld},"
               "\"rss_per_connection_bytes\":%.0f,\"server_cpu_s\":%.2f,\"delivered_per_server_cpu_s\":%.0f,"
               "\"bench_cpu_s\":%.2f,\"load_average\":%.2f}\n",
               adapter_->name(), o_.label.c_str(), o_.clients, o_.senders, o_.in_flight, o_.rate, o_.payload, o_.warmup_s,
               measured_s_, mode, connect_ms_, join_ms_, settle_ms_,
               static_cast<unsigned long long>(settle_bytes_), static_cast<unsigned long long>(sent),
               static_cast<unsigned long long>(delivered_), per_s, p50, p99, max, static_cast<unsigned long long>(lost_),
               static_cast<unsigned long long>(errors), static_cast<long>(open), rss_.idle, rss_.connected, rss_.peak,
               rss_.after, per_conn_bytes, server_cpu_s_, per_cpu_s, bench_cpu_s_,
               o_.idle ? load_average() : load_average_);
  std::fclose(out);
}

int Race::run() {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  if (!connect_all()) return 1;
  if (o_.idle) {
    // Let the server finish what the connections set off (Tandem: the user rooms; node: its
    // allocations) before reading its RSS.
    settle();
    loop_until([] { return false; }, Clock::now() + std::chrono::seconds(2));
    rss_.connected = proc_status_kib(o_.server_pid, "VmRSS");
    rss_.peak = proc_status_kib(o_.server_pid, "VmHWM");
    rss_.after = rss_.connected;
    report();
    return 0;
  }
  if (!join_all()) return 2;
  settle();
  rss_.connected = proc_status_kib(o_.server_pid, "VmRSS");
  std::printf("%s: join traffic drained, %llu bytes in %.0f ms\n", adapter_->name(), static_cast<unsigned long long>(settle_bytes_),
              settle_ms_);
  if (o_.messages > 0) {
    check_passed_ = run_check();
    report();
    return check_passed_ ? 0 : 3;
  }
  run_load();
  rss_.peak = proc_status_kib(o_.server_pid, "VmHWM");
  rss_.after = proc_status_kib(o_.server_pid, "VmRSS");
  report();
  return 0;
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines show as they happen, even into a pipe or file
  tandem::bench::Options options;
  if (!tandem::bench::parse_options(argc, argv, options)) {
    std::fputs(tandem::bench::kUsage, stderr);
    return 64;
  }
  return tandem::bench::Race(options).run();
}
