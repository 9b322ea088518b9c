#include "measure.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

namespace hubcast_bench {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void histogram::record(std::int64_t ns) {
  std::uint64_t us = ns <= 0 ? 0 : static_cast<std::uint64_t>(ns / 1000);
  ++counts_[index(us)];
  ++total_;
  max_ = std::max(max_, us);
}

double histogram::percentile_ms(double p) const {
  if (total_ == 0) return 0;
  auto want = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= want && counts_[i] > 0) return static_cast<double>(value(i)) / 1000.0;
  }
  return static_cast<double>(max_) / 1000.0;
}

std::size_t histogram::index(std::uint64_t us) {
  if (us < 1024) return us;
  int e = 63 - __builtin_clzll(us) - 9;  // us >> e is in [512, 1024)
  if (e > 31) e = 31;
  std::uint64_t sub = std::min<std::uint64_t>(us >> e, 1023);
  return 1024 + static_cast<std::size_t>(e - 1) * 512 + static_cast<std::size_t>(sub - 512);
}

std::uint64_t histogram::value(std::size_t i) {
  if (i < 1024) return i;
  std::size_t e = (i - 1024) / 512 + 1, sub = (i - 1024) % 512 + 512;
  return static_cast<std::uint64_t>(sub) << e;
}

proc_sample sample_process(int pid) {
  proc_sample s;
  if (pid <= 0) return s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    std::vector<std::string> f;
    while (rest >> field) f.push_back(field);
    // fields after the name start at #3 (state); utime is #14, stime #15
    if (f.size() > 13)
      s.cpu_seconds =
          (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) s.rss_mib = std::stod(line.substr(6)) / 1024.0;
  return s;
}
proc_sample sample_processes(const std::vector<int>& pids) {
  proc_sample sum;
  for (int pid : pids) {
    auto s = sample_process(pid);
    sum.cpu_seconds += s.cpu_seconds;
    sum.rss_mib += s.rss_mib;
  }
  return sum;
}

double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace hubcast_bench
