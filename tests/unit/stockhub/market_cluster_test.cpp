// The market's cluster rules without Redis: the tick codec's bounds, when a leader steps down,
// which ticks a node streams.
#include <gtest/gtest.h>

#include "market_lease.hpp"
#include "tick_codec.hpp"

using namespace stockhub;
using namespace std::chrono_literals;

namespace {
market_tick sample() {
  market_tick t;
  t.node = "host_0123";
  t.term = 7;
  t.prices = {{"MSFT", 41, 41237, 1764705600123456}, {"BRK.B", 42, 1, -62135596800000000}};
  return t;
}
}  // namespace

TEST(TickCodec, RoundTrips) {
  auto text = encode_tick(sample());
  EXPECT_EQ(text.substr(0, 34), R"({"node":"host_0123","term":7,"pric)");
  auto t = decode_tick(text);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->node, "host_0123");
  EXPECT_EQ(t->term, 7);
  ASSERT_EQ(t->prices.size(), 2u);
  EXPECT_EQ(t->prices[0].symbol, "MSFT");
  EXPECT_EQ(t->prices[0].id, 41u);
  EXPECT_EQ(t->prices[0].cents, 41237);
  EXPECT_EQ(t->prices[0].timestamp_us, 1764705600123456);
  EXPECT_EQ(t->prices[1].symbol, "BRK.B");
  // Unknown members are ignored (a newer node may add some).
  EXPECT_TRUE(
      decode_tick(R"({"node":"n","term":1,"v":2,"prices":[{"s":"A","id":1,"c":5,"t":0,"x":[]}]})"));
}

TEST(TickCodec, RefusesWhatIsNotATick) {
  for (const char* bad : {
           "",
           "[]",
           "{}",
           "null",
           R"({"node":"n","term":1})",
           R"({"node":"","term":1,"prices":[]})",     // no node
           R"({"node":"a b","term":1,"prices":[]})",  // not printable
           R"({"node":"n","term":0,"prices":[]})",    // terms start at 1
           R"({"node":"n","term":"1","prices":[]})",  // not a number
           R"({"node":"n","term":1.5,"prices":[]})",
           R"({"node":"n","term":1,"prices":[1]})",
           R"({"node":"n","term":1,"prices":[{"s":"A","id":1,"c":0,"t":0}]})",   // 0 cents
           R"({"node":"n","term":1,"prices":[{"s":"A","id":-1,"c":1,"t":0}]})",  // negative id
           R"({"node":"n","term":1,"prices":[{"s":"A","id":1,"c":1}]})",         // no time
           R"({"node":"n","term":1,"prices":[{"s":"A","id":1,"c":1,"t":253402300800000000}]})",
           R"({"node":"n","term":1,"prices":[{"s":"A","id":1,"c":1125899906842625,"t":0}]})",
           R"({"node":"n","term":1,"prices":[{"s":"A\n","id":1,"c":1,"t":0}]})",
           R"({"node":"n","term":1,"prices":[[[[[[1]]]]]]})",  // deeper than a tick
           // Past 2^53: a forged term or id would stop the market for good (probe finding).
           R"({"node":"n","term":9223372036854775807,"prices":[]})",
           R"({"node":"n","term":9007199254740993,"prices":[]})",
           R"({"node":"n","term":1,"prices":[{"s":"A","id":9223372036854775807,"c":1,"t":0}]})",
           R"({"node":"n","term":1,"prices":[{"s":"A","id":9007199254740993,"c":1,"t":0}]})",
       })
    EXPECT_FALSE(decode_tick(bad)) << bad;
  market_tick big;
  big.node = "n";
  big.term = 1;
  big.prices.assign(max_tick_prices + 1, tick_price{"A", 1, 1, 0});
  EXPECT_FALSE(decode_tick(encode_tick(big))) << "too many prices";
  big.prices.resize(max_tick_prices);
  EXPECT_TRUE(decode_tick(encode_tick(big)));
  big.prices.assign(1, tick_price{std::string(max_symbol_length + 1, 'A'), 1, 1, 0});
  EXPECT_FALSE(decode_tick(encode_tick(big))) << "symbol too long";
}

TEST(LeaseClock, StepsDownBeforeTheLeaseCanExpire) {
  lease_options o{3000ms, 1000ms};
  lease_clock c(o);
  auto t0 = lease_clock::clock::now();
  c.confirmed(t0);
  EXPECT_FALSE(c.must_step_down(t0 + 2400ms));
  // Half a renew interval before the TTL: off before another node could take the lease.
  EXPECT_TRUE(c.must_step_down(t0 + 2500ms));
  c.confirmed(t0 + 2000ms);
  EXPECT_FALSE(c.must_step_down(t0 + 4000ms));
}

TEST(TermFence, StreamsTheNewestLeaderOnly) {
  term_fence f;
  market_tick t = sample();
  EXPECT_EQ(f.judge(t, "me"), term_fence::verdict::stream);
  EXPECT_EQ(f.highest(), 7);
  t.node = "me";
  EXPECT_EQ(f.judge(t, "me"), term_fence::verdict::own);
  t.node = "old-leader";
  t.term = 6;
  EXPECT_EQ(f.judge(t, "me"), term_fence::verdict::stale);
  t.term = 8;
  EXPECT_EQ(f.judge(t, "me"), term_fence::verdict::stream);
  f.saw(10);  // our own new term
  t.term = 9;
  EXPECT_EQ(f.judge(t, "me"), term_fence::verdict::stale);
}

TEST(TickCodec, TermsAndIdsUpTo2To53) {
  auto t = decode_tick(
      R"({"node":"n","term":9007199254740992,"prices":[{"s":"A","id":9007199254740992,"c":1,"t":0}]})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->term, max_tick_term);
  EXPECT_EQ(t->prices[0].id, max_tick_id);
}
