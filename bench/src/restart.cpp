// bench/src/restart.cpp — tandem-restart: what a server restart costs a thousand connected
// clients (a benchmark, not a test). The clients are real client cores (tandem::Client: the
// reconnect, the backoff with jitter, the session resume and the rejoin with `since` that
// browsers and native apps run), each on a CoreTransport, all in one epoll loop.
//
// Phases: N clients connect and join one room; the first sends a few chat messages (so the
// room has events to recover past); then the tool sends SIGTERM to --server-pid, and the
// server — restarted by whoever supervises it (bench/restart.sh runs it in a loop, like
// systemd's Restart=always) — closes every client with 1012. Each client reconnects on its
// own schedule. Prints when each was back (rejoined with `recovered:true`), the dial and
// reconnect rates per 100 ms, and the busiest 500-ms window of reconnects against the mean
// rate (the thundering herd jitter is meant to spread). Exit 3 when some client did not
// recover within --deadline.
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "core_transport.h"
#include "tandem/client.h"

namespace tandem::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string url = "ws://127.0.0.1:8080/ws";
  std::string secret;             // the server's jwt_secret (required)
  int clients = 1000;
  std::string room = "chat:restart";
  int server_pid = 0;             // SIGTERM'ed (required)
  double deadline_s = 30;         // every phase must end within this
  std::string json_path;          // also writes the figures there as one JSON object
};

const char kUsage[] =
    "usage: tandem-restart --secret S --server-pid PID [--url ws://127.0.0.1:8080/ws] [--clients 1000]\n"
    "                      [--room chat:restart] [--deadline 30] [--json FILE]\n"
    "The server must come back by itself after SIGTERM (bench/restart.sh supervises it).\n";

bool parse_options(int argc, char** argv, Options& o) {
  const bool parsed = parse_flags(argc, argv,
                                  {text_flag("--url", o.url), text_flag("--secret", o.secret), int_flag("--clients", o.clients),
                                   text_flag("--room", o.room), int_flag("--server-pid", o.server_pid),
                                   number_flag("--deadline", o.deadline_s), text_flag("--json", o.json_path)});
  if (!parsed) return false;
  if (o.secret.empty() || o.server_pid <= 0) std::fprintf(stderr, "--secret and --server-pid are required\n");
  return !o.secret.empty() && o.server_pid > 0 && o.clients > 0 && o.deadline_s > 0;
}

Millis now_ms() { return std::chrono::duration_cast<Millis>(Clock::now().time_since_epoch()); }

// One client core and what the tool saw of it.
struct Member {
  Member(int epoll_fd, ClientConfig config, std::uint64_t seed)
      : transport(epoll_fd), rng(seed), client(std::move(config), transport, rng) {}
  CoreTransport transport;
  SeededRng rng;
  Client client;
  bool joined = false;
  std::optional<Millis> closed_at;     // the restart's close (1012) reached it
  std::optional<Millis> reopened_at;   // connected again
  std::optional<Millis> rejoined_at;   // the room joined again
  bool recovered = false;              // ... with recovered:true
  bool resumed = false;                // the session was continued (connected.resumed)
};

class Restart {
 public:
  explicit Restart(Options o) : o_(std::move(o)) {}
  int run();

 private:
  template <class Pred>
  bool loop_until(Pred done) {
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.deadline_s));
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      poll_once();
    }
    return true;
  }
  void poll_once();
  void report(Millis killed_at) const;

  Options o_;
  int epoll_ = -1;
  std::vector<std::unique_ptr<Member>> members_;
  std::vector<Millis> dials_after_kill_;  // every connection attempt after the SIGTERM
  bool restarting_ = false;
};

