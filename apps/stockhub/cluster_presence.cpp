#include "cluster_presence.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hubcast/core/log.hpp>
#include <hubcast/redis/redis_backplane.hpp>
#include <hubcast/redis/redis_client.hpp>

namespace stockhub {

namespace asio = boost::asio;

namespace {
auto logger() {
  return hubcast::log::category("stockhub.cluster");
}

// KEYS[1] the nodes, KEYS[2] this node's users, KEYS[3] its figures; ARGV[1] this node,
// ARGV[2] the TTL in ms, ARGV[3] the figures ('' for none). Returns the size of the users' set.
constexpr const char* beat_script = R"lua(
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000), ARGV[1])
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[2]) end
local n = redis.call('SCARD', KEYS[2])
if n > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return n
)lua";

// KEYS[1] this node's users; ARGV[1] the TTL in ms, ARGV[2] "1" to start from an empty set,
// then users.
constexpr const char* write_users = R"lua(
if ARGV[2] == '1' then redis.call('DEL', KEYS[1]) end
for i = 3, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
if #ARGV >= 3 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
)lua";

// KEYS[1] the nodes; ARGV[1] the users' key prefix, ARGV[2] the TTL in ms, ARGV[3] a scratch
// key. Forgets nodes that stopped beating, then counts the union of the others' users.
constexpr const char* count_users = R"lua(
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local nodes = redis.call('ZRANGE', KEYS[1], 0, -1)
if #nodes == 0 then return 0 end
local keys = {}
for i, n in ipairs(nodes) do keys[i] = ARGV[1] .. n end
redis.call('SUNIONSTORE', ARGV[3], unpack(keys))
local n = redis.call('SCARD', ARGV[3])
redis.call('DEL', ARGV[3])
return n
)lua";

// KEYS[1] the nodes; ARGV[1] the figures' key prefix, ARGV[2] the TTL in ms, ARGV[3] how many
// nodes at most. Returns node, figures, node, figures, ... for the live nodes ('' when a node
// wrote none).
constexpr const char* read_figures = R"lua(
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local nodes = redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[2]), '+inf', 'LIMIT', 0,
  tonumber(ARGV[3]))
local out = {}
for _, n in ipairs(nodes) do
  out[#out + 1] = n
  out[#out + 1] = redis.call('GET', ARGV[1] .. n) or ''
end
return out
)lua";

constexpr std::size_t users_per_command = 1000;
}  // namespace

cluster_presence::cluster_presence(hubcast::redis::redis_backplane& backplane,
                                   presence_options options)
    : client_(backplane.shared_client()),
      options_(options),
      node_(backplane.server_name()),
      order_(asio::make_strand(client_->executor())) {
  auto prefix = backplane.channel_prefix() + "stockhub:presence:";
  nodes_key_ = prefix + "nodes";
  users_prefix_ = prefix + "users:";
  users_key_ = users_prefix_ + node_;
  scratch_key_ = prefix + "count:" + node_;
  stats_prefix_ = backplane.channel_prefix() + "stockhub:stats:";
  stats_key_ = stats_prefix_ + node_;
}

void cluster_presence::report(std::function<std::string()> figures) {
  report_ = std::move(figures);
}

// A strand keeps the order of posts made one after another from any thread; its handlers run
// on the client's executor, where execute_detached() queues each command at once. So Redis
// gets the changes in the order they were made, and mirror_ is what they leave there.
void cluster_presence::added(const std::string& user) {
  asio::post(order_, [self = shared_from_this(), user] {
    self->mirror_.insert(user);
    self->client_->execute_detached({"SADD", self->users_key_, user});
  });
}

void cluster_presence::removed(const std::string& user) {
  asio::post(order_, [self = shared_from_this(), user] {
    self->mirror_.erase(user);
    self->client_->execute_detached({"SREM", self->users_key_, user});
  });
}

void cluster_presence::start() {
  timer_ = std::make_unique<asio::steady_timer>(client_->executor());
  asio::co_spawn(
      client_->executor(), [self = shared_from_this()] { return self->run(); }, asio::detached);
}

void cluster_presence::beat() {
  auto expected = mirror_.size();
  client_->execute_detached(
      {"EVAL", beat_script, "3", nodes_key_, users_key_, stats_key_, node_,
       std::to_string(options_.ttl.count()), report_ ? report_() : std::string()},
      [self = shared_from_this(), expected](const hubcast::redis::redis_value* reply) {
        if (!reply || reply->integer == static_cast<long long>(expected)) return;
        // Lost or missed changes: written again, in order after everything sent so far.
        asio::post(self->order_, [self] { self->rewrite(); });
      });
}

void cluster_presence::rewrite() {
  const auto ttl = std::to_string(options_.ttl.count());
  if (!mirror_.empty())
    logger()->info("Writing this node's {} users to Redis again", mirror_.size());
  auto it = mirror_.begin();
  bool first = true;
  do {
    std::vector<std::string> argv{"EVAL", write_users, "1", users_key_, ttl, first ? "1" : "0"};
    for (std::size_t n = 0; it != mirror_.end() && n < users_per_command; ++it, ++n)
      argv.push_back(*it);
    client_->execute_detached(std::move(argv));
    first = false;
  } while (it != mirror_.end());
}

asio::awaitable<void> cluster_presence::run() {
  auto self = shared_from_this();
  while (!stopping_) {
    asio::post(order_, [self] { self->beat(); });
    timer_->expires_after(options_.beat_interval);
    co_await timer_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> cluster_presence::shutdown() {
  auto self = shared_from_this();
  co_await asio::dispatch(client_->executor(), asio::use_awaitable);
  stopping_ = true;
  if (timer_) timer_->cancel();
  try {
    auto op1 = client_->execute({"ZREM", nodes_key_, node_});
    co_await std::move(op1);
    auto op2 = client_->execute({"DEL", users_key_, stats_key_});
    co_await std::move(op2);
  } catch (const std::exception&) {
    // Gone from the count within the TTL anyway.
  }
}

asio::awaitable<std::size_t> cluster_presence::count() {
  auto op = client_->execute({"EVAL", count_users, "1", nodes_key_, users_prefix_,
                              std::to_string(options_.ttl.count()), scratch_key_});
  auto n = co_await std::move(op);
  co_return n.integer > 0 ? static_cast<std::size_t>(n.integer) : 0;
}

asio::awaitable<std::vector<cluster_presence::node_figures>> cluster_presence::figures() {
  auto op = client_->execute({"EVAL", read_figures, "1", nodes_key_, stats_prefix_,
                              std::to_string(options_.ttl.count()), std::to_string(max_nodes)});
  auto reply = co_await std::move(op);
  std::vector<node_figures> out;
  if (reply.type != hubcast::redis::redis_value::kind::array) co_return out;
  const auto& e = reply.elements;
  for (std::size_t i = 0; i + 1 < e.size() && out.size() < max_nodes; i += 2) {
    if (e[i].type != hubcast::redis::redis_value::kind::string ||
        e[i + 1].type != hubcast::redis::redis_value::kind::string || e[i + 1].str.empty())
      continue;
    out.push_back({e[i].str, e[i + 1].str});
  }
  co_return out;
}

}  // namespace stockhub
