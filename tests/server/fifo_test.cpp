// tests/server/fifo_test.cpp — Fifo (fifo.h): first in, first out through its reclaiming of
// read slots, erase of a value, and no storage while empty.
#include "fifo.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tandem::server {
namespace {

std::vector<int> contents(const Fifo<int>& fifo) { return {fifo.begin(), fifo.end()}; }

TEST(FifoTest, keeps_the_order_through_many_pushes_and_pops) {
  Fifo<int> fifo;
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 7; ++i) fifo.push_back(next_in++);
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(fifo.front(), next_out++);
      fifo.pop_front();
    }
    ASSERT_EQ(fifo.size(), static_cast<std::size_t>(next_in - next_out));
    ASSERT_EQ(fifo[0], next_out);
    ASSERT_EQ(fifo.back(), next_in - 1);
  }
  std::vector<int> expected;
  for (int i = next_out; i < next_in; ++i) expected.push_back(i);
  EXPECT_EQ(contents(fifo), expected);
}

TEST(FifoTest, erase_removes_a_value_wherever_it_is) {
  Fifo<std::string> fifo;
  for (const char* s : {"1", "2", "3", "2"}) fifo.push_back(s);
  fifo.pop_front();
  fifo.erase("2");
  ASSERT_EQ(fifo.size(), 1u);
  EXPECT_EQ(fifo.front(), "3");
  fifo.erase("3");
  EXPECT_TRUE(fifo.empty());
}

TEST(FifoTest, an_emptied_fifo_holds_no_storage_and_works_again) {
  Fifo<std::string> fifo;
  fifo.push_back(std::string(100, 'x'));
  fifo.pop_front();
  EXPECT_TRUE(fifo.empty());
  EXPECT_EQ(fifo.begin(), fifo.end());
  fifo.push_back("again");
  EXPECT_EQ(fifo.front(), "again");
  const std::vector<std::string> stored{"a", "b"};
  fifo.assign(stored.begin(), stored.end());
  EXPECT_EQ(std::vector<std::string>(fifo.begin(), fifo.end()), stored);
}

}  // namespace
}  // namespace tandem::server
