// Authorization requirements (ASP.NET Core policies): authenticated, roles, claims with values,
// custom predicates. A policy passes when every requirement passes.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <hubcast/auth/claims_principal.hpp>

namespace hubcast::auth {

class authorization_policy {
 public:
  authorization_policy& require_authenticated();
  // The user must have at least one of `roles`.
  authorization_policy& require_role(std::vector<std::string> roles);
  // The claim must be present; when `allowed` is not empty its value must be one of them.
  authorization_policy& require_claim(std::string type, std::vector<std::string> allowed = {});
  authorization_policy& require(std::function<bool(const claims_principal&)> predicate);

  bool evaluate(const claims_principal& user) const;

 private:
  std::vector<std::function<bool(const claims_principal&)>> requirements_;
};

class policy_registry {
 public:
  void add(std::string name, authorization_policy p);
  // nullptr for an unknown name (callers fail closed).
  const authorization_policy* find(const std::string& name) const;

 private:
  std::map<std::string, authorization_policy> policies_;
};

}  // namespace hubcast::auth
