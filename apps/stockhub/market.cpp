#include "market.hpp"

#include "metrics/hot_metrics.hpp"

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
  by_shard_.resize(shards.size());
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
  auto tick = std::make_shared<std::vector<std::shared_ptr<const priced>>>();
  tick->reserve(t.prices.size());
  for (const auto& p : t.prices) {
    stock_price_event e{std::to_string(p.id), p.symbol, hubcast::decimal{p.cents, 2},
                        hubcast::date_time(std::chrono::microseconds(p.timestamp_us))};
    // Encoded once per protocol here; every stream splices the same bytes.
    auto encoded = hubcast::protocol::payload::preserialize(e, encoding_);
    tick->push_back(std::make_shared<const priced>(priced{std::move(e), std::move(encoded)}));
  }
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
  // Once per shard, not once per connection.
  for (std::size_t s = 0; s < by_shard_.size(); ++s) {
    asio::dispatch(shards_.executor(s), [self = shared_from_this(), s, tick] {
      for (auto& l : self->by_shard_[s]) l->offer(*tick);
    });
  }
}

std::shared_ptr<market::listener> market::subscribe(std::shared_ptr<subscriptions> subs,
                                                    std::size_t shard, asio::any_io_executor ex) {
  auto l = std::make_shared<listener>(std::move(subs), ex);
  by_shard_[shard].push_back(l);
  return l;
}

void market::unsubscribe(const std::shared_ptr<listener>& l, std::size_t shard) {
  auto& v = by_shard_[shard];
  v.erase(std::remove(v.begin(), v.end(), l), v.end());
}

market::listener::listener(std::shared_ptr<subscriptions> subs, asio::any_io_executor ex)
    : subs_(std::move(subs)), signal_(ex, asio::steady_timer::time_point::max()) {}

void market::listener::offer(const std::vector<std::shared_ptr<const priced>>& tick) {
  bool all = subs_->symbols.empty();  // no subscriptions: every symbol (the article's behaviour)
  bool any = false;
  for (const auto& p : tick) {
    if (all || subs_->symbols.count(p->event.symbol)) {
      auto& slot = pending_[p->event.symbol];
      if (slot) conflated().add();  // conflation: the latest price per symbol wins
      slot = p;
      any = true;
    }
  }
  if (any) signal_.cancel();
}

asio::awaitable<void> market::listener::wait() {
  if (!pending_.empty() || woken_) co_return;
  signal_.expires_at(asio::steady_timer::time_point::max());
  co_await signal_.async_wait(asio::as_tuple(asio::use_awaitable));
}

void market::listener::wake() {
  woken_ = true;
  signal_.cancel();
}

std::vector<std::shared_ptr<const priced>> market::listener::take() {
  std::vector<std::shared_ptr<const priced>> out;
  out.reserve(pending_.size());
  bool all = subs_->symbols.empty();
  for (auto& [sym, e] : pending_)
    if (all || subs_->symbols.count(sym)) out.push_back(std::move(e));  // unsubscribed: dropped
  pending_.clear();
  return out;
}

}  // namespace stockhub
