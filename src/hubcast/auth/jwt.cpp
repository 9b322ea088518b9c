#include <hubcast/auth/jwt.hpp>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cmath>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <hubcast/auth/base64url.hpp>

namespace hubcast::auth {

namespace bj = boost::json;
using std::chrono::system_clock;

namespace {

const EVP_MD* digest_of(jwt_alg a) {
  switch (a) {
    case jwt_alg::hs256:
    case jwt_alg::rs256:
    case jwt_alg::es256:
    case jwt_alg::ps256:
      return EVP_sha256();
    case jwt_alg::hs384:
    case jwt_alg::rs384:
    case jwt_alg::es384:
      return EVP_sha384();
    case jwt_alg::hs512:
    case jwt_alg::rs512:
      return EVP_sha512();
  }
  return nullptr;
}

bool is_hmac(jwt_alg a) {
  return a == jwt_alg::hs256 || a == jwt_alg::hs384 || a == jwt_alg::hs512;
}
bool is_rsa(jwt_alg a) {
  return a == jwt_alg::rs256 || a == jwt_alg::rs384 || a == jwt_alg::rs512 || a == jwt_alg::ps256;
}
int ec_bits_of(jwt_alg a) {
  return a == jwt_alg::es256 ? 256 : a == jwt_alg::es384 ? 384 : 0;
}

// The key's type must match the algorithm: this is what stops algorithm-confusion attacks.
bool key_fits(const jwt_key& k, jwt_alg a) {
  if (is_hmac(a)) return k.type() == jwt_key::kind::symmetric && !k.secret().empty();
  if (is_rsa(a)) return k.type() == jwt_key::kind::rsa;
  return k.type() == jwt_key::kind::ec && k.ec_bits() == ec_bits_of(a);
}

std::shared_ptr<void> own_pkey(EVP_PKEY* p) {
  return std::shared_ptr<void>(p, [](void* x) { EVP_PKEY_free(static_cast<EVP_PKEY*>(x)); });
}

std::string hmac(jwt_alg a, const std::string& key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(digest_of(a), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len))
    return {};
  return std::string(reinterpret_cast<char*>(out), len);
}

// JWS ECDSA signatures are R || S; OpenSSL speaks DER.
std::string ecdsa_raw_to_der(std::string_view raw) {
  std::size_t half = raw.size() / 2;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), int(half), nullptr);
  BIGNUM* s =
      BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + half), int(half), nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  std::string out;
  if (len > 0) out.assign(reinterpret_cast<char*>(der), std::size_t(len));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

std::string ecdsa_der_to_raw(std::string_view der, int bits) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, long(der.size()));
  if (!sig) return {};
  int n = (bits + 7) / 8;
  std::string out(std::size_t(2 * n), '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(out.data()), n);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(out.data() + n), n);
  ECDSA_SIG_free(sig);
  return out;
}

