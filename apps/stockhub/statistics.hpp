// What the operator console shows (GetServerStatistics, GetConnectedUsers; Admin only): this
// node's connections by transport and protocol, its users with their connections, and the
// message and tick rates. Never a connection id.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/describe/class.hpp>

#include "protocol/value_codec.hpp"

namespace stockhub {

struct connected_user {
  std::string email;
  std::vector<std::string> roles;
  int connections = 0;
  std::vector<std::string> transports;  // distinct, sorted
  hubcast::date_time connected_since;   // the oldest of its connections
};
BOOST_DESCRIBE_STRUCT(connected_user, (), (email, roles, connections, transports, connected_since))

struct server_statistics {
  std::string node;  // the node's name on the backplane, "local" without one
  int connections = 0;
  std::map<std::string, int> connections_by_transport;  // WebSockets, ServerSentEvents, LongPolling
  std::map<std::string, int> connections_by_protocol;   // json, messagepack
  int connected_users = 0;                              // this node
  int cluster_users = -1;          // with Redis: distinct users of the cluster (-1: unknown)
  double messages_per_second = 0;  // hub messages sent by this node, over the last interval
  double ticks_per_second = 0;
};
BOOST_DESCRIBE_STRUCT(server_statistics, (),
                      (node, connections, connections_by_transport, connections_by_protocol,
                       connected_users, cluster_users, messages_per_second, ticks_per_second))

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
  void count(server_statistics& out) const;

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
