#include <hubcast/server/authorization_filter.hpp>

namespace hubcast {

boost::asio::awaitable<invocation_result> authorization_filter::invoke_method(
    hub_invocation_context& ctx, next_invocation next) {
  const auto& policies = ctx.policies();
  if (!policies.empty() && !evaluate_(policies, ctx.context().user()))
    throw unauthorized_invocation();
  // No frame of its own: the next step's awaitable is the answer.
  return next(ctx);
}

bool authorization_filter::guards_any(const std::vector<detail::method_descriptor>& methods) {
  for (const auto& m : methods)
    if (!m.policies.empty()) return true;
  return false;
}

}  // namespace hubcast
