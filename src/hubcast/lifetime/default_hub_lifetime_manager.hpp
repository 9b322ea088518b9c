// The in-process lifetime manager (DefaultHubLifetimeManager) over shards: a message is
// serialized once per protocol in use on the sending thread, then handed once to each shard,
// which walks its own connections. Sends to connections or users, group changes and client
// results go only to the shards that own them (connection_directory).
//
// The deliver_* functions take a message already serialized: a backplane uses them to hand what
// it received to the local connections.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <hubcast/lifetime/client_results_manager.hpp>
#include <hubcast/lifetime/connection_directory.hpp>
#include <hubcast/lifetime/hub_lifetime_manager.hpp>
#include <hubcast/protocol/hub_protocol.hpp>
#include <hubcast/session/hub_options.hpp>

namespace hubcast::lifetime {

using message_ptr = std::shared_ptr<const protocol::serialized_message>;

class default_hub_lifetime_manager final : public hub_lifetime_manager {
 public:
  default_hub_lifetime_manager(shard_pool& shards, const hub_options& options);
  ~default_hub_lifetime_manager() override;

  boost::asio::awaitable<void> on_connected(session::hub_connection* c) override;
  boost::asio::awaitable<void> on_disconnected(session::hub_connection* c) override;

  boost::asio::awaitable<void> send_all(outgoing m, std::vector<std::string> excluded) override;
  boost::asio::awaitable<void> send_connection(std::string connection_id, outgoing m) override;
  boost::asio::awaitable<void> send_connections(std::vector<std::string> ids, outgoing m) override;
  boost::asio::awaitable<void> send_group(std::string group, outgoing m,
                                          std::vector<std::string> excluded) override;
  boost::asio::awaitable<void> send_groups(std::vector<std::string> groups, outgoing m) override;
  boost::asio::awaitable<void> send_user(std::string user_id, outgoing m) override;
  boost::asio::awaitable<void> send_users(std::vector<std::string> user_ids, outgoing m) override;
  boost::asio::awaitable<void> add_to_group(std::string connection_id, std::string group) override;
  boost::asio::awaitable<void> remove_from_group(std::string connection_id,
                                                 std::string group) override;
  boost::asio::awaitable<session::client_result> invoke_connection(
      std::string connection_id, std::string target, protocol::payload args,
      std::chrono::milliseconds timeout) override;
  bool set_connection_result(std::string_view connection_id, const std::string& invocation_id,
                             session::client_result r) override;
  void close_all(std::optional<std::string> error, bool allow_reconnect) override;
  std::size_t connection_count() const override { return count_.load(std::memory_order_relaxed); }
  shard_pool& shards() override { return shards_; }

  // --- local delivery of serialized messages (thread-safe; return at once) ---
  // Serializes for every protocol in use here, or for every protocol when `all_protocols` (what a
  // backplane publishes: other servers may serve clients of any protocol).
  message_ptr serialize(const outgoing& m, bool all_protocols = false) const;
  void deliver_all(message_ptr msg, std::vector<std::string> excluded = {});
  void deliver_connections(std::vector<std::string> ids, message_ptr msg);
  void deliver_group(const std::string& group, message_ptr msg,
                     std::vector<std::string> excluded = {});
  void deliver_groups(std::vector<std::string> groups, message_ptr msg);
  void deliver_users(std::vector<std::string> user_ids, message_ptr msg);
  void add_to_group_now(const std::string& connection_id, const std::string& group);
  void remove_from_group_now(const std::string& connection_id, const std::string& group);
  // Runs `f` on the shard that owns the connection, with it (nullptr when it is gone by then).
  // False (and `f` is not called) when the connection is not here.
  bool with_connection(const std::string& connection_id,
                       std::function<void(session::hub_connection*)> f);
  // The invocations local connections owe a result (a backplane registers those it forwards
  // from other servers here too: the connection's Completion comes back through this manager).
  client_results_manager& client_results() { return results_; }
  bool is_local(std::string_view connection_id) const {
    return directory_.shard_of(connection_id).has_value();
  }

 private:
  struct shard_state {
    std::vector<session::hub_connection*> all;
    std::unordered_map<std::string, session::hub_connection*> by_id;
    std::unordered_map<std::string, std::vector<session::hub_connection*>> groups;
    std::unordered_map<std::string, std::vector<session::hub_connection*>> users;
  };

  shard_pool& shards_;
  const hub_options& options_;
  std::vector<std::unique_ptr<shard_state>> state_;
  std::array<std::atomic<int>, protocol::protocol_count> protocols_in_use_{};
  std::atomic<std::size_t> count_{0};
  connection_directory directory_;  // one hop to the owning shard
  client_results_manager results_;

  template <class F>
  void for_each_shard(F f);
  template <class F>
  void on_shard(std::uint32_t shard, F f);
  void add_to_group_local(shard_state& s, session::hub_connection* c, const std::string& group);
  void remove_from_group_local(shard_state& s, session::hub_connection* c,
                               const std::string& group);
};

}  // namespace hubcast::lifetime
