// "Run that on its shard and come back": runs the coroutine `f()` on `target` (a connection's
// shard, a worker pool) and resumes the caller on its own executor with the result (with
// run_on<void>, when it is done); an exception of `f()` is rethrown to the caller.
//
// A thread-safe channel carries the result back: awaiting co_spawn across executors corrupted
// memory here (g++ 12 + Asio 1.26). Build the returned awaitable in its own statement before
// awaiting it (g++ 12 mishandles temporaries inside a co_await full-expression).
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hubcast {

template <class T, class Executor, class F>
boost::asio::awaitable<T> run_on(Executor target, F f) {
  namespace asio = boost::asio;
  // run_on<void>: the coroutine's completion (or its exception) only.
  using stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  using channel = asio::experimental::concurrent_channel<void(
      boost::system::error_code, std::exception_ptr, std::optional<stored>)>;
  auto self_ex = co_await asio::this_coro::executor;
  auto ch = std::make_shared<channel>(self_ex, 1);
  auto task = [f = std::move(f), ch]() mutable -> asio::awaitable<void> {
    std::optional<stored> r;
    std::exception_ptr error;
    try {
      auto inner = f();
      if constexpr (std::is_void_v<T>) {
        co_await std::move(inner);
        r.emplace();
      } else {
        r.emplace(co_await std::move(inner));
      }
    } catch (...) {
      error = std::current_exception();  // rethrown on the caller's side
    }
    ch->try_send(boost::system::error_code{}, error, std::move(r));
  };
  asio::co_spawn(target, std::move(task), asio::detached);
  auto [error, result] = co_await ch->async_receive(asio::use_awaitable);
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) co_return std::move(*result);
}

}  // namespace hubcast
