// bench/src/store_bench.cpp — tandem-store-bench: how fast the SQLite store commits (a
// benchmark, not a test).
//
// For synchronous NORMAL and FULL, and batches of N = 1, 10, 100 edits, it commits batches of N
// (AppendEvent + PutNode) pairs — what N document edits in one loop iteration cost the hub —
// into a fresh database file in a temporary folder for --seconds each (default 2), and prints
// commits/s, writes/s and the commit latency p50/p99. Trimming to the default history (1000
// events) and WAL checkpoints are included, as in the server.
//
//   tandem-store-bench [--seconds S] [--folder DIR]   (DIR: where the files go, default $TMPDIR)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "store/sqlite_store.h"

namespace tandem::bench {
namespace {

namespace fs = std::filesystem;
using server::store::SqliteOptions;
using server::store::SqliteStore;
using server::store::Synchronous;
using server::store::WriteBatch;
using Clock = std::chrono::steady_clock;

constexpr const char* kRoom = "workflow:bench";
constexpr int kDistinctNodes = 50;  // edits move these nodes around: mostly updates, as in real editing

struct Figures {
  long commits = 0;
  double seconds = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

double percentile_ms(std::vector<double>& sorted_ms, double fraction) {
  if (sorted_ms.empty()) return 0;
  const auto index = static_cast<std::size_t>(fraction * static_cast<double>(sorted_ms.size() - 1));
  return sorted_ms[index];
}

// Returns false (after printing why) when the store fails.
bool run(const std::string& path, Synchronous synchronous, int edits_per_batch, double seconds, Figures& out) {
  SqliteOptions options;
  options.path = path;
  options.synchronous = synchronous;
  auto opened = SqliteStore::open(options);
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().message.c_str());
    return false;
  }
  SqliteStore& store = *opened.value();
  WriteBatch setup;
  setup.add(WriteBatch::NewRoom{kRoom, "bench-epoch"});
  if (auto done = store.commit(setup); !done) {
    std::fprintf(stderr, "%s\n", done.error().message.c_str());
    return false;
  }

  std::int64_t seq = 0;
  std::vector<double> latencies_ms;
  WriteBatch batch;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
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
    const auto before = Clock::now();
    if (auto done = store.commit(batch); !done) {
      std::fprintf(stderr, "%s\n", done.error().message.c_str());
      return false;
    }
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - before).count());
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.commits = static_cast<long>(latencies_ms.size());
  std::sort(latencies_ms.begin(), latencies_ms.end());
  out.p50_ms = percentile_ms(latencies_ms, 0.50);
  out.p99_ms = percentile_ms(latencies_ms, 0.99);
  return true;
}

int main_impl(int argc, char** argv) {
  double seconds = 2;
  fs::path parent = fs::temp_directory_path();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--folder" && i + 1 < argc) {
      parent = argv[++i];
    } else {
      std::fprintf(stderr, "usage: tandem-store-bench [--seconds S] [--folder DIR]\n");
      return 2;
    }
  }
  std::string folder = (parent / "tandem-store-bench-XXXXXX").string();
  if (::mkdtemp(folder.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }

  std::printf("SQLite store commits, %.1f s per row, files in %s\n", seconds, folder.c_str());
  std::printf("%-12s %6s %10s %12s %12s %10s %10s\n", "synchronous", "N", "commits", "commits/s", "writes/s",
              "p50 ms", "p99 ms");
  bool ok = true;
  int file_number = 0;
  for (Synchronous synchronous : {Synchronous::Normal, Synchronous::Full}) {
    for (int edits : {1, 10, 100}) {
      const std::string path = folder + "/bench-" + std::to_string(++file_number) + ".db";
      Figures figures;
      if (!run(path, synchronous, edits, seconds, figures)) {
        ok = false;
        break;
      }
      const double commits_per_second = static_cast<double>(figures.commits) / figures.seconds;
      std::printf("%-12s %6d %10ld %12.0f %12.0f %10.3f %10.3f\n",
                  synchronous == Synchronous::Full ? "FULL" : "NORMAL", edits, figures.commits, commits_per_second,
                  commits_per_second * 2 * edits, figures.p50_ms, figures.p99_ms);
      std::fflush(stdout);
    }
  }
  std::printf("(writes = 2 per edit: AppendEvent + PutNode)\n");
  std::error_code ignored;
  fs::remove_all(folder, ignored);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) { return tandem::bench::main_impl(argc, argv); }
