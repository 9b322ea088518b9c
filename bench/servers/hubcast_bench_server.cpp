// hubcast-bench-server: hubcast's side of the benchmarks, the same surface as the ASP.NET Core
// peer (bench/peers/aspnetcore): an [Authorize] hub at /hubs/bench with Broadcast (to all) and
// Echo, JWT bearer (HS256 key and/or RS256 public key, issuer/audience "bench", token from the
// header or from access_token on /hubs), JSON and MessagePack, WebSockets; with --redis, on a
// Redis backplane (the broadcast-redis scenario).
#include <fstream>
#include <iostream>
#include <sstream>

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include <hubcast/hubs/hub.hpp>
#include <hubcast/hubs/method_table.hpp>
#include <hubcast/redis/use_redis.hpp>
#include <hubcast/server/app.hpp>

namespace {

class bench_hub : public hubcast::hub {
 public:
  static void configure(hubcast::hub_methods<bench_hub>& m) {
    m.add("Broadcast", &bench_hub::broadcast).add("Echo", &bench_hub::echo);
  }
  // Serialized once per protocol in use, then shared by every recipient.
  void broadcast(std::string payload) { clients().all().send("Broadcast", payload); }
  std::string echo(std::string payload) { return payload; }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"hubcast benchmark server"};
  std::string urls = "http://127.0.0.1:5000";
  std::size_t threads = 1;
  std::string hs256_key, rs256_public, redis, certificate, private_key;
  cli.add_option("--urls", urls, "http(s)://host:port (port 0: any)");
  cli.add_option("--threads", threads, "I/O threads (shards)")->capture_default_str();
  cli.add_option("--hs256-key", hs256_key, "HS256 signing key (at least 32 bytes)");
  cli.add_option("--rs256-public-key", rs256_public, "PEM file of the RS256 public key");
  cli.add_option("--redis", redis, "Redis backplane (StackExchange.Redis configuration string)");
  cli.add_option("--certificate", certificate, "PEM certificate chain for https:// URLs");
  cli.add_option("--private-key", private_key, "PEM private key for https:// URLs");
  CLI11_PARSE(cli, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  if (hs256_key.size() < 32 && rs256_public.empty()) {
    std::cerr << "hubcast-bench-server: give --hs256-key (32+ bytes) and/or --rs256-public-key\n";
    return 2;
  }

  hubcast::app_options options;
  options.urls = {urls};
  options.threads = threads;
  options.http.tls_certificate_file = certificate;
  options.http.tls_private_key_file = private_key;
  hubcast::app app(options);

  hubcast::auth::jwt_validation_options jwt;
  jwt.algorithms.clear();
  if (!hs256_key.empty()) {
    jwt.algorithms.push_back(hubcast::auth::jwt_alg::hs256);
    jwt.keys.push_back(hubcast::auth::jwt_key::symmetric(hs256_key));
  }
  if (!rs256_public.empty()) {
    jwt.algorithms.push_back(hubcast::auth::jwt_alg::rs256);
    jwt.keys.push_back(hubcast::auth::jwt_key::from_pem(read_file(rs256_public)));
  }
  jwt.valid_issuers = {"bench"};
  jwt.valid_audiences = {"bench"};
  app.use_jwt_bearer(jwt, {"/hubs"});

  if (!redis.empty()) hubcast::redis::use_redis(app, redis);
  hubcast::hub_options hub;
  hub.backplane_name = "BenchHub";  // the ASP.NET Core peer's hub type
  hubcast::endpoint_options endpoint;
  endpoint.require_authenticated = true;
  app.map_hub<bench_hub>("/hubs/bench", hub, endpoint);
  return app.run();
}
