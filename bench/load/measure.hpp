// Measurements of the load generator: the clock, an HDR-style latency histogram, and process
// CPU and memory from /proc.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace hubcast_bench {

std::int64_t now_ns();

// An HDR-style histogram: 1 µs resolution below 1 ms, then 512 buckets per power of two
// (< 0.2 % relative error), up to ~ 2^40 µs.
class histogram {
 public:
  histogram() : counts_(1024 + 31 * 512, 0) {}
  void record(std::int64_t ns);
  std::uint64_t count() const { return total_; }
  double percentile_ms(double p) const;
  double max_ms() const { return static_cast<double>(max_) / 1000.0; }

 private:
  static std::size_t index(std::uint64_t us);
  static std::uint64_t value(std::size_t i);
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0, max_ = 0;
};

struct proc_sample {
  double cpu_seconds = 0;
  double rss_mib = 0;
};
// User + system CPU seconds and VmRSS of `pid` (zeros for pid <= 0).
proc_sample sample_process(int pid);
// The sums over several processes.
proc_sample sample_processes(const std::vector<int>& pids);
// This process's own CPU seconds.
double self_cpu_seconds();

}  // namespace hubcast_bench
