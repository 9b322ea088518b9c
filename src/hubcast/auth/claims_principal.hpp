// Who is connected: the claims of a validated token (ClaimsPrincipal). Empty when anonymous.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubcast::auth {

struct claim {
  std::string type;
  std::string value;
};

class claims_principal {
 public:
  claims_principal() = default;
  claims_principal(std::vector<claim> claims, bool authenticated)
      : claims_(std::move(claims)), authenticated_(authenticated) {}

  bool is_authenticated() const { return authenticated_; }
  const std::vector<claim>& claims() const { return claims_; }

  std::optional<std::string_view> find_first(std::string_view type) const {
    for (const auto& c : claims_)
      if (c.type == type) return std::string_view(c.value);
    return std::nullopt;
  }
  bool has_claim(std::string_view type, std::string_view value) const {
    for (const auto& c : claims_)
      if (c.type == type && c.value == value) return true;
    return false;
  }
  bool is_in_role(std::string_view role) const { return has_claim("role", role); }
  // `sub` / `nameid`: what the default user-id provider uses.
  std::optional<std::string_view> name_identifier() const {
    if (auto v = find_first("nameid")) return v;
    return find_first("sub");
  }

 private:
  std::vector<claim> claims_;
  bool authenticated_ = false;
};

}  // namespace hubcast::auth
