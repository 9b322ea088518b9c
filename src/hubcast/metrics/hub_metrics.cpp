#include <hubcast/metrics/hub_metrics.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace hubcast::metrics {

const hub_counters& hub_counters::of(std::string_view hub) {
  static std::mutex mutex;
  static auto* by_name = new std::map<std::string, std::unique_ptr<hub_counters>, std::less<>>();
  std::lock_guard lock(mutex);
  auto it = by_name->find(hub);
  if (it != by_name->end()) return *it->second;
  label_set l{{"hub", std::string(hub)}};
  auto c = std::make_unique<hub_counters>();
  c->messages_sent = hot_counter::get("hubcast_hub_messages_sent_total",
                                      "Hub protocol messages queued to clients.", l);
  c->bytes_sent = hot_counter::get("hubcast_hub_sent_bytes_total",
                                   "Bytes of hub protocol messages queued to clients.", l);
  c->messages_received = hot_counter::get("hubcast_hub_messages_received_total",
                                          "Hub protocol messages read from clients.", l);
  c->bytes_received =
      hot_counter::get("hubcast_hub_received_bytes_total", "Bytes read from hub clients.", l);
  c->messages_dropped = hot_counter::get(
      "hubcast_hub_messages_dropped_total",
      "Messages not delivered because the connection was closing or its queue was full.", l);
  return *by_name->emplace(std::string(hub), std::move(c)).first->second;
}

const hot_counter& queue_overflows() {
  static const auto c = hot_counter::get(
      "hubcast_connection_queue_overflows_total",
      "Connections closed because their outbound queue was full (a client too slow).");
  return c;
}

const hot_histogram& fanout_duration() {
  static const auto h =
      hot_histogram::get("hubcast_fanout_duration_seconds",
                         "One shard delivering one message to all of its recipients.", {},
                         {0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1});
  return h;
}

}  // namespace hubcast::metrics
