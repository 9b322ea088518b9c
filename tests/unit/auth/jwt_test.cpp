#include <hubcast/auth/jwt.hpp>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <boost/json/serialize.hpp>

#include <hubcast/auth/base64url.hpp>
#include <hubcast/auth/bearer.hpp>
#include <hubcast/auth/policy.hpp>

using namespace hubcast::auth;
namespace bj = boost::json;
using std::chrono::seconds;
using std::chrono::system_clock;

namespace {

std::string pem_of(EVP_PKEY* k, bool priv) {
  BIO* b = BIO_new(BIO_s_mem());
  if (priv)
    PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  else
    PEM_write_bio_PUBKEY(b, k);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, std::size_t(n));
  BIO_free(b);
  return out;
}

struct key_pair {
  jwt_key priv;
  jwt_key pub;
  EVP_PKEY* raw;
};

key_pair make_rsa(std::string kid = {}) {
  EVP_PKEY* k = EVP_RSA_gen(2048);
  return {jwt_key::from_pem(pem_of(k, true), kid), jwt_key::from_pem(pem_of(k, false), kid), k};
}
key_pair make_ec(const char* curve, std::string kid = {}) {
  EVP_PKEY* k = EVP_EC_gen(curve);
  return {jwt_key::from_pem(pem_of(k, true), kid), jwt_key::from_pem(pem_of(k, false), kid), k};
}

// Generated once: RSA key generation is slow.
const key_pair& rsa() {
  static key_pair k = make_rsa("rsa-1");
  return k;
}
const key_pair& ec256() {
  static key_pair k = make_ec("P-256", "ec-1");
  return k;
}
const key_pair& ec384() {
  static key_pair k = make_ec("P-384");
  return k;
}

const std::string secret = "0123456789abcdef0123456789abcdef-secret";

bj::object claims() {
  return bj::object{{"sub", "user-1"},
                    {"email", "a@b.c"},
                    {"role", bj::array{"Admin", "Trader"}},
                    {"iss", "hubcast"},
                    {"aud", "stockhub"}};
}

jwt_validation_options opts(std::vector<jwt_alg> algs, std::vector<jwt_key> keys) {
  jwt_validation_options o;
  o.algorithms = std::move(algs);
  o.keys = std::move(keys);
  o.valid_issuers = {"hubcast"};
  o.valid_audiences = {"stockhub"};
  o.clock_skew = seconds(30);
  return o;
}

std::string forge(const bj::object& header, const bj::object& payload, std::string sig = "sig") {
  return base64url_encode(bj::serialize(header)) + "." + base64url_encode(bj::serialize(payload)) +
         "." + base64url_encode(sig);
}

}  // namespace

TEST(Jwt, EveryAlgorithmRoundTrips) {
  struct c {
    jwt_alg alg;
    jwt_key sign;
    jwt_key verify;
  };
  std::vector<c> cases = {
      {jwt_alg::hs256, jwt_key::symmetric(secret), jwt_key::symmetric(secret)},
      {jwt_alg::hs384, jwt_key::symmetric(secret), jwt_key::symmetric(secret)},
      {jwt_alg::hs512, jwt_key::symmetric(secret), jwt_key::symmetric(secret)},
      {jwt_alg::rs256, rsa().priv, rsa().pub},
      {jwt_alg::rs384, rsa().priv, rsa().pub},
      {jwt_alg::rs512, rsa().priv, rsa().pub},
      {jwt_alg::ps256, rsa().priv, rsa().pub},
      {jwt_alg::es256, ec256().priv, ec256().pub},
      {jwt_alg::es384, ec384().priv, ec384().pub},
  };
  for (auto& t : cases) {
    auto token = issue_jwt(claims(), t.alg, t.sign, seconds(60));
    jwt_validator v(opts({t.alg}, {t.verify}));
    auto r = v.validate(token);
    EXPECT_TRUE(r.valid) << jwt_alg_name(t.alg) << ": " << r.error;
    EXPECT_EQ(r.principal.name_identifier(), "user-1");
    EXPECT_TRUE(r.principal.is_in_role("Admin"));
    EXPECT_TRUE(r.principal.is_in_role("Trader"));
    EXPECT_EQ(r.principal.find_first("email"), "a@b.c");
    ASSERT_TRUE(r.expires_at);
  }
}

TEST(Jwt, RefusesAlgNone) {
  auto token = forge({{"alg", "none"}, {"typ", "JWT"}}, claims(), "");
  jwt_validator v(opts({jwt_alg::hs256}, {jwt_key::symmetric(secret)}));
  EXPECT_FALSE(v.validate(token).valid);
  auto token2 = forge({{"alg", "none"}}, claims(), "x");
  EXPECT_EQ(v.validate(token2).error, "algorithm not allowed");
}

