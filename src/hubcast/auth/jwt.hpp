// JSON Web Token validation and issuing on OpenSSL 3 (docs/auth.md).
// Security rules: an explicit algorithm allowlist; the key's type must match the algorithm
// (no `alg: none`, no HS256 keyed with an RSA public key); HMAC tags compared in constant
// time; iss/aud/exp/nbf checked with a bounded clock skew; a size limit on tokens.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include <hubcast/auth/claims_principal.hpp>

namespace hubcast::auth {

enum class jwt_alg { hs256, hs384, hs512, rs256, rs384, rs512, es256, es384, ps256 };
std::optional<jwt_alg> parse_jwt_alg(std::string_view name);
std::string_view jwt_alg_name(jwt_alg a);

// A verification (or signing) key. Symmetric keys hold bytes; asymmetric ones an EVP_PKEY.
class jwt_key {
 public:
  enum class kind { symmetric, rsa, ec };

  static jwt_key symmetric(std::string secret, std::string kid = {});
  // PEM public key (SubjectPublicKeyInfo) or private key (for issuing). Throws on bad PEM.
  static jwt_key from_pem(std::string_view pem, std::string kid = {});
  // Every usable key of a JWKS document (`kty` RSA / EC / oct). Throws on malformed JSON.
  static std::vector<jwt_key> from_jwks(std::string_view jwks_json);

  kind type() const { return kind_; }
  const std::string& kid() const { return kid_; }
  const std::string& secret() const { return secret_; }
  void* pkey() const { return pkey_.get(); }  // EVP_PKEY*
  int ec_bits() const { return ec_bits_; }
  bool is_private() const { return private_; }

 private:
  kind kind_ = kind::symmetric;
  std::string kid_;
  std::string secret_;
  std::shared_ptr<void> pkey_;
  int ec_bits_ = 0;
  bool private_ = false;
};

struct jwt_validation_options {
  std::vector<jwt_alg> algorithms{jwt_alg::hs256};
  std::vector<jwt_key> keys;
  std::vector<std::string> valid_issuers;    // empty: issuer not checked
  std::vector<std::string> valid_audiences;  // empty: audience not checked
  std::chrono::seconds clock_skew{300};      // ASP.NET Core's default
  std::size_t max_token_bytes = 8192;
  bool require_expiration = true;
};

struct jwt_validation_result {
  bool valid = false;
  std::string error;  // why not (for logs; never contains the token)
  // Why not, as a metric label: too_large, malformed, unsigned, algorithm, no_key, signature,
  // no_expiration, expired, not_yet_valid, issuer, audience.
  const char* reason = "";
  claims_principal principal;
  std::optional<std::chrono::system_clock::time_point> expires_at;
  boost::json::object payload;
};

class jwt_validator {
 public:
  explicit jwt_validator(jwt_validation_options options);
  jwt_validation_result validate(
      std::string_view token,
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;
  const jwt_validation_options& options() const { return options_; }

 private:
  jwt_validation_options options_;
};

// Signs `claims` (iat/nbf/exp added from `lifetime` unless present) with `key`.
std::string issue_jwt(const boost::json::object& claims, jwt_alg alg, const jwt_key& key,
                      std::chrono::seconds lifetime,
                      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Claims principal of a validated payload: every claim by name, arrays expanded; `roles` is
// folded into `role`.
claims_principal principal_from_payload(const boost::json::object& payload);

}  // namespace hubcast::auth
