// /hubs/stocks: the article's StockPriceHub.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <hubcast/hubs/hub.hpp>
#include <hubcast/hubs/method_table.hpp>
#include "cluster_presence.hpp"
#include "market.hpp"
#include "statistics.hpp"

namespace stockhub {

// Distinct connected users of this node (GetConnectedUsersCount), across shards; in a
// cluster it tells cluster_presence of each user's arrival and departure, in order.
class user_tracker {
 public:
  explicit user_tracker(std::shared_ptr<cluster_presence> presence = nullptr)
      : presence_(std::move(presence)) {}
  void add(const std::string& user);
  void remove(const std::string& user);
  std::size_t count() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> connections_;
  std::shared_ptr<cluster_presence> presence_;
};

struct hub_services {
  std::shared_ptr<market> prices;
  hubcast::shard_pool* shards = nullptr;
  std::shared_ptr<user_tracker> users;
  std::shared_ptr<cluster_presence> presence;  // with Redis: the cluster's count
  std::shared_ptr<connection_registry> connections = std::make_shared<connection_registry>();
  std::shared_ptr<rate_meter> rates = std::make_shared<rate_meter>();
  std::string node = "local";  // the backplane's server name with Redis
};

// This node's figures now (the rates over the last second); for GetServerStatistics and for
// the figures each presence beat writes to Redis.
node_statistics measure_node(hub_services& services);

class stock_hub : public hubcast::hub {
 public:
  explicit stock_hub(std::shared_ptr<hub_services> services) : services_(std::move(services)) {}
  static void configure(hubcast::hub_methods<stock_hub>& m);

  boost::asio::awaitable<void> on_connected() override;
  boost::asio::awaitable<void> on_disconnected(std::optional<std::string> error) override;

  std::vector<std::string> get_available_symbols();
  void subscribe(std::string symbol);
  void unsubscribe(std::string symbol);
  hubcast::async_stream<stock_price_event> stream_stock_prices();
  void broadcast_message(std::string message);
  boost::asio::awaitable<int> get_connected_users_count();
  // The session so far (open, high, low, last) of the caller's symbols (every symbol when it has
  // none), for a table that is full before the first tick.
  std::vector<symbol_snapshot> get_market_snapshot();
  // Admin: the operator console's figures (with Redis, every node's too) and this node's user
  // list (statistics.hpp).
  boost::asio::awaitable<server_statistics> get_server_statistics();
  std::vector<connected_user> get_connected_users();
  // Admin: the market simulator's pace on this node from the next tick on (demos, load tests:
  // bench/run ramps it), 1 ms to 1 min.
  void set_tick_interval(double milliseconds);

 private:
  std::shared_ptr<hub_services> services_;
  std::shared_ptr<hubcast::stream_keys> subs();
  std::string who();
};

}  // namespace stockhub