TEST(Jwt, RefusesAlgorithmsOutsideTheAllowlist) {
  auto token = issue_jwt(claims(), jwt_alg::hs512, jwt_key::symmetric(secret), seconds(60));
  jwt_validator v(opts({jwt_alg::hs256}, {jwt_key::symmetric(secret)}));
  EXPECT_EQ(v.validate(token).error, "algorithm not allowed");
}

TEST(Jwt, RefusesHmacKeyedWithTheRsaPublicKey) {
  // The classic confusion: sign HS256 with the server's public PEM as the HMAC secret.
  std::string public_pem = pem_of(rsa().raw, false);
  auto token = issue_jwt(claims(), jwt_alg::hs256, jwt_key::symmetric(public_pem), seconds(60));
  jwt_validator v(opts({jwt_alg::hs256, jwt_alg::rs256}, {rsa().pub}));
  auto r = v.validate(token);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.error, "no key for the algorithm");
}

TEST(Jwt, RefusesBadSignatures) {
  auto token = issue_jwt(claims(), jwt_alg::hs256, jwt_key::symmetric(secret), seconds(60));
  jwt_validator v(
      opts({jwt_alg::hs256}, {jwt_key::symmetric("another-secret-of-enough-length!!")}));
  EXPECT_EQ(v.validate(token).error, "invalid signature");
  auto rs = issue_jwt(claims(), jwt_alg::rs256, rsa().priv, seconds(60));
  rs[rs.size() - 5] = rs[rs.size() - 5] == 'A' ? 'B' : 'A';
  jwt_validator vr(opts({jwt_alg::rs256}, {rsa().pub}));
  EXPECT_FALSE(vr.validate(rs).valid);
  // A valid signature over a tampered payload.
  auto good = issue_jwt(claims(), jwt_alg::hs256, jwt_key::symmetric(secret), seconds(60));
  auto parts_end = good.find('.');
  auto tampered =
      good.substr(0, parts_end + 1) +
      base64url_encode(R"({"sub":"admin","iss":"hubcast","aud":"stockhub","exp":9999999999})") +
      good.substr(good.rfind('.'));
  jwt_validator vh(opts({jwt_alg::hs256}, {jwt_key::symmetric(secret)}));
  EXPECT_EQ(vh.validate(tampered).error, "invalid signature");
}

TEST(Jwt, LifetimeWithClockSkew) {
  auto now = system_clock::now();
  jwt_validator v(opts({jwt_alg::hs256}, {jwt_key::symmetric(secret)}));
  auto token = issue_jwt(claims(), jwt_alg::hs256, jwt_key::symmetric(secret), seconds(60), now);
  EXPECT_TRUE(v.validate(token, now + seconds(80)).valid) << "inside the 30 s skew";
  EXPECT_EQ(v.validate(token, now + seconds(91)).error, "token expired");
  EXPECT_EQ(v.validate(token, now - seconds(31)).error, "token not yet valid");
  auto c = claims();
  c["exp"] = "soon";
  auto bad = issue_jwt(c, jwt_alg::hs256, jwt_key::symmetric(secret), seconds(60), now);
  EXPECT_EQ(v.validate(bad, now).error, "malformed exp, nbf or iat");
}

// A correctly signed HS256 token whose payload is exactly `payload_json`.
static std::string sign_raw(const std::string& payload_json) {
  auto input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(payload_json);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + base64url_encode(std::string(reinterpret_cast<char*>(mac), len));
}

TEST(Jwt, TimeClaimsMustBeFiniteNumbersInRange) {
  jwt_validator v(opts({jwt_alg::hs256}, {jwt_key::symmetric(secret)}));
  const std::string base = R"("sub":"u","iss":"hubcast","aud":"stockhub")";
  auto with = [&](const std::string& claims) { return sign_raw("{" + base + "," + claims + "}"); };
  EXPECT_TRUE(v.validate(with(R"("exp":9999999999,"nbf":0,"iat":1700000000.5)")).valid);
  for (const char* bad : {R"("exp":1e309)", R"("exp":-1e309)", R"("exp":"9999999999")",
                          R"("exp":1e300)", R"("exp":99999999999999999999999)",
                          R"("exp":18446744073709551615)", R"("exp":253402300800)", R"("exp":-1)",
                          R"("exp":null)", R"("exp":true)", R"("exp":[9999999999])",
                          R"("exp":9999999999,"nbf":"0")", R"("exp":9999999999,"nbf":-1e309)",
                          R"("exp":9999999999,"iat":1e309)", R"("exp":9999999999,"iat":"now")"}) {
    auto r = v.validate(with(bad));
    EXPECT_FALSE(r.valid) << bad;
    EXPECT_EQ(r.error, "malformed exp, nbf or iat") << bad;
  }
}

