#include <hubcast/hubs/cancellation.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace hubcast {

namespace asio = boost::asio;

namespace detail {

cancellation_state::cancellation_state(asio::any_io_executor ex)
    : event_(std::move(ex), asio::steady_timer::time_point::max()) {}

void cancellation_state::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  event_.cancel();
}

asio::awaitable<void> cancellation_state::async_wait() {
  if (cancelled_) co_return;
  // The timer never expires (and is never re-armed, so waiters do not cancel each other): a
  // wait ends when cancel() runs, or when the waiter's own operation is cancelled (the losing
  // side of `||`), which is passed on as operation_aborted.
  co_await event_.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!cancelled_) throw boost::system::system_error(asio::error::operation_aborted);
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
