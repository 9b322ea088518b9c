// JWT validation as the bearer handler runs it. The first byte picks what the rest is:
//   0: a whole token (header, payload and signature paths as received);
//   1: a payload, signed correctly with the validator's HS256 key, so the claim checks
//      (exp/nbf/iat, iss, aud, roles) see fuzzed JSON past the signature;
//   2: a header, signed correctly (alg, kid, typ handling);
//   3: two Authorization header values and a query string for the bearer handler.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <hubcast/auth/base64url.hpp>
#include <hubcast/auth/bearer.hpp>
#include <hubcast/auth/jwt.hpp>

namespace {

const std::string secret = "fuzzing-secret-fuzzing-secret-0123456789";

const hubcast::auth::jwt_validator& validator() {
  static const hubcast::auth::jwt_validator v([] {
    hubcast::auth::jwt_validation_options o;
    o.algorithms = {hubcast::auth::jwt_alg::hs256, hubcast::auth::jwt_alg::hs512};
    o.keys = {hubcast::auth::jwt_key::symmetric(secret, "k1")};
    o.valid_issuers = {"stockhub"};
    o.valid_audiences = {"stockhub-clients"};
    return o;
  }());
  return v;
}

std::string sign(std::string_view header, std::string_view payload) {
  auto input =
      hubcast::auth::base64url_encode(header) + "." + hubcast::auth::base64url_encode(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." +
         hubcast::auth::base64url_encode(std::string_view(reinterpret_cast<char*>(mac), len));
}

void check(const hubcast::auth::jwt_validation_result& r) {
  if (!r.valid) return;
  // A valid token has a principal and an expiry the clock can compare.
  (void)r.principal.name_identifier();
  (void)r.principal.is_in_role("Admin");
  if (r.expires_at) (void)r.expires_at->time_since_epoch().count();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      check(validator().validate(in));
      break;
    case 1:
      check(validator().validate(sign(R"({"alg":"HS256","typ":"JWT"})", in)));
      break;
    case 2:
      check(validator().validate(
          sign(in, R"({"sub":"1","iss":"stockhub","aud":"stockhub-clients","exp":9999999999})")));
      break;
    default: {
      static const auto shared = std::make_shared<const hubcast::auth::jwt_validator>(validator());
      hubcast::auth::bearer_authenticator bearer(shared, {"/hubs"});
      hubcast::http::request r;
      r.path = "/hubs/stocks";
      auto nl = in.find('\n');
      r.headers.push_back({"Authorization", std::string(in.substr(0, nl))});
      if (nl != std::string_view::npos) {
        auto rest = in.substr(nl + 1);
        auto nl2 = rest.find('\n');
        r.headers.push_back({"Authorization", std::string(rest.substr(0, nl2))});
        if (nl2 != std::string_view::npos) r.query = std::string(rest.substr(nl2 + 1));
      }
      auto a = bearer.authenticate(r);
      if (a.authenticated && r.headers.size() > 1) __builtin_trap();  // two headers never win
      r.headers.resize(1);
      (void)bearer.authenticate(r);
    }
  }
  return 0;
}
