// Hub filters (IHubFilter): code that runs around every hub method invocation and around
// on_connected / on_disconnected, for logging, metrics, rate limits, authorization.
//
//   class timing_filter : public hubcast::hub_filter {
//     boost::asio::awaitable<hubcast::invocation_result> invoke_method(
//         hubcast::hub_invocation_context& ctx, hubcast::next_invocation next) override {
//       auto start = std::chrono::steady_clock::now();
//       auto result = co_await next(ctx);   // the next filter, then the hub method
//       spdlog::info("{} took {}", ctx.method_name(), std::chrono::steady_clock::now() - start);
//       co_return result;
//     }
//   };
//   app.add_hub_filter(std::make_shared<timing_filter>());   // every hub (AddSignalR().AddFilter)
//   hub_options o; o.filters.push_back(...);                 // one hub (AddHubOptions<T>)
//
// Filters run in order: the app's global filters first, then the hub's own, then the method. A
// filter that throws ends the invocation with that error (a hub_exception's message reaches the
// client); one that does not call `next` skips the method and answers with what it returns.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <hubcast/hubs/hub.hpp>
#include <hubcast/hubs/method_table.hpp>

namespace hubcast {

// What a filter gets back from the method (the value, or the stream it returned).
using invocation_result = detail::invocation_outcome;

namespace detail {
class hub_filter_pipeline;
}

// One invocation of a hub method (HubInvocationContext).
class hub_invocation_context {
 public:
  hub_invocation_context(hub& h, std::string_view hub_name, const detail::method_descriptor& m,
                         const std::vector<protocol::raw_value>& arguments)
      : hub_(h), hub_name_(hub_name), method_(m), arguments_(arguments) {}

  hub& hub_instance() const { return hub_; }
  // The caller: connection id, user, request, items.
  hub_caller_context& context() const { return hub_.context(); }
  // The path the hub is mapped at.
  std::string_view hub_name() const { return hub_name_; }
  // The method's name as registered (whatever case the client used).
  const std::string& method_name() const { return method_.name; }
  bool streaming() const { return method_.streaming; }
  // The authorization policies the method requires (hub_methods::require).
  const std::vector<std::string>& policies() const { return method_.policies; }
  // The client's arguments as its protocol parsed them (HubMethodArguments; upload streams and
  // the cancellation token are not among them). The method gets its own bound copies: a filter
  // reads these, it cannot change what the method receives.
  const std::vector<protocol::raw_value>& arguments() const { return arguments_; }
  // Argument `i` bound to `T` as the method's parameter is (hubcast::from_raw). Throws
  // std::out_of_range past the last one, binding_error when it is not a T.
  template <class T>
  T argument(std::size_t i) const {
    return from_raw<T>(arguments_.at(i));
  }

 private:
  hub& hub_;
  std::string_view hub_name_;
  const detail::method_descriptor& method_;
  const std::vector<protocol::raw_value>& arguments_;
};

// A connection arriving or leaving (HubLifetimeContext).
class hub_lifetime_context {
 public:
  hub_lifetime_context(hub& h, std::string_view hub_name) : hub_(h), hub_name_(hub_name) {}
  hub& hub_instance() const { return hub_; }
  hub_caller_context& context() const { return hub_.context(); }
  std::string_view hub_name() const { return hub_name_; }

 private:
  hub& hub_;
  std::string_view hub_name_;
};

// The rest of the pipeline after a filter: call it (at most once) to go on.
class next_invocation {
 public:
  next_invocation(const detail::hub_filter_pipeline& p, std::size_t index,
                  const detail::bound_call& call)
      : p_(&p), index_(index), call_(&call) {}
  boost::asio::awaitable<invocation_result> operator()(hub_invocation_context& ctx) const;

 private:
  const detail::hub_filter_pipeline* p_;
  std::size_t index_;
  const detail::bound_call* call_;
};

class next_connected {
 public:
  next_connected(const detail::hub_filter_pipeline& p, std::size_t index) : p_(&p), index_(index) {}
  boost::asio::awaitable<void> operator()(hub_lifetime_context& ctx) const;

 private:
  const detail::hub_filter_pipeline* p_;
  std::size_t index_;
};

class next_disconnected {
 public:
  next_disconnected(const detail::hub_filter_pipeline& p, std::size_t index)
      : p_(&p), index_(index) {}
  boost::asio::awaitable<void> operator()(hub_lifetime_context& ctx,
                                          const std::optional<std::string>& error) const;

 private:
  const detail::hub_filter_pipeline* p_;
  std::size_t index_;
};

class hub_filter {
 public:
  virtual ~hub_filter() = default;
  // Around every invocation (InvokeMethodAsync). For a streaming method it wraps the call that
  // starts the stream, not the items.
  virtual boost::asio::awaitable<invocation_result> invoke_method(hub_invocation_context& ctx,
                                                                  next_invocation next) {
    return next(ctx);
  }
  // Around hub::on_connected (OnConnectedAsync); throwing closes the connection with an error.
  virtual boost::asio::awaitable<void> on_connected(hub_lifetime_context& ctx,
                                                    next_connected next) {
    return next(ctx);
  }
  // Around hub::on_disconnected (OnDisconnectedAsync); `error` is why the connection ended.
  virtual boost::asio::awaitable<void> on_disconnected(hub_lifetime_context& ctx,
                                                       const std::optional<std::string>& error,
                                                       next_disconnected next) {
    return next(ctx, error);
  }
};

// Thrown by a filter to refuse an invocation as unauthorized: the client's completion says
// "Failed to invoke '<method>' because user is unauthorized", as for a failed policy.
class unauthorized_invocation : public std::runtime_error {
 public:
  unauthorized_invocation() : std::runtime_error("The user is not authorized to invoke it.") {}
};

namespace detail {

// The filters of one hub, in the order they run.
class hub_filter_pipeline {
 public:
  hub_filter_pipeline() = default;
  explicit hub_filter_pipeline(std::vector<std::shared_ptr<hub_filter>> filters)
      : filters_(std::move(filters)) {}

  bool empty() const { return filters_.empty(); }
  std::size_t size() const { return filters_.size(); }

  boost::asio::awaitable<invocation_result> invoke(hub_invocation_context& ctx,
                                                   const bound_call& call,
                                                   std::size_t from = 0) const;
  boost::asio::awaitable<void> connected(hub_lifetime_context& ctx, std::size_t from = 0) const;
  boost::asio::awaitable<void> disconnected(hub_lifetime_context& ctx,
                                            const std::optional<std::string>& error,
                                            std::size_t from = 0) const;

 private:
  std::vector<std::shared_ptr<hub_filter>> filters_;
};

}  // namespace detail

}  // namespace hubcast
