#include <hubcast/auth/bearer.hpp>

#include <hubcast/metrics/server_metrics.hpp>

namespace hubcast::auth {

bearer_authenticator::bearer_authenticator(std::shared_ptr<const jwt_validator> validator,
                                           std::vector<std::string> prefixes)
    : validator_(std::move(validator)), prefixes_(std::move(prefixes)) {}

bool bearer_authenticator::starts_with_segments(std::string_view path, std::string_view prefix) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix == "/") return true;
  if (!http::istarts_with(path, prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

authentication_result bearer_authenticator::authenticate(const http::request& req) const {
  authentication_result r;
  std::string token;
  // Two Authorization headers (or two access_token parameters) are one ambiguous credential:
  // ASP.NET joins the values with a comma, which then fails to parse. Never pick one.
  if (req.header_count("Authorization") > 1) {
    r.token_present = true;
    r.reason = "ambiguous";
    r.error = "more than one Authorization header";
    return r;
  }
  if (auto h = req.header("Authorization")) {
    std::string_view v = *h;
    if (v.size() > 7 && http::iequals(v.substr(0, 7), "Bearer ")) {
      v.remove_prefix(7);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      token = std::string(v);
    }
  }
  if (token.empty()) {
    bool hub_path = false;
    for (const auto& p : prefixes_) hub_path = hub_path || starts_with_segments(req.path, p);
    if (hub_path && req.query_param_count("access_token") > 1) {
      r.token_present = true;
      r.reason = "ambiguous";
      r.error = "more than one access_token parameter";
      return r;
    }
    if (hub_path) {
      if (auto q = req.query_param("access_token")) token = std::move(*q);
    }
  }
  if (token.empty()) return r;
  r.token_present = true;
  auto v = validator_->validate(token);
  if (!v.valid) {
    metrics::jwt_rejected(v.reason);
    r.reason = v.reason;
    r.error = std::move(v.error);
    return r;
  }
  r.authenticated = true;
  r.principal = std::make_shared<const claims_principal>(std::move(v.principal));
  r.expires_at = v.expires_at;
  return r;
}

}  // namespace hubcast::auth
