// hubcast-conformance: the server the official clients' end-to-end tests run against.
#include <atomic>
#include <iostream>

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>

#include <hubcast/redis/use_redis.hpp>
#include <hubcast/server/app.hpp>
#include "cluster_hub.hpp"
#include "test_hub.hpp"

namespace asio = boost::asio;
namespace http = hubcast::http;

namespace {

// Raw connection: every received message goes back unchanged, in one piece.
class echo_handler final : public hubcast::transport::connection_handler {
 public:
  asio::awaitable<void> on_connected(std::shared_ptr<hubcast::transport::connection> c) override {
    c->set_coalesce(false);
    std::string data;
    bool binary = false;
    for (;;) {
      auto ended = co_await c->async_read(data, binary);
      if (ended) break;
      c->set_binary(binary);
      c->try_send(std::make_shared<const std::string>(std::move(data)));
      data.clear();
    }
  }
};

std::vector<std::string> split_urls(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find(';', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"hubcast conformance server"};
  cli.set_version_flag("--version", std::string("hubcast-conformance ") + HUBCAST_VERSION);
  std::string urls = "http://127.0.0.1:5000";
  std::size_t threads = 0;
  std::string log_level = "warn";
  cli.add_option("--urls", urls,
                 "Semicolon-separated http:// or https://host:port list (port 0: any)");
  std::string https_cert, https_key;
  cli.add_option("--https-cert", https_cert, "PEM certificate chain for https:// URLs")
      ->check(CLI::ExistingFile);
  cli.add_option("--https-key", https_key, "PEM private key for https:// URLs")
      ->check(CLI::ExistingFile);
  cli.add_option("--threads", threads, "I/O threads (shards); 0 = hardware threads");
  cli.add_option("--log-level", log_level, "trace|debug|info|warn|error|critical|off");
  hubcast::hub_options hub_opts;
  long keep_alive_ms = 15000, client_timeout_ms = 30000, handshake_timeout_ms = 15000;
  cli.add_option("--keep-alive-ms", keep_alive_ms, "KeepAliveInterval");
  cli.add_option("--client-timeout-ms", client_timeout_ms, "ClientTimeoutInterval");
  cli.add_option("--handshake-timeout-ms", handshake_timeout_ms, "HandshakeTimeout");
  long long_poll_timeout_ms = 90000, disconnect_timeout_ms = 15000;
  cli.add_option("--long-poll-timeout-ms", long_poll_timeout_ms, "LongPolling PollTimeout");
  cli.add_option("--disconnect-timeout-ms", disconnect_timeout_ms, "DisconnectTimeout");
  long clock_skew_s = 300;
  cli.add_option("--clock-skew-s", clock_skew_s, "JWT clock skew in seconds");
  cli.add_option("--max-message-size", hub_opts.maximum_receive_message_size,
                 "MaximumReceiveMessageSize in bytes (0: unlimited)");
  std::size_t max_pending = 10000;
  cli.add_option("--max-pending-connections", max_pending,
                 "negotiated connections waiting for a transport, at most (0: no cap)");
  std::string redis;
  cli.add_option("--redis", redis,
                 "Redis backplane for every hub, StackExchange.Redis form "
                 "(host:port[,password=...][,channelPrefix=...])");
  CLI11_PARSE(cli, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));

  hubcast::app_options options;
  options.urls = split_urls(urls);
  options.threads = threads;
  options.disconnect_timeout = std::chrono::milliseconds(disconnect_timeout_ms);
  options.max_pending_connections = max_pending;
  const bool wants_tls = urls.find("https://") != std::string::npos;
  if (wants_tls && (https_cert.empty() || https_key.empty())) {
    std::cerr << "hubcast-conformance: https:// URLs need --https-cert FILE and --https-key FILE\n";
    return 1;
  }
  options.http.tls_certificate_file = https_cert;
  options.http.tls_private_key_file = https_key;
  // The client suites use both schemes side by side (ENDPOINT_BASE_URL and
  // ENDPOINT_BASE_HTTPS_URL): plain HTTP is served, not redirected.
  options.http.redirect_http_to_https = false;
  // Negotiate responses set the cookies the client suites check; CORS reflects the origin.
  options.http.on_response = [](const http::request& req, http::response& res) {
    if (req.path.find("/negotiate") != std::string::npos) {
      res.headers.push_back({"Set-Cookie", "testCookie=testValue; path=/"});
      res.headers.push_back({"Set-Cookie", "testCookie2=testValue2; path=/"});
      res.headers.push_back(
          {"Set-Cookie",
           "expiredCookie=doesntmatter; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/"});
    }
    if (auto origin = req.header("Origin")) {
      res.set("Access-Control-Allow-Origin", std::string(*origin));
      res.set("Access-Control-Allow-Credentials", "true");
    }
  };
  options.http.before_route = [](const http::request& req) -> std::optional<http::response> {
    if (req.method != "OPTIONS") return std::nullopt;
    http::response r(204);
    if (auto o = req.header("Origin")) r.set("Access-Control-Allow-Origin", std::string(*o));
    if (auto m = req.header("Access-Control-Request-Method"))
      r.set("Access-Control-Allow-Methods", std::string(*m));
    if (auto h = req.header("Access-Control-Request-Headers"))
      r.set("Access-Control-Allow-Headers", std::string(*h));
    r.set("Access-Control-Allow-Credentials", "true");
    return r;
  };

