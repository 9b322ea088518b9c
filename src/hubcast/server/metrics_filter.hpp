// Counts every invocation of one hub's methods (count, errors, duration per method) as a hub
// filter, first in the pipeline so refusals count too (docs/metrics.md).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include <hubcast/hubs/hub_filter.hpp>
#include <hubcast/metrics/hot_metrics.hpp>

namespace hubcast {

class metrics_filter final : public hub_filter {
 public:
  metrics_filter(const std::string& hub, const std::vector<detail::method_descriptor>& methods);

  boost::asio::awaitable<invocation_result> invoke_method(hub_invocation_context& ctx,
                                                          next_invocation next) override;

 private:
  struct series {
    metrics::hot_counter calls;
    metrics::hot_counter errors;
    metrics::hot_histogram duration;
  };
  std::unordered_map<std::string, series> by_method_;  // read-only after construction
};

}  // namespace hubcast
