// What the hub dispatcher keeps per connection (internal to src/dispatch): the invocation queue,
// uploads and server-to-client streams, and the sink a stream writes through.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hubcast/core/event.hpp>
#include <hubcast/core/fifo.hpp>
#include <hubcast/dispatch/hub_dispatcher.hpp>
#include <hubcast/hubs/cancellation.hpp>
#include <hubcast/session/hub_connection.hpp>

namespace hubcast::dispatch {

namespace asio = boost::asio;

constexpr std::size_t stream_backpressure_bytes = 256 * 1024;

// Server-to-client stream bound to one invocation id.
class stream_sink_impl final : public detail::stream_sink {
 public:
  stream_sink_impl(std::shared_ptr<session::hub_connection> hc, std::string id,
                   asio::any_io_executor ex)
      : hc_(std::move(hc)), id_(std::move(id)), cancelled_event_(std::move(ex)) {}

  asio::awaitable<void> async_write(protocol::payload item) override {
    if (cancelled_) throw stream_cancelled();
    // A slow client: wait for its queue to drain rather than buffer without bound.
    if (hc_->transport().queued_bytes() > stream_backpressure_bytes && !hc_->closing()) {
      auto draining = hc_->transport().async_wait_drained(stream_backpressure_bytes / 2);
      co_await std::move(draining);
    }
    if (cancelled_ || !hc_->send_stream_item(id_, item)) throw stream_cancelled();
  }

  bool cancelled() const override { return cancelled_; }

  detail::try_write_result try_write(const protocol::payload& item,
                                     detail::framing_cache& cache) override {
    if (cancelled_ || hc_->closing() || !hc_->protocol())
      return detail::try_write_result::cancelled;
    if (hc_->transport().queued_bytes() > stream_backpressure_bytes)
      return detail::try_write_result::full;
    const auto* proto = hc_->protocol();
    auto bytes = cache.find(proto, id_);
    if (!bytes) {
      std::string out;
      proto->write_stream_item(out, id_, item, hc_->options().encoding);
      bytes = std::make_shared<const std::string>(std::move(out));
      cache.add(proto, id_, bytes);
    }
    return hc_->send_framed(std::move(bytes)) ? detail::try_write_result::written
                                              : detail::try_write_result::cancelled;
  }

  asio::awaitable<void> async_wait_writable() override {
    if (cancelled_ || hc_->closing()) co_return;
    if (hc_->transport().queued_bytes() > stream_backpressure_bytes / 2) {
      auto draining = hc_->transport().async_wait_drained(stream_backpressure_bytes / 2);
      co_await std::move(draining);
    }
  }

  asio::awaitable<void> async_wait_cancelled() override {
    co_await cancelled_event_.async_wait_until([this] { return cancelled_; });
  }

  // The producer sees the cancellation at its next write or in wait_cancelled(). (Emitting an
  // Asio cancellation signal into the producer's own awaits was tried: the signal must outlive
  // the coroutine's last resumption, which the dispatcher cannot see.)
  void cancel() {
    if (cancelled_) return;
    cancelled_ = true;
    cancelled_event_.notify_all();
    if (linked_) linked_->cancel();
  }
  // The method's cancellation_token, cancelled with the stream.
  void link(std::shared_ptr<detail::cancellation_state> c) { linked_ = std::move(c); }

 private:
  std::shared_ptr<session::hub_connection> hc_;
  std::string id_;
  hubcast::event cancelled_event_;
  bool cancelled_ = false;
  std::shared_ptr<detail::cancellation_state> linked_;
};

struct hub_dispatcher::connection_state : std::enable_shared_from_this<connection_state> {
  struct pending_call {
    std::optional<std::string> id;
    std::string target;  // as the client spelled it
    const detail::method_descriptor* method = nullptr;
    detail::bound_call call;
    invocation_arguments arguments;  // for the filters
    std::vector<std::string> upload_ids;
    // Registered in `cancellations` under `id` while queued or running (methods that take a
    // cancellation_token, with an invocation id).
    std::shared_ptr<detail::cancellation_state> cancellation;
    // Not a method: the hub's on_authentication_refreshed(), which ASP.NET Core serializes with
    // the invocations (MaximumParallelInvocationsPerClient).
    bool authentication_refreshed = false;
  };

  std::shared_ptr<transport::connection> conn;
  std::shared_ptr<session::hub_connection> hc;
  boost::asio::any_io_executor ex;
  fifo<pending_call> queue;
  bool worker_running = false;
  bool reader_done = false;
  bool connected = false;  // OnConnectedAsync ran and the lifetime manager took it
  std::unordered_map<std::string, std::shared_ptr<detail::upload_channel>> uploads;
  std::unordered_map<std::string, std::shared_ptr<stream_sink_impl>> streams;
  // Non-streaming invocations a CancelInvocation can reach (11.0 clients send it for them).
  std::unordered_map<std::string, std::shared_ptr<detail::cancellation_state>> cancellations;
  std::optional<std::string> close_error;
};

}  // namespace hubcast::dispatch
