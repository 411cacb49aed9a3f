// server/src/store/commit_thread.h — runs Store::commit on a thread of its own, so the event
// loop goes on reading, handling and sending while a group commit is written (DESIGN.md
// principle 6: durable without stalling the loop).
//
// One commit at a time: start() hands over a batch, the thread commits it, then calls
// `finished_elsewhere` (from that thread: it must be thread-safe — the edge wakes its loop
// with it) and the hub collects the outcome on its own thread. Between start() and collect()
// the store belongs to the commit thread; otherwise to the caller, who may read it (the hub
// collects — waiting if need be — before any read). The hand-over goes through a mutex, so
// Store implementations still need not be thread-safe: they are used by one thread at a time.
//
// Inline (threaded = false: unit tests, store_commit_thread = false) start() commits at once
// on the caller's thread and finished_elsewhere is never called.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "store.h"

namespace tandem::server::store {

class CommitThread {
 public:
  CommitThread(Store& store, bool threaded, std::function<void()> finished_elsewhere);
  ~CommitThread();  // waits for a commit under way, then stops the thread
  CommitThread(const CommitThread&) = delete;
  CommitThread& operator=(const CommitThread&) = delete;

  struct Outcome {
    Result<Done> result;
    std::size_t writes = 0;  // in the batch
    // A failed batch, kept for a retry. A stored one is freed on the commit thread (its
    // strings are most of what a pass allocated), so it comes back empty.
    WriteBatch batch;
  };

  // A batch was started and not collected yet.
  bool busy() const { return busy_; }
  // Commits `batch` (on the thread, or at once when inline). Requires !busy().
  void start(WriteBatch batch);
  // busy() and the commit has returned: collect() will not wait.
  bool finished() const;
  // The outcome of the started batch, waiting for it when it is still being written.
  // Requires busy(); busy() is false afterwards.
  Outcome collect();

 private:
  void run();
  Outcome commit(WriteBatch batch);

  Store& store_;
  std::function<void()> finished_elsewhere_;
  bool busy_ = false;  // the caller's thread only
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<WriteBatch> job_;        // started, not taken by the thread yet
  std::optional<Outcome> outcome_;       // returned, not collected yet
  bool notifying_ = false;               // finished_elsewhere is running
  bool stopping_ = false;
  std::thread thread_;  // not joinable when inline; last member: started once the rest exists
};

}  // namespace tandem::server::store