TEST(Jwt, RequiresExpirationByDefault) {
  // A correctly signed token without `exp`.
  auto input =
      base64url_encode(R"({"alg":"HS256"})") + "." + base64url_encode(bj::serialize(claims()));
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  auto token = input + "." + base64url_encode(std::string(reinterpret_cast<char*>(mac), len));
  auto o = opts({jwt_alg::hs256}, {jwt_key::symmetric(secret)});
  EXPECT_EQ(jwt_validator(o).validate(token).error, "token has no expiration");
  o.require_expiration = false;
  EXPECT_TRUE(jwt_validator(o).validate(token).valid);
}

TEST(Jwt, IssuerAndAudience) {
  jwt_validator v(opts({jwt_alg::hs256}, {jwt_key::symmetric(secret)}));
  auto c = claims();
  c["iss"] = "evil";
  EXPECT_EQ(v.validate(issue_jwt(c, jwt_alg::hs256, jwt_key::symmetric(secret), seconds(60))).error,
            "invalid issuer");
  c = claims();
  c["aud"] = "other";
  EXPECT_EQ(v.validate(issue_jwt(c, jwt_alg::hs256, jwt_key::symmetric(secret), seconds(60))).error,
            "invalid audience");
  c["aud"] = bj::array{"other", "stockhub"};
  EXPECT_TRUE(
      v.validate(issue_jwt(c, jwt_alg::hs256, jwt_key::symmetric(secret), seconds(60))).valid);
  c.erase("aud");
  EXPECT_EQ(v.validate(issue_jwt(c, jwt_alg::hs256, jwt_key::symmetric(secret), seconds(60))).error,
            "invalid audience");
}

TEST(Jwt, SizeLimitAndMalformedInput) {
  auto o = opts({jwt_alg::hs256}, {jwt_key::symmetric(secret)});
  o.max_token_bytes = 64;
  jwt_validator small(o);
  EXPECT_EQ(
      small.validate(issue_jwt(claims(), jwt_alg::hs256, jwt_key::symmetric(secret), seconds(60)))
          .error,
      "token too large");
  jwt_validator v(opts({jwt_alg::hs256}, {jwt_key::symmetric(secret)}));
  EXPECT_EQ(v.validate("abc").error, "malformed token: expected three segments");
  EXPECT_EQ(v.validate("a.b.c.d").error, "malformed token: expected three segments");
  EXPECT_EQ(v.validate("a*.b.c").error, "malformed token: bad base64url");
  EXPECT_EQ(v.validate(base64url_encode("not json") + "." + base64url_encode("{}") + ".c2ln").error,
            "malformed token: header is not a JSON object");
  auto h = base64url_encode(R"({"alg":"HS256"})");
  auto p = base64url_encode("[1,2]");
  auto sig = base64url_encode(std::string(32, 'x'));
  EXPECT_FALSE(v.validate(h + "." + p + "." + sig).valid);
}

