// Who receives what (HubLifetimeManager): all, one connection, groups, users, with exclusions.
// In-process implementation over shards: a message is serialized once per protocol in use on
// the sending thread, then handed once to each shard, which walks its own connections. Sends
// to connections or users, group changes and client results go only to the shards that own
// them (connection_directory).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/shards.hpp"
#include "lifetime/connection_directory.hpp"
#include "protocol/hub_protocol.hpp"
#include "session/hub_connection.hpp"

namespace hubcast::lifetime {

struct outgoing {
  std::string target;
  protocol::payload args;
};

class hub_lifetime_manager {
 public:
  hub_lifetime_manager(shard_pool& shards, const hub_options& options);
  ~hub_lifetime_manager();

  // Both on the connection's shard, after the handshake / when the connection ends.
  void on_connected(session::hub_connection* c);
  void on_disconnected(session::hub_connection* c);

  // 1 s heartbeat per shard: keep-alive pings and client timeouts.
  void start();
  void stop();

  void send_all(const outgoing& m, std::vector<std::string> excluded = {});
  void send_connection(const std::string& connection_id, const outgoing& m);
  void send_connections(std::vector<std::string> ids, const outgoing& m);
  void send_group(const std::string& group, const outgoing& m,
                  std::vector<std::string> excluded = {});
  void send_groups(std::vector<std::string> groups, const outgoing& m);
  void send_user(const std::string& user_id, const outgoing& m);
  void send_users(std::vector<std::string> user_ids, const outgoing& m);

  void add_to_group(const std::string& connection_id, const std::string& group);
  void remove_from_group(const std::string& connection_id, const std::string& group);

  // Invokes a client method on one connection and waits for its Completion (client results).
  boost::asio::awaitable<session::client_result> invoke_connection(
      const std::string& connection_id, std::string target, protocol::payload args,
      std::chrono::milliseconds timeout);

  // Ends every connection with a Close message (graceful shutdown).
  void close_all(std::optional<std::string> error, bool allow_reconnect);

  std::size_t connection_count() const { return count_.load(std::memory_order_relaxed); }
  shard_pool& shards() { return shards_; }

 private:
  struct shard_state {
    std::vector<session::hub_connection*> all;
    std::unordered_map<std::string, session::hub_connection*> by_id;
    std::unordered_map<std::string, std::vector<session::hub_connection*>> groups;
    std::unordered_map<std::string, std::vector<session::hub_connection*>> users;
    std::unique_ptr<boost::asio::steady_timer> heartbeat;
  };

  shard_pool& shards_;
  const hub_options& options_;
  std::vector<std::unique_ptr<shard_state>> state_;
  std::array<std::atomic<int>, protocol::protocol_count> protocols_in_use_{};
  std::atomic<std::size_t> count_{0};
  connection_directory directory_;  // one hop to the owning shard

  std::shared_ptr<const protocol::serialized_message> serialize(const outgoing& m) const;
  template <class F>
  void for_each_shard(F f);
  template <class F>
  void on_shard(std::uint32_t shard, F f);
  void add_to_group_local(shard_state& s, session::hub_connection* c, const std::string& group);
  void remove_from_group_local(shard_state& s, session::hub_connection* c,
                               const std::string& group);
};

}  // namespace hubcast::lifetime
