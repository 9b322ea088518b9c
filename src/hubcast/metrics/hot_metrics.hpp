// Counters and histograms for the hot path: each thread adds to its own slots with a plain
// (relaxed load + store) add, no locked instruction and no shared cache line; a scrape sums the
// slots of every thread. What a broadcast to 10,000 connections pays per delivery is one add.
//
//   static const auto sent = metrics::hot_counter::get("hubcast_hub_messages_sent_total",
//                                                      "…", {{"hub", "/hubs/stocks"}});
//   sent.add();
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hubcast::metrics {

using label_set = std::vector<std::pair<std::string, std::string>>;

namespace detail {

// Slots per thread; registration past it is refused (std::length_error).
inline constexpr std::size_t max_slots = 8192;

struct thread_slots {
  std::atomic<std::uint64_t> v[max_slots];
};

thread_slots& register_thread();
inline thread_local thread_slots* tl_slots = nullptr;

inline thread_slots& slots() {
  auto* s = tl_slots;
  return s ? *s : register_thread();
}

inline void add_slot(std::uint32_t slot, std::uint64_t n) {
  auto& a = slots().v[slot];
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Every thread's value of `slot`, plus what exited threads left.
std::uint64_t sum_slot(std::uint32_t slot);

}  // namespace detail

// Cumulative bucket counts (one per bound, then +Inf), count and sum in seconds.
struct histogram_snapshot {
  std::vector<std::uint64_t> cumulative;
  std::uint64_t count = 0;
  double sum = 0;
};

namespace detail {
// A histogram's slots (one per bound, +Inf, the sum in nanoseconds) summed over every thread.
histogram_snapshot read_histogram(std::uint32_t slot, const std::vector<double>& bounds);
}  // namespace detail

class hot_counter {
 public:
  // The counter of this family and labels (the same one for the same arguments).
  static hot_counter get(const std::string& family, const std::string& help,
                         const label_set& labels = {});
  hot_counter() = default;
  void add(std::uint64_t n = 1) const {
    if (valid_) detail::add_slot(slot_, n);
  }
  std::uint64_t value() const { return valid_ ? detail::sum_slot(slot_) : 0; }

 private:
  explicit hot_counter(std::uint32_t slot) : slot_(slot), valid_(true) {}
  std::uint32_t slot_ = 0;
  bool valid_ = false;
};

// Observations in seconds, kept as bucket counts and a sum in nanoseconds.
class hot_histogram {
 public:
  static hot_histogram get(const std::string& family, const std::string& help,
                           const label_set& labels, const std::vector<double>& upper_bounds);
  hot_histogram() = default;
  void observe(double seconds) const;
  using snapshot = histogram_snapshot;
  snapshot read() const { return bounds_ ? detail::read_histogram(slot_, *bounds_) : snapshot{}; }

 private:
  hot_histogram(std::uint32_t slot, const std::vector<double>* bounds)
      : slot_(slot), bounds_(bounds) {}
  std::uint32_t slot_ = 0;
  const std::vector<double>* bounds_ = nullptr;  // owned by the registration, never freed
};

}  // namespace hubcast::metrics