TEST(Jwt, KidSelectsTheKey) {
  auto a = jwt_key::symmetric(secret, "a");
  auto b = jwt_key::symmetric("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "b");
  jwt_validator v(opts({jwt_alg::hs256}, {a, b}));
  EXPECT_TRUE(v.validate(issue_jwt(claims(), jwt_alg::hs256, b, seconds(60))).valid);
  auto unknown = jwt_key::symmetric(secret, "zzz");
  EXPECT_EQ(v.validate(issue_jwt(claims(), jwt_alg::hs256, unknown, seconds(60))).error,
            "no key matches the token's kid and algorithm");
}

TEST(Jwt, KeysFromJwks) {
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  EVP_PKEY_get_bn_param(rsa().raw, OSSL_PKEY_PARAM_RSA_N, &n);
  EVP_PKEY_get_bn_param(rsa().raw, OSSL_PKEY_PARAM_RSA_E, &e);
  auto bn = [](BIGNUM* x) {
    std::string s(std::size_t(BN_num_bytes(x)), '\0');
    BN_bn2bin(x, reinterpret_cast<unsigned char*>(s.data()));
    return base64url_encode(s);
  };
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  EVP_PKEY_get_bn_param(ec256().raw, OSSL_PKEY_PARAM_EC_PUB_X, &x);
  EVP_PKEY_get_bn_param(ec256().raw, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
  auto pad32 = [](BIGNUM* v) {
    std::string s(32, '\0');
    BN_bn2binpad(v, reinterpret_cast<unsigned char*>(s.data()), 32);
    return base64url_encode(s);
  };
  bj::object doc{
      {"keys",
       bj::array{
           bj::object{{"kty", "RSA"}, {"kid", "rsa-1"}, {"n", bn(n)}, {"e", bn(e)}},
           bj::object{
               {"kty", "EC"}, {"kid", "ec-1"}, {"crv", "P-256"}, {"x", pad32(x)}, {"y", pad32(y)}},
           bj::object{{"kty", "oct"}, {"kid", "h"}, {"k", base64url_encode(secret)}},
       }}};
  BN_free(n);
  BN_free(e);
  BN_free(x);
  BN_free(y);
  auto keys = jwt_key::from_jwks(bj::serialize(doc));
  ASSERT_EQ(keys.size(), 3u);
  jwt_validator v(opts({jwt_alg::rs256, jwt_alg::es256, jwt_alg::hs256}, keys));
  EXPECT_TRUE(v.validate(issue_jwt(claims(), jwt_alg::rs256, rsa().priv, seconds(60))).valid);
  EXPECT_TRUE(v.validate(issue_jwt(claims(), jwt_alg::es256, ec256().priv, seconds(60))).valid);
  EXPECT_TRUE(
      v.validate(issue_jwt(claims(), jwt_alg::hs256, jwt_key::symmetric(secret, "h"), seconds(60)))
          .valid);
  EXPECT_THROW(jwt_key::from_jwks("{}"), std::invalid_argument);
}

TEST(Bearer, QueryTokenOnlyOnHubPaths) {
  auto v =
      std::make_shared<const jwt_validator>(opts({jwt_alg::hs256}, {jwt_key::symmetric(secret)}));
  bearer_authenticator b(v, {"/hubs"});
  auto token = issue_jwt(claims(), jwt_alg::hs256, jwt_key::symmetric(secret), seconds(60));
  hubcast::http::request r;
  r.path = "/hubs/stocks";
  r.query = "id=x&access_token=" + token;
  EXPECT_TRUE(b.authenticate(r).authenticated);
  r.path = "/api/me";
  EXPECT_FALSE(b.authenticate(r).token_present) << "never from the query off hub paths";
  r.path = "/hubsX";
  EXPECT_FALSE(b.authenticate(r).token_present);
  r.query.clear();
  r.headers = {{"Authorization", "Bearer " + token}};
  EXPECT_TRUE(b.authenticate(r).authenticated) << "the header works everywhere";
  r.headers = {{"Authorization", "Bearer nonsense"}};
  auto bad = b.authenticate(r);
  EXPECT_TRUE(bad.token_present);
  EXPECT_FALSE(bad.authenticated);
}

TEST(Bearer, RefusesTwoCredentials) {
  auto v =
      std::make_shared<const jwt_validator>(opts({jwt_alg::hs256}, {jwt_key::symmetric(secret)}));
  bearer_authenticator b(v, {"/hubs"});
  auto token = issue_jwt(claims(), jwt_alg::hs256, jwt_key::symmetric(secret), seconds(60));
  hubcast::http::request r;
  r.path = "/hubs/stocks";
  r.headers = {{"Authorization", "Bearer " + token}, {"authorization", "Bearer garbage"}};
  auto two = b.authenticate(r);
  EXPECT_TRUE(two.token_present);
  EXPECT_FALSE(two.authenticated) << "the valid first header must not win";
  r.headers = {{"Authorization", "Bearer " + token}, {"Authorization", "Bearer " + token}};
  EXPECT_FALSE(b.authenticate(r).authenticated) << "even two identical ones";
  r.headers.clear();
  r.query = "access_token=" + token + "&access_token=junk";
  EXPECT_FALSE(b.authenticate(r).authenticated);
  EXPECT_TRUE(b.authenticate(r).token_present);
  r.query = "access_token=" + token;
  EXPECT_TRUE(b.authenticate(r).authenticated);
}

TEST(Policy, RolesClaimsAndPredicates) {
  claims_principal admin({{"role", "Admin"}, {"email", "a@x"}, {"tier", "gold"}}, true);
  claims_principal anon;
  authorization_policy p;
  p.require_role({"Admin", "Ops"});
  EXPECT_TRUE(p.evaluate(admin));
  EXPECT_FALSE(p.evaluate(anon));
  authorization_policy c;
  c.require_claim("tier", {"gold", "platinum"});
  EXPECT_TRUE(c.evaluate(admin));
  authorization_policy c2;
  c2.require_claim("tier", {"silver"});
  EXPECT_FALSE(c2.evaluate(admin));
  authorization_policy pred;
  pred.require([](const claims_principal& u) { return u.find_first("email") == "a@x"; });
  EXPECT_TRUE(pred.evaluate(admin));
  policy_registry reg;
  reg.add("Admin", p);
  EXPECT_NE(reg.find("Admin"), nullptr);
  EXPECT_EQ(reg.find("Nope"), nullptr);
}
