// One market for N stockhub nodes on a Redis backplane. Exactly one node, the leader, runs the
// simulator: leadership is a Redis lease (key "<prefix>stockhub:market:leader", value
// "<node> <term>", with a TTL) that the leader renews and the others try to take; every new
// lease gets the next term from "<prefix>stockhub:market:term". The leader publishes each tick
// on "<prefix>stockhub:ticks" (tick_codec.hpp) and streams it to its own clients at once; the
// others stream what they receive. A leader that cannot renew steps down before its lease can
// expire, a node that sees a tick of a newer term stops simulating, and ticks of an older term
// are dropped: two nodes never feed one stream.
//
// Timing (lease_options): the lease lives `ttl` (3 s) and is renewed, or tried for, every
// `renew_interval` (1 s), so another node takes over within ttl + renew_interval (≤ 4 s) of
// the leader's death, and at once (≤ renew_interval) when it stops cleanly.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "market.hpp"
#include "market_lease.hpp"

namespace hubcast::redis {
class redis_backplane;
class redis_client;
}  // namespace hubcast::redis

namespace stockhub {

class market_cluster : public std::enable_shared_from_this<market_cluster> {
 public:
  market_cluster(std::shared_ptr<market> prices, hubcast::redis::redis_backplane& backplane,
                 lease_options options = {});
  ~market_cluster();

  // Before the backplane starts: subscribes the ticks channel and starts the lease loop.
  void start();
  // Stops simulating and gives the lease up (so another node takes over at once); for
  // app::on_stopping.
  boost::asio::awaitable<void> shutdown();
  bool leader() const { return leader_.load(std::memory_order_acquire); }
  const std::string& node() const { return node_; }

 private:
  boost::asio::awaitable<void> run();
  void received(std::string_view payload);
  void become_leader(std::int64_t term);
  void step_down(const char* why);

  std::shared_ptr<market> prices_;
  hubcast::redis::redis_backplane& backplane_;
  std::shared_ptr<hubcast::redis::redis_client> client_;
  lease_options options_;
  std::string node_;
  std::string lease_key_, term_key_, ticks_channel_;
  // On the client's executor (shard 0, the market's too):
  std::int64_t term_ = 0;  // ours while leading
  term_fence fence_;
  lease_clock lease_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::atomic<bool> leader_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> invalid_ticks_{0};
};

}  // namespace stockhub
