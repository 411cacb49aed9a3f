// server/src/webhooks/delivery_thread.h — makes the outbox's POSTs on a thread of its own, so
// HTTP never blocks the event loop (DESIGN.md: the loop never waits on the network).
//
// The loop hands over jobs (send) and later takes their outcomes (take_outcomes); each outcome
// that arrives calls `answered_elsewhere` from the delivery thread (it must be thread-safe:
// the edge wakes its loop with it, as for a finished commit). Jobs are posted one after another
// in the order sent (the outbox keeps one in flight per (endpoint, room), so order within a
// room never depends on this thread). Stopping (the destructor) cancels the post under way
// and drops the jobs not started: the outbox's cursors did not move for them, so the next
// process sends them again.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "webhooks/http_poster.h"
#include "webhooks/outbox.h"

namespace tandem::server::webhooks {

class DeliveryThread {
 public:
  DeliveryThread(std::unique_ptr<HttpPoster> poster, std::function<void()> answered_elsewhere);
  ~DeliveryThread();
  DeliveryThread(const DeliveryThread&) = delete;
  DeliveryThread& operator=(const DeliveryThread&) = delete;

  void send(std::vector<DeliveryJob> jobs);
  std::vector<DeliveryOutcome> take_outcomes();
  // Stops taking jobs, cancels the post under way (its outcome is dropped: its cursor did not
  // move, so the next process sends that batch again), drops the jobs not started and joins
  // the thread: `answered_elsewhere` is never called again. The outcomes that came before stay
  // for take_outcomes(). Idempotent; the destructor calls it. Returns within about a second
  // (libcurl's progress callback, which sees the cancel, runs at least that often), at most
  // webhook_timeout_ms.
  void stop();

 private:
  void run();

  std::unique_ptr<HttpPoster> poster_;
  std::function<void()> answered_elsewhere_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<DeliveryJob> jobs_;
  std::vector<DeliveryOutcome> outcomes_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last member: started once the rest exists
};

}  // namespace tandem::server::webhooks
