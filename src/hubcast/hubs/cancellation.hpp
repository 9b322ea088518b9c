// A hub method's cancellation (ASP.NET Core's CancellationToken parameter): a method that takes
// a `cancellation_token` learns when the client cancels that invocation (CancelInvocation; the
// 11.0 .NET client sends it when the token given to InvokeAsync is cancelled) or the connection
// ends. The parameter is not one of the invocation's arguments.
//
//   boost::asio::awaitable<int> slow(int n, hubcast::cancellation_token cancel) {
//     for (int i = 0; i < n && !cancel.is_cancellation_requested(); ++i) co_await step();
//     co_return n;
//   }
#pragma once

#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <hubcast/core/event.hpp>

namespace hubcast {

namespace detail {

// Lives on the connection's shard; cancelled by the dispatcher there.
class cancellation_state {
 public:
  explicit cancellation_state(boost::asio::any_io_executor ex);
  bool cancelled() const { return cancelled_; }
  void cancel();
  boost::asio::awaitable<void> async_wait();

 private:
  event event_;
  bool cancelled_ = false;
};

}  // namespace detail

class cancellation_token {
 public:
  // Never cancelled.
  cancellation_token() = default;
  explicit cancellation_token(std::shared_ptr<detail::cancellation_state> s) : s_(std::move(s)) {}

  bool is_cancellation_requested() const { return s_ && s_->cancelled(); }
  // Completes once cancelled (never for a default token): race it against the work, e.g. with
  // Asio's awaitable operators `co_await (work() || cancel.async_wait_cancelled())`.
  [[nodiscard]] boost::asio::awaitable<void> async_wait_cancelled() const;

 private:
  std::shared_ptr<detail::cancellation_state> s_;
};

}  // namespace hubcast
