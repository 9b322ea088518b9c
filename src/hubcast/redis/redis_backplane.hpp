// One process's place on a Redis backplane (AddStackExchangeRedis): the Redis client shared
// by every hub, one server name, and the routing of each received message to the hub whose
// channel it came on.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <hubcast/lifetime/hub_lifetime_manager_factory.hpp>
#include <hubcast/redis/redis_client.hpp>
#include <hubcast/redis/redis_hub_lifetime_manager.hpp>

namespace hubcast::redis {

class redis_backplane final : public lifetime::hub_lifetime_manager_factory {
 public:
  // `configuration`: StackExchange.Redis's form (redis_options.hpp); throws
  // std::invalid_argument when it is wrong. Nothing connects before start().
  redis_backplane(shard_pool& shards, std::string_view configuration);
  ~redis_backplane() override;

  // A lifetime manager for one hub, named `backplane_name` on the wire.
  std::shared_ptr<redis_hub_lifetime_manager> make_lifetime_manager(const hub_options& options,
                                                                    std::string backplane_name);
  // hub_lifetime_manager_factory: what app::map_hub asks for.
  std::shared_ptr<lifetime::hub_lifetime_manager> create(const hub_options& options,
                                                         std::string name) override {
    return make_lifetime_manager(options, std::move(name));
  }

  // A channel of the application's own (not a hub's): `handler` gets each message on it, on
  // the client's executor. Subscribed at start() (or at once when already started) and again
  // after every reconnect. The name is used as given: prefix it with channel_prefix() to share
  // a Redis with other applications.
  void subscribe(std::string channel, redis_client::message_handler handler);

  void start() override;
  void stop() override;
  bool connected() const { return client_->connected(); }
  const std::string& server_name() const { return server_name_; }
  const std::string& channel_prefix() const { return client_->options().channel_prefix; }
  const redis_client& client() const { return *client_; }
  // For the application's own commands (redis_client::execute, publish).
  const std::shared_ptr<redis_client>& shared_client() const { return client_; }

 private:
  void route(std::string_view channel, std::string_view payload);

  shard_pool& shards_;
  std::string server_name_;
  std::shared_ptr<redis_client> client_;
  std::mutex mutex_;
  std::vector<std::weak_ptr<redis_hub_lifetime_manager>> hubs_;
  std::map<std::string, redis_client::message_handler, std::less<>> app_channels_;
  bool started_ = false;
};

}  // namespace hubcast::redis
