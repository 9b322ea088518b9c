#include "transport/connection.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hubcast::transport {

namespace asio = boost::asio;

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
  input_signal_ = std::make_unique<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
  transport_active_ = true;
}

void connection::push_input(std::string data, bool binary) {
  if (input_ended_) return;
  // A client posting faster than the hub reads: bounded like the output.
  std::size_t pending = data.size();
  for (const auto& c : input_) pending += c.data.size();
  if (pending > limits_.max_bytes) {
    spdlog::warn("connection {}: input queue over {} bytes; closing it", id_, limits_.max_bytes);
    abort();
    return;
  }
  input_.push_back({std::move(data), binary});
  if (input_signal_) input_signal_->cancel();
}

void connection::end_input() {
  input_ended_ = true;
  if (input_signal_) input_signal_->cancel();
}

std::vector<shared_bytes> connection::take_output() {
  std::vector<shared_bytes> out(std::make_move_iterator(queue_.begin()),
                                std::make_move_iterator(queue_.end()));
  queue_.clear();
  queued_bytes_ = 0;
  return out;
}

asio::awaitable<void> connection::async_wait_output() {
  while (queue_.empty() && !completed_ && !aborted_) {
    signal_->expires_at(asio::steady_timer::time_point::max());
    ++signal_waiters_;
    co_await signal_->async_wait(asio::as_tuple(asio::use_awaitable));
    --signal_waiters_;
  }
}

asio::awaitable<bool> connection::async_read(std::string& out, bool& binary) {
  if (aborted_) co_return false;
  if (ws_) {
    auto ec = co_await ws_->async_read(out, binary);
    co_return !ec;
  }
  while (input_.empty()) {
    if (input_ended_ || aborted_ || !input_signal_) co_return false;
    input_signal_->expires_at(asio::steady_timer::time_point::max());
    co_await input_signal_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  out = std::move(input_.front().data);
  binary = input_.front().binary;
  input_.pop_front();
  co_return true;
}

send_result connection::try_send(shared_bytes bytes) {
  if (completed_ || aborted_) return send_result::closed;
  if (queue_.size() >= limits_.max_messages || queued_bytes_ + bytes->size() > limits_.max_bytes) {
    spdlog::warn("connection {}: outbound queue full ({} messages, {} bytes); closing it", id_,
                 queue_.size(), queued_bytes_);
    abort();
    return send_result::overflow;
  }
  queued_bytes_ += bytes->size();
  queue_.push_back(std::move(bytes));
  wake();
  return send_result::ok;
}

void connection::complete() {
  if (completed_) return;
  completed_ = true;
  wake();
}

void connection::abort() {
  if (aborted_) return;
  aborted_ = true;
  completed_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  if (ws_) ws_->abort();
  wake();
  if (input_signal_) input_signal_->cancel();
}

void connection::transport_lost() {
  lost = true;
  lost_since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
  wake();
}

std::uint64_t connection::begin_attachment() {
  ++attachment_;
  lost = false;
  queue_.clear();
  queued_bytes_ = 0;
  if (attachment_ > 1 && on_reconnected) on_reconnected();
  wake();
  return attachment_;
}

bool connection::take_ready(std::uint64_t attachment, batch& b) {
  if (attachment != attachment_ || aborted_ || lost) {
    b.done = true;
    return true;
  }
  if (!queue_.empty()) {
    std::size_t take = coalesce_ ? std::min<std::size_t>(queue_.size(), 1024) : 1;
    for (std::size_t i = 0; i < take; ++i) {
      queued_bytes_ -= queue_.front()->size();
      b.parts.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    b.binary = binary_;
    return true;
  }
  if (completed_) {
    b.done = true;
    return true;
  }
  return false;
}

asio::awaitable<void> connection::wait_for_output() {
  signal_->expires_at(asio::steady_timer::time_point::max());
  ++signal_waiters_;
  co_await signal_->async_wait(asio::as_tuple(asio::use_awaitable));
  --signal_waiters_;
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
  last_activity_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
}

asio::awaitable<connection::poll_result> connection::async_poll(std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  auto mine = ++poll_generation_;
  poll_active = true;
  touch();
  wake();  // a previous poll still waiting is superseded: it answers 204
  auto deadline = std::chrono::steady_clock::now() + timeout;
  poll_result r;
  for (;;) {
    if (mine != poll_generation_) {
      r.status = 204;
      co_return r;
    }
    if (!queue_.empty()) {
      std::size_t total = 0;
      for (auto& b : queue_) total += b->size();
      r.body.reserve(total);
      for (auto& b : queue_) r.body += *b;
      queue_.clear();
      queued_bytes_ = 0;
      break;
    }
    if (completed_ || aborted_) {
      r.status = 204;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;  // 200, empty: poll again
    signal_->expires_at(deadline);
    ++signal_waiters_;
    co_await signal_->async_wait(asio::as_tuple(asio::use_awaitable));
    --signal_waiters_;
  }
  poll_active = false;
  touch();
  co_return r;
}

asio::awaitable<void> connection::run_sse_writer(http::exchange& ex) {
  auto self = shared_from_this();
  std::string event;
  for (;;) {
    auto b = co_await async_take_output(attachment_);
    if (b.done) break;
    std::string payload;
    for (const auto& part : b.parts) payload += *part;
    if (payload.empty()) continue;  // an empty payload is never an event
    // One `data:` line per payload line (a trailing \r removed), then a blank line (§3.3).
    event.clear();
    std::string_view rest(payload);
    for (;;) {
      auto nl = rest.find('\n');
      auto line = rest.substr(0, nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      event += "data: ";
      event += line;
      event += "\r\n";
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
    event += "\r\n";
    std::string_view part(event);
    auto ec = co_await ex.async_write_body(std::span<const std::string_view>(&part, 1));
    if (ec) {
      aborted_ = true;
      break;
    }
  }
  completed_ = true;
  ex.close_stream();
}

void connection::wake() {
  // Only waiters need the timer cancelled (a cancel takes the reactor's lock): a broadcast to a
  // connection whose writer is busy costs a queue push.
  if (signal_ && signal_waiters_ > 0) signal_->cancel();
}

asio::awaitable<void> connection::run_websocket_writer() {
  auto self = shared_from_this();
  std::vector<std::string_view> parts;
  batch out;  // reused: no allocation per write
  bool failed = false;
  for (;;) {
    // Everything queued goes out as one WebSocket message (hub protocols parse several records
    // per message); raw connections send one message per send.
    out.parts.clear();
    if (!take_ready(attachment_, out)) {
      // Waiting here, not in a nested coroutine: no coroutine frame per delivery.
      signal_->expires_at(asio::steady_timer::time_point::max());
      ++signal_waiters_;
      co_await signal_->async_wait(asio::as_tuple(asio::use_awaitable));
      --signal_waiters_;
      co_await asio::post(signal_->get_executor(), asio::use_awaitable);
      continue;
    }
    if (out.done || !ws_) break;
    parts.clear();
    for (const auto& part : out.parts) parts.emplace_back(*part);
    auto ec = co_await ws_->async_write(parts, out.binary);
    if (ec) {
      failed = true;
      break;
    }
  }
  if (ws_ && !aborted_ && !failed) {
    co_await ws_->async_close(1000);
  } else if (ws_) {
    ws_->abort();
  }
  aborted_ = aborted_ || failed;
  completed_ = true;
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
