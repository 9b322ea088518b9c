// Method authorization as a hub filter: a method registered with hub_methods::require(policy)
// runs only for callers that satisfy every named policy; others get "Failed to invoke '<m>'
// because user is unauthorized" ([Authorize(Policy = …)] on a hub method).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <hubcast/auth/claims_principal.hpp>
#include <hubcast/hubs/hub_filter.hpp>

namespace hubcast {

class authorization_filter final : public hub_filter {
 public:
  // Decides whether `user` satisfies every policy named (unknown names must refuse).
  using evaluator =
      std::function<bool(const std::vector<std::string>& policies, const auth::claims_principal&)>;
  explicit authorization_filter(evaluator evaluate) : evaluate_(std::move(evaluate)) {}

  boost::asio::awaitable<invocation_result> invoke_method(hub_invocation_context& ctx,
                                                          next_invocation next) override;

  // Whether a hub with these methods needs the filter at all.
  static bool guards_any(const std::vector<detail::method_descriptor>& methods);

 private:
  evaluator evaluate_;
};

}  // namespace hubcast
