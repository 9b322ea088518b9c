// JWT bearer authentication of an HTTP request: the `Authorization: Bearer` header anywhere,
// the `access_token` query parameter only under the configured hub path prefixes (browsers
// cannot set headers on WebSocket and EventSource requests; other endpoints must not accept
// tokens in URLs, which end up in logs and browser history).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <hubcast/auth/claims_principal.hpp>
#include <hubcast/auth/jwt.hpp>
#include <hubcast/http/request.hpp>

namespace hubcast::auth {

struct authentication_result {
  bool token_present = false;
  bool authenticated = false;
  std::string error;  // never contains the token
  // Why a present token was refused, as jwt_validation_result::reason ("expired", …).
  const char* reason = "";
  std::shared_ptr<const claims_principal> principal;
  std::optional<std::chrono::system_clock::time_point> expires_at;
};

class bearer_authenticator {
 public:
  bearer_authenticator(std::shared_ptr<const jwt_validator> validator,
                       std::vector<std::string> query_token_path_prefixes = {"/hubs"});

  authentication_result authenticate(const http::request& req) const;
  const jwt_validator& validator() const { return *validator_; }

  // True when `path` equals `prefix` or continues it with '/' (PathString.StartsWithSegments).
  static bool starts_with_segments(std::string_view path, std::string_view prefix);

 private:
  std::shared_ptr<const jwt_validator> validator_;
  std::vector<std::string> prefixes_;
};

}  // namespace hubcast::auth
