// Hot counters: per-thread adds summed on read, threads that exit keep their counts, the same
// family and labels give the same series, and the exposition is Prometheus text.
#include <hubcast/metrics/hot_metrics.hpp>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include <hubcast/metrics/metrics.hpp>

using namespace hubcast::metrics;

TEST(HotMetrics, SumsEveryThreadAndKeepsWhatExitedThreadsCounted) {
  auto c = hot_counter::get("test_hot_total", "A test counter.", {{"case", "threads"}});
  const auto start = c.value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([c] {
      for (int i = 0; i < 100000; ++i) c.add();
    });
  for (auto& t : threads) t.join();  // every thread has exited: its slots were folded
  c.add(5);
  EXPECT_EQ(c.value() - start, 400005u);
  // The same family and labels: the same series.
  EXPECT_EQ(hot_counter::get("test_hot_total", "A test counter.", {{"case", "threads"}}).value(),
            c.value());
  EXPECT_EQ(hot_counter::get("test_hot_total", "A test counter.", {{"case", "other"}}).value(), 0u);
}

TEST(HotMetrics, HistogramBucketsAreCumulativeAndTheSumIsInSeconds) {
  auto h = hot_histogram::get("test_hot_seconds", "A test histogram.", {}, {0.001, 0.01, 0.1});
  h.observe(0.0005);
  h.observe(0.005);
  h.observe(0.005);
  h.observe(5);
  hot_counter::get("test_hot_total", "A test counter.", {{"case", "scrape"}}).add(2);
  auto s = h.read();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{1, 3, 3, 4}));
  EXPECT_EQ(s.count, 4u);
  EXPECT_NEAR(s.sum, 5.0105, 1e-6);
  auto text = scrape();
  EXPECT_NE(text.find("# TYPE test_hot_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("test_hot_seconds_bucket{le=\"0.01\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("test_hot_seconds_bucket{le=\"+Inf\"} 4"), std::string::npos);
  EXPECT_NE(text.find("test_hot_seconds_count 4"), std::string::npos);
  EXPECT_NE(text.find("# TYPE test_hot_total counter"), std::string::npos);
  EXPECT_NE(text.find("test_hot_total{case=\"scrape\"} 2"), std::string::npos);
}
