#include <hubcast/transport/connection.hpp>

#include <hubcast/metrics/hub_metrics.hpp>
#include <hubcast/metrics/server_metrics.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hubcast::transport {

namespace asio = boost::asio;

boost::system::error_code websocket_end_reason(const boost::system::error_code& ec,
                                               bool peer_closed) {
  namespace sys = boost::system;
  if (!ec) return ec;
  if (peer_closed) return errc::connection_closed;
  if (ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
      ec == asio::error::timed_out)
    return errc::connection_closed_prematurely;
  if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
    return errc::connection_aborted;
  if (ec == sys::errc::message_size) return errc::message_too_large;
  if (ec == sys::errc::illegal_byte_sequence || ec == sys::errc::protocol_error)
    return errc::protocol_violation;
  if (ec.category() == error_category()) return ec;
  return errc::transport_failed;
}

std::string_view transport_name(transport_type t) {
  switch (t) {
    case transport_type::websockets:
      return "WebSockets";
    case transport_type::server_sent_events:
      return "ServerSentEvents";
    case transport_type::long_polling:
      return "LongPolling";
    default:
      return "";
  }
}

connection::connection(std::string id, std::string token, int negotiate_version,
                       queue_limits limits)
    : id_(std::move(id)),
      token_(std::move(token)),
      negotiate_version_(negotiate_version),
      limits_(limits),
      queue_(limits),
      created_at_(std::chrono::steady_clock::now()) {}

connection::~connection() {
  release_pending();
}

void connection::attach(transport_type t, http::request req, std::size_t shard,
                        asio::any_io_executor ex, http::websocket* ws) {
  transport_ = t;
  req.body.clear();
  request_ = std::move(req);
  shard_ = shard;
  executor_ = ex;
  ws_ = ws;
  signal_ = std::make_unique<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
  input_signal_ = std::make_unique<hubcast::event>(ex);
  transport_active_ = true;
  int none = 0;
  if (metrics_state_.compare_exchange_strong(none, 1)) {
    metrics_started_at_ = std::chrono::steady_clock::now();
    metrics::connection_started(metrics_transport_name(t));
  }
}

std::string_view metrics_transport_name(transport_type t) {
  switch (t) {
    case transport_type::websockets:
      return "web_sockets";
    case transport_type::server_sent_events:
      return "server_sent_events";
    case transport_type::long_polling:
      return "long_polling";
    default:
      return "none";
  }
}

void connection::record_end(std::string_view status) {
  int started = 1;
  if (metrics_state_.compare_exchange_strong(started, 2))
    metrics::connection_ended(metrics_transport_name(transport_), status,
                              std::chrono::steady_clock::now() - metrics_started_at_);
}

void connection::push_input(std::string data, bool binary) {
  if (input_ended_) return;
  // A client posting faster than the hub reads: bounded like the output.
  if (data.size() > limits_.max_bytes || input_bytes_ > limits_.max_bytes - data.size()) {
    spdlog::warn("connection {}: input queue over {} bytes; closing it", id_, limits_.max_bytes);
    abort();
    return;
  }
  input_bytes_ += data.size();
  input_.push_back({std::move(data), binary});
  if (input_signal_) input_signal_->notify_all();
}

void connection::end_input(boost::system::error_code reason) {
  if (!input_ended_) input_end_reason_ = reason ? reason : make_error_code(errc::connection_closed);
  input_ended_ = true;
  if (input_signal_) input_signal_->notify_all();
}

std::vector<shared_bytes> connection::take_output() {
  std::vector<shared_bytes> out;
  out.reserve(queue_.size());
  while (!queue_.empty()) out.push_back(queue_.take_front());
  on_written();
  return out;
}

void connection::on_written() {
  if (drained_ && queued_bytes() <= drained_at_) drained_->notify_all();
}

asio::awaitable<void> connection::async_wait_drained(std::size_t bytes) {
  auto self = shared_from_this();
  if (!drained_) drained_ = std::make_unique<hubcast::event>(co_await asio::this_coro::executor);
  drained_at_ = bytes;
  auto drained = drained_->async_wait_until(
      [this, bytes] { return queued_bytes() <= bytes || completed_ || aborted_; });
  co_await std::move(drained);
}