  hubcast::app app(options);
  if (!redis.empty()) {
    try {
      hubcast::redis::use_redis(app, redis);
    } catch (const std::exception& e) {
      std::cerr << "hubcast-conformance: " << e.what() << "\n";
      return 1;
    }
  }

  hub_opts.keep_alive_interval = std::chrono::milliseconds(keep_alive_ms);
  hub_opts.client_timeout_interval = std::chrono::milliseconds(client_timeout_ms);
  hub_opts.handshake_timeout = std::chrono::milliseconds(handshake_timeout_ms);
  hub_opts.enable_detailed_errors = true;
  hub_opts.encoding.naming = hubcast::naming_policy::as_declared;
  hub_opts.encoding.msgpack_naming = hubcast::naming_policy::as_declared;
  hubcast::endpoint_options all_transports;
  all_transports.long_poll_timeout = std::chrono::milliseconds(long_poll_timeout_ms);
  all_transports.allow_stateful_reconnect = true;
  auto test_hub = app.map_hub<conformance::test_hub>("/testhub", hub_opts, all_transports);
  hubcast::endpoint_options no_ws = all_transports;
  no_ws.websockets = false;
  no_ws.server_sent_events = true;
  no_ws.long_polling = true;
  app.map_hub<conformance::test_hub>("/testhub-nowebsockets", hub_opts, no_ws);
  app.map_hub<conformance::uncreatable_hub>("/uncreatable", hub_opts);
  // /clusterhub: the user is the `user` query parameter (a test scheme, no token); the same
  // backplane name as the ASP.NET Core node's hub.
  auto cluster_opts = hub_opts;
  cluster_opts.backplane_name = "Hubcast.Conformance.ClusterHub";
  hubcast::endpoint_options by_user_query = all_transports;
  by_user_query.authenticate = [](const http::request& req) {
    hubcast::auth::authentication_result r;
    if (auto user = req.query_param("user"); user && !user->empty()) {
      r.authenticated = true;
      r.principal = std::make_shared<hubcast::auth::claims_principal>(
          std::vector<hubcast::auth::claim>{{"nameid", *user}}, true);
    }
    return r;
  };
  app.map_hub<conformance::cluster_hub>("/clusterhub", cluster_opts, by_user_query);
  app.map_connection_handler("/echo", std::make_shared<echo_handler>(), all_transports);

  // JWT bearer: a key made at start-up; /generateJwtToken issues HS256 tokens for it.
  unsigned char key_bytes[32];
  RAND_bytes(key_bytes, sizeof key_bytes);
  auto signing_key =
      hubcast::auth::jwt_key::symmetric(std::string(reinterpret_cast<char*>(key_bytes), 32));
  hubcast::auth::jwt_validation_options jwt;
  jwt.algorithms = {hubcast::auth::jwt_alg::hs256};
  jwt.keys = {signing_key};
  jwt.valid_issuers = {"SignalRTestServer"};
  jwt.valid_audiences = {"SignalRTests"};
  jwt.clock_skew = std::chrono::seconds(clock_skew_s);
  app.use_jwt_bearer(
      jwt, {"/authorizedhub", "/authorizedhub-refresh", "/authorizedhub-refresh-noclose"});
  hubcast::auth::authorization_policy admin;
  admin.require_role({"Admin"});
  app.add_policy("Admin", admin);

