// server/src/frame_queue.cpp — the outbound queue with latest-state replacement (see
// frame_queue.h).
#include "frame_queue.h"

namespace tandem::server {

namespace {
// Give back what a big burst grew once the queue empties; keep a little for the next one.
constexpr std::size_t kKeepCapacity = 16;
// A queue that never empties is compacted when this many taken slots lead it.
constexpr std::size_t kCompactAfter = 64;
}  // namespace

void FrameQueue::push(Bytes frame, const StateKey& key, MessageKind kind) {
  const std::uint64_t seq = first_seq_ + items_.size();
  if (key) {
    if (!keyed_) keyed_ = std::make_unique<std::unordered_map<std::string_view, std::uint64_t>>();
    auto [it, inserted] = keyed_->try_emplace(std::string_view(*key), seq);
    if (!inserted) {
      Item& older = items_[static_cast<std::size_t>(it->second - first_seq_)];
      keyed_->erase(it);  // its view points into older.key: erase before letting that go
      bytes_ -= older.frame->size();
      --live_;
      older.frame.reset();
      older.key.reset();
      keyed_->emplace(std::string_view(*key), seq);
    }
  }
  bytes_ += frame->size();
  ++live_;
  items_.push_back(Item{std::move(frame), key, kind});
  skip_dropped();
  // A reader that never drains never reaches take_front's compaction, while replacements keep
  // appending: drop the dead slots here once they outnumber the live messages.
  if (items_.size() - head_ > 2 * live_ + kCompactAfter) compact();
}

Bytes FrameQueue::take_front() {
  Item& item = items_[head_++];
  if (item.key) keyed_->erase(std::string_view(*item.key));
  Bytes frame = std::move(item.frame);
  item.key.reset();
  bytes_ -= frame->size();
  --live_;
  skip_dropped();
  if (empty()) {
    clear();
  } else if (head_ >= kCompactAfter && head_ * 2 >= items_.size()) {
    compact();
  }
  return frame;
}

MessageKind FrameQueue::take_batch(std::size_t budget, std::vector<Bytes>& out) {
  out.clear();
  if (items_[head_].kind == MessageKind::Binary) {
    out.push_back(take_front());
    return MessageKind::Binary;
  }
  std::size_t size = 2;  // the array brackets
  do {
    if (items_[head_].kind == MessageKind::Binary) break;
    const std::size_t next = items_[head_].frame->size() + (out.empty() ? 0 : 1);
    if (!out.empty() && size + next > budget) break;
    size += next;
    out.push_back(take_front());
  } while (!empty());
  return MessageKind::Text;
}

void FrameQueue::clear() {
  first_seq_ += items_.size();
  items_.clear();
  if (items_.capacity() > kKeepCapacity) std::vector<Item>().swap(items_);
  head_ = 0;
  live_ = 0;
  bytes_ = 0;
  keyed_.reset();
}

void FrameQueue::skip_dropped() {
  while (head_ < items_.size() && !items_[head_].frame) ++head_;
}

// Removes taken and replaced slots and renumbers: live items get fresh seqs after every seq
// used so far, and the key index follows them.
void FrameQueue::compact() {
  const std::uint64_t next_seq = first_seq_ + items_.size();
  std::erase_if(items_, [](const Item& item) { return !item.frame; });
  first_seq_ = next_seq;
  head_ = 0;
  if (keyed_) {
    for (std::size_t i = 0; i < items_.size(); ++i)
      if (items_[i].key) (*keyed_)[std::string_view(*items_[i].key)] = first_seq_ + i;
  }
}

}  // namespace tandem::server
