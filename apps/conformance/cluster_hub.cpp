#include "cluster_hub.hpp"

#include <chrono>

namespace conformance {

namespace {
// Awaits a proxy's send in its own statement (g++ 12: no temporaries in a co_await
// full-expression).
boost::asio::awaitable<void> message(const hubcast::client_proxy& to, std::string msg) {
  auto op = to.send_async("Message", std::move(msg));
  co_await std::move(op);
}
}  // namespace

void cluster_hub::configure(hubcast::hub_methods<cluster_hub>& m) {
  m.add("GetConnectionId", &cluster_hub::get_connection_id)
      .add("SendToAll", &cluster_hub::send_to_all)
      .add("SendToOthers", &cluster_hub::send_to_others)
      .add("SendToAllExcept", &cluster_hub::send_to_all_except)
      .add("SendToConnection", &cluster_hub::send_to_connection)
      .add("SendToConnections", &cluster_hub::send_to_connections)
      .add("SendToUser", &cluster_hub::send_to_user)
      .add("SendToUsers", &cluster_hub::send_to_users)
      .add("JoinGroup", &cluster_hub::join_group)
      .add("LeaveGroup", &cluster_hub::leave_group)
      .add("AddToGroup", &cluster_hub::add_to_group)
      .add("RemoveFromGroup", &cluster_hub::remove_from_group)
      .add("SendToGroup", &cluster_hub::send_to_group)
      .add("SendToGroups", &cluster_hub::send_to_groups)
      .add("SendToGroupExcept", &cluster_hub::send_to_group_except)
      .add("SendToOthersInGroup", &cluster_hub::send_to_others_in_group)
      .add("InvokeClient", &cluster_hub::invoke_client);
}

cluster_hub::task cluster_hub::send_to_all(std::string msg) {
  auto to = clients().all();
  co_await message(to, std::move(msg));
}
cluster_hub::task cluster_hub::send_to_others(std::string msg) {
  auto to = clients().others();
  co_await message(to, std::move(msg));
}
cluster_hub::task cluster_hub::send_to_all_except(std::vector<std::string> ids, std::string msg) {
  auto to = clients().all_except(std::move(ids));
  co_await message(to, std::move(msg));
}
cluster_hub::task cluster_hub::send_to_connection(std::string id, std::string msg) {
  auto to = clients().client(std::move(id));
  co_await message(to, std::move(msg));
}
cluster_hub::task cluster_hub::send_to_connections(std::vector<std::string> ids, std::string msg) {
  auto to = clients().clients(std::move(ids));
  co_await message(to, std::move(msg));
}
cluster_hub::task cluster_hub::send_to_user(std::string user, std::string msg) {
  auto to = clients().user(std::move(user));
  co_await message(to, std::move(msg));
}
cluster_hub::task cluster_hub::send_to_users(std::vector<std::string> users, std::string msg) {
  auto to = clients().users(std::move(users));
  co_await message(to, std::move(msg));
}
cluster_hub::task cluster_hub::join_group(std::string group) {
  auto op = groups().add(context().connection_id(), std::move(group));
  co_await std::move(op);
}
cluster_hub::task cluster_hub::leave_group(std::string group) {
  auto op = groups().remove(context().connection_id(), std::move(group));
  co_await std::move(op);
}
cluster_hub::task cluster_hub::add_to_group(std::string connection_id, std::string group) {
  auto op = groups().add(std::move(connection_id), std::move(group));
  co_await std::move(op);
}
cluster_hub::task cluster_hub::remove_from_group(std::string connection_id, std::string group) {
  auto op = groups().remove(std::move(connection_id), std::move(group));
  co_await std::move(op);
}
cluster_hub::task cluster_hub::send_to_group(std::string group, std::string msg) {
  auto to = clients().group(std::move(group));
  co_await message(to, std::move(msg));
}
cluster_hub::task cluster_hub::send_to_groups(std::vector<std::string> groups, std::string msg) {
  auto to = clients().groups(std::move(groups));
  co_await message(to, std::move(msg));
}
cluster_hub::task cluster_hub::send_to_group_except(std::string group, std::vector<std::string> ids,
                                                    std::string msg) {
  auto to = clients().group_except(std::move(group), std::move(ids));
  co_await message(to, std::move(msg));
}
cluster_hub::task cluster_hub::send_to_others_in_group(std::string group, std::string msg) {
  auto to = clients().others_in_group(std::move(group));
  co_await message(to, std::move(msg));
}

boost::asio::awaitable<int> cluster_hub::invoke_client(std::string connection_id) {
  auto to = clients().client(std::move(connection_id));
  auto op = to.invoke<int>("Result", std::chrono::seconds(30));
  co_return co_await std::move(op);
}

}  // namespace conformance
