// tests/server/page_slots_test.cpp — page-aligned slots that cost memory only once written
// (page_slots.h): residency checked with mincore(2), reuse, release returning the pages, and the
// refusals (too big, full).
#include "page_slots.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace tandem::server {
namespace {

const std::size_t kPage = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

// How many pages of [p, p + bytes) are resident.
std::size_t resident_pages(void* p, std::size_t bytes) {
  std::vector<unsigned char> flags((bytes + kPage - 1) / kPage);
  EXPECT_EQ(mincore(p, bytes, flags.data()), 0);
  std::size_t n = 0;
  for (unsigned char f : flags) n += f & 1;
  return n;
}

TEST(page_slots_test, a_slot_costs_no_memory_until_written_and_gives_it_back_when_released) {
  PageSlots slots(4096 + 20, 8);
  EXPECT_EQ(slots.slot_bytes(), 2 * kPage);  // rounded up to whole pages
  void* a = slots.allocate(4096 + 20);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % kPage, 0u);
  EXPECT_EQ(resident_pages(a, slots.slot_bytes()), 0u);
  std::memset(a, 'x', 100);  // a small message: one page
  EXPECT_EQ(resident_pages(a, slots.slot_bytes()), 1u);
  slots.release(a);
  EXPECT_EQ(resident_pages(a, slots.slot_bytes()), 0u);
  EXPECT_EQ(slots.in_use(), 0u);
}

TEST(page_slots_test, released_slots_are_reused_and_read_as_zeros) {
  PageSlots slots(100, 2);
  void* a = slots.allocate(100);
  std::memset(a, 'x', 100);
  slots.release(a);
  void* b = slots.allocate(50);
  EXPECT_EQ(b, a);
  EXPECT_EQ(static_cast<unsigned char*>(b)[0], 0);
  EXPECT_TRUE(slots.owns(b));
  int outside = 0;
  EXPECT_FALSE(slots.owns(&outside));
}

TEST(page_slots_test, too_big_or_full_is_refused) {
  PageSlots slots(kPage, 2);
  EXPECT_EQ(slots.allocate(kPage + 1), nullptr);
  void* a = slots.allocate(kPage);
  void* b = slots.allocate(1);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(slots.allocate(1), nullptr);  // the caller falls back to the heap
  EXPECT_EQ(slots.in_use(), 2u);
  slots.release(b);
  EXPECT_EQ(slots.allocate(1), b);
}

}  // namespace
}  // namespace tandem::server
