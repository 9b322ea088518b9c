#include "market.hpp"

#include <hubcast/metrics/hot_metrics.hpp>

#include <algorithm>
#include <cmath>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace stockhub {

namespace asio = boost::asio;

namespace {

// stockhub_ticks_conflated_total: prices a slow subscriber never saw because a newer one of the
// same symbol replaced them before its stream took them.
const hubcast::metrics::hot_counter& conflated() {
  static const auto c = hubcast::metrics::hot_counter::get(
      "stockhub_ticks_conflated_total",
      "Prices replaced by a newer one of the same symbol before a subscriber's stream sent them.");
  return c;
}

}  // namespace

market::market(hubcast::shard_pool& shards, std::vector<std::string> symbols,
               std::chrono::milliseconds tick, hubcast::encode_options encoding)
    : shards_(shards),
      symbols_(std::move(symbols)),
      tick_us_(std::chrono::duration_cast<std::chrono::microseconds>(tick).count()),
      encoding_(encoding),
      rng_(std::random_device{}()) {
  (void)conflated();  // on /metrics from the start, at 0
  std::uniform_real_distribution<double> start(50, 500);
  for (std::size_t i = 0; i < symbols_.size(); ++i)
    prices_.push_back(std::round(start(rng_) * 100) / 100);
  source_ = hubcast::stream_source<stock_price_event>::create(shards, encoding,
                                                              [] { conflated().add(); });
  sessions_.resize(symbols_.size());
}

std::vector<symbol_snapshot> market::snapshot() const {
  std::vector<symbol_snapshot> out;
  std::lock_guard lock(sessions_mutex_);
  for (std::size_t i = 0; i < symbols_.size(); ++i) {
    const auto& s = sessions_[i];
    if (!s.seen) continue;
    out.push_back({symbols_[i], hubcast::decimal{s.open, 2}, hubcast::decimal{s.high, 2},
                   hubcast::decimal{s.low, 2}, hubcast::decimal{s.last, 2},
                   hubcast::date_time(std::chrono::microseconds(s.timestamp_us))});
  }
  return out;
}

bool market::has(const std::string& s) const {
  return std::find(symbols_.begin(), symbols_.end(), s) != symbols_.end();
}

void market::start() {
  timer_ = std::make_unique<asio::steady_timer>(shards_.executor(0));
  auto self = shared_from_this();
  asio::co_spawn(
      shards_.executor(0),
      [self]() -> asio::awaitable<void> {
        // On a schedule, not "an interval after the last tick": the pace does not drift by the
        // time a tick takes. Behind by more than a tick (a loaded shard), it skips ahead
        // instead of bursting.
        auto next = asio::steady_timer::clock_type::now();
        for (;;) {
          auto tick = self->tick_interval();
          next += tick;
          auto now = asio::steady_timer::clock_type::now();
          if (next + tick < now) next = now + tick;
          self->timer_->expires_at(next);
          auto [ec] = co_await self->timer_->async_wait(asio::as_tuple(asio::use_awaitable));
          if (ec) co_return;
          self->on_tick();
        }
      },
      asio::detached);
}

void market::stop() {
  if (!timer_) return;
  asio::dispatch(shards_.executor(0), [self = shared_from_this()] { self->timer_->cancel(); });
}

void market::set_simulating(bool on) {
  asio::dispatch(shards_.executor(0), [self = shared_from_this(), on] { self->simulating_ = on; });
}

void market::set_tick_interval(std::chrono::microseconds tick) {
  tick_us_.store(std::max<std::int64_t>(1, tick.count()), std::memory_order_relaxed);
}

void market::on_tick() {
  if (!simulating_) return;
  // Geometric random walk: ~0.2 % volatility per tick, prices in cents, never below one cent.
  std::normal_distribution<double> step(0.0, 0.002);
  auto now =
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  market_tick tick;
  tick.prices.reserve(symbols_.size());
  for (std::size_t i = 0; i < symbols_.size(); ++i) {
    prices_[i] = std::max(0.01, std::round(prices_[i] * std::exp(step(rng_)) * 100) / 100);
    // Ids stay within what every decoder takes (a forged id near the bound only wraps them).
    if (last_id_ >= max_tick_id) last_id_ = 0;
    tick.prices.push_back(tick_price{symbols_[i], ++last_id_, std::llround(prices_[i] * 100),
                                     now.time_since_epoch().count()});
  }
  if (on_simulated_) on_simulated_(tick);
  deliver(tick);
}

void market::ingest(market_tick tick) {
  asio::dispatch(shards_.executor(0), [self = shared_from_this(),
                                       tick = std::move(tick)]() mutable {
    auto& prices = tick.prices;
    std::erase_if(prices, [&](const tick_price& p) {
      auto it = std::find(self->symbols_.begin(), self->symbols_.end(), p.symbol);
      if (it == self->symbols_.end()) return true;
      self->prices_[static_cast<std::size_t>(it - self->symbols_.begin())] = double(p.cents) / 100;
      self->last_id_ = std::max(self->last_id_, p.id);
      return false;
    });
    if (!prices.empty()) self->deliver(tick);
  });
}

void market::deliver(const market_tick& t) {
  std::vector<std::pair<std::string, stock_price_event>> items;
  items.reserve(t.prices.size());
  for (const auto& p : t.prices)
    items.emplace_back(
        p.symbol, stock_price_event{std::to_string(p.id), p.symbol, hubcast::decimal{p.cents, 2},
                                    hubcast::date_time(std::chrono::microseconds(p.timestamp_us))});
  {
    std::lock_guard lock(sessions_mutex_);
    for (const auto& p : t.prices) {
      auto it = std::find(symbols_.begin(), symbols_.end(), p.symbol);
      if (it == symbols_.end()) continue;
      auto& s = sessions_[static_cast<std::size_t>(it - symbols_.begin())];
      if (!s.seen) s = session{true, p.cents, p.cents, p.cents, p.cents, p.timestamp_us};
      s.high = std::max(s.high, p.cents);
      s.low = std::min(s.low, p.cents);
      s.last = p.cents;
      s.timestamp_us = p.timestamp_us;
    }
  }
  ticks_.fetch_add(1, std::memory_order_relaxed);
  source_->publish(std::move(items));
}

}  // namespace stockhub
