// Streaming in both directions.
//  - Server to client: a method returns async_stream<T>, built from a coroutine that writes
//    items to a stream_writer<T>. CancelInvocation or a disconnect cancels it.
//  - Client to server: a method takes stream_reader<T> parameters (bound to `streamIds`).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <hubcast/core/event.hpp>
#include <hubcast/hubs/errors.hpp>
#include <hubcast/protocol/payload.hpp>
#include <hubcast/protocol/raw_value.hpp>

namespace hubcast {

namespace detail {

// One stream item framed for the streams of one delivery (a shared source's item on one
// shard): one message per protocol and invocation id, appended to every queue that wants those
// bytes. Clients number their invocations from 0, so many streams share an id. One cache per
// item: the bytes found are that item's.
class framing_cache {
 public:
  std::shared_ptr<const std::string> find(const void* protocol, std::string_view id) const {
    for (const auto& e : entries_)
      if (e.protocol == protocol && e.id == id) return e.bytes;
    return nullptr;
  }
  void add(const void* protocol, std::string_view id, std::shared_ptr<const std::string> bytes) {
    if (entries_.size() < max_entries)
      entries_.push_back({protocol, std::string(id), std::move(bytes)});
  }

 private:
  static constexpr std::size_t max_entries = 32;  // beyond: framed per stream, not cached
  struct entry {
    const void* protocol;
    std::string id;
    std::shared_ptr<const std::string> bytes;
  };
  std::vector<entry> entries_;
};

enum class try_write_result { written, full, cancelled };

// Where a server-to-client stream's items go (implemented by the dispatcher).
class stream_sink {
 public:
  virtual ~stream_sink() = default;
  // Throws stream_cancelled once the stream was cancelled or the connection closed.
  virtual boost::asio::awaitable<void> async_write(protocol::payload item) = 0;
  virtual bool cancelled() const = 0;
  // Completes when the stream is cancelled.
  virtual boost::asio::awaitable<void> async_wait_cancelled() = 0;
  // Writes at once, without suspending (shared sources: no coroutine per item): `full` when the
  // connection's output is over the stream back-pressure mark (nothing written).
  virtual try_write_result try_write(const protocol::payload& item, framing_cache& cache) = 0;
  // Completes when the output is down to half the mark, or the connection is closing.
  virtual boost::asio::awaitable<void> async_wait_writable() = 0;
};

// Items of one client-to-server stream, fed by the connection's reader.
class upload_channel {
 public:
  upload_channel(boost::asio::any_io_executor ex, std::size_t capacity);

  // Reader side (the hub method): next item; nullopt at the end; throws hub_exception when the
  // client completed the stream with an error.
  boost::asio::awaitable<std::optional<protocol::raw_value>> async_next();

  // Connection side.
  bool full() const { return items_.size() >= capacity_; }
  boost::asio::awaitable<void> async_wait_space();
  void push(protocol::raw_value v);
  void complete(std::optional<std::string> error);
  bool completed() const { return completed_; }

 private:
  std::deque<protocol::raw_value> items_;
  std::size_t capacity_;
  bool completed_ = false;
  std::optional<std::string> error_;
  event readable_;  // an item or the end arrived
  event writable_;  // an item was taken or the end arrived
};

}  // namespace detail

template <class T>
class stream_writer {
 public:
  explicit stream_writer(std::shared_ptr<detail::stream_sink> sink) : sink_(std::move(sink)) {}
  // Sends one item when awaited; throws stream_cancelled if the client cancelled.
  [[nodiscard]] boost::asio::awaitable<void> write(T item) {
    return sink_->async_write(protocol::payload::of(std::move(item)));
  }
  // Sends an item already encoded as a T (protocol::payload::preserialize): one encoding shared
  // by every stream that sends it.
  [[nodiscard]] boost::asio::awaitable<void> write_payload(protocol::payload item) {
    return sink_->async_write(std::move(item));
  }
  bool cancelled() const { return sink_->cancelled(); }
  boost::asio::awaitable<void> wait_cancelled() { return sink_->async_wait_cancelled(); }
  // The sink itself (stream_source writes to it without a coroutine per item).
  const std::shared_ptr<detail::stream_sink>& sink() const { return sink_; }

 private:
  std::shared_ptr<detail::stream_sink> sink_;
};

template <class T>
class async_stream {
 public:
  using value_type = T;
  using producer_type = std::function<boost::asio::awaitable<void>(stream_writer<T>)>;

  async_stream() = default;
  template <class F>
  async_stream(F f) : producer_(std::move(f)) {}  // NOLINT: implicit from a coroutine lambda

  const producer_type& producer() const { return producer_; }

 private:
  producer_type producer_;
};

template <class T>
class stream_reader {
 public:
  using value_type = T;
  stream_reader() = default;
  explicit stream_reader(std::shared_ptr<detail::upload_channel> ch) : ch_(std::move(ch)) {}

  // The next item, or nullopt when the client completed the stream.
  boost::asio::awaitable<std::optional<T>> next() {
    auto v = co_await ch_->async_next();
    if (!v) co_return std::nullopt;
    co_return std::optional<T>(from_raw<T>(*v));
  }

 private:
  std::shared_ptr<detail::upload_channel> ch_;
};

}  // namespace hubcast
