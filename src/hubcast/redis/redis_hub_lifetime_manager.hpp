// The Redis backplane's lifetime manager (RedisHubLifetimeManager), wire-compatible with
// Microsoft.AspNetCore.SignalR.StackExchangeRedis: hubcast and ASP.NET Core servers on one
// Redis serve one hub. design/redis-backplane.md and docs/scale-out.md describe the wire.
//
// Local connections are kept by an in-process default_hub_lifetime_manager; every send to all,
// groups and users is published (serialized for every protocol: the other servers write the
// bytes as they are) and reaches the local clients through this server's own subscription, as
// in ASP.NET Core. Subscription bookkeeping (which groups and users have local connections)
// lives on the Redis client's executor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include <hubcast/lifetime/default_hub_lifetime_manager.hpp>
#include <hubcast/redis/redis_channels.hpp>
#include <hubcast/redis/redis_client.hpp>
#include <hubcast/redis/redis_protocol.hpp>

namespace hubcast::redis {

struct redis_hub_options {
  std::string backplane_name;  // the hub's name on the wire (ASP.NET Core: its full type name)
  std::string server_name;     // unique in the cluster; one per process
  std::chrono::milliseconds ack_timeout{30000};
};

struct backplane_counters {
  std::atomic<std::uint64_t> invalid_messages{0};
  std::atomic<std::uint64_t> group_commands{0};
  std::atomic<std::uint64_t> ack_timeouts{0};
};

class redis_hub_lifetime_manager final
    : public lifetime::hub_lifetime_manager,
      public std::enable_shared_from_this<redis_hub_lifetime_manager> {
 public:
  redis_hub_lifetime_manager(shard_pool& shards, const hub_options& options,
                             std::shared_ptr<redis_client> client, redis_hub_options redis);
  ~redis_hub_lifetime_manager() override;

  // The hub's shared channels (all, group commands, acks, results): wanted from now on.
  void start();
  // A message on one of this hub's channels (on the client's executor). Malformed payloads are
  // logged, counted and ignored.
  void on_message(std::string_view channel, std::string_view payload);
  const std::string& channel_prefix() const { return channels_.prefix(); }

  boost::asio::awaitable<void> on_connected(session::hub_connection* c) override;
  boost::asio::awaitable<void> on_disconnected(session::hub_connection* c) override;
  boost::asio::awaitable<void> send_all(lifetime::outgoing m,
                                        std::vector<std::string> excluded) override;
  boost::asio::awaitable<void> send_connection(std::string connection_id,
                                               lifetime::outgoing m) override;
  boost::asio::awaitable<void> send_connections(std::vector<std::string> ids,
                                                lifetime::outgoing m) override;
  boost::asio::awaitable<void> send_group(std::string group, lifetime::outgoing m,
                                          std::vector<std::string> excluded) override;
  boost::asio::awaitable<void> send_groups(std::vector<std::string> groups,
                                           lifetime::outgoing m) override;
  boost::asio::awaitable<void> send_user(std::string user_id, lifetime::outgoing m) override;
  boost::asio::awaitable<void> send_users(std::vector<std::string> user_ids,
                                          lifetime::outgoing m) override;
  boost::asio::awaitable<void> add_to_group(std::string connection_id, std::string group) override;
  boost::asio::awaitable<void> remove_from_group(std::string connection_id,
                                                 std::string group) override;
  boost::asio::awaitable<session::client_result> invoke_connection(
      std::string connection_id, std::string target, protocol::payload args,
      std::chrono::milliseconds timeout) override;
  bool set_connection_result(std::string_view connection_id, const std::string& invocation_id,
                             session::client_result r) override {
    return local_.set_connection_result(connection_id, invocation_id, std::move(r));
  }
  void close_all(std::optional<std::string> error, bool allow_reconnect) override {
    local_.close_all(std::move(error), allow_reconnect);
  }
  std::size_t connection_count() const override { return local_.connection_count(); }
  shard_pool& shards() override { return local_.shards(); }

  const backplane_counters& counters() const { return counters_; }
  const std::string& server_name() const { return redis_.server_name; }

 private:
  struct waiter;  // a group command's ack being waited for

  // Publishes; a send that cannot reach Redis throws hub_exception.
  boost::asio::awaitable<long long> publish(std::string channel, std::string payload);
  std::string invocation_payload(const lifetime::outgoing& m,
                                 const std::vector<std::string>& excluded = {},
                                 const std::optional<std::string>& invocation_id = std::nullopt);
  // Group membership and its subscription, on the client's executor.
  boost::asio::awaitable<void> apply_group(group_action action, std::string connection_id,
                                           std::string group);
  boost::asio::awaitable<void> remote_group(group_action action, std::string connection_id,
                                            std::string group);
  // AddToGroup / RemoveFromGroup: here for a local connection, else a command to its owner.
  boost::asio::awaitable<void> change_group(group_action action, std::string connection_id,
                                            std::string group);
  void on_invocation(std::string_view kind, std::string_view rest, std::string_view payload);
  void on_group_command(std::string_view payload);
  void on_ack(std::string_view payload);
  void on_completion(std::string_view payload);
  void forward_client_result(const std::string& connection_id, const redis_invocation& inv,
                             lifetime::message_ptr msg);
  void invalid(std::string_view channel, const std::string& why);

  lifetime::default_hub_lifetime_manager local_;
  const hub_options& options_;
  std::shared_ptr<redis_client> client_;
  redis_hub_options redis_;
  redis_channels channels_;
  std::string ack_suffix_, return_suffix_;  // this server's channels after "<prefix>:"
  backplane_counters counters_;

  // On the client's executor: local members per group, local connections per user.
  std::unordered_map<std::string, std::set<std::string>> group_members_;
  std::unordered_map<std::string, std::size_t> user_connections_;

  std::mutex waiters_mutex_;
  std::map<std::int32_t, std::shared_ptr<waiter>> acks_;
  std::atomic<std::int32_t> next_command_id_{0};
  // Invocations of connections on other servers, answered through this server's return channel
  // (those of local connections, and those forwarded here, wait in local_.client_results()).
  lifetime::client_results_manager remote_results_;
};

// A random server name in ASP.NET Core's form: host name, '_', 32 hex digits.
std::string make_server_name();

}  // namespace hubcast::redis
