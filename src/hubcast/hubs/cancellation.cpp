#include <hubcast/hubs/cancellation.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hubcast {

namespace asio = boost::asio;

namespace detail {

cancellation_state::cancellation_state(asio::any_io_executor ex) : event_(std::move(ex)) {}

void cancellation_state::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  event_.notify_all();
}

asio::awaitable<void> cancellation_state::async_wait() {
  // Ends when cancel() runs, or when the waiter's own operation is cancelled (the losing side
  // of `||`): operation_aborted, thrown by the event.
  co_await event_.async_wait_until([this] { return cancelled_; });
}

}  // namespace detail

asio::awaitable<void> cancellation_token::async_wait_cancelled() const {
  if (!s_) {
    // Never cancelled: waits until the waiter's own operation is cancelled (then throws).
    asio::steady_timer forever(co_await asio::this_coro::executor,
                               asio::steady_timer::time_point::max());
    co_await forever.async_wait(asio::use_awaitable);
  }
  auto keep = s_;
  co_await keep->async_wait();
}

}  // namespace hubcast
