#include <hubcast/hubs/hub_filter.hpp>

namespace hubcast {

boost::asio::awaitable<invocation_result> next_invocation::operator()(
    hub_invocation_context& ctx) const {
  return p_->invoke(ctx, *call_, index_);
}

boost::asio::awaitable<void> next_connected::operator()(hub_lifetime_context& ctx) const {
  return p_->connected(ctx, index_);
}

boost::asio::awaitable<void> next_disconnected::operator()(
    hub_lifetime_context& ctx, const std::optional<std::string>& error) const {
  return p_->disconnected(ctx, error, index_);
}

namespace detail {

// Each step returns the next filter's awaitable (or the hub's) without a frame of its own: a
// pipeline of n filters costs the filters' own coroutines and nothing more.
boost::asio::awaitable<invocation_result> hub_filter_pipeline::invoke(hub_invocation_context& ctx,
                                                                      const bound_call& call,
                                                                      std::size_t from) const {
  if (from >= filters_.size()) return call(ctx.hub_instance());
  return filters_[from]->invoke_method(ctx, next_invocation(*this, from + 1, call));
}

boost::asio::awaitable<void> hub_filter_pipeline::connected(hub_lifetime_context& ctx,
                                                            std::size_t from) const {
  if (from >= filters_.size()) return ctx.hub_instance().on_connected();
  return filters_[from]->on_connected(ctx, next_connected(*this, from + 1));
}

boost::asio::awaitable<void> hub_filter_pipeline::disconnected(
    hub_lifetime_context& ctx, const std::optional<std::string>& error, std::size_t from) const {
  if (from >= filters_.size()) return ctx.hub_instance().on_disconnected(error);
  return filters_[from]->on_disconnected(ctx, error, next_disconnected(*this, from + 1));
}

}  // namespace detail

}  // namespace hubcast
