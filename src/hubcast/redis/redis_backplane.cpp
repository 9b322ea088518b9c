#include <hubcast/redis/redis_backplane.hpp>

#include <hubcast/core/shards.hpp>

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

void redis_backplane::subscribe(std::string channel, redis_client::message_handler handler) {
  bool now;
  {
    std::lock_guard lock(mutex_);
    app_channels_[channel] = std::move(handler);
    now = started_;
  }
  if (now) client_->subscribe_detached(std::move(channel));
}

void redis_backplane::start() {
  {
    std::lock_guard lock(mutex_);
    started_ = true;
    for (auto& w : hubs_)
      if (auto m = w.lock()) m->start();
    for (auto& [channel, handler] : app_channels_) client_->subscribe_detached(channel);
  }
  client_->start();
}

void redis_backplane::stop() {
  client_->stop();
}

void redis_backplane::route(std::string_view channel, std::string_view payload) {
  // The hub whose name is the longest prefix of the channel followed by ':'.
  std::shared_ptr<redis_hub_lifetime_manager> best;
  redis_client::message_handler app_handler;
  {
    std::lock_guard lock(mutex_);
    if (auto it = app_channels_.find(channel); it != app_channels_.end()) app_handler = it->second;
    for (auto& w : hubs_) {
      auto m = w.lock();
      if (!m) continue;
      const auto& p = m->channel_prefix();
      if (channel.size() > p.size() && channel.substr(0, p.size()) == p &&
          channel[p.size()] == ':' && (!best || p.size() > best->channel_prefix().size()))
        best = m;
    }
  }
  if (app_handler)
    app_handler(channel, payload);
  else if (best)
    best->on_message(channel, payload);
}

}  // namespace hubcast::redis