void Restart::poll_once() {
  epoll_event events[512];
  const int n = epoll_wait(epoll_, events, 512, 5);
  for (int i = 0; i < n; ++i) static_cast<CoreTransport*>(events[i].data.ptr)->on_ready(events[i].events);
  const Millis now = now_ms();
  for (auto& m : members_) {
    const std::uint64_t dials = m->transport.dials();
    m->transport.pump();
    m->client.tick(now);
    if (restarting_)
      for (std::uint64_t d = dials; d < m->transport.dials(); ++d) dials_after_kill_.push_back(now);
  }
}

int Restart::run() {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  const Millis started = now_ms();
  for (int i = 0; i < o_.clients; ++i) {
    ClientConfig config;
    config.session.url = o_.url;
    config.session.token = mint_bench_token(o_.secret, "restart-" + std::to_string(i));
    auto m = std::make_unique<Member>(epoll_, std::move(config), 1000 + static_cast<std::uint64_t>(i));
    Member* member = m.get();
    member->client.on_state = [this, member](const StateChange& change) {
      const Millis now = now_ms();
      if (!restarting_) return;
      if (change.state == State::Reconnecting && !member->closed_at) member->closed_at = now;
      if (change.state == State::Open && member->closed_at && !member->reopened_at) {
        member->reopened_at = now;
        member->resumed = member->client.connected() && member->client.connected()->resumed;
      }
    };
    member->client.rooms().on_rejoined = [this, member](const protocol::Subscribed& subscribed) {
      if (!restarting_ || member->rejoined_at) return;
      member->rejoined_at = now_ms();
      member->recovered = subscribed.recovered;
    };
    member->client.start(started);
    members_.push_back(std::move(m));
    if (i % 64 == 63) poll_once();  // keep the listen backlog from overflowing
  }
  auto all = [&](auto pred) { return std::all_of(members_.begin(), members_.end(), [&](const auto& m) { return pred(*m); }); };
  if (!loop_until([&] { return all([](const Member& m) { return m.client.state() == State::Open; }); })) {
    std::fprintf(stderr, "not every client connected within %.0f s\n", o_.deadline_s);
    return 1;
  }
  for (auto& m : members_)
    m->client.rooms().join(o_.room, std::nullopt, [member = m.get()](Result<protocol::Subscribed> r) { member->joined = r.ok(); });
  if (!loop_until([&] { return all([](const Member& m) { return m.joined; }); })) {
    std::fprintf(stderr, "not every client joined %s within %.0f s\n", o_.room.c_str(), o_.deadline_s);
    return 1;
  }
  int acked = 0;
  for (int k = 0; k < 5; ++k)
    members_.front()->client.rooms().send_chat(o_.room, "before the restart " + std::to_string(k),
                                               [&acked](Result<Acked> r) { acked += r.ok() ? 1 : 0; });
  loop_until([&] { return acked == 5; });
  const auto connected_ms = (now_ms() - started).count();

  restarting_ = true;
  const Millis killed_at = now_ms();
  if (::kill(o_.server_pid, SIGTERM) != 0) {
    std::perror("kill");
    return 1;
  }
  const bool back = loop_until([&] { return all([](const Member& m) { return m.rejoined_at.has_value(); }); });
  std::printf("%d clients connected and joined %s in %lld ms\n", o_.clients, o_.room.c_str(),
                            static_cast<long long>(connected_ms));
  report(killed_at);
  const bool every_recovered = back && all([](const Member& m) { return m.recovered; });
  return every_recovered ? 0 : 3;
}

