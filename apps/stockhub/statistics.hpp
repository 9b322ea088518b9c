// What the operator console shows (GetServerStatistics, GetConnectedUsers; Admin only): this
// node's connections by transport and protocol, its users with their connections, and the
// message and tick rates. Never a connection id.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/describe/class.hpp>

#include <hubcast/protocol/value_codec.hpp>

namespace stockhub {

struct connected_user {
  std::string email;
  std::vector<std::string> roles;
  int connections = 0;
  std::vector<std::string> transports;  // distinct, sorted
  hubcast::date_time connected_since;   // the oldest of its connections
};
BOOST_DESCRIBE_STRUCT(connected_user, (), (email, roles, connections, transports, connected_since))

// One node's figures. With Redis each node also writes them next to its presence beat, so any
// node can answer every node's (cluster_presence::figures).
struct node_statistics {
  std::string node;  // the node's name on the backplane, "local" without one
  int connections = 0;
  std::map<std::string, int> connections_by_transport;  // WebSockets, ServerSentEvents, LongPolling
  std::map<std::string, int> connections_by_protocol;   // json, messagepack
  int connected_users = 0;                              // this node
  double messages_per_second = 0;  // hub messages sent by this node, over the last interval
  double ticks_per_second = 0;
};
BOOST_DESCRIBE_STRUCT(node_statistics, (),
                      (node, connections, connections_by_transport, connections_by_protocol,
                       connected_users, messages_per_second, ticks_per_second))

// GetServerStatistics: the answering node's figures, and with Redis the cluster's.
struct server_statistics : node_statistics {
  int cluster_users = -1;  // with Redis: distinct users of the cluster (-1: unknown)
  // With Redis: every live node by name, this one's figures fresh, the others' at most one
  // beat (1 s) old; empty without Redis or while it cannot be reached.
  std::vector<node_statistics> nodes;
};
BOOST_DESCRIBE_STRUCT(server_statistics, (node_statistics), (cluster_users, nodes))

// A node's figures as written to Redis (JSON) and read back from it. The reader is bounded:
// at most max_node_statistics_bytes, a node name of printable ASCII, counts >= 0, at most 16
// entries per breakdown, finite rates >= 0; anything else is refused (nullopt).
inline constexpr std::size_t max_node_statistics_bytes = 16 * 1024;
std::string encode_node_statistics(const node_statistics& s);
std::optional<node_statistics> decode_node_statistics(std::string_view in);

// The hub's connections, by their (secret) ids, kept here only to count and to group by user.
class connection_registry {
 public:
  struct entry {
    std::string email;
    std::vector<std::string> roles;
    std::string transport;
    std::string protocol;
    hubcast::date_time since;
  };
  void add(const std::string& connection_id, entry e);
  void remove(const std::string& connection_id);
  std::vector<connected_user> users() const;
  // Fills connections, the two breakdowns and connected_users.
  void count(node_statistics& out) const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> by_id_;
};

// Rates from two monotonic counters, measured between calls at least `window` apart (the
// previous rate is answered in between). Thread-safe.
class rate_meter {
 public:
  explicit rate_meter(std::chrono::milliseconds window = std::chrono::milliseconds(1000))
      : window_(window) {}
  // Returns {messages/s, ticks/s} given the counters' current values.
  std::pair<double, double> sample(
      std::uint64_t messages, std::uint64_t ticks,
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  std::chrono::milliseconds window_;
  std::mutex mutex_;
  bool started_ = false;
  std::chrono::steady_clock::time_point at_;
  std::uint64_t messages_ = 0, ticks_ = 0;
  double message_rate_ = 0, tick_rate_ = 0;
};

}  // namespace stockhub
