#include <hubcast/metrics/server_metrics.hpp>

#include <array>
#include <map>
#include <mutex>
#include <string>

#include <hubcast/metrics/hub_metrics.hpp>
#include <hubcast/metrics/metrics.hpp>

namespace hubcast::metrics {

namespace {

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Children looked up by their label values, created once. Family::Add is idempotent but takes
// the family's lock and hashes every label: the map here is cheaper and bounded by the callers'
// allowlists.
template <class T>
class children {
 public:
  explicit children(prometheus::Family<T>& f) : family_(f) {}
  template <class... Args>
  T& get(const std::string& key, const prometheus::Labels& labels, Args&&... args) {
    std::lock_guard lock(mutex_);
    auto it = by_key_.find(key);
    if (it != by_key_.end()) return *it->second;
    T& child = family_.Add(labels, std::forward<Args>(args)...);
    by_key_.emplace(key, &child);
    return child;
  }

 private:
  prometheus::Family<T>& family_;
  std::mutex mutex_;
  std::map<std::string, T*, std::less<>> by_key_;
};

struct instruments {
  children<prometheus::Gauge> active{prometheus::BuildGauge()
                                         .Name("signalr_server_active_connections")
                                         .Help("Number of connections that are currently active "
                                               "on the server.")
                                         .Register(registry())};
  children<prometheus::Histogram> duration{prometheus::BuildHistogram()
                                               .Name("signalr_server_connection_duration_seconds")
                                               .Help("The duration of connections on the server.")
                                               .Register(registry())};
  children<prometheus::Histogram> requests{prometheus::BuildHistogram()
                                               .Name("http_server_request_duration_seconds")
                                               .Help("Duration of HTTP server requests.")
                                               .Register(registry())};
  children<prometheus::Counter> jwt{prometheus::BuildCounter()
                                        .Name("hubcast_jwt_validation_failures_total")
                                        .Help("Bearer tokens refused, by reason.")
                                        .Register(registry())};
  children<prometheus::Counter> refreshes{
      prometheus::BuildCounter()
          .Name("hubcast_authentication_refreshes_total")
          .Help("Authentication refresh requests (POST {hub}/refresh), by outcome.")
          .Register(registry())};
};

instruments& get() {
  static auto* i = [] {
    auto* made = new instruments();
    // Zero from the start, so a dashboard shows 0 rather than no data.
    for (std::string t : {"web_sockets", "server_sent_events", "long_polling"})
      made->active.get(t, {{"signalr_transport", t}});
    made->refreshes.get("refreshed", {{"outcome", "refreshed"}});
    return made;
  }();
  return *i;
}

std::string_view known_method(std::string_view m) {
  static constexpr std::array<std::string_view, 9> known{
      "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"};
  for (auto k : known)
    if (k == m) return k;
  return "_OTHER";  // what ASP.NET Core records for a method it does not know
}

}  // namespace

void register_server_instruments() {
  (void)get();
  (void)queue_overflows();
  (void)fanout_duration();
}

void connection_started(std::string_view transport) {
  std::string t(transport);
  get().active.get(t, {{"signalr_transport", t}}).Increment();
}

void connection_ended(std::string_view transport, std::string_view status,
                      std::chrono::steady_clock::duration lasted) {
  std::string t(transport);
  std::string s(status);
  get().active.get(t, {{"signalr_transport", t}}).Decrement();
  get()
      .duration
      .get(s + "|" + t, {{"signalr_connection_status", s}, {"signalr_transport", t}},
           connection_duration_buckets())
      .Observe(seconds(lasted));
}

void http_request(std::string_view method, std::string_view route, int status,
                  std::chrono::steady_clock::duration took) {
  std::string m(known_method(method));
  std::string r(route);
  std::string code = std::to_string(status);
  prometheus::Labels labels{{"http_request_method", m}, {"http_response_status_code", code}};
  if (!r.empty()) labels.emplace("http_route", r);
  get()
      .requests.get(m + "|" + r + "|" + code, labels, request_duration_buckets())
      .Observe(seconds(took));
}

void jwt_rejected(std::string_view reason) {
  std::string r(reason);
  get().jwt.get(r, {{"reason", r}}).Increment();
}

void authentication_refresh(std::string_view outcome) {
  std::string o(outcome);
  get().refreshes.get(o, {{"outcome", o}}).Increment();
}

}  // namespace hubcast::metrics
