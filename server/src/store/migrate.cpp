// server/src/store/migrate.cpp — `tandem-server migrate` (see migrate.h).
#include "store/migrate.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string_view>

#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace tandem::server::store {

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "usage: tandem-server migrate --from STORE --to STORE [--batch 1000] [--timeout-ms 10000]\n"
    "  STORE is sqlite:PATH (a tandem-server SQLite file) or a PostgreSQL URL (postgres://user:pw@host:5432/db).\n"
    "  Copies every room (epoch, seq, event log), document, change history, chat, held lock, the lock\n"
    "  fence, sessions and remembered requests of --from into --to, which must be empty. --from is\n"
    "  read in one snapshot (a running server's store may be copied; stop it for a final copy).\n";

// Nothing is trimmed while copying: the target keeps what the source had.
Retention keep_everything() {
  Retention retention;
  retention.history = std::numeric_limits<std::size_t>::max();
  retention.chat = std::numeric_limits<std::size_t>::max();
  retention.requests_per_session = std::numeric_limits<std::size_t>::max();
  retention.session_days = 100 * 365;  // sessions expire by the server's own setting later
  return retention;
}

bool is_postgres(std::string_view spec) {
  return spec.rfind("postgres://", 0) == 0 || spec.rfind("postgresql://", 0) == 0;
}

std::string shown(const std::string& spec) { return is_postgres(spec) ? redact_postgres_url(spec) : spec; }

Result<std::unique_ptr<Store>> open_spec(const std::string& spec, std::chrono::milliseconds timeout) {
  if (is_postgres(spec)) {
    PostgresOptions options;
    options.url = spec;
    options.retention = keep_everything();
    options.timeout = timeout;
    auto opened = PostgresStore::open(options);
    if (!opened) return opened.error();
    return std::unique_ptr<Store>(std::move(opened).value());
  }
  constexpr std::string_view kSqlite = "sqlite:";
  if (spec.rfind(kSqlite, 0) != 0 || spec.size() == kSqlite.size())
    return Error{"usage", "'" + spec + "' is neither sqlite:PATH nor a postgres:// URL"};
  SqliteOptions options;
  options.path = spec.substr(kSqlite.size());
  options.retention = keep_everything();
  auto opened = SqliteStore::open(options);
  if (!opened) return opened.error();
  return std::unique_ptr<Store>(std::move(opened).value());
}

// True when the store holds anything at all.
Result<bool> holds_anything(Store& store) {
  bool found = false;
  auto exported = store.export_batches(1, [&](const WriteBatch&) -> Result<Done> {
    found = true;
    return Error{"found", "the store is not empty"};  // one write is enough to know
  });
  if (!exported && !found) return exported.error();
  return found;
}

}  // namespace

int run_migrate(const std::vector<std::string>& args) {
  std::string from, to;
  std::size_t batch_writes = 1000;
  long long timeout_ms = 10000;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "migrate: %s needs a value\n%s", flag.c_str(), kUsage);
      return kExitUsage;
    }
    const std::string& value = args[++i];
    if (flag == "--from") {
      from = value;
    } else if (flag == "--to") {
      to = value;
    } else if (flag == "--batch" || flag == "--timeout-ms") {
      char* end = nullptr;
      const long long number = std::strtoll(value.c_str(), &end, 10);
      if (*end != '\0' || number <= 0 || number > 1'000'000) {
        std::fprintf(stderr, "migrate: %s must be a number in 1..1000000\n", flag.c_str());
        return kExitUsage;
      }
      if (flag == "--batch") {
        batch_writes = static_cast<std::size_t>(number);
      } else {
        timeout_ms = number;
      }
    } else {
      std::fprintf(stderr, "migrate: unknown flag %s\n%s", flag.c_str(), kUsage);
      return kExitUsage;
    }
  }
  if (from.empty() || to.empty()) {
    std::fprintf(stderr, "migrate: --from and --to are required\n%s", kUsage);
    return kExitUsage;
  }
  if (from == to) {
    std::fprintf(stderr, "migrate: --from and --to are the same store\n");
    return kExitUsage;
  }
  const std::chrono::milliseconds timeout(timeout_ms);

  auto source = open_spec(from, timeout);
  if (!source) {
    std::fprintf(stderr, "migrate: cannot open --from %s: %s\n", shown(from).c_str(), source.error().message.c_str());
    return source.error().code == "usage" ? kExitUsage : kExitFailed;
  }
  auto target = open_spec(to, timeout);
  if (!target) {
    std::fprintf(stderr, "migrate: cannot open --to %s: %s\n", shown(to).c_str(), target.error().message.c_str());
    return target.error().code == "usage" ? kExitUsage : kExitFailed;
  }
  auto occupied = holds_anything(*target.value());
  if (!occupied) {
    std::fprintf(stderr, "migrate: cannot read --to %s: %s\n", shown(to).c_str(), occupied.error().message.c_str());
    return kExitFailed;
  }
  if (occupied.value()) {
    std::fprintf(stderr, "migrate: --to %s is not empty; copy into an empty store only\n", shown(to).c_str());
    return kExitFailed;
  }

  std::fprintf(stderr, "migrate: copying %s into %s\n", shown(from).c_str(), shown(to).c_str());
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  auto reported_at = started;
  std::size_t writes = 0, batches = 0, rooms = 0;
  auto copied = source.value()->export_batches(batch_writes, [&](const WriteBatch& batch) -> Result<Done> {
    if (auto committed = target.value()->commit(batch); !committed) return committed;
    ++batches;
    writes += batch.writes().size();
    for (const auto& write : batch.writes())
      if (std::holds_alternative<WriteBatch::NewRoom>(write)) ++rooms;
    if (Clock::now() - reported_at >= std::chrono::seconds(1)) {
      reported_at = Clock::now();
      std::fprintf(stderr, "migrate: %zu writes copied (%zu rooms)...\n", writes, rooms);
    }
    return Done{};
  });
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (!copied) {
    std::fprintf(stderr,
                 "migrate: failed after %zu writes: %s\n"
                 "migrate: --to now holds a partial copy; empty it (or use another) before trying again\n",
                 writes, copied.error().message.c_str());
    return kExitFailed;
  }
  std::fprintf(stderr, "migrate: done: %zu rooms, %zu writes in %zu transactions, %.1f s\n", rooms, writes, batches,
               seconds);
  return 0;
}

}  // namespace tandem::server::store
