// The shared market simulator: a random walk per symbol, one tick per interval, published to a
// hubcast::stream_source: encoded once, fanned out once per shard to the stock streams running
// there. A slow client's stream keeps only the latest price per symbol until it can write
// (conflation): it never delays others nor grows memory.
//
// In a cluster (market_cluster.hpp) only the leader simulates; the other nodes ingest() the
// leader's ticks and stream them alike, and the walk goes on from the last ingested prices
// when leadership moves.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/describe/class.hpp>

#include <hubcast/core/shards.hpp>
#include <hubcast/hubs/stream_source.hpp>
#include <hubcast/protocol/payload.hpp>
#include <hubcast/protocol/value_codec.hpp>
#include "tick_codec.hpp"

namespace stockhub {

struct stock_price_event {
  std::string id;
  std::string symbol;
  hubcast::decimal price;  // C#'s decimal in the article: exact cents
  hubcast::date_time timestamp;
};
BOOST_DESCRIBE_STRUCT(stock_price_event, (), (id, symbol, price, timestamp))

// The session so far of one symbol (GetMarketSnapshot): a new subscriber's table is full before
// the first tick. `open` is the first price this node streamed.
struct symbol_snapshot {
  std::string symbol;
  hubcast::decimal open;
  hubcast::decimal high;
  hubcast::decimal low;
  hubcast::decimal last;
  hubcast::date_time timestamp;  // of `last`
};
BOOST_DESCRIBE_STRUCT(symbol_snapshot, (), (symbol, open, high, low, last, timestamp))

class market : public std::enable_shared_from_this<market> {
 public:
  market(hubcast::shard_pool& shards, std::vector<std::string> symbols,
         std::chrono::milliseconds tick, hubcast::encode_options encoding);

  void start();
  void stop();
  const std::vector<std::string>& symbols() const { return symbols_; }
  bool has(const std::string& symbol) const;

  // Whether the timer simulates ticks (on by default; a cluster's followers turn it off).
  // Thread-safe.
  void set_simulating(bool on);
  // The time between ticks from the next tick on (an admin's SetTickInterval, load tests).
  // Thread-safe.
  void set_tick_interval(std::chrono::microseconds tick);
  std::chrono::microseconds tick_interval() const {
    return std::chrono::microseconds(tick_us_.load(std::memory_order_relaxed));
  }
  // Called on shard 0 with each tick simulated here, before it is streamed (set before start()).
  void on_simulated(std::function<void(const market_tick&)> h) { on_simulated_ = std::move(h); }
  // A tick simulated on another node: streamed here as if simulated, and the walk continues
  // from its prices. Symbols this node does not serve are ignored. Thread-safe.
  void ingest(market_tick tick);

  // A stream of the market for a connection: the prices of `keys`' symbols (every symbol when
  // it has none), conflated to the latest price per symbol while the client reads slowly.
  hubcast::async_stream<stock_price_event> stream(std::shared_ptr<hubcast::stream_keys> keys) {
    return source_->stream(std::move(keys));
  }

  std::uint64_t ticks() const { return ticks_.load(std::memory_order_relaxed); }
  // Every symbol that has streamed a price, in symbol order. Thread-safe.
  std::vector<symbol_snapshot> snapshot() const;

 private:
  hubcast::shard_pool& shards_;
  std::vector<std::string> symbols_;
  std::vector<double> prices_;
  std::atomic<std::int64_t> tick_us_;
  hubcast::encode_options encoding_;
  std::mt19937_64 rng_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::shared_ptr<hubcast::stream_source<stock_price_event>> source_;
  std::function<void(const market_tick&)> on_simulated_;
  bool simulating_ = true;  // on shard 0, as everything below
  std::atomic<std::uint64_t> ticks_{0};
  std::uint64_t last_id_ = 0;
  struct session {
    bool seen = false;
    std::int64_t open = 0, high = 0, low = 0, last = 0;  // cents
    std::int64_t timestamp_us = 0;
  };
  mutable std::mutex sessions_mutex_;
  std::vector<session> sessions_;  // by symbol index

  void on_tick();
  // Streams one tick (already applied to prices_) to every listener.
  void deliver(const market_tick& tick);
};

}  // namespace stockhub
