// The process's metrics (like .NET's meters, one set per process): a prometheus-cpp registry
// for instruments that change at request or connection rate, hot counters (hot_metrics.hpp) for
// the per-message path, and the Prometheus text exposition of both (docs/metrics.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <hubcast/metrics/hot_metrics.hpp>

namespace hubcast::metrics {

// Families are created once (prometheus::BuildCounter()…Register(registry())) and kept.
prometheus::Registry& registry();

// Everything, in the Prometheus text format 0.0.4 (Content-Type: text/plain; version=0.0.4).
std::string scrape();
inline constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

// Bucket bounds .NET advises for http.server.request.duration and for
// signalr.server.connection.duration.
const std::vector<double>& request_duration_buckets();
const std::vector<double>& connection_duration_buckets();

namespace detail {

struct hot_series {
  std::string family;
  std::string help;
  label_set labels;
  std::unique_ptr<const std::vector<double>> bounds;  // set: a histogram
  std::uint32_t slot = 0;
};

// The series of this family and labels, allocated on first use (thread-safe).
const hot_series& hot_series_for(const std::string& family, const std::string& help,
                                 const label_set& labels, const std::vector<double>* bounds,
                                 std::size_t slot_count);
std::uint32_t allocate_slots(std::size_t n);

}  // namespace detail

}  // namespace hubcast::metrics
