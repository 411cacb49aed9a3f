// server/src/page_slots.h — buffers that cost memory only once they are written: equal-sized,
// page-aligned slots carved from one address range reserved up front.
//
// For per-connection buffers that are large but mostly untouched: libwebsockets' receive
// buffer (rx_buffer_size, 4 KiB by default) is allocated for every WebSocket connection at
// the upgrade, yet an idle connection never writes into it. From the heap it costs its full
// size at once (allocator headers land on every page); from a slot here it costs nothing
// until data arrives, and its pages go back to the system when it is released
// (madvise(MADV_DONTNEED)). The range is reserved with MAP_NORESERVE: address space, not
// memory.
//
// Not thread-safe: one event loop owns it. A full range makes allocate() return nullptr (the
// caller falls back to the heap).
#pragma once

#include <cstddef>
#include <vector>

namespace tandem::server {

class PageSlots {
 public:
  // Room for `slots` buffers of up to `slot_bytes` each (rounded up to whole pages).
  PageSlots(std::size_t slot_bytes, std::size_t slots);
  ~PageSlots();
  PageSlots(const PageSlots&) = delete;
  PageSlots& operator=(const PageSlots&) = delete;

  // A page-aligned buffer of at least `bytes`, or nullptr (too big for a slot, or all in use).
  void* allocate(std::size_t bytes);
  // Gives `p` (from allocate()) back; its pages are returned to the system.
  void release(void* p);
  bool owns(const void* p) const;

  std::size_t slot_bytes() const { return slot_bytes_; }
  std::size_t in_use() const { return in_use_; }

 private:
  std::size_t slot_bytes_ = 0;
  std::size_t slots_ = 0;
  char* base_ = nullptr;             // nullptr when the reservation failed: allocate() says no
  std::size_t next_unused_ = 0;      // slots [next_unused_, slots_) were never handed out
  std::vector<std::size_t> free_;    // released slots, reused first
  std::size_t in_use_ = 0;
};

}  // namespace tandem::server
