#include <hubcast/hubs/stream_source.hpp>

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hubcast {

namespace asio = boost::asio;

// Running streams hold their keys: none is registered any more.
stream_keys::~stream_keys() = default;

bool stream_keys::add(const std::string& key) {
  bool was_empty = keys_.empty();
  if (!keys_.insert(key).second) return false;
  for (auto* s : streams_) s->key_added(key, was_empty);
  return true;
}

bool stream_keys::remove(const std::string& key) {
  if (keys_.erase(key) == 0) return false;
  bool now_empty = keys_.empty();
  for (auto* s : streams_) s->key_removed(key, now_empty);
  return true;
}

namespace detail {

// --- source_stream

source_stream::source_stream(std::shared_ptr<source_core> core, std::size_t shard,
                             std::shared_ptr<stream_sink> sink, std::shared_ptr<stream_keys> keys)
    : core_(std::move(core)), shard_(shard), sink_(std::move(sink)), keys_(std::move(keys)) {}

source_stream::~source_stream() = default;

asio::awaitable<void> source_stream::run() {
  auto self = shared_from_this();
  auto ex = co_await asio::this_coro::executor;
  wake_ = std::make_unique<hubcast::event>(ex);
  keys_->streams_.push_back(this);
  if (keys_->empty()) {
    core_->index_all(this, shard_);
  } else {
    for (const auto& k : keys_->keys()) core_->index_key(this, shard_, k);
  }
  // A cancel (CancelInvocation, the connection's end) wakes the loop below. The dispatcher
  // cancels every sink whose producer returned, so this task never outlives the stream long.
  asio::co_spawn(
      ex,
      [self]() -> asio::awaitable<void> {
        co_await self->sink_->async_wait_cancelled();
        self->done_ = true;
        self->wake();
      },
      asio::detached);
  while (!done_ && !sink_->cancelled()) {
    if (!pending_.empty()) {
      co_await sink_->async_wait_writable();
      if (done_ || sink_->cancelled()) break;
      write_pending();  // what stays pending (the client still reads slowly) waits again
      continue;
    }
    co_await wake_->async_wait();  // an item to conflate, the end
  }
  // Unregister (on this shard, as every change of the index).
  auto& mine = keys_->streams_;
  mine.erase(std::remove(mine.begin(), mine.end(), this), mine.end());
  if (all_slot_ != static_cast<std::size_t>(-1)) core_->unindex_all(this, shard_);
  for (const auto& k : keys_->keys()) core_->unindex_key(this, shard_, k);
  pending_.clear();
}

void source_stream::offer(const std::shared_ptr<const published_item>& item, framing_cache& cache) {
  if (done_) return;
  // Conflating already: newer items wait behind the older ones (per key, in order).
  if (!pending_.empty()) {
    conflate(item);
    return;
  }
  switch (sink_->try_write(item->value, cache)) {
    case try_write_result::written:
      return;
    case try_write_result::full:
      conflate(item);
      return;
    case try_write_result::cancelled:
      done_ = true;
      wake();
      return;
  }
}

void source_stream::conflate(const std::shared_ptr<const published_item>& item) {
  bool first = pending_.empty();
  auto [it, inserted] = pending_.insert_or_assign(item->key, item);
  (void)it;
  if (!inserted) core_->conflated();
  if (first) wake();
}

void source_stream::write_pending() {
  while (!pending_.empty()) {
    auto it = pending_.begin();
    framing_cache cache;  // a cache frames one item: never shared across items
    switch (sink_->try_write(it->second->value, cache)) {
      case try_write_result::written:
        pending_.erase(it);
        break;
      case try_write_result::full:
        return;
      case try_write_result::cancelled:
        done_ = true;
        pending_.clear();
        return;
    }
  }
}

void source_stream::wake() {
  if (wake_) wake_->notify_all();
}

// Called only while the stream is registered (it is in its keys' list from registration to
// unregistration), done or not: the index must follow the keys until then.
void source_stream::key_added(const std::string& key, bool was_empty) {
  if (was_empty && all_slot_ != static_cast<std::size_t>(-1)) core_->unindex_all(this, shard_);
  core_->index_key(this, shard_, key);
}

void source_stream::key_removed(const std::string& key, bool now_empty) {
  core_->unindex_key(this, shard_, key);
  pending_.erase(key);  // an unsubscribed key's items stop at once, pending ones too
  if (now_empty) core_->index_all(this, shard_);
}

// --- source_core

source_core::source_core(shard_pool& shards, std::function<void()> on_conflated)
    : shards_(shards), on_conflated_(std::move(on_conflated)), shards_index_(shards.size()) {}

void source_core::publish(std::shared_ptr<const published_batch> batch) {
  if (!batch || batch->empty()) return;
  // Once per shard, not once per stream.
  for (std::size_t s = 0; s < shards_index_.size(); ++s)
    asio::dispatch(shards_.executor(s),
                   [self = shared_from_this(), s, batch] { self->deliver(s, *batch); });
}

asio::awaitable<void> source_core::run_stream(std::shared_ptr<source_core> self,
                                              std::shared_ptr<stream_sink> sink,
                                              std::shared_ptr<stream_keys> keys) {
  std::size_t shard = self->shards_.current();
  if (shard >= self->shards_index_.size())
    throw std::logic_error("stream_source: a stream runs on a shard of its pool");
  if (!keys) keys = std::make_shared<stream_keys>();
  auto stream = std::make_shared<source_stream>(self, shard, std::move(sink), std::move(keys));
  co_await stream->run();
}

void source_core::deliver(std::size_t shard, const published_batch& batch) {
  auto& idx = shards_index_[shard];
  if (idx.all.empty() && idx.keyed == 0) return;
  std::vector<framing_cache> caches(batch.size());
  // Every item to the streams with no keys, one stream at a time (its connection's output is
  // touched once per batch).
  for (auto* s : idx.all)
    for (std::size_t i = 0; i < batch.size(); ++i) s->offer(batch[i], caches[i]);
  if (idx.keyed == 0) return;
  // Keyed streams get their items grouped by stream as well, in the batch's order: a stream's
  // connection is touched once per batch, not once per key it follows (at 10,000 connections
  // following 5 keys each, the touches were cache misses: three per item). The grouping is a
  // counting sort by the stream's slot, stable, so each stream's items keep the batch's order.
  auto& offers = idx.offers;
  offers.clear();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto it = idx.by_key.find(batch[i]->key);
    if (it == idx.by_key.end()) continue;
    for (const auto& e : it->second) offers.push_back({e.slot, static_cast<std::uint32_t>(i)});
  }
  if (offers.empty()) return;
  auto& starts = idx.starts;
  starts.assign(idx.slots.size() + 1, 0);
  for (const auto& o : offers) ++starts[o.slot + 1];
  for (std::size_t k = 1; k < starts.size(); ++k) starts[k] += starts[k - 1];
  auto& grouped = idx.grouped;
  grouped.resize(offers.size());
  for (const auto& o : offers) grouped[starts[o.slot]++] = o;
  for (const auto& o : grouped)
    if (auto* s = idx.slots[o.slot]) s->offer(batch[o.item], caches[o.item]);
}

void source_core::index_all(source_stream* s, std::size_t shard) {
  auto& all = shards_index_[shard].all;
  s->all_slot_ = all.size();
  all.push_back(s);
}

void source_core::unindex_all(source_stream* s, std::size_t shard) {
  auto& all = shards_index_[shard].all;
  auto slot = s->all_slot_;
  if (slot >= all.size() || all[slot] != s) return;
  all[slot] = all.back();
  all[slot]->all_slot_ = slot;
  all.pop_back();
  s->all_slot_ = static_cast<std::size_t>(-1);
}

void source_core::index_key(source_stream* s, std::size_t shard, const std::string& key) {
  auto& idx = shards_index_[shard];
  if (s->keyed_slot_ == source_stream::no_slot) {
    if (idx.free_slots.empty()) {
      s->keyed_slot_ = static_cast<std::uint32_t>(idx.slots.size());
      idx.slots.push_back(s);
    } else {
      s->keyed_slot_ = idx.free_slots.back();
      idx.free_slots.pop_back();
      idx.slots[s->keyed_slot_] = s;
    }
  }
  idx.by_key[key].push_back({s, s->keyed_slot_});
  ++s->keys_indexed_;
  ++idx.keyed;
}

void source_core::unindex_key(source_stream* s, std::size_t shard, const std::string& key) {
  auto& idx = shards_index_[shard];
  auto it = idx.by_key.find(key);
  if (it == idx.by_key.end()) return;
  auto& v = it->second;
  auto pos = std::find_if(v.begin(), v.end(), [s](const keyed_entry& e) { return e.stream == s; });
  if (pos == v.end()) return;
  *pos = v.back();
  v.pop_back();
  --idx.keyed;
  if (v.empty()) idx.by_key.erase(it);
  if (--s->keys_indexed_ == 0) {
    idx.slots[s->keyed_slot_] = nullptr;
    idx.free_slots.push_back(s->keyed_slot_);
    s->keyed_slot_ = source_stream::no_slot;
    // The last keyed stream gone: the slot table starts again from nothing.
    if (idx.free_slots.size() == idx.slots.size()) {
      idx.slots.clear();
      idx.free_slots.clear();
    }
  }
}

std::size_t source_core::streams_on(std::size_t shard) const {
  if (shard >= shards_index_.size()) return 0;
  // Keyed streams count once per key: the every-key list plus distinct keyed streams.
  const auto& idx = shards_index_[shard];
  std::vector<const source_stream*> seen;
  for (const auto& [k, v] : idx.by_key)
    for (const auto& e : v) seen.push_back(e.stream);
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  return idx.all.size() + seen.size();
}

}  // namespace detail

}  // namespace hubcast
