// ClusterHub (/clusterhub): every kind of send, group change and client result, for the
// cross-server tests of the Redis backplane (tests/e2e/cluster.test.mjs). The same hub exists
// in the ASP.NET Core test node (tests/dotnet/ClusterNode), under the backplane name
// "Hubcast.Conformance.ClusterHub". Each method sends client method "Message" with one string
// and completes when the lifetime manager's operation did.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <hubcast/hubs/hub.hpp>
#include <hubcast/hubs/method_table.hpp>

namespace conformance {

class cluster_hub : public hubcast::hub {
 public:
  static void configure(hubcast::hub_methods<cluster_hub>& m);
  using task = boost::asio::awaitable<void>;

  std::string get_connection_id() { return context().connection_id(); }
  task send_to_all(std::string msg);
  task send_to_others(std::string msg);
  task send_to_all_except(std::vector<std::string> ids, std::string msg);
  task send_to_connection(std::string id, std::string msg);
  task send_to_connections(std::vector<std::string> ids, std::string msg);
  task send_to_user(std::string user, std::string msg);
  task send_to_users(std::vector<std::string> users, std::string msg);
  task join_group(std::string group);
  task leave_group(std::string group);
  task add_to_group(std::string connection_id, std::string group);
  task remove_from_group(std::string connection_id, std::string group);
  task send_to_group(std::string group, std::string msg);
  task send_to_groups(std::vector<std::string> groups, std::string msg);
  task send_to_group_except(std::string group, std::vector<std::string> ids, std::string msg);
  task send_to_others_in_group(std::string group, std::string msg);
  boost::asio::awaitable<int> invoke_client(std::string connection_id);
};

}  // namespace conformance
