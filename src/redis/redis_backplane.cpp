#include "redis/redis_backplane.hpp"

#include "core/shards.hpp"

namespace hubcast::redis {

redis_backplane::redis_backplane(shard_pool& shards, std::string_view configuration)
    : shards_(shards),
      server_name_(make_server_name()),
      client_(
          std::make_shared<redis_client>(shards.executor(0), redis_options::parse(configuration))) {
  client_->set_message_handler(
      [this](std::string_view channel, std::string_view payload) { route(channel, payload); });
}

redis_backplane::~redis_backplane() {
  client_->set_message_handler(nullptr);
}

std::shared_ptr<redis_hub_lifetime_manager> redis_backplane::make_lifetime_manager(
    const hub_options& options, std::string backplane_name) {
  redis_hub_options o;
  o.backplane_name = std::move(backplane_name);
  o.server_name = server_name_;
  auto m = std::make_shared<redis_hub_lifetime_manager>(shards_, options, client_, std::move(o));
  std::lock_guard lock(mutex_);
  hubs_.push_back(m);
  return m;
}

void redis_backplane::start() {
  {
    std::lock_guard lock(mutex_);
    for (auto& w : hubs_)
      if (auto m = w.lock()) m->start();
  }
  client_->start();
}

void redis_backplane::stop() {
  client_->stop();
}

void redis_backplane::route(std::string_view channel, std::string_view payload) {
  // The hub whose name is the longest prefix of the channel followed by ':'.
  std::shared_ptr<redis_hub_lifetime_manager> best;
  {
    std::lock_guard lock(mutex_);
    for (auto& w : hubs_) {
      auto m = w.lock();
      if (!m) continue;
      const auto& p = m->channel_prefix();
      if (channel.size() > p.size() && channel.substr(0, p.size()) == p &&
          channel[p.size()] == ':' && (!best || p.size() > best->channel_prefix().size()))
        best = m;
    }
  }
  if (best) best->on_message(channel, payload);
}

}  // namespace hubcast::redis