asio::awaitable<boost::system::error_code> connection::async_read(std::string& out, bool& binary) {
  // Input that ended says why; otherwise an abort is the server's.
  auto ended = [this] {
    return input_ended_ ? input_end_reason_ : make_error_code(errc::connection_aborted);
  };
  if (aborted_) co_return ended();
  if (ws_) {
    auto ec = co_await ws_->async_read(out, binary);
    if (!ec) co_return ec;
    if (aborted_) co_return errc::connection_aborted;
    co_return websocket_end_reason(ec, ws_ && ws_->peer_closed());
  }
  if (!input_signal_) co_return errc::connection_closed;
  auto arrived = input_signal_->async_wait_until(
      [this] { return input_head_ != input_.size() || input_ended_ || aborted_; });
  co_await std::move(arrived);
  if (input_head_ == input_.size()) co_return ended();
  auto& chunk = input_[input_head_++];
  out = std::move(chunk.data);
  binary = chunk.binary;
  input_bytes_ -= out.size();
  if (input_head_ == input_.size()) {
    input_.clear();
    input_head_ = 0;
  }
  co_return boost::system::error_code{};
}

send_result connection::try_send(shared_bytes bytes) {
  if (completed_ || aborted_) return send_result::closed;
  if (!queue_.push(std::move(bytes))) {
    spdlog::warn("connection {}: outbound queue full ({} messages, {} bytes); closing it", id_,
                 queue_.size(), queue_.bytes());
    metrics::queue_overflows().add();
    abort();
    return send_result::overflow;
  }
  wake();
  return send_result::ok;
}

void connection::complete() {
  if (completed_) return;
  completed_ = true;
  wake();
  if (drained_) drained_->notify_all();
}

void connection::abort() {
  if (aborted_) return;
  aborted_ = true;
  completed_ = true;
  queue_.clear();
  if (ws_) ws_->abort();
  wake();
  if (input_signal_) input_signal_->notify_all();
  if (drained_) drained_->notify_all();
}

void connection::transport_lost() {
  lost_ = true;
  lost_since_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  wake();
}

std::uint64_t connection::begin_attachment() {
  ++attachment_;
  lost_ = false;
  queue_.clear();
  if (attachment_ > 1) notify(event::reconnected);
  wake();
  return attachment_;
}

bool connection::take_ready(std::uint64_t attachment, batch& b) {
  if (attachment != attachment_ || aborted_ || lost_) {
    b.done = true;
    return true;
  }
  if (!queue_.empty()) {
    std::size_t take = coalesce_ ? std::min<std::size_t>(queue_.size(), 1024) : 1;
    for (std::size_t i = 0; i < take; ++i) b.parts.push_back(queue_.take_front());
    b.binary = binary_;
    on_written();
    return true;
  }
  if (completed_) {
    b.done = true;
    return true;
  }
  return false;
}

asio::awaitable<void> connection::wait_for_output() {
  auto waiting = async_wait_output(asio::steady_timer::time_point::max());
  co_await std::move(waiting);
  // Woken by a send: let what is already queued on this shard run first (the rest of the
  // same fan-out, the next broadcast's fan-out), so that under load several messages share
  // one write. Idle, this costs one trip through the run queue.
  co_await asio::post(signal_->get_executor(), asio::use_awaitable);
}

asio::awaitable<connection::batch> connection::async_take_output(std::uint64_t attachment) {
  auto self = shared_from_this();
  batch b;
  while (!take_ready(attachment, b)) co_await wait_for_output();
  co_return b;
}

void connection::touch() {
  last_activity_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
}

std::uint64_t connection::begin_poll() {
  auto mine = ++poll_generation_;
  poll_active_ = true;
  touch();
  wake();  // a previous poll still waiting is superseded: it answers 204
  return mine;
}

void connection::end_poll() {
  poll_active_ = false;
  touch();
}

asio::awaitable<void> connection::async_wait_output(
    std::chrono::steady_clock::time_point deadline) {
  signal_->expires_at(deadline);
  ++signal_waiters_;
  co_await signal_->async_wait(asio::as_tuple(asio::use_awaitable));
  --signal_waiters_;
}

void connection::wake() {
  if (sink_) {
    sink_->on_output();
    return;
  }
  // Only waiters need the timer cancelled (a cancel takes the reactor's lock): a broadcast to a
  // connection whose writer is busy costs a queue push.
  if (signal_ && signal_waiters_ > 0) signal_->cancel();
}

bool connection::try_start() {
  if (started_.exchange(true)) return false;
  release_pending();
  return true;
}

void connection::count_as_pending(std::shared_ptr<std::atomic<std::size_t>> counter) {
  pending_counter_ = std::move(counter);
  pending_counter_->fetch_add(1);
}

void connection::release_pending() {
  if (pending_counter_ && !pending_released_.exchange(true)) pending_counter_->fetch_sub(1);
}

}  // namespace hubcast::transport
