// server/src/page_slots.cpp — page-aligned slots that cost memory once written (page_slots.h).
#include "page_slots.h"

#include <sys/mman.h>
#include <unistd.h>

namespace tandem::server {

PageSlots::PageSlots(std::size_t slot_bytes, std::size_t slots) : slots_(slots) {
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  slot_bytes_ = (slot_bytes + page - 1) / page * page;
  if (slot_bytes_ == 0 || slots_ == 0) return;
  void* range = mmap(nullptr, slot_bytes_ * slots_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (range != MAP_FAILED) base_ = static_cast<char*>(range);
}

PageSlots::~PageSlots() {
  if (base_) munmap(base_, slot_bytes_ * slots_);
}

void* PageSlots::allocate(std::size_t bytes) {
  if (!base_ || bytes > slot_bytes_) return nullptr;
  std::size_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else if (next_unused_ < slots_) {
    slot = next_unused_++;
  } else {
    return nullptr;
  }
  ++in_use_;
  return base_ + slot * slot_bytes_;
}

void PageSlots::release(void* p) {
  char* at = static_cast<char*>(p);
  madvise(at, slot_bytes_, MADV_DONTNEED);  // the pages go back; the next user reads zeros
  free_.push_back(static_cast<std::size_t>(at - base_) / slot_bytes_);
  --in_use_;
}

bool PageSlots::owns(const void* p) const {
  const char* at = static_cast<const char*>(p);
  return base_ && at >= base_ && at < base_ + slot_bytes_ * slots_;
}

}  // namespace tandem::server
