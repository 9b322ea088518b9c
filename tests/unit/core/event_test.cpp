// core/event: notify wakes every waiter, waits are for a condition, deadlines, cancellation.
#include <hubcast/core/event.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>

#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace hubcast {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

template <class F>
void spawn(asio::io_context& io, F f) {
  asio::co_spawn(io, std::move(f), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

TEST(Event, NotifyWakesEveryWaiterAndIsNotRemembered) {
  asio::io_context io;
  event ev(io.get_executor());
  ev.notify_all();  // nobody waits: nothing happens, and nothing is kept for later
  int ready = 0, woken = 0;
  for (int i = 0; i < 3; ++i)
    spawn(io, [&]() -> asio::awaitable<void> {
      co_await ev.async_wait_until([&] { return ready > 0; });
      ++woken;
    });
  io.poll();
  EXPECT_EQ(woken, 0);
  ev.notify_all();  // woken, the condition is false: they wait again
  io.poll();
  EXPECT_EQ(woken, 0);
  ready = 1;
  ev.notify_all();
  io.poll();
  EXPECT_EQ(woken, 3);
}

TEST(Event, AConditionAlreadyTrueDoesNotWait) {
  asio::io_context io;
  event ev(io.get_executor());
  bool done = false, timed = false;
  spawn(io, [&]() -> asio::awaitable<void> {
    co_await ev.async_wait_until([] { return true; });
    timed = co_await ev.async_wait_for([] { return true; }, 1h);
    done = true;
  });
  io.poll();
  EXPECT_TRUE(done);
  EXPECT_TRUE(timed);
}

TEST(Event, ADeadlineEndsTheWaitWithFalseAndNotificationsDoNotExtendIt) {
  asio::io_context io;
  event ev(io.get_executor());
  std::optional<bool> result;
  auto started = event::clock::now();
  spawn(io, [&]() -> asio::awaitable<void> {
    result = co_await ev.async_wait_for([] { return false; }, 50ms);
  });
  // Notified often while it waits: each time it looks, and waits on to the same deadline.
  asio::steady_timer poke(io);
  std::function<void()> again = [&] {
    ev.notify_all();
    if (result) return;
    poke.expires_after(5ms);
    poke.async_wait([&](boost::system::error_code) { again(); });
  };
  again();
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(*result);
  EXPECT_GE(event::clock::now() - started, 50ms);
}

TEST(Event, ATimedWaitSeesTheConditionWhenNotified) {
  asio::io_context io;
  event ev(io.get_executor());
  bool ready = false;
  std::optional<bool> result;
  spawn(io, [&]() -> asio::awaitable<void> {
    result = co_await ev.async_wait_for([&] { return ready; }, 1h);
  });
  io.poll();
  EXPECT_FALSE(result.has_value());
  ready = true;
  ev.notify_all();
  io.run();  // returns: no timer is left behind
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(*result);
}

TEST(Event, TheWaitersOwnCancellationThrowsOperationAborted) {
  asio::io_context io;
  event ev(io.get_executor());
  asio::cancellation_signal untimed, timed;
  int aborted = 0;
  auto count = [&](std::exception_ptr e) {
    try {
      if (e) std::rethrow_exception(e);
    } catch (const boost::system::system_error& err) {
      if (err.code() == asio::error::operation_aborted) ++aborted;
    }
  };
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { co_await ev.async_wait_until([] { return false; }); },
      asio::bind_cancellation_slot(untimed.slot(), count));
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { co_await ev.async_wait_for([] { return false; }, 1h); },
      asio::bind_cancellation_slot(timed.slot(), count));
  io.poll();
  untimed.emit(asio::cancellation_type::terminal);
  timed.emit(asio::cancellation_type::terminal);
  io.run();
  EXPECT_EQ(aborted, 2);
}

}  // namespace
}  // namespace hubcast