bool verify_signature(jwt_alg a, const jwt_key& k, std::string_view signing_input,
                      const std::string& sig) {
  if (is_hmac(a)) {
    auto expected = hmac(a, k.secret(), signing_input);
    return !expected.empty() && expected.size() == sig.size() &&
           CRYPTO_memcmp(expected.data(), sig.data(), sig.size()) == 0;
  }
  std::string der;
  const std::string* s = &sig;
  if (!is_rsa(a)) {
    if (sig.size() != std::size_t(2 * ((k.ec_bits() + 7) / 8))) return false;
    der = ecdsa_raw_to_der(sig);
    s = &der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit(ctx, &pctx, digest_of(a), nullptr,
                                 static_cast<EVP_PKEY*>(k.pkey())) == 1;
  if (ok && a == jwt_alg::ps256) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(s->data()), s->size(),
                              reinterpret_cast<const unsigned char*>(signing_input.data()),
                              signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string sign(jwt_alg a, const jwt_key& k, std::string_view input) {
  if (!key_fits(k, a)) throw std::invalid_argument("the key does not fit the algorithm");
  if (is_hmac(a)) return hmac(a, k.secret(), input);
  if (!k.is_private()) throw std::invalid_argument("signing needs a private key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  std::string out;
  bool ok =
      EVP_DigestSignInit(ctx, &pctx, digest_of(a), nullptr, static_cast<EVP_PKEY*>(k.pkey())) == 1;
  if (ok && a == jwt_alg::ps256)
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  std::size_t len = 0;
  ok =
      ok && EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                           input.size()) == 1;
  if (ok) {
    out.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    out.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("signing failed");
  if (!is_rsa(a)) out = ecdsa_der_to_raw(out, k.ec_bits());
  return out;
}

// A NumericDate (RFC 7519 §2): seconds since the epoch, finite, within what .NET's DateTime can
// hold (0001-01-01 .. 9999-12-31). Anything else (a string, 1e309, a huge integer, a negative
// number) marks the token malformed rather than "never expires".
constexpr double max_numeric_date = 253402300799.0;

std::optional<double> number_claim(const bj::object& o, std::string_view name, bool& bad) {
  auto p = o.if_contains(name);
  if (!p) return std::nullopt;
  double v = 0;
  if (p->is_int64())
    v = double(p->get_int64());
  else if (p->is_uint64())
    v = double(p->get_uint64());
  else if (p->is_double())
    v = p->get_double();
  else {
    bad = true;
    return std::nullopt;
  }
  if (!std::isfinite(v) || v < 0 || v > max_numeric_date) {
    bad = true;
    return std::nullopt;
  }
  return v;
}

jwt_validation_result fail(const char* reason, std::string e) {
  jwt_validation_result r;
  r.reason = reason;
  r.error = std::move(e);
  return r;
}

std::string claim_text(const bj::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  return bj::serialize(v);
}

}  // namespace

std::optional<jwt_alg> parse_jwt_alg(std::string_view n) {
  if (n == "HS256") return jwt_alg::hs256;
  if (n == "HS384") return jwt_alg::hs384;
  if (n == "HS512") return jwt_alg::hs512;
  if (n == "RS256") return jwt_alg::rs256;
  if (n == "RS384") return jwt_alg::rs384;
  if (n == "RS512") return jwt_alg::rs512;
  if (n == "ES256") return jwt_alg::es256;
  if (n == "ES384") return jwt_alg::es384;
  if (n == "PS256") return jwt_alg::ps256;
  return std::nullopt;  // includes "none"
}

std::string_view jwt_alg_name(jwt_alg a) {
  switch (a) {
    case jwt_alg::hs256:
      return "HS256";
    case jwt_alg::hs384:
      return "HS384";
    case jwt_alg::hs512:
      return "HS512";
    case jwt_alg::rs256:
      return "RS256";
    case jwt_alg::rs384:
      return "RS384";
    case jwt_alg::rs512:
      return "RS512";
    case jwt_alg::es256:
      return "ES256";
    case jwt_alg::es384:
      return "ES384";
    case jwt_alg::ps256:
      return "PS256";
  }
  return "";
}

jwt_key jwt_key::symmetric(std::string secret, std::string kid) {
  jwt_key k;
  k.kind_ = kind::symmetric;
  k.secret_ = std::move(secret);
  k.kid_ = std::move(kid);
  return k;
}

jwt_key jwt_key::from_pem(std::string_view pem, std::string kid) {
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  EVP_PKEY* p = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  bool priv = false;
  if (!p) {
    BIO_free(bio);
    bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
    p = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    priv = p != nullptr;
  }
  BIO_free(bio);
  if (!p) throw std::invalid_argument("not a PEM public or private key");
  jwt_key k;
  k.pkey_ = own_pkey(p);
  k.kid_ = std::move(kid);
  k.private_ = priv;
  int id = EVP_PKEY_get_base_id(p);
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
    k.kind_ = kind::rsa;
  } else if (id == EVP_PKEY_EC) {
    k.kind_ = kind::ec;
    k.ec_bits_ = EVP_PKEY_get_bits(p);
  } else {
    throw std::invalid_argument("unsupported key type (RSA or EC only)");
  }
  return k;
}

std::vector<jwt_key> jwt_key::from_jwks(std::string_view text) {
  boost::system::error_code ec;
  auto doc = bj::parse(text, ec);
  if (ec || !doc.is_object() || !doc.as_object().contains("keys") ||
      !doc.as_object().at("keys").is_array())
    throw std::invalid_argument("not a JWKS document");
  std::vector<jwt_key> out;
  for (const auto& kv : doc.as_object().at("keys").as_array()) {
    if (!kv.is_object()) continue;
    const auto& o = kv.as_object();
    auto str = [&](std::string_view n) -> std::optional<std::string> {
      auto p = o.if_contains(n);
      if (!p || !p->is_string()) return std::nullopt;
      return std::string(p->get_string());
    };
    auto kty = str("kty");
    std::string kid = str("kid").value_or("");
    if (auto use = str("use"); use && *use != "sig") continue;
    if (kty == "oct") {
      auto k = str("k");
      auto bytes = k ? base64url_decode(*k) : std::nullopt;
      if (bytes) out.push_back(symmetric(*bytes, kid));
      continue;
    }
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    const char* type = nullptr;
    std::vector<BIGNUM*> bns;
    std::string pub;
    bool ok = true;
    if (kty == "RSA") {
      type = "RSA";
      auto n = str("n") ? base64url_decode(*str("n")) : std::nullopt;
      auto e = str("e") ? base64url_decode(*str("e")) : std::nullopt;
      if (!n || !e) {
        ok = false;
      } else {
        bns.push_back(
            BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), int(n->size()), nullptr));
        bns.push_back(
            BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), int(e->size()), nullptr));
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bns[0]);
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bns[1]);
      }
    } else if (kty == "EC") {
      type = "EC";
      auto crv = str("crv");
      auto x = str("x") ? base64url_decode(*str("x")) : std::nullopt;
      auto y = str("y") ? base64url_decode(*str("y")) : std::nullopt;
      const char* group = crv == "P-256" ? "prime256v1" : crv == "P-384" ? "secp384r1" : nullptr;
      if (!group || !x || !y || x->size() != y->size()) {
        ok = false;
      } else {
        pub = std::string(1, '\x04') + *x + *y;
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size());
      }
    } else {
      ok = false;
    }
    EVP_PKEY* pkey = nullptr;
    if (ok) {
      OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
      EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
      if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
      EVP_PKEY_CTX_free(ctx);
      OSSL_PARAM_free(params);
    }
    OSSL_PARAM_BLD_free(bld);
    for (auto* b : bns) BN_free(b);
    if (!pkey) continue;
    jwt_key k;
    k.pkey_ = own_pkey(pkey);
    k.kid_ = kid;
    if (kty == "RSA") {
      k.kind_ = kind::rsa;
    } else {
      k.kind_ = kind::ec;
      k.ec_bits_ = EVP_PKEY_get_bits(pkey);
    }
    out.push_back(std::move(k));
  }
  return out;
}

