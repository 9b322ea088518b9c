#include <hubcast/core/fifo.hpp>

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace {

TEST(Fifo, KeepsOrderAcrossCompactions) {
  hubcast::fifo<int> q;
  EXPECT_TRUE(q.empty());
  int next_in = 0, next_out = 0;
  // Interleaved pushes and pops, so that the consumed prefix is dropped many times.
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 7; ++i) q.push_back(next_in++);
    for (int i = 0; i < 5; ++i) {
      ASSERT_FALSE(q.empty());
      EXPECT_EQ(q.front(), next_out++);
      q.pop_front();
    }
    ASSERT_EQ(q.size(), static_cast<std::size_t>(next_in - next_out));
    int expect = next_out;
    for (int v : q) EXPECT_EQ(v, expect++);
  }
  while (!q.empty()) {
    EXPECT_EQ(q.front(), next_out++);
    q.pop_front();
  }
  EXPECT_EQ(next_out, next_in);
}

TEST(Fifo, ReleasesAnElementWhenPopped) {
  hubcast::fifo<std::shared_ptr<std::string>> q;
  auto a = std::make_shared<std::string>("a");
  q.push_back(a);
  q.push_back(std::make_shared<std::string>("b"));
  EXPECT_EQ(a.use_count(), 2);
  q.pop_front();
  EXPECT_EQ(a.use_count(), 1);  // not held until the next compaction
  EXPECT_EQ(*q.front(), "b");
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
