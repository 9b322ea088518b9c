#include <hubcast/metrics/metrics.hpp>

#include <limits>
#include <map>
#include <mutex>
#include <sstream>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace hubcast::metrics {

namespace {

struct hot_registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<detail::hot_series>> series;
};

hot_registry& hot() {
  static auto* h = new hot_registry();
  return *h;
}

prometheus::MetricFamily& family_of(std::map<std::string, prometheus::MetricFamily>& out,
                                    const detail::hot_series& s) {
  auto& f = out[s.family];
  if (f.name.empty()) {
    f.name = s.family;
    f.help = s.help;
    f.type = s.bounds ? prometheus::MetricType::Histogram : prometheus::MetricType::Counter;
  }
  return f;
}

std::vector<prometheus::MetricFamily> collect_hot() {
  std::vector<const detail::hot_series*> list;
  {
    std::lock_guard lock(hot().mutex);
    for (auto& s : hot().series) list.push_back(s.get());
  }
  std::map<std::string, prometheus::MetricFamily> families;
  for (const auto* s : list) {
    auto& f = family_of(families, *s);
    prometheus::ClientMetric m;
    for (const auto& [k, v] : s->labels) m.label.push_back({k, v});
    if (!s->bounds) {
      m.counter.value = static_cast<double>(detail::sum_slot(s->slot));
    } else {
      const auto& b = *s->bounds;
      auto h = detail::read_histogram(s->slot, b);
      for (std::size_t i = 0; i < b.size(); ++i)
        m.histogram.bucket.push_back({h.cumulative[i], b[i]});
      m.histogram.bucket.push_back({h.count, std::numeric_limits<double>::infinity()});
      m.histogram.sample_count = h.count;
      m.histogram.sample_sum = h.sum;
    }
    f.metric.push_back(std::move(m));
  }
  std::vector<prometheus::MetricFamily> out;
  for (auto& [name, f] : families) out.push_back(std::move(f));
  return out;
}

}  // namespace

prometheus::Registry& registry() {
  static auto* r = new prometheus::Registry();
  return *r;
}

std::string scrape() {
  auto families = registry().Collect();
  auto hot_families = collect_hot();
  families.insert(families.end(), std::make_move_iterator(hot_families.begin()),
                  std::make_move_iterator(hot_families.end()));
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, families);
  return os.str();
}

const std::vector<double>& request_duration_buckets() {
  static const std::vector<double> b{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                     0.5,   0.75, 1,     2.5,  5,     7.5, 10};
  return b;
}

const std::vector<double>& connection_duration_buckets() {
  static const std::vector<double> b{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1,
                                     2,    5,    10,   30,  60,  120, 300};
  return b;
}

namespace detail {

const hot_series& hot_series_for(const std::string& family, const std::string& help,
                                 const label_set& labels, const std::vector<double>* bounds,
                                 std::size_t slot_count) {
  auto& h = hot();
  std::lock_guard lock(h.mutex);
  for (auto& s : h.series)
    if (s->family == family && s->labels == labels) return *s;
  auto s = std::make_unique<hot_series>();
  s->family = family;
  s->help = help;
  s->labels = labels;
  if (bounds) s->bounds = std::make_unique<const std::vector<double>>(*bounds);
  s->slot = allocate_slots(slot_count);
  h.series.push_back(std::move(s));
  return *h.series.back();
}

}  // namespace detail

}  // namespace hubcast::metrics
