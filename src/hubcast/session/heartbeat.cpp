#include <hubcast/session/heartbeat.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hubcast/core/shards.hpp>
#include <hubcast/session/hub_connection.hpp>

namespace hubcast::session {

namespace asio = boost::asio;

heartbeat::heartbeat(shard_pool& shards) : shards_(shards) {
  for (std::size_t i = 0; i < shards.size(); ++i) state_.push_back(std::make_unique<shard_state>());
}

heartbeat::~heartbeat() = default;

void heartbeat::add(hub_connection* c) {
  auto& s = *state_[c->shard()];
  c->heartbeat_slot_ = s.all.size();
  s.all.push_back(c);
}

void heartbeat::remove(hub_connection* c) {
  auto& s = *state_[c->shard()];
  auto slot = c->heartbeat_slot_;
  if (slot >= s.all.size() || s.all[slot] != c) return;
  auto* last = s.all.back();
  s.all[slot] = last;
  last->heartbeat_slot_ = slot;
  s.all.pop_back();
  c->heartbeat_slot_ = static_cast<std::size_t>(-1);
}

void heartbeat::start() {
  for (std::size_t i = 0; i < state_.size(); ++i) {
    auto& s = *state_[i];
    s.timer = std::make_unique<asio::steady_timer>(shards_.executor(i));
    asio::co_spawn(
        shards_.executor(i),
        [&s]() -> asio::awaitable<void> {
          for (;;) {
            s.timer->expires_after(std::chrono::seconds(1));
            auto [ec] = co_await s.timer->async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            auto now = hub_connection::clock::now();
            // tick() never removes connections synchronously, so indexes stay valid.
            for (std::size_t k = 0; k < s.all.size(); ++k) s.all[k]->tick(now);
          }
        },
        asio::detached);
  }
}

void heartbeat::stop() {
  for (std::size_t i = 0; i < state_.size(); ++i) {
    asio::dispatch(shards_.executor(i), [this, i] {
      if (state_[i]->timer) state_[i]->timer->cancel();
    });
  }
}

}  // namespace hubcast::session
