// server/src/store/commit_thread.cpp — see commit_thread.h.
#include "commit_thread.h"

#include <utility>

namespace tandem::server::store {

CommitThread::CommitThread(Store& store, bool threaded, std::function<void()> finished_elsewhere)
    : store_(store), finished_elsewhere_(std::move(finished_elsewhere)) {
  if (threaded) thread_ = std::thread([this] { run(); });
}

CommitThread::~CommitThread() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;  // run() finishes a commit it has taken before it looks at this
  }
  changed_.notify_all();
  thread_.join();
}

void CommitThread::start(WriteBatch batch) {
  busy_ = true;
  if (!thread_.joinable()) {
    outcome_.emplace(commit(std::move(batch)));
    return;
  }
  {
    std::lock_guard lock(mutex_);
    job_.emplace(std::move(batch));
  }
  changed_.notify_all();
}

bool CommitThread::finished() const {
  if (!busy_) return false;
  std::lock_guard lock(mutex_);
  return outcome_.has_value();
}

CommitThread::Outcome CommitThread::collect() {
  std::unique_lock lock(mutex_);
  // Also waits for finished_elsewhere to return: what it uses (the edge's loop) may go away
  // once the last outcome is collected.
  changed_.wait(lock, [this] { return outcome_.has_value() && !notifying_; });
  Outcome outcome = std::move(*outcome_);
  outcome_.reset();
  busy_ = false;
  return outcome;
}

CommitThread::Outcome CommitThread::commit(WriteBatch batch) {
  Outcome outcome{store_.commit(batch), batch.writes().size(), {}};
  if (!outcome.result) outcome.batch = std::move(batch);
  return outcome;  // a stored batch is freed here, on this thread
}

void CommitThread::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return job_.has_value() || stopping_; });
    if (!job_) return;  // stopping with nothing to write
    WriteBatch batch = std::move(*job_);
    job_.reset();
    lock.unlock();
    Outcome outcome = commit(std::move(batch));
    lock.lock();
    outcome_.emplace(std::move(outcome));
    notifying_ = true;
    lock.unlock();
    if (finished_elsewhere_) finished_elsewhere_();
    lock.lock();
    notifying_ = false;
    changed_.notify_all();  // a collect() waiting
  }
}

}  // namespace tandem::server::store
