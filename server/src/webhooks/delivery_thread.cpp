// server/src/webhooks/delivery_thread.cpp — see delivery_thread.h.
#include "webhooks/delivery_thread.h"

#include <chrono>
#include <utility>

namespace tandem::server::webhooks {

DeliveryThread::DeliveryThread(std::unique_ptr<HttpPoster> poster, std::function<void()> answered_elsewhere)
    : poster_(std::move(poster)), answered_elsewhere_(std::move(answered_elsewhere)), thread_([this] { run(); }) {}

DeliveryThread::~DeliveryThread() { stop(); }

void DeliveryThread::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DeliveryThread::send(std::vector<DeliveryJob> jobs) {
  if (jobs.empty()) return;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    for (DeliveryJob& job : jobs) jobs_.push_back(std::move(job));
  }
  changed_.notify_all();
}

std::vector<DeliveryOutcome> DeliveryThread::take_outcomes() {
  std::lock_guard lock(mutex_);
  return std::exchange(outcomes_, {});
}

void DeliveryThread::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
    if (stopping_) return;
    DeliveryJob job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    const auto started = std::chrono::steady_clock::now();
    DeliveryOutcome outcome{job.id, poster_->post(job.request, stopping_), {}};
    outcome.took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - started);
    lock.lock();
    if (stopping_) return;
    outcomes_.push_back(std::move(outcome));
    lock.unlock();
    if (answered_elsewhere_) answered_elsewhere_();
    lock.lock();
  }
}

}  // namespace tandem::server::webhooks
