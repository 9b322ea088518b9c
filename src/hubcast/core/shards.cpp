#include <hubcast/core/shards.hpp>

#include <atomic>

namespace hubcast {

namespace {
thread_local const shard_pool* tl_pool = nullptr;
thread_local std::size_t tl_index = 0;
}  // namespace

shard_pool::shard_pool(std::size_t count) {
  if (count == 0) count = 1;
  for (std::size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<shard_context>(1));
}

shard_pool::~shard_pool() {
  shutdown();
}

void shard_pool::shutdown() {
  stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  for (auto& s : shards_) s->shutdown_services();
}

std::size_t shard_pool::current() const {
  return tl_pool == this ? tl_index : shards_.size();
}

std::size_t shard_pool::next() {
  return next_.fetch_add(1, std::memory_order_relaxed) % shards_.size();
}

void shard_pool::run() {
  for (std::size_t i = 1; i < shards_.size(); ++i) {
    threads_.emplace_back([this, i] {
      tl_pool = this;
      tl_index = i;
      auto guard = boost::asio::make_work_guard(*shards_[i]);
      shards_[i]->run();
    });
  }
  tl_pool = this;
  tl_index = 0;
  {
    auto guard = boost::asio::make_work_guard(*shards_[0]);
    shards_[0]->run();
  }
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  tl_pool = nullptr;
}

void shard_pool::stop() {
  for (auto& s : shards_) s->stop();
}

}  // namespace hubcast
