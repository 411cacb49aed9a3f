// bench/src/store_bench.cpp — tandem-store-bench: how fast each durable store commits, SQLite
// and PostgreSQL side by side in one table (a benchmark, not a test).
//
// One row: a fresh, empty store (a new SQLite file; a new PostgreSQL database, dropped after)
// gets a room, then batches of N = 1, 10 or 100 edits — N (AppendEvent + PutNode) pairs, what
// N document edits in one loop iteration cost the hub — are committed one after another for
// --seconds (default 2). The edits move 50 nodes, so from N = 100 on a batch puts each node
// twice, and WriteBatch merges the second put into the first as it does in the hub (store.h):
// 150 writes rather than 200 per batch of 100 (2026-12-04; earlier figures wrote all 200).
// Printed: commits/s, writes/s (as committed) and the commit's latency,
// mean and p99: Store::commit's wall time, which is what the hub's loop waits for once per pass
// (for PostgreSQL one network round trip, the server's work and its WAL flush). Trimming to the
// default history (1000 events) and SQLite's WAL checkpoints are included, as in the server.
// The first kWarmupCommits commits of a row are not counted.
//
// Rows, for each N:
//   SQLite      synchronous=NORMAL       the default: no fsync per commit
//   SQLite      synchronous=FULL         fsync of the WAL per commit
//   PostgreSQL  synchronous_commit=on    COMMIT waits for the WAL flush (PostgreSQL's default)
//   PostgreSQL  synchronous_commit=off   COMMIT returns before the flush; a crash may lose the
//                                        last ~0.6 s (3 x wal_writer_delay), never corrupts
// The PostgreSQL rows need a server (--postgres-url or $TANDEM_BENCH_PG_URL: a URI whose user
// may CREATE DATABASE). synchronous_commit is set on the bench's database (ALTER DATABASE), so
// the rows mean what they say whatever the server's default; fsync is the server's own setting,
// which the header reports. bench/store_race.sh starts a throw-away server and runs this.
//
//   tandem-store-bench [--seconds S] [--folder DIR] [--postgres-url URL] [--json PATH]
//     DIR: where the SQLite files go (default $TMPDIR); PATH: the figures as JSON too.
// Ctrl-C ends the current row early, drops its database and exits 130.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace tandem::bench {
namespace {

namespace fs = std::filesystem;
using server::store::PostgresOptions;
using server::store::PostgresStore;
using server::store::SqliteOptions;
using server::store::SqliteStore;
using server::store::Store;
using server::store::Synchronous;
using server::store::WriteBatch;
using Clock = std::chrono::steady_clock;

constexpr const char* kRoom = "workflow:bench";
constexpr int kDistinctNodes = 50;  // edits move these nodes around: mostly updates, as in real editing
// Not counted: a new connection's or file's first commits (cold caches, first pages of tables).
constexpr int kWarmupCommits = 20;
constexpr int kEditsPerCommit[] = {1, 10, 100};

volatile std::sig_atomic_t interrupted = 0;  // set by Ctrl-C: finish the row early and clean up

struct Figures {
  long commits = 0;
  double seconds = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  std::size_t writes_per_commit = 0;  // after WriteBatch's merging
  double commits_per_second() const { return seconds > 0 ? static_cast<double>(commits) / seconds : 0; }
  double writes_per_second() const { return commits_per_second() * static_cast<double>(writes_per_commit); }
};

// One store configuration the table has rows for. Both stores share run() through this small
// table of how to make a fresh one and how to throw it away.
struct Subject {
  std::string store;       // "SQLite", "PostgreSQL"
  std::string durability;  // the setting that decides when a commit is on disk
  // A fresh, empty store named `name` (a file name, a database name). On failure nothing is
  // left behind.
  std::function<Result<std::unique_ptr<Store>>(const std::string& name)> open;
  // Deletes what open(name) made; called after the store is closed. Best effort (says so on
  // stderr when it fails).
  std::function<void(const std::string& name)> discard;
  bool failed = false;  // a failed subject gets no more rows
};

struct Row {
  const Subject* subject;
  int edits;
  Figures figures;
};

double percentile_ms(const std::vector<double>& sorted_ms, double fraction) {
  if (sorted_ms.empty()) return 0;
  const auto index = static_cast<std::size_t>(fraction * static_cast<double>(sorted_ms.size() - 1));
  return sorted_ms[index];
}

// Commits batches of `edits_per_batch` edits into `store` for `seconds`. Returns false (after
// printing why) when the store fails.
bool run(Store& store, int edits_per_batch, double seconds, Figures& out) {
  WriteBatch setup;
  setup.add(WriteBatch::NewRoom{kRoom, "bench-epoch"});
  if (auto done = store.commit(setup); !done) {
    std::fprintf(stderr, "%s\n", done.error().message.c_str());
    return false;
  }

  std::int64_t seq = 0;
  long commits = 0;
  std::vector<double> latencies_ms;
  WriteBatch batch;
  Clock::time_point start{};
  Clock::time_point deadline = Clock::time_point::max();
  while (Clock::now() < deadline && interrupted == 0) {
    if (commits == kWarmupCommits) {
      start = Clock::now();
      deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    }
    batch.clear();
    for (int i = 0; i < edits_per_batch; ++i) {
      ++seq;
      protocol::Node node{"n" + std::to_string(seq % kDistinctNodes), "http_request", "Fetch orders",
                          static_cast<double>(seq % 1000), static_cast<double>(seq % 600), protocol::NodeStatus::Idle,
                          R"({"url":"https://example.org/orders","method":"GET"})"};
      batch.add(WriteBatch::AppendEvent{kRoom, seq,
                                        R"({"type":"node_updated","room":"workflow:bench","node":")" + node.id +
                                            R"(","fields":{"x":)" + std::to_string(node.x) +
                                            R"(},"user":"bench","seq":)" + std::to_string(seq) + "}"});
      batch.add(WriteBatch::PutNode{kRoom, std::move(node)});
    }
    out.writes_per_commit = batch.writes().size();
    const auto before = Clock::now();
    if (auto done = store.commit(batch); !done) {
      std::fprintf(stderr, "%s\n", done.error().message.c_str());
      return false;
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - before).count();
    if (++commits > kWarmupCommits) latencies_ms.push_back(ms);
  }
  out.seconds = commits > kWarmupCommits ? std::chrono::duration<double>(Clock::now() - start).count() : 0;
  out.commits = static_cast<long>(latencies_ms.size());
  if (latencies_ms.empty()) return true;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  out.mean_ms = std::accumulate(latencies_ms.begin(), latencies_ms.end(), 0.0) / static_cast<double>(out.commits);
  out.p50_ms = percentile_ms(latencies_ms, 0.50);
  out.p99_ms = percentile_ms(latencies_ms, 0.99);
  out.max_ms = latencies_ms.back();
  return true;
}

// ---- the stores --------------------------------------------------------------------------

template <class S>
Result<std::unique_ptr<Store>> as_store(Result<std::unique_ptr<S>> opened) {
  if (!opened) return opened.error();
  return std::unique_ptr<Store>(std::move(opened).value());
}

Subject sqlite_subject(const std::string& folder, Synchronous synchronous) {
  Subject subject;
  subject.store = "SQLite";
  subject.durability = synchronous == Synchronous::Full ? "synchronous=FULL" : "synchronous=NORMAL";
  subject.open = [folder, synchronous](const std::string& name) {
    SqliteOptions options;
    options.path = folder + "/" + name + ".db";
    options.synchronous = synchronous;
    return as_store(SqliteStore::open(options));
  };
  subject.discard = [folder](const std::string& name) {
    std::error_code ignored;
    for (const char* suffix : {".db", ".db-wal", ".db-shm"}) fs::remove(folder + "/" + name + suffix, ignored);
  };
  return subject;
}

// `url` with its database replaced by `database`; URIs only (postgres://... or postgresql://...).
std::string url_for_database(const std::string& url, const std::string& database) {
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme + 3);
  const auto query = url.find('?', slash == std::string::npos ? scheme + 3 : slash);
  const std::string base = url.substr(0, std::min(slash, query));
  const std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + database + rest;
}