  hubcast::endpoint_options authorized;
  authorized.require_authenticated = true;
  authorized.allow_stateful_reconnect = true;
  app.map_hub<conformance::authorized_hub>("/authorizedhub", hub_opts, authorized);
  auto expiring_opts = hub_opts;
  expiring_opts.close_on_authentication_expiration = true;
  app.map_hub<conformance::authorized_hub>("/authorizedhub-closeonexpiry", expiring_opts,
                                           authorized);
  // Authentication refresh (the 11.0 clients' withAuthenticationRefresh), with the connection
  // closed when its token expires; the hook refuses a token with the role "NoRefresh".
  hubcast::endpoint_options refreshing = authorized;
  refreshing.authentication_refresh.enabled = true;
  refreshing.long_poll_timeout = all_transports.long_poll_timeout;
  refreshing.authentication_refresh.on_refresh =
      [](const hubcast::authentication_refresh_context& ctx) {
        return !ctx.new_user.is_in_role("NoRefresh");
      };
  app.map_hub<conformance::authorized_hub>("/authorizedhub-refresh", expiring_opts, refreshing);
  // The same without closing at expiry: a long poll with an expired token is answered 409.
  app.map_hub<conformance::authorized_hub>("/authorizedhub-refresh-noclose", hub_opts, refreshing);

  // GET /generateJwtToken[?lifetime=<s>&role=<r>...]: nameid=testuser (or ?user=), 5 s default.
  app.map("/generateJwtToken", [signing_key](http::exchange& ex) -> asio::awaitable<void> {
    long lifetime = 5;
    if (auto l = ex.req().query_param("lifetime")) lifetime = std::strtol(l->c_str(), nullptr, 10);
    boost::json::object claims;
    claims["nameid"] = ex.req().query_param("user").value_or("testuser");
    claims["iss"] = "SignalRTestServer";
    claims["aud"] = "SignalRTests";
    if (auto r = ex.req().query_param("role")) claims["role"] = *r;
    auto token = hubcast::auth::issue_jwt(claims, hubcast::auth::jwt_alg::hs256, signing_key,
                                          std::chrono::seconds(lifetime));
    co_await ex.async_respond(http::response(200, token, "text/plain"));
  });

  // A non-hub endpoint: the token is accepted from the Authorization header only.
  auto bearer = app.authenticator();
  app.map("/api/whoami", [bearer](http::exchange& ex) -> asio::awaitable<void> {
    auto who = bearer->authenticate(ex.req());
    if (!who.authenticated) {
      co_await ex.async_respond(http::response(401));
      co_return;
    }
    auto id = who.principal->name_identifier();
    co_await ex.async_respond(http::response(200, std::string(id.value_or("")), "text/plain"));
  });

  app.map_prefix("/clientresult/", [test_hub](http::exchange& ex) -> asio::awaitable<void> {
    std::string id = ex.req().path.substr(std::string_view("/clientresult/").size());
    std::string body;
    try {
      auto v = co_await test_hub.clients().client(id).invoke_raw(
          "Result", hubcast::protocol::payload::arguments(), std::chrono::seconds(30));
      body = v.is_string() ? std::string(v.get_string()) : boost::json::serialize(v);
    } catch (const std::exception& e) {
      body = e.what();
    }
    co_await ex.async_respond(http::response(200, body, "text/plain"));
  });

  static std::atomic<int> redirects{0};
  app.map_prefix("/redirect", [](http::exchange& ex) -> asio::awaitable<void> {
    int n = ++redirects;
    std::string base = ex.req().query_param("baseUrl").value_or("");
    boost::json::object o;
    o["url"] = base + "/testHub?numRedirects=" + std::to_string(n);
    co_await ex.async_respond(http::response(200, boost::json::serialize(o), "application/json"));
  });
  app.map_prefix("/echoredirect", [](http::exchange& ex) -> asio::awaitable<void> {
    std::string path = ex.req().path;
    auto pos = path.find("echoredirect");
    if (pos == std::string::npos) pos = path.find("echoRedirect");
    if (pos != std::string::npos) path.replace(pos, 12, "echo");
    if (!ex.req().query.empty()) path += "?" + ex.req().query;
    http::response r(307);
    r.set("Location", path);
    co_await ex.async_respond(std::move(r));
  });
  app.map_prefix("/bad-negotiate", [](http::exchange& ex) -> asio::awaitable<void> {
    co_await ex.async_respond(http::response(400, "Some response from server", "text/plain"));
  });

  return app.run();
}
