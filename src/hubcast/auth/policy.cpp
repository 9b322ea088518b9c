#include <hubcast/auth/policy.hpp>

namespace hubcast::auth {

authorization_policy& authorization_policy::require_authenticated() {
  requirements_.push_back([](const claims_principal& u) { return u.is_authenticated(); });
  return *this;
}

authorization_policy& authorization_policy::require_role(std::vector<std::string> roles) {
  requirements_.push_back([roles = std::move(roles)](const claims_principal& u) {
    if (!u.is_authenticated()) return false;
    for (const auto& r : roles)
      if (u.is_in_role(r)) return true;
    return false;
  });
  return *this;
}

authorization_policy& authorization_policy::require_claim(std::string type,
                                                          std::vector<std::string> allowed) {
  requirements_.push_back(
      [type = std::move(type), allowed = std::move(allowed)](const claims_principal& u) {
        if (!u.is_authenticated()) return false;
        if (allowed.empty()) return u.find_first(type).has_value();
        for (const auto& v : allowed)
          if (u.has_claim(type, v)) return true;
        return false;
      });
  return *this;
}

authorization_policy& authorization_policy::require(
    std::function<bool(const claims_principal&)> predicate) {
  requirements_.push_back(std::move(predicate));
  return *this;
}

bool authorization_policy::evaluate(const claims_principal& user) const {
  for (const auto& r : requirements_)
    if (!r(user)) return false;
  return true;
}

void policy_registry::add(std::string name, authorization_policy p) {
  policies_[std::move(name)] = std::move(p);
}

const authorization_policy* policy_registry::find(const std::string& name) const {
  auto it = policies_.find(name);
  return it == policies_.end() ? nullptr : &it->second;
}

}  // namespace hubcast::auth
