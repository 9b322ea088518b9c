#include <hubcast/metrics/hot_metrics.hpp>

#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <hubcast/metrics/metrics.hpp>

namespace hubcast::metrics {

namespace detail {

namespace {

struct slot_registry {
  std::mutex mutex;
  std::vector<thread_slots*> live;     // threads that counted and still run
  std::vector<thread_slots*> free;     // blocks of exited threads, zeroed, for reuse
  std::vector<std::uint64_t> retired;  // what exited threads counted, per slot
  std::uint32_t next_slot = 0;
};

slot_registry& reg() {
  static auto* r = new slot_registry();  // never destroyed: threads may exit after main()
  return *r;
}

// Gives the thread's block back when it exits, folding its values into `retired`.
struct thread_guard {
  thread_slots* s = nullptr;
  ~thread_guard() {
    if (!s) return;
    auto& r = reg();
    std::lock_guard lock(r.mutex);
    for (std::size_t i = 0; i < max_slots; ++i) {
      r.retired[i] += s->v[i].load(std::memory_order_relaxed);
      s->v[i].store(0, std::memory_order_relaxed);
    }
    r.live.erase(std::remove(r.live.begin(), r.live.end(), s), r.live.end());
    r.free.push_back(s);
    tl_slots = nullptr;
  }
};

thread_local thread_guard tl_guard;

}  // namespace

thread_slots& register_thread() {
  auto& r = reg();
  thread_slots* s;
  {
    std::lock_guard lock(r.mutex);
    if (r.retired.empty()) r.retired.assign(max_slots, 0);
    if (!r.free.empty()) {
      s = r.free.back();
      r.free.pop_back();
    } else {
      s = new thread_slots();
      for (auto& a : s->v) a.store(0, std::memory_order_relaxed);
    }
    r.live.push_back(s);
  }
  tl_guard.s = s;
  tl_slots = s;
  return *s;
}

std::uint64_t sum_slot(std::uint32_t slot) {
  auto& r = reg();
  std::lock_guard lock(r.mutex);
  std::uint64_t total = r.retired.empty() ? 0 : r.retired[slot];
  for (auto* s : r.live) total += s->v[slot].load(std::memory_order_relaxed);
  return total;
}

std::uint32_t allocate_slots(std::size_t n) {
  auto& r = reg();
  std::lock_guard lock(r.mutex);
  if (r.next_slot + n > max_slots)
    throw std::length_error("hubcast metrics: too many hot counter series");
  auto first = r.next_slot;
  r.next_slot += static_cast<std::uint32_t>(n);
  return first;
}

histogram_snapshot read_histogram(std::uint32_t slot, const std::vector<double>& bounds) {
  histogram_snapshot out;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    running += sum_slot(slot + static_cast<std::uint32_t>(i));
    out.cumulative.push_back(running);
  }
  out.count = running;
  out.sum =
      static_cast<double>(sum_slot(slot + static_cast<std::uint32_t>(bounds.size() + 1))) / 1e9;
  return out;
}

}  // namespace detail

hot_counter hot_counter::get(const std::string& family, const std::string& help,
                             const label_set& labels) {
  auto& s = detail::hot_series_for(family, help, labels, nullptr, 1);
  return hot_counter(s.slot);
}

hot_histogram hot_histogram::get(const std::string& family, const std::string& help,
                                 const label_set& labels, const std::vector<double>& upper_bounds) {
  // Slots: one per bound, +Inf, then the sum in nanoseconds.
  auto& s = detail::hot_series_for(family, help, labels, &upper_bounds, upper_bounds.size() + 2);
  return hot_histogram(s.slot, s.bounds.get());
}

void hot_histogram::observe(double seconds) const {
  if (!bounds_) return;
  const auto& b = *bounds_;
  std::size_t i = 0;
  while (i < b.size() && seconds > b[i]) ++i;
  detail::add_slot(slot_ + static_cast<std::uint32_t>(i), 1);
  double ns = seconds > 0 ? seconds * 1e9 : 0;
  detail::add_slot(slot_ + static_cast<std::uint32_t>(b.size() + 1),
                   static_cast<std::uint64_t>(ns));
}

}  // namespace hubcast::metrics
