#include <hubcast/server/metrics_filter.hpp>

#include <chrono>

#include <hubcast/metrics/metrics.hpp>

namespace hubcast {

metrics_filter::metrics_filter(const std::string& hub,
                               const std::vector<detail::method_descriptor>& methods) {
  for (const auto& m : methods) {
    metrics::label_set l{{"hub", hub}, {"method", m.name}};
    series s;
    s.calls = metrics::hot_counter::get("hubcast_hub_invocations_total",
                                        "Hub method invocations (a stream counts once).", l);
    s.errors = metrics::hot_counter::get(
        "hubcast_hub_invocation_errors_total",
        "Hub method invocations that ended with an error (refusals included).", l);
    s.duration = metrics::hot_histogram::get(
        "hubcast_hub_invocation_duration_seconds",
        "Time from the start of an invocation to its result (to its start for a stream).", l,
        metrics::request_duration_buckets());
    by_method_.emplace(m.name, std::move(s));
  }
}

boost::asio::awaitable<invocation_result> metrics_filter::invoke_method(hub_invocation_context& ctx,
                                                                        next_invocation next) {
  auto it = by_method_.find(ctx.method_name());
  if (it == by_method_.end()) co_return co_await next(ctx);
  const auto& s = it->second;
  s.calls.add();
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  try {
    auto result = co_await next(ctx);
    s.duration.observe(elapsed());
    co_return result;
  } catch (...) {
    s.errors.add();
    s.duration.observe(elapsed());
    throw;
  }
}

}  // namespace hubcast
