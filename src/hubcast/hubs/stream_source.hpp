// Streams of a shared source: one feed (a ticker, prices, a log) that many server-to-client
// streams carry, each restricted to the keys its connection chose.
//
//   auto prices = hubcast::stream_source<stock_price>::create(app.shards(), options.encoding);
//   prices->publish({{"MSFT", msft}, {"AAPL", aapl}});   // any thread; serialized once
//
//   // in the hub: a stream of the source for the caller, with the keys it subscribed to
//   hubcast::async_stream<stock_price> stream_prices() { return prices->stream(keys()); }
//
// Each published item is serialized once per protocol; on each shard it is framed once per
// protocol and invocation id and the same bytes are appended to every stream's connection
// output (the batched write path of broadcasts). No coroutine is resumed and no write awaited
// per item per stream: the streams of a shard are found through an index (key → streams), not
// a filter run by each stream. A stream whose connection has more than the stream back-pressure
// mark queued (a slow client) keeps only the latest item per key until its output drains
// (conflation): nobody else waits and its memory stays bounded.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <hubcast/core/event.hpp>
#include <hubcast/core/shards.hpp>
#include <hubcast/hubs/streams.hpp>
#include <hubcast/protocol/payload.hpp>
#include <hubcast/protocol/value_codec.hpp>

namespace hubcast {

namespace detail {
class source_core;
class source_stream;
}  // namespace detail

// The keys one connection's streams carry (a trader's symbols), shared by its hub calls and its
// running streams: a change applies to them at once. Empty: every key. Use it on the
// connection's shard only (its hub methods and streams run there); keep it in
// context().items() for the connection's lifetime.
class stream_keys {
 public:
  stream_keys() = default;
  stream_keys(const stream_keys&) = delete;
  stream_keys& operator=(const stream_keys&) = delete;
  ~stream_keys();

  // False when it was already there / was not there.
  bool add(const std::string& key);
  bool remove(const std::string& key);
  bool contains(const std::string& key) const { return keys_.count(key) != 0; }
  bool empty() const { return keys_.empty(); }
  const std::set<std::string>& keys() const { return keys_; }

 private:
  friend class detail::source_stream;
  std::set<std::string> keys_;
  std::vector<detail::source_stream*> streams_;  // running streams that follow these keys
};

namespace detail {

// One published item: its key and its value, serialized once per protocol.
struct published_item {
  std::string key;
  protocol::payload value;
};
using published_batch = std::vector<std::shared_ptr<const published_item>>;

// One running stream of a source, on its connection's shard.
class source_stream : public std::enable_shared_from_this<source_stream> {
 public:
  source_stream(std::shared_ptr<source_core> core, std::size_t shard,
                std::shared_ptr<stream_sink> sink, std::shared_ptr<stream_keys> keys);
  ~source_stream();

  // Registers with the shard's index and the keys; runs until the stream is cancelled or the
  // connection closes (writing conflated items when its output drains); unregisters.
  boost::asio::awaitable<void> run();

  // An item for this stream (from the shard's delivery).
  void offer(const std::shared_ptr<const published_item>& item, framing_cache& cache);
  // The stream_keys changed (on this shard).
  void key_added(const std::string& key, bool was_empty);
  void key_removed(const std::string& key, bool now_empty);

 private:
  friend class source_core;
  std::size_t all_slot_ = static_cast<std::size_t>(-1);  // its place in the shard's every-key list
  std::uint32_t keyed_slot_ = no_slot;  // its place among the shard's keyed streams
  std::size_t keys_indexed_ = 0;        // its entries in the shard's key index
  static constexpr std::uint32_t no_slot = static_cast<std::uint32_t>(-1);
  std::shared_ptr<source_core> core_;
  std::size_t shard_;
  std::shared_ptr<stream_sink> sink_;
  std::shared_ptr<stream_keys> keys_;
  std::map<std::string, std::shared_ptr<const published_item>> pending_;  // conflated, by key
  std::unique_ptr<event> wake_;
  bool done_ = false;

