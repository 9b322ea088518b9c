// Per-hub hot counters (messages and bytes each way, messages dropped) and the process-wide
// ones of the delivery path; documented in docs/metrics.md.
#pragma once

#include <string_view>

#include <hubcast/metrics/hot_metrics.hpp>

namespace hubcast::metrics {

struct hub_counters {
  hot_counter messages_sent;      // hubcast_hub_messages_sent_total{hub}
  hot_counter bytes_sent;         // hubcast_hub_sent_bytes_total{hub}
  hot_counter messages_received;  // hubcast_hub_messages_received_total{hub}
  hot_counter bytes_received;     // hubcast_hub_received_bytes_total{hub}
  hot_counter messages_dropped;   // hubcast_hub_messages_dropped_total{hub}

  // The counters of the hub mapped at `hub` (the same set for the same name; never freed).
  static const hub_counters& of(std::string_view hub);
};

// hubcast_connection_queue_overflows_total: connections closed because their outbound queue
// was full (a client too slow for what it is sent).
const hot_counter& queue_overflows();
// hubcast_fanout_duration_seconds: one shard's delivery of one message to all its recipients.
const hot_histogram& fanout_duration();

}  // namespace hubcast::metrics
