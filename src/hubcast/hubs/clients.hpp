// Who a hub sends to (IHubClients / IClientProxy): all, caller, others, one connection,
// connections, groups, users, with exclusions. Proxies are cheap values and may be kept
// beyond the hub method (e.g. captured by a stream producer).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <hubcast/hubs/errors.hpp>
#include <hubcast/protocol/payload.hpp>

namespace hubcast {

namespace lifetime {
class hub_lifetime_manager;
}
namespace session {
class hub_connection;
}

class client_proxy {
 public:
  enum class target_kind {
    all,
    all_except,
    connection,
    connections,
    group,
    groups,
    group_except,
    user,
    users,
    caller,
  };

  client_proxy(lifetime::hub_lifetime_manager* lm, target_kind kind, std::string key,
               std::vector<std::string> list, std::weak_ptr<session::hub_connection> caller = {})
      : lm_(lm),
        kind_(kind),
        key_(std::move(key)),
        list_(std::move(list)),
        caller_(std::move(caller)) {}

  // Fire-and-forget invocation of a client method: the arguments are serialized once per
  // protocol in use, whatever the number of recipients. Sends from one thread reach a client in
  // order. A failure (a backplane that is down) is logged and counted, not thrown.
  template <class... A>
  void send(std::string_view method, A&&... args) const {
    send_payload(method, protocol::payload::arguments(std::forward<A>(args)...));
  }
  void send_payload(std::string_view method, protocol::payload args) const;

  // SendAsync: completes when the lifetime manager has sent it (handed to the local shards,
  // published to the backplane); throws hub_exception when it could not be sent.
  // Lazy: nothing is sent unless it is awaited (a discarded one is a compiler warning); to send
  // without waiting, use send().
  template <class... A>
  [[nodiscard]] boost::asio::awaitable<void> send_async(std::string_view method,
                                                        A&&... args) const {
    return send_payload_async(std::string(method),
                              protocol::payload::arguments(std::forward<A>(args)...));
  }
  [[nodiscard]] boost::asio::awaitable<void> send_payload_async(std::string method,
                                                                protocol::payload args) const;

 protected:
  // The lifetime manager's operation for this target (not started).
  boost::asio::awaitable<void> operation(std::string method, protocol::payload args) const;
  // On the caller's own shard: written directly, ordered with the invocation's Completion.
  bool send_to_caller_here(std::string_view method, const protocol::payload& args) const;

  lifetime::hub_lifetime_manager* lm_;
  target_kind kind_;
  std::string key_;
  std::vector<std::string> list_;
  std::weak_ptr<session::hub_connection> caller_;
};

// One connection: can also await a client result (InvokeAsync on ISingleClientProxy).
class single_client_proxy : public client_proxy {
 public:
  using client_proxy::client_proxy;

  // Invokes `method` on the client and returns what its handler returned. Throws hub_exception
  // with the client's error text, or when the connection is gone or `timeout` passes.
  template <class R, class... A>
  [[nodiscard]] boost::asio::awaitable<R> invoke(std::string_view method,
                                                 std::chrono::milliseconds timeout,
                                                 A&&... args) const {
    auto args_payload = protocol::payload::arguments(std::forward<A>(args)...);
    auto value = co_await invoke_raw(std::string(method), std::move(args_payload), timeout);
    co_return from_json<R>(value);  // converted to JSON once: client results are rare
  }

  // Returns the raw JSON value of the result; throws hub_exception on a client error.
  [[nodiscard]] boost::asio::awaitable<boost::json::value> invoke_raw(
      std::string method, protocol::payload args, std::chrono::milliseconds timeout) const;
};

class hub_clients {
 public:
  explicit hub_clients(lifetime::hub_lifetime_manager* lm) : lm_(lm) {}
  using kind = client_proxy::target_kind;

  client_proxy all() const { return {lm_, kind::all, {}, {}}; }
  client_proxy all_except(std::vector<std::string> connection_ids) const {
    return {lm_, kind::all_except, {}, std::move(connection_ids)};
  }
  single_client_proxy client(std::string connection_id) const {
    return {lm_, kind::connection, std::move(connection_id), {}};
  }
  client_proxy clients(std::vector<std::string> connection_ids) const {
    return {lm_, kind::connections, {}, std::move(connection_ids)};
  }
  client_proxy group(std::string name) const { return {lm_, kind::group, std::move(name), {}}; }
  client_proxy groups(std::vector<std::string> names) const {
    return {lm_, kind::groups, {}, std::move(names)};
  }
  client_proxy group_except(std::string name, std::vector<std::string> connection_ids) const {
    return {lm_, kind::group_except, std::move(name), std::move(connection_ids)};
  }
  client_proxy user(std::string user_id) const { return {lm_, kind::user, std::move(user_id), {}}; }
  client_proxy users(std::vector<std::string> user_ids) const {
    return {lm_, kind::users, {}, std::move(user_ids)};
  }

 protected:
  lifetime::hub_lifetime_manager* lm_;
};

// Inside a hub method: also the caller, everyone else, others in a group.
class hub_caller_clients : public hub_clients {
 public:
  hub_caller_clients(lifetime::hub_lifetime_manager* lm, std::shared_ptr<session::hub_connection> c,
                     std::string connection_id)
      : hub_clients(lm), caller_(std::move(c)), id_(std::move(connection_id)) {}

  single_client_proxy caller() const { return {lm_, kind::caller, id_, {}, caller_}; }
  client_proxy others() const { return all_except({id_}); }
  client_proxy others_in_group(std::string group) const {
    return group_except(std::move(group), {id_});
  }

 private:
  std::weak_ptr<session::hub_connection> caller_;
  std::string id_;
};

// Adds and removes connections to and from groups (IGroupManager): any connection of the hub,
// wherever it is. Completes when the change is made (for a connection on another server of a
// backplane, when that server acknowledged it), so a group send awaited after it reaches the
// new member. A connection that does not exist is a no-op.
class group_manager {
 public:
  explicit group_manager(lifetime::hub_lifetime_manager* lm) : lm_(lm) {}
  // Lazy, like every awaitable: the change happens when awaited (`co_await`). A discarded one
  // never runs, so discarding it is a compiler warning.
  [[nodiscard]] boost::asio::awaitable<void> add(std::string connection_id,
                                                 std::string group) const;
  [[nodiscard]] boost::asio::awaitable<void> remove(std::string connection_id,
                                                    std::string group) const;

 private:
  lifetime::hub_lifetime_manager* lm_;
};

}  // namespace hubcast
