#include "market_cluster.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hubcast/core/log.hpp>
#include <hubcast/redis/redis_backplane.hpp>
#include <hubcast/redis/redis_client.hpp>

namespace stockhub {

namespace asio = boost::asio;
using hubcast::redis::redis_error;
using hubcast::redis::redis_unavailable;

namespace {
auto logger() {
  return hubcast::log::category("stockhub.cluster");
}

// KEYS[1] the lease, KEYS[2] the term counter; ARGV[1] this node, ARGV[2] the TTL in ms,
// ARGV[3] the highest term this node has seen. Takes a free lease or renews our own, and
// returns our term (0 when another node holds the lease). Terms only grow, even when Redis
// lost the counter (a restart): a new term is above every term the caller has seen, and a
// lease whose term is below that gets a new one, so the fences of every node accept it.
constexpr const char* acquire_or_renew = R"lua(
-- Terms are integers up to 2^53 (exact in Lua's doubles), written without an exponent. What
-- Redis holds is not trusted: a counter or a lease term that is not such an integer is replaced,
-- and a caller's highest term is clamped below the bound, so one forged value (a tick with a
-- huge term, a counter set by hand) cannot stop every node from leading again.
local max_term = 9007199254740992
local function term_of(v)
  local t = tonumber(v)
  if not t or t < 0 or t > max_term or t ~= math.floor(t) then return nil end
  return t
end
local highest = term_of(ARGV[3]) or 0
if highest >= max_term then highest = max_term - 1 end
local function next_term()
  local t = redis.pcall('INCR', KEYS[2])
  if type(t) ~= 'number' or t > max_term or t <= highest then
    t = highest + 1
    redis.call('SET', KEYS[2], string.format('%d', t))
  end
  return t
end
local held = redis.call('GET', KEYS[1])
if not held then
  local t = next_term()
  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. string.format('%d', t), 'PX', ARGV[2])
  return t
end
local space = string.find(held, ' ', 1, true)
if space and string.sub(held, 1, space - 1) == ARGV[1] then
  local t = term_of(string.sub(held, space + 1)) or 0
  if t < highest or t == 0 then
    t = next_term()
    redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. string.format('%d', t), 'PX', ARGV[2])
  else
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return t
end
return 0
)lua";

// KEYS[1] the lease; ARGV[1] "<node> <term>": deleted only if still ours.
constexpr const char* release_if_ours = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";
}  // namespace

market_cluster::market_cluster(std::shared_ptr<market> prices,
                               hubcast::redis::redis_backplane& backplane, lease_options options)
    : prices_(std::move(prices)),
      backplane_(backplane),
      client_(backplane.shared_client()),
      options_(options),
      node_(backplane.server_name()),
      lease_(options) {
  auto prefix = backplane.channel_prefix() + "stockhub:";
  lease_key_ = prefix + "market:leader";
  term_key_ = prefix + "market:term";
  ticks_channel_ = prefix + "ticks";
}

market_cluster::~market_cluster() = default;

void market_cluster::start() {
  prices_->set_simulating(false);  // until this node holds the lease
  std::weak_ptr<market_cluster> weak = shared_from_this();
  prices_->on_simulated([weak](const market_tick& tick) {
    auto self = weak.lock();
    if (!self || !self->leader()) return;
    market_tick t = tick;
    t.node = self->node_;
    t.term = self->term_;
    // Queued now, in tick order (we are on the client's executor); a failure is counted by
    // the client and the tick still reaches this node's clients.
    self->client_->publish_detached(self->ticks_channel_, encode_tick(t));
  });
  backplane_.subscribe(ticks_channel_, [weak](std::string_view, std::string_view payload) {
    if (auto self = weak.lock()) self->received(payload);
  });
  timer_ = std::make_unique<asio::steady_timer>(client_->executor());
  asio::co_spawn(
      client_->executor(), [self = shared_from_this()] { return self->run(); }, asio::detached);
}

void market_cluster::received(std::string_view payload) {
  auto tick = decode_tick(payload);
  if (!tick) {
    invalid_ticks_.fetch_add(1, std::memory_order_relaxed);
    static hubcast::log::rate_limit limit(std::chrono::seconds(10));
    if (limit.ready()) logger()->warn("Ignored a malformed tick on {}", ticks_channel_);
    return;
  }
  switch (fence_.judge(*tick, node_)) {
    case term_fence::verdict::own:
      return;
    case term_fence::verdict::stale:
      logger()->debug("Dropped a tick of term {} from {} (term {} seen)", tick->term,
                      hubcast::log::escape(tick->node), fence_.highest());
      return;
    case term_fence::verdict::stream:
      break;
  }
  if (leader() && tick->term > term_) step_down("another node leads a newer term");
  prices_->ingest(std::move(*tick));
}

void market_cluster::become_leader(std::int64_t term) {
  if (stopping_) return;
  term_ = term;
  fence_.saw(term);
  leader_ = true;
  prices_->set_simulating(true);
  logger()->info("This node ({}) now runs the market simulator (lease term {})", node_, term);
}

void market_cluster::step_down(const char* why) {
  if (!leader_.exchange(false)) return;
  prices_->set_simulating(false);
  logger()->log(stopping_ ? spdlog::level::info : spdlog::level::warn,
                "This node stopped running the market simulator: {}", why);
}

asio::awaitable<void> market_cluster::run() {
  auto self = shared_from_this();
  hubcast::log::rate_limit failures(std::chrono::seconds(10));
  const auto ttl = std::to_string(options_.ttl.count());
  while (!stopping_) {
    auto sent = lease_clock::clock::now();
    if (!client_->connected()) {
      // Not a failed renewal to log: the client reports the outage. Checked again soon, so the
      // lease is taken as soon as Redis answers.
      if (leader() && lease_.must_step_down(sent)) step_down("Redis cannot be reached");
      timer_->expires_after(std::chrono::milliseconds(100));
      co_await timer_->async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    try {
      auto op = client_->execute({"EVAL", acquire_or_renew, "2", lease_key_, term_key_, node_, ttl,
                                  std::to_string(fence_.highest())});
      auto reply = co_await std::move(op);
      if (reply.integer > 0) {
        lease_.confirmed(sent);
        if (!leader() || reply.integer != term_) become_leader(reply.integer);
      } else {
        step_down("another node holds the lease");
      }
    } catch (const redis_unavailable&) {
      // The client logs the outage; the clock below decides.
    } catch (const std::exception& e) {
      if (failures.ready())
        logger()->warn("The market lease could not be renewed: {}", hubcast::log::escape(e.what()));
    }
    if (leader() && lease_.must_step_down(lease_clock::clock::now()))
      step_down("the lease could not be renewed in time");
    if (stopping_) break;
    timer_->expires_after(options_.renew_interval);
    co_await timer_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> market_cluster::shutdown() {
  auto self = shared_from_this();
  co_await asio::dispatch(client_->executor(), asio::use_awaitable);
  stopping_ = true;
  timer_->cancel();
  if (!leader()) co_return;
  auto held = node_ + " " + std::to_string(term_);
  step_down("this node is stopping");
  // Queued after any renewal in flight (one connection, in order), so nothing renews it after.
  try {
    auto op = client_->execute({"EVAL", release_if_ours, "1", lease_key_, held});
    co_await std::move(op);
  } catch (const std::exception&) {
    // The lease expires on its own.
  }
}

}  // namespace stockhub
