// JWT validations per second on one core (closing note of the auth issue; docs/auth.md).
#include <benchmark/benchmark.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <hubcast/auth/jwt.hpp>

using namespace hubcast::auth;

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

void run(benchmark::State& state, jwt_alg alg, const jwt_key& sign, const jwt_key& verify) {
  boost::json::object claims{
      {"sub", "u"}, {"iss", "hubcast"}, {"aud", "stockhub"}, {"role", "Trader"}};
  auto token = issue_jwt(claims, alg, sign, std::chrono::minutes(15));
  jwt_validation_options o;
  o.algorithms = {alg};
  o.keys = {verify};
  o.valid_issuers = {"hubcast"};
  o.valid_audiences = {"stockhub"};
  jwt_validator v(o);
  for (auto _ : state) {
    auto r = v.validate(token);
    if (!r.valid) state.SkipWithError(r.error.c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ValidateHS256(benchmark::State& s) {
  auto k = jwt_key::symmetric(std::string(32, 'k'));
  run(s, jwt_alg::hs256, k, k);
}
void BM_ValidateRS256(benchmark::State& s) {
  EVP_PKEY* p = EVP_RSA_gen(2048);
  run(s, jwt_alg::rs256, jwt_key::from_pem(pem_of(p, true)), jwt_key::from_pem(pem_of(p, false)));
  EVP_PKEY_free(p);
}
void BM_ValidateES256(benchmark::State& s) {
  EVP_PKEY* p = EVP_EC_gen("P-256");
  run(s, jwt_alg::es256, jwt_key::from_pem(pem_of(p, true)), jwt_key::from_pem(pem_of(p, false)));
  EVP_PKEY_free(p);
}

}  // namespace

BENCHMARK(BM_ValidateHS256);
BENCHMARK(BM_ValidateRS256);
BENCHMARK(BM_ValidateES256);
