// A wake-up for coroutines of one executor (a shard, a connection's strand): the condition
// variable of a single-threaded event loop.
//
//   co_await ev.async_wait_until([&] { return ready(); });            // or, with a deadline:
//   bool ok = co_await ev.async_wait_until([&] { return ready(); }, deadline);
//   ...                                                               // on the same executor:
//   make_ready(); ev.notify_all();
//
// notify_all() resumes every coroutine waiting at that moment; with none waiting it does
// nothing (it is not remembered), which is why waits are for a condition, tested before each
// wait with no suspension in between. Not thread-safe: notify on the event's executor (post
// there from other threads). A waiting coroutine whose own operation is cancelled (its
// cancellation slot: a parallel group, a stop) gets boost::asio::error::operation_aborted
// thrown from the wait.
//
// This replaces the "steady_timer that never expires, cancelled to wake" idiom with the same
// mechanism under a name that says what it is for, and deadlines without polling.
#pragma once

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace hubcast {

class event {
 public:
  using clock = std::chrono::steady_clock;

  explicit event(boost::asio::any_io_executor ex)
      : timer_(std::move(ex), boost::asio::steady_timer::time_point::max()) {}
  event(const event&) = delete;
  event& operator=(const event&) = delete;
  // Waiters must be gone (a waiting coroutine holds a pointer to its event).
  ~event() = default;

  // Resumes every coroutine waiting now (each on its own turn of the executor). With nobody
  // waiting it costs a test: a timer's cancel takes the reactor's lock.
  void notify_all() {
    if (untimed_ > 0) timer_.cancel();
    for (auto* t : timed_) t->cancel();
  }

  // Until the next notify_all().
  boost::asio::awaitable<void> async_wait() {
    ++untimed_;
    auto [ec] = co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    --untimed_;
    (void)ec;  // operation_aborted is the wake-up itself
    // Read in this frame (no coroutine of its own: a wake-up allocates nothing more).
    auto state = co_await boost::asio::this_coro::cancellation_state;
    throw_if_cancelled(state);
  }

  // Until `ready()` holds; tested first, then after each wake-up.
  template <class Predicate>
  boost::asio::awaitable<void> async_wait_until(Predicate ready) {
    while (!ready()) co_await async_wait();
  }

  // The same with a deadline: true when `ready()` holds, false when the deadline came first.
  template <class Predicate>
  boost::asio::awaitable<bool> async_wait_until(Predicate ready, clock::time_point deadline) {
    if (ready()) co_return true;
    boost::asio::steady_timer alarm(timer_.get_executor(), deadline);
    for (;;) {
      timed_.push_back(&alarm);
      auto [ec] = co_await alarm.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      timed_.erase(std::find(timed_.begin(), timed_.end(), &alarm));
      auto state = co_await boost::asio::this_coro::cancellation_state;
      throw_if_cancelled(state);
      if (ready()) co_return true;
      if (!ec || clock::now() >= deadline) co_return false;  // expired
      alarm.expires_at(deadline);                            // notified: wait again
    }
  }

  template <class Predicate>
  boost::asio::awaitable<bool> async_wait_for(Predicate ready, clock::duration timeout) {
    return async_wait_until(std::move(ready), clock::now() + timeout);
  }

  boost::asio::any_io_executor get_executor() { return timer_.get_executor(); }

 private:
  boost::asio::steady_timer timer_;                // the untimed waits share it
  int untimed_ = 0;                                // coroutines waiting on timer_
  std::vector<boost::asio::steady_timer*> timed_;  // each timed wait has its own

  static void throw_if_cancelled(const boost::asio::cancellation_state& state) {
    if (state.cancelled() != boost::asio::cancellation_type::none)
      throw boost::system::system_error(boost::asio::error::operation_aborted);
  }
};

}  // namespace hubcast