bool is_postgres_uri(const std::string& url) {
  return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

void drop_database(const std::string& admin_url, const std::string& name) {
  auto dropped = PostgresStore::run_admin_sql(admin_url, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  if (!dropped)
    std::fprintf(stderr, "database %s not dropped: %s\n", name.c_str(), dropped.error().message.c_str());
}

Subject postgres_subject(const std::string& admin_url, bool synchronous_commit) {
  Subject subject;
  subject.store = "PostgreSQL";
  subject.durability = synchronous_commit ? "synchronous_commit=on" : "synchronous_commit=off";
  subject.open = [admin_url, synchronous_commit](const std::string& name) -> Result<std::unique_ptr<Store>> {
    if (auto made = PostgresStore::run_admin_sql(admin_url, "CREATE DATABASE " + name); !made) return made.error();
    const std::string set = std::string("ALTER DATABASE ") + name + " SET synchronous_commit = " +
                            (synchronous_commit ? "on" : "off");
    if (auto done = PostgresStore::run_admin_sql(admin_url, set); !done) {
      drop_database(admin_url, name);
      return done.error();
    }
    PostgresOptions options;
    options.url = url_for_database(admin_url, name);
    auto opened = as_store(PostgresStore::open(options));
    if (!opened) drop_database(admin_url, name);
    return opened;
  };
  subject.discard = [admin_url](const std::string& name) { drop_database(admin_url, name); };
  return subject;
}

// The server's fsync setting. run_admin_sql returns no rows, so the answer is whether a DO
// block that raises when fsync is off succeeds (a plain query first tells "off" from "cannot
// reach the server").
Result<bool> postgres_fsync_is_on(const std::string& admin_url) {
  if (auto reached = PostgresStore::run_admin_sql(admin_url, "SELECT 1"); !reached) return reached.error();
  return PostgresStore::run_admin_sql(
             admin_url, "DO $$ BEGIN IF NOT current_setting('fsync')::bool THEN RAISE EXCEPTION 'fsync off'; "
                        "END IF; END $$")
      .ok();
}

// ---- output --------------------------------------------------------------------------------

// "1.95 3.65 4.59" (1, 5 and 15 minutes), or "unknown" off Linux.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "unknown";
  return one + " " + five + " " + fifteen;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// "[1.95, 3.65, 4.59]", or null when unknown.
std::string json_load(const std::string& load) {
  if (load == "unknown") return "null";
  std::string out = "[";
  for (const char c : load) out += c == ' ' ? std::string(", ") : std::string(1, c);
  return out + "]";
}

struct RunInfo {
  double seconds = 0;
  std::string load_start, load_end;
  std::string postgres_url;  // redacted; empty when PostgreSQL was not measured
  bool postgres_fsync = false;  // the server's setting
};

bool write_json(const std::string& path, const RunInfo& info, const std::vector<Row>& rows) {
  std::ofstream out(path);
  out << "{\n  \"seconds_per_row\": " << info.seconds << ",\n  \"warmup_commits\": " << kWarmupCommits
      << ",\n  \"cores\": " << ::sysconf(_SC_NPROCESSORS_ONLN)
      << ",\n  \"load_average_start\": " << json_load(info.load_start)
      << ",\n  \"load_average_end\": " << json_load(info.load_end) << ",\n  \"postgres\": ";
  if (info.postgres_url.empty()) {
    out << "null";
  } else {
    out << "{\"url\": " << json_string(info.postgres_url)
        << ", \"fsync\": " << (info.postgres_fsync ? "true" : "false") << "}";
  }
  out << ",\n  \"rows\": [";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    const Figures& f = row.figures;
    char figures[512];
    std::snprintf(figures, sizeof figures,
                  "\"edits_per_commit\": %d, \"commits\": %ld, \"seconds\": %.3f, \"commits_per_second\": %.1f, "
                  "\"writes_per_second\": %.1f, \"latency_ms\": {\"mean\": %.4f, \"p50\": %.4f, \"p99\": %.4f, "
                  "\"max\": %.4f}",
                  row.edits, f.commits, f.seconds, f.commits_per_second(), f.writes_per_second(),
                  f.mean_ms, f.p50_ms, f.p99_ms, f.max_ms);
    out << (i == 0 ? "\n" : ",\n") << "    {\"store\": " << json_string(row.subject->store)
        << ", \"durability\": " << json_string(row.subject->durability) << ", " << figures << "}";
  }
  out << "\n  ]\n}\n";
  out.close();
  return static_cast<bool>(out);
}

void print_row(const Row& row) {
  const Figures& f = row.figures;
  std::printf("%-11s %-23s %4d %8ld %10.0f %10.0f %9.3f %9.3f\n", row.subject->store.c_str(),
              row.subject->durability.c_str(), row.edits, f.commits, f.commits_per_second(),
              f.writes_per_second(), f.mean_ms, f.p99_ms);
  std::fflush(stdout);
}

std::string random_hex(int digits) {
  std::random_device device;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string out;
  for (int i = 0; i < digits; ++i) out += "0123456789abcdef"[hex(device)];
  return out;
}

int usage() {
  std::fprintf(stderr,
               "usage: tandem-store-bench [--seconds S] [--folder DIR] [--postgres-url URL] [--json PATH]\n"
               "  --seconds S        measured time per row (default 2)\n"
               "  --folder DIR       where the SQLite files go (default $TMPDIR)\n"
               "  --postgres-url URL also measure PostgreSQL (default $TANDEM_BENCH_PG_URL): a URI,\n"
               "                     postgres://USER:PASSWORD@HOST:PORT/DB, whose user may CREATE DATABASE\n"
               "  --json PATH        also write the figures to PATH as JSON\n");
  return 2;
}

int main_impl(int argc, char** argv) {
  // 1. Settings.
  double seconds = 2;
  fs::path parent = fs::temp_directory_path();
  std::string postgres_url;
  if (const char* env = std::getenv("TANDEM_BENCH_PG_URL"); env != nullptr) postgres_url = env;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--folder" && i + 1 < argc) {
      parent = argv[++i];
    } else if (arg == "--postgres-url" && i + 1 < argc) {
      postgres_url = argv[++i];
    } else if (arg == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else {
      return usage();
    }
  }
  if (!(seconds > 0)) {
    std::fprintf(stderr, "tandem-store-bench: --seconds must be a positive number\n");
    return 2;
  }
  if (!postgres_url.empty() && !is_postgres_uri(postgres_url)) {
    std::fprintf(stderr,
                 "tandem-store-bench: the PostgreSQL URL must be a URI: postgres://USER:PASSWORD@HOST:PORT/DB\n");
    return 2;
  }

  // 2. The subjects: PostgreSQL when there is a server (checked first: a URL given but unusable
  // is an error, not a quiet SQLite-only run), SQLite always.
  RunInfo info;
  info.seconds = seconds;
  if (!postgres_url.empty()) {
    auto fsync = postgres_fsync_is_on(postgres_url);
    if (!fsync) {
      std::fprintf(stderr, "tandem-store-bench: %s\n", fsync.error().message.c_str());
      return 1;
    }
    info.postgres_url = server::store::redact_postgres_url(postgres_url);
    info.postgres_fsync = fsync.value();
  }
  std::string folder = (parent / "tandem-store-bench-XXXXXX").string();
  if (::mkdtemp(folder.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::vector<Subject> subjects;
  subjects.push_back(sqlite_subject(folder, Synchronous::Normal));
  subjects.push_back(sqlite_subject(folder, Synchronous::Full));
  if (!postgres_url.empty()) {
    subjects.push_back(postgres_subject(postgres_url, true));
    subjects.push_back(postgres_subject(postgres_url, false));
  }
  info.load_start = load_average();

  struct sigaction on_interrupt {};
  on_interrupt.sa_handler = [](int) { interrupted = 1; };
  on_interrupt.sa_flags = SA_RESETHAND;  // a second Ctrl-C kills at once
  ::sigaction(SIGINT, &on_interrupt, nullptr);

  // 3. The header.
  std::printf("tandem-store-bench: %.1f s per row after %d warm-up commits; %ld cores, load average %s\n", seconds,
              kWarmupCommits, ::sysconf(_SC_NPROCESSORS_ONLN), info.load_start.c_str());
  std::printf("SQLite:     WAL files in %s\n", folder.c_str());
  if (!info.postgres_url.empty()) {
    std::printf("PostgreSQL: %s (server fsync=%s), a new database per row\n", info.postgres_url.c_str(),
                info.postgres_fsync ? "on" : "off");
  } else {
    std::printf("PostgreSQL: not measured; add --postgres-url postgres://USER:PASSWORD@HOST:PORT/DB (or set\n"
                "            TANDEM_BENCH_PG_URL; the user must be allowed to CREATE DATABASE), or run\n"
                "            bench/store_race.sh, which starts a throw-away server\n");
  }
  std::printf("\n%-11s %-23s %4s %8s %10s %10s %9s %9s\n", "store", "durability", "N", "commits", "commits/s",
              "writes/s", "mean ms", "p99 ms");
  std::fflush(stdout);

  // 4. The rows, N by N so the stores stand next to each other.
  bool ok = true;
  const std::string run_id = random_hex(8);
  std::vector<Row> rows;
  int row_number = 0;
  for (const int edits : kEditsPerCommit) {
    if (interrupted != 0) break;
    if (row_number > 0) std::printf("\n");
    for (Subject& subject : subjects) {
      if (subject.failed || interrupted != 0) continue;
      const std::string name = "tandem_bench_" + run_id + "_" + std::to_string(++row_number);
      auto store = subject.open(name);
      if (!store) {
        std::fprintf(stderr, "%s %s: %s\n", subject.store.c_str(), subject.durability.c_str(),
                     store.error().message.c_str());
        subject.failed = true;
        ok = false;
        continue;
      }
      Row row{&subject, edits, {}};
      const bool measured = run(*store.value(), edits, seconds, row.figures);
      store.value().reset();
      subject.discard(name);
      if (!measured) {
        subject.failed = true;
        ok = false;
        continue;
      }
      if (interrupted != 0) break;  // a cut-short row is not a figure
      print_row(row);
      rows.push_back(row);
    }
  }

  // 5. The footer, the JSON, cleanup.
  info.load_end = load_average();
  std::printf("\nwrites = as committed: an AppendEvent per edit, a PutNode per node a batch moves (repeated puts merge); latency = Store::commit's wall time, which the hub's\n"
              "loop waits for once per pass. Load average at the end: %s\n",
              info.load_end.c_str());
  if (!json_path.empty()) {
    if (write_json(json_path, info, rows)) {
      std::printf("figures written to %s\n", json_path.c_str());
    } else {
      std::fprintf(stderr, "tandem-store-bench: cannot write %s\n", json_path.c_str());
      ok = false;
    }
  }
  std::error_code ignored;
  fs::remove_all(folder, ignored);
  if (interrupted != 0) {
    std::fprintf(stderr, "tandem-store-bench: interrupted\n");
    return 130;
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) { return tandem::bench::main_impl(argc, argv); }
