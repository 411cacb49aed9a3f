// server/src/fifo.h — a first-in first-out sequence that allocates nothing while it is empty:
// a vector and a read index.
//
// For what every connection, session or room has one of and most keep empty or short: a room's
// event history and chat, a session's order of applied request ids, a connection's parked
// input. libstdc++'s std::deque allocates ~600 bytes the moment it is constructed, empty or
// not, which 10,000 idle connections paid for nothing (frame_queue.h made the same choice).
// pop_front() is amortised O(1): the slots already read are reclaimed once they are half of
// the vector, and the storage is released when the last element goes, so memory returns after
// a burst. Iteration and indexing go oldest first. Pointers and iterators are invalidated by
// push_back/emplace_back and pop_front, as for a vector.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace tandem::server {

template <class T>
class Fifo {
 public:
  using value_type = T;
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;

  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }

  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  T& back() { return items_.back(); }
  const T& back() const { return items_.back(); }
  T& operator[](std::size_t i) { return items_[head_ + i]; }
  const T& operator[](std::size_t i) const { return items_[head_ + i]; }

  iterator begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  const_iterator end() const { return items_.end(); }

  void push_back(T value) { items_.push_back(std::move(value)); }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    return items_.emplace_back(std::forward<Args>(args)...);
  }

  void pop_front() {
    items_[head_] = T{};  // let go of what it holds now
    if (++head_ == items_.size()) return clear();
    if (head_ >= kMinReclaim && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  // Empties it and releases the storage.
  void clear() {
    std::vector<T>().swap(items_);
    head_ = 0;
  }
  // Removes every element equal to `value`, keeping the others' order.
  void erase(const T& value) {
    items_.erase(std::remove(begin(), end(), value), items_.end());
    if (empty()) clear();
  }
  template <class It>
  void assign(It first, It last) {
    clear();
    items_.assign(first, last);
  }

 private:
  static constexpr std::size_t kMinReclaim = 16;  // a few read slots are not worth a move
  std::vector<T> items_;
  std::size_t head_ = 0;  // items_[0, head_) were popped
};

}  // namespace tandem::server