  void conflate(const std::shared_ptr<const published_item>& item);
  void wake();
  void write_pending();
};

// What stream_source<T> shares across its types: the per-shard indexes and the fan-out.
class source_core : public std::enable_shared_from_this<source_core> {
 public:
  source_core(shard_pool& shards, std::function<void()> on_conflated);

  // Thread-safe: every shard delivers the batch to its streams, in order.
  void publish(std::shared_ptr<const published_batch> batch);
  // A stream for the caller (a hub method's async_stream producer).
  static boost::asio::awaitable<void> run_stream(std::shared_ptr<source_core> self,
                                                 std::shared_ptr<stream_sink> sink,
                                                 std::shared_ptr<stream_keys> keys);

  // The shard's index (touched on that shard only).
  void index_all(source_stream* s, std::size_t shard);
  void unindex_all(source_stream* s, std::size_t shard);
  void index_key(source_stream* s, std::size_t shard, const std::string& key);
  void unindex_key(source_stream* s, std::size_t shard, const std::string& key);
  void conflated() const {
    if (on_conflated_) on_conflated_();
  }
  std::size_t streams_on(std::size_t shard) const;  // for tests and metrics

 private:
  struct keyed_entry {
    source_stream* stream;
    std::uint32_t slot;  // the stream's keyed_slot_
  };
  struct offer_ref {
    std::uint32_t slot;
    std::uint32_t item;  // index in the batch
  };
  struct shard_index {
    std::vector<source_stream*> all;  // streams with no keys: every item
    std::unordered_map<std::string, std::vector<keyed_entry>> by_key;
    std::size_t keyed = 0;              // entries in by_key
    std::vector<source_stream*> slots;  // keyed streams by slot (nullptr: a free slot)
    std::vector<std::uint32_t> free_slots;
    // A delivery's scratch, kept for its capacity.
    std::vector<offer_ref> offers, grouped;
    std::vector<std::uint32_t> starts;
  };
  shard_pool& shards_;
  std::function<void()> on_conflated_;
  std::vector<shard_index> shards_index_;

  void deliver(std::size_t shard, const published_batch& batch);
};

}  // namespace detail

template <class T>
class stream_source {
 public:
  // `encoding`: the hub's (hub_options::encoding), so that items read as its other values do.
  // `on_conflated`: called on a stream's shard for each item a slow stream dropped for a newer
  // one of the same key (a metric).
  static std::shared_ptr<stream_source> create(shard_pool& shards, encode_options encoding = {},
                                               std::function<void()> on_conflated = {}) {
    return std::shared_ptr<stream_source>(new stream_source(
        std::make_shared<detail::source_core>(shards, std::move(on_conflated)), encoding));
  }

  // Thread-safe. The items of one call reach each stream in this order.
  void publish(std::vector<std::pair<std::string, T>> items) {
    auto batch = std::make_shared<detail::published_batch>();
    batch->reserve(items.size());
    for (auto& [key, value] : items)
      batch->push_back(std::make_shared<const detail::published_item>(detail::published_item{
          std::move(key), protocol::payload::preserialize(value, encoding_)}));
    core_->publish(std::move(batch));
  }

  // For a hub method: the caller's stream of this source, carrying the keys in `keys` (all when
  // it is empty), from the next publish on.
  async_stream<T> stream(std::shared_ptr<stream_keys> keys) {
    return [core = core_, keys = std::move(keys)](stream_writer<T> w) {
      return detail::source_core::run_stream(core, w.sink(), keys);
    };
  }

  std::size_t streams_on(std::size_t shard) const { return core_->streams_on(shard); }

 private:
  stream_source(std::shared_ptr<detail::source_core> core, encode_options encoding)
      : core_(std::move(core)), encoding_(encoding) {}
  std::shared_ptr<detail::source_core> core_;
  encode_options encoding_;
};

}  // namespace hubcast