void Restart::report(Millis killed_at) const {
  std::vector<double> back_s, reopen_s;
  int recovered = 0, resumed = 0, closed = 0;
  for (const auto& m : members_) {
    if (m->closed_at) ++closed;
    if (m->reopened_at) reopen_s.push_back(double((*m->reopened_at - killed_at).count()) / 1000.0);
    if (m->rejoined_at) back_s.push_back(double((*m->rejoined_at - killed_at).count()) / 1000.0);
    recovered += m->recovered ? 1 : 0;
    resumed += m->resumed ? 1 : 0;
  }
  std::sort(back_s.begin(), back_s.end());
  std::sort(reopen_s.begin(), reopen_s.end());
  // Reconnects (connections accepted again) per 500-ms window, sliding by 10 ms, against
  // the mean rate between the first and the last reconnect.
  double busiest = 0, mean = 0;
  if (reopen_s.size() >= 2) {
    const double span = std::max(0.5, reopen_s.back() - reopen_s.front());
    mean = double(reopen_s.size()) / span * 0.5;  // per 500 ms
    for (double from = reopen_s.front() - 0.5; from <= reopen_s.back(); from += 0.01) {
      const auto in = std::count_if(reopen_s.begin(), reopen_s.end(), [&](double t) { return t >= from && t < from + 0.5; });
      busiest = std::max(busiest, double(in));
    }
  }
  const auto at = [](const std::vector<double>& v, double q) {
    return v.empty() ? -1.0 : v[std::min(v.size() - 1, std::size_t(q * double(v.size())))];
  };
  const double dials_per_client = members_.empty() ? 0 : double(dials_after_kill_.size()) / double(members_.size());
  if (!o_.json_path.empty()) {
    std::FILE* out = std::fopen(o_.json_path.c_str(), "w");
    if (!out) {
      std::perror(o_.json_path.c_str());
      return;
    }
    std::fprintf(out, "{\"clients\":%zu,\"closed\":%d,\"back\":%zu,\"recovered\":%d,\"resumed\":%d,\"back_p50_s\":%.3f,"
                "\"back_p99_s\":%.3f,\"back_max_s\":%.3f,\"dials\":%zu,\"reconnects_busiest_500ms\":%.0f,"
                "\"reconnects_mean_500ms\":%.1f}\n",
                members_.size(), closed, back_s.size(), recovered, resumed, at(back_s, 0.5), at(back_s, 0.99),
                back_s.empty() ? -1.0 : back_s.back(), dials_after_kill_.size(), busiest, mean);
    std::fclose(out);
  }
  std::printf("SIGTERM to the server: %d clients closed, %zu back in the room, %d recovered:true, %d sessions resumed\n",
              closed, back_s.size(), recovered, resumed);
  std::printf("back in the room after the SIGTERM, s: p50 %.2f  p99 %.2f  max %.2f\n", at(back_s, 0.5), at(back_s, 0.99),
              back_s.empty() ? -1.0 : back_s.back());
  std::printf("connection attempts: %zu (%.2f per client)\n", dials_after_kill_.size(), dials_per_client);
  std::printf("reconnects per 500 ms: busiest window %.0f, mean %.1f (%.2fx the mean)\n", busiest, mean,
              mean > 0 ? busiest / mean : 0.0);
  // Dials and reconnects per 100 ms after the SIGTERM, as long as something happened.
  const double last = std::max(reopen_s.empty() ? 0.0 : reopen_s.back(),
                               dials_after_kill_.empty() ? 0.0 : double((dials_after_kill_.back() - killed_at).count()) / 1000.0);
  std::printf("per 100 ms after the SIGTERM (dials / reconnects):\n");
  for (double from = 0; from <= last; from += 0.1) {
    const auto dials = std::count_if(dials_after_kill_.begin(), dials_after_kill_.end(), [&](Millis t) {
      const double s = double((t - killed_at).count()) / 1000.0;
      return s >= from && s < from + 0.1;
    });
    const auto reconnects = std::count_if(reopen_s.begin(), reopen_s.end(), [&](double t) { return t >= from && t < from + 0.1; });
    std::printf("  %5.1f s  %5ld / %5ld  %s\n", from, static_cast<long>(dials), static_cast<long>(reconnects),
                std::string(static_cast<std::size_t>(reconnects / 5), '#').c_str());
  }
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  tandem::bench::Options options;
  if (!tandem::bench::parse_options(argc, argv, options)) {
    std::fputs(tandem::bench::kUsage, stderr);
    return 64;
  }
  return tandem::bench::Restart(options).run();
}
