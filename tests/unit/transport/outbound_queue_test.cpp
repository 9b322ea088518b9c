#include <hubcast/transport/outbound_queue.hpp>

#include <gtest/gtest.h>

using hubcast::transport::outbound_queue;
using hubcast::transport::queue_limits;

namespace {
hubcast::transport::shared_bytes bytes(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}
}  // namespace

TEST(OutboundQueue, KeepsOrderAcrossGrowthAndWrapAround) {
  outbound_queue q;
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < round + 3; ++i) ASSERT_TRUE(q.push(bytes(std::to_string(next_in++))));
    for (int i = 0; i < round + 1; ++i) EXPECT_EQ(*q.take_front(), std::to_string(next_out++));
  }
  std::size_t n = q.size();
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(q.at(i), std::to_string(next_out + int(i)));
  q.pop(n);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(OutboundQueue, CountsBytesAndJoins) {
  outbound_queue q;
  q.push(bytes("ab"));
  q.push(bytes("cde"));
  EXPECT_EQ(q.bytes(), 5u);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.take_joined(), "abcde");
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(OutboundQueue, RefusesPastEitherLimitAndKeepsWhatWasQueued) {
  outbound_queue by_count(queue_limits{2, 1000});
  EXPECT_TRUE(by_count.push(bytes("a")));
  EXPECT_TRUE(by_count.push(bytes("b")));
  EXPECT_FALSE(by_count.push(bytes("c")));
  EXPECT_EQ(by_count.size(), 2u);

  outbound_queue by_bytes(queue_limits{100, 10});
  EXPECT_TRUE(by_bytes.push(bytes("12345")));
  EXPECT_FALSE(by_bytes.push(bytes("1234567")));
  EXPECT_TRUE(by_bytes.push(bytes("12345")));
  EXPECT_FALSE(by_bytes.push(bytes("x")));
  EXPECT_EQ(by_bytes.bytes(), 10u);
  // One message larger than the whole limit never fits (and never wraps the arithmetic).
  outbound_queue huge(queue_limits{100, 10});
  EXPECT_FALSE(huge.push(bytes(std::string(11, 'x'))));
  EXPECT_TRUE(huge.empty());
}

TEST(OutboundQueue, SharesTheBytesItWasGiven) {
  outbound_queue a, b;
  auto m = bytes("shared");
  a.push(m);
  b.push(m);
  EXPECT_EQ(&a.at(0), &b.at(0));  // no copy per recipient
  EXPECT_EQ(m.use_count(), 3);
  a.clear();
  b.pop(1);
  EXPECT_EQ(m.use_count(), 1);
}