jwt_validator::jwt_validator(jwt_validation_options options) : options_(std::move(options)) {}

jwt_validation_result jwt_validator::validate(std::string_view token,
                                              system_clock::time_point now) const {
  if (token.size() > options_.max_token_bytes) return fail("too_large", "token too large");
  auto d1 = token.find('.');
  auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return fail("malformed", "malformed token: expected three segments");
  auto header_b64 = token.substr(0, d1);
  auto payload_b64 = token.substr(d1 + 1, d2 - d1 - 1);
  auto sig_b64 = token.substr(d2 + 1);
  auto header_json = base64url_decode(header_b64);
  auto payload_json = base64url_decode(payload_b64);
  auto sig = base64url_decode(sig_b64);
  if (!header_json || !payload_json || !sig)
    return fail("malformed", "malformed token: bad base64url");
  if (sig->empty()) return fail("unsigned", "unsigned token");
  boost::system::error_code ec;
  auto header = bj::parse(*header_json, ec);
  if (ec || !header.is_object())
    return fail("malformed", "malformed token: header is not a JSON object");
  auto alg_v = header.as_object().if_contains("alg");
  if (!alg_v || !alg_v->is_string()) return fail("malformed", "malformed token: no alg");
  auto alg = parse_jwt_alg(alg_v->get_string());
  if (!alg) return fail("algorithm", "algorithm not allowed");
  bool allowed = false;
  for (auto a : options_.algorithms) allowed = allowed || a == *alg;
  if (!allowed) return fail("algorithm", "algorithm not allowed");
  std::optional<std::string> kid;
  if (auto k = header.as_object().if_contains("kid"); k && k->is_string())
    kid = std::string(k->get_string());

  auto signing_input = token.substr(0, d2);
  bool verified = false;
  bool candidate = false;
  for (const auto& key : options_.keys) {
    if (kid && !key.kid().empty() && key.kid() != *kid) continue;
    if (kid && key.kid().empty() && options_.keys.size() > 1) continue;
    if (!key_fits(key, *alg)) continue;
    candidate = true;
    if (verify_signature(*alg, key, signing_input, *sig)) {
      verified = true;
      break;
    }
  }
  if (!candidate)
    return fail("no_key",
                kid ? "no key matches the token's kid and algorithm" : "no key for the algorithm");
  if (!verified) return fail("signature", "invalid signature");

  auto payload = bj::parse(*payload_json, ec);
  if (ec || !payload.is_object())
    return fail("malformed", "malformed token: payload is not a JSON object");
  auto& claims = payload.as_object();
  bool bad = false;
  auto exp = number_claim(claims, "exp", bad);
  auto nbf = number_claim(claims, "nbf", bad);
  number_claim(claims, "iat", bad);
  if (bad) return fail("malformed", "malformed exp, nbf or iat");
  double t = std::chrono::duration<double>(now.time_since_epoch()).count();
  double skew = double(options_.clock_skew.count());
  if (!exp && options_.require_expiration) return fail("no_expiration", "token has no expiration");
  if (exp && t > *exp + skew) return fail("expired", "token expired");
  if (nbf && t + skew < *nbf) return fail("not_yet_valid", "token not yet valid");
  if (!options_.valid_issuers.empty()) {
    auto iss = claims.if_contains("iss");
    bool ok = false;
    if (iss && iss->is_string())
      for (const auto& v : options_.valid_issuers) ok = ok || iss->get_string() == v;
    if (!ok) return fail("issuer", "invalid issuer");
  }
  if (!options_.valid_audiences.empty()) {
    auto aud = claims.if_contains("aud");
    bool ok = false;
    auto check = [&](const bj::value& v) {
      if (v.is_string())
        for (const auto& a : options_.valid_audiences) ok = ok || v.get_string() == a;
    };
    if (aud && aud->is_array())
      for (const auto& v : aud->as_array()) check(v);
    else if (aud)
      check(*aud);
    if (!ok) return fail("audience", "invalid audience");
  }
  jwt_validation_result r;
  r.valid = true;
  r.principal = principal_from_payload(claims);
  if (exp) {
    // system_clock counts nanoseconds in 64 bits (until 2262): a later exp (allowed up to 9999)
    // is "never" rather than an overflow.
    const double limit =
        std::chrono::duration<double>(system_clock::time_point::max().time_since_epoch()).count();
    r.expires_at =
        *exp >= limit ? system_clock::time_point::max()
                      : system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
                            std::chrono::duration<double>(*exp)));
  }
  r.payload = std::move(claims);
  return r;
}

claims_principal principal_from_payload(const bj::object& payload) {
  std::vector<claim> claims;
  for (const auto& kv : payload) {
    std::string type(kv.key());
    if (type == "roles") type = "role";
    if (kv.value().is_array()) {
      for (const auto& v : kv.value().as_array()) claims.push_back({type, claim_text(v)});
    } else {
      claims.push_back({type, claim_text(kv.value())});
    }
  }
  return claims_principal(std::move(claims), true);
}

std::string issue_jwt(const bj::object& claims, jwt_alg alg, const jwt_key& key,
                      std::chrono::seconds lifetime, system_clock::time_point now) {
  bj::object header;
  header["alg"] = jwt_alg_name(alg);
  header["typ"] = "JWT";
  if (!key.kid().empty()) header["kid"] = key.kid();
  bj::object body = claims;
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (!body.contains("iat")) body["iat"] = secs;
  if (!body.contains("nbf")) body["nbf"] = secs;
  if (!body.contains("exp")) body["exp"] = secs + lifetime.count();
  std::string input =
      base64url_encode(bj::serialize(header)) + "." + base64url_encode(bj::serialize(body));
  return input + "." + base64url_encode(sign(alg, key, input));
}

}  // namespace hubcast::auth
