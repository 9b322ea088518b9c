// stockhub: the article's JWT-secured stock-price streaming service on hubcast. `stockhub
// --help` lists the commands, the options and every configuration key (settings.cpp).
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <spdlog/spdlog.h>
#include <boost/asio/thread_pool.hpp>

#include <hubcast/core/log.hpp>
#include <hubcast/http/cors.hpp>
#include <hubcast/http/forwarded_headers.hpp>
#include <hubcast/http/static_files.hpp>
#include <hubcast/redis/redis_backplane.hpp>
#include <hubcast/redis/redis_options.hpp>
#include <hubcast/redis/use_redis.hpp>
#include <hubcast/server/app.hpp>
#include "account_api.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "dev_certs.hpp"
#include "health.hpp"
#include "market_cluster.hpp"
#include "settings.hpp"
#include "stock_hub.hpp"
#include "user_store.hpp"

extern char** environ;

namespace asio = boost::asio;
namespace http = hubcast::http;
namespace auth = hubcast::auth;
using namespace stockhub;

namespace {

int run(const command_line& o, const std::string& environment, const configuration& cfg);

}  // namespace

int main(int argc, char** argv) {
  command_line cl;
  try {
    cl = parse_command_line(argc, argv);
  } catch (const usage_error& e) {
    std::cerr << "stockhub: " << e.what() << " (stockhub --help lists the options)\n";
    return 2;
  }
  if (cl.version) {
    std::cout << "stockhub " << HUBCAST_VERSION << "\n";
    return 0;
  }
  const bool users = !cl.positional.empty() && cl.positional[0] == "users";
  if (cl.help) {
    std::cout << (users ? std::string(users_help) : help_text(HUBCAST_VERSION));
    return 0;
  }
  // No C++ exception text reaches the user unexplained: a wrong setting is one line that names
  // the key, anything else one line too, and the exit code says which (1; 2 for usage).
  try {
    auto environment = environment_name(cl);
    auto cfg = load_configuration(cl, environment, environ);
    for (const auto& w : unknown_key_warnings(cfg)) std::cerr << "stockhub: warning: " << w << "\n";
    return run(cl, environment, cfg);
  } catch (const configuration_error& e) {
    std::cerr << "stockhub: configuration error: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "stockhub: error: " << e.what() << "\n";
  }
  return 1;
}

namespace {

std::vector<std::string> split_urls(const std::string& urls) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start <= urls.size();) {
    auto end = urls.find(';', start);
    if (end == std::string::npos) end = urls.size();
    if (end > start) out.push_back(urls.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int run(const command_line& o, const std::string& environment, const configuration& cfg) {
  const bool development = is_environment(environment, "Development");
  validate_settings(cfg);  // every wrong value stops the start here, before anything happens
  const std::string redis_configuration = cfg.get_or("Redis:Configuration", "");
  if (!redis_configuration.empty()) {
    try {
      (void)hubcast::redis::redis_options::parse(redis_configuration);
    } catch (const std::invalid_argument& e) {
      std::string why = e.what();
      if (why.rfind("Redis configuration: ", 0) == 0) why.erase(0, 21);
      throw configuration_error("Redis:Configuration: " + why);
    }
  }
  {
    // Logging:LogLevel:Default and per category, e.g. "hubcast.http": "Warning" keeps request
    // lines (and so any URL) out of the logs; "Microsoft.AspNetCore.Hosting" is an alias for it.
    auto level = [](const std::string& key, const std::string& text) {
      try {
        return hubcast::log::parse_level(text);
      } catch (const std::exception&) {
        throw configuration_error(key + ": '" + text +
                                  "' is not a log level (Trace, Debug, Information, Warning, "
                                  "Error, Critical or None)");
      }
    };
    spdlog::set_level(
        level("Logging:LogLevel:Default", cfg.get_or("Logging:LogLevel:Default", "Information")));
    for (auto& [name, text] : cfg.section("Logging:LogLevel")) {
      if (name == "default") continue;
      auto category = name == "microsoft.aspnetcore.hosting" ? std::string("hubcast.http") : name;
      hubcast::log::set_level(category, level("Logging:LogLevel:" + name, text));
    }
  }

  std::string db_path =
      cfg.get_or("Database:Path", development ? "stockhub-dev.db" : "stockhub.db");
  std::unique_ptr<user_store> store;
  try {
    store = std::make_unique<user_store>(db_path);
  } catch (const std::exception& e) {
    throw configuration_error("Database:Path: '" + db_path +
                              "' cannot be opened as the user store (" + e.what() + ")");
  }
  if (!o.positional.empty() && o.positional[0] == "users") return users_command(*store, o);
  if (!o.positional.empty() && o.positional[0] == "dev-certs") {
    auto dir = std::filesystem::path(db_path).parent_path();
    auto cert = (dir / "stockhub-dev.crt").string(), key_file = (dir / "stockhub-dev.key").string();
    try {
      make_dev_certificate(cert, key_file);
    } catch (const std::exception& e) {
      std::cerr << "stockhub: " << e.what() << "\n";
      return 1;
    }
    std::cout << "Development certificate: " << cert << "\nPrivate key: " << key_file
              << "\nRun with --Https:CertificatePath=" << cert << " --Https:KeyPath=" << key_file
              << " --urls 'https://localhost:5001;http://localhost:5000'\n";
    return 0;
  }
  if (!o.positional.empty()) {
    std::cerr << "stockhub: unknown command '" << o.positional[0] << "'\n";
    return 2;
  }

  // The signing key: required in Production; made once and kept in Development.
  std::string key = cfg.get_or("Auth:Key", "");
  if (key.empty() && development) {
    auto key_file = std::filesystem::path(db_path).parent_path() / "stockhub-dev-jwt.key";
    std::ifstream in(key_file);
    std::getline(in, key);
    if (key.size() < 32) {
      key = random_token(32);
      std::ofstream out(key_file, std::ios::trunc);
      out << key << "\n";
      out.close();
      ::chmod(key_file.c_str(), 0600);
    }
  }
  if (key.size() < 32) {
    std::cerr << "stockhub: Auth:Key must be at least 32 bytes in " << environment
              << " (set it in appsettings.json, STOCKHUB_Auth__Key or --Auth:Key=...)\n";
    return 1;
  }
  if (!development && store->count() == 0)
    spdlog::warn(
        "The user store {} has no users: nobody can log in. Add one with `stockhub users add "
        "EMAIL --role Admin` (with the same --config or --Database:Path)",
        db_path);
  if (development && store->count() == 0) {
    for (auto [email, roles] : {std::pair<std::string, std::vector<std::string>>{
                                    "admin@stockhub.local", {"Admin", "Trader"}},
                                {"trader@stockhub.local", {"Trader"}}}) {
      auto password = generate_password();
      store->add(email, password, roles);
      std::cout << "Development user: " << email << " / " << password << "\n";
    }
  }

  hubcast::app_options app_opts;
  app_opts.urls = split_urls(cfg.get_or("Urls", "http://127.0.0.1:5000"));
  if (!development)
    for (const auto& u : app_opts.urls)
      if (u.rfind("http://", 0) == 0 && u.find("://127.0.0.1") == std::string::npos &&
          u.find("://localhost") == std::string::npos && u.find("://[::1]") == std::string::npos)
        spdlog::warn(
            "Listening on plain HTTP ({}) in {}: access tokens travel in the clear, in the "
            "access_token query string of WebSocket and SSE requests too. Use https:// URLs "
            "(Https:CertificatePath, Https:KeyPath) or a TLS proxy in front",
            u, environment);
  app_opts.threads = static_cast<std::size_t>(setting_number(cfg, "Server:Threads"));
  app_opts.shutdown_timeout = setting_duration(cfg, "Server:ShutdownTimeout");
  app_opts.http.known_proxies = cfg.list("Server:KnownProxies");
  try {
    http::forwarded_headers check(app_opts.http.known_proxies);
  } catch (const std::invalid_argument& e) {
    throw configuration_error(std::string("Server:KnownProxies: ") + e.what());
  }
  app_opts.http.tls_certificate_file = cfg.get_or("Https:CertificatePath", "");
  app_opts.http.tls_private_key_file = cfg.get_or("Https:KeyPath", "");

  // CORS and the WebSocket origin check: the configured origins and the URLs stockhub itself
  // listens on (the dashboard), never the client's Host header.
  http::cors_options cors_opts;
  cors_opts.allowed_origins = cfg.list("Cors:AllowedOrigins");
  auto cors = std::make_shared<http::cors_policy>(cors_opts);
  app_opts.http.before_route = [cors](const http::request& req) { return cors->before_route(req); };
  app_opts.http.on_response = [cors](const http::request& req, http::response& res) {
    cors->on_response(req, res);
  };
  {
    long pending = setting_number(cfg, "SignalR:MaxPendingConnections");
    app_opts.max_pending_connections = static_cast<std::size_t>(pending);
  }

  hubcast::app app(app_opts);
  if (setting_flag(cfg, "Metrics:Enabled")) {
    hubcast::metrics_options metrics;
    metrics.path = cfg.get_or("Metrics:Path", "/metrics");
    if (metrics.path.empty() || metrics.path.front() != '/')
      throw configuration_error("Metrics:Path: '" + metrics.path + "' must start with '/'");
    // Off the public port unless told: /metrics needs no token (docs/metrics.md). Development
    // serves it beside the app for a local Prometheus.
    metrics.urls =
        split_urls(cfg.get_or("Metrics:Urls", development ? "" : "http://127.0.0.1:9464"));
    metrics.http.tls_certificate_file = app_opts.http.tls_certificate_file;
    metrics.http.tls_private_key_file = app_opts.http.tls_private_key_file;
    app.use_metrics(std::move(metrics));
  }
  // Scale-out: every node on one Redis serves one market (docs/scale-out.md).
  std::shared_ptr<hubcast::redis::redis_backplane> backplane;  // declared after app: goes first
  if (!redis_configuration.empty())
    backplane = hubcast::redis::use_redis(app, redis_configuration);  // checked above
  app.on_listening([cors](const std::vector<std::string>& urls) { cors->set_server_urls(urls); });
  auto signing_key = auth::jwt_key::symmetric(key);
  std::string issuer = cfg.get_or("Auth:Issuer", "stockhub");
  std::string audience = cfg.get_or("Auth:Audience", "stockhub-clients");
  auto access_lifetime = setting_duration(cfg, "Auth:AccessTokenLifetime");
  auto refresh_lifetime = setting_duration(cfg, "Auth:RefreshTokenLifetime");
  auth::jwt_validation_options jwt;
  jwt.algorithms = {auth::jwt_alg::hs256};
  jwt.keys = {signing_key};
  jwt.valid_issuers = {issuer};
  jwt.valid_audiences = {audience};
  jwt.clock_skew =
      std::chrono::duration_cast<std::chrono::seconds>(setting_duration(cfg, "Auth:ClockSkew"));
  app.use_jwt_bearer(jwt, {"/hubs"});
  auth::authorization_policy admin;
  admin.require_role({"Admin"});
  app.add_policy("Admin", admin);

  std::vector<std::string> symbols = cfg.list("Stocks:Symbols");
  if (symbols.empty()) symbols = {"MSFT", "AAPL", "GOOGL", "AMZN", "NVDA", "TSLA"};
  for (auto& s : symbols)
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  hubcast::encode_options encoding;
  // MessagePack keys: PascalCase by default, as ASP.NET Core's MessagePack protocol writes the
  // article's record (the .NET client binds members by exact name); camelCase matches the JSON
  // keys.
  {
    auto keys = cfg.get_or("SignalR:MessagePackKeys", "PascalCase");
    if (keys == "camelCase") {
      encoding.msgpack_naming = hubcast::naming_policy::camel_case;
    } else if (keys != "PascalCase") {
      throw configuration_error("SignalR:MessagePackKeys: '" + keys +
                                "' is not a naming (expected PascalCase or camelCase)");
    }
  }
  auto prices = std::make_shared<market>(app.shards(), symbols,
                                         setting_duration(cfg, "Stocks:TickInterval"), encoding);
  auto services = std::make_shared<hub_services>();
  services->prices = prices;
  services->shards = &app.shards();
  std::shared_ptr<market_cluster> cluster;
  if (backplane) {
    cluster = std::make_shared<market_cluster>(prices, *backplane);
    services->presence = std::make_shared<cluster_presence>(*backplane);
    services->node = backplane->server_name();
    services->presence->report([weak = std::weak_ptr<hub_services>(services)] {
      auto s = weak.lock();
      return s ? encode_node_statistics(measure_node(*s)) : std::string();
    });
    cluster->start();
    services->presence->start();
    app.on_stopping([cluster] { return cluster->shutdown(); });
    app.on_stopping([presence = services->presence] { return presence->shutdown(); });
  }
  services->users = std::make_shared<user_tracker>(services->presence);

  hubcast::hub_options hub_opts;
  hub_opts.maximum_receive_message_size =
      static_cast<std::size_t>(setting_number(cfg, "SignalR:MaximumReceiveMessageSize"));
  hub_opts.keep_alive_interval = setting_duration(cfg, "SignalR:KeepAliveInterval");
  hub_opts.client_timeout_interval = setting_duration(cfg, "SignalR:ClientTimeoutInterval");
  hub_opts.close_on_authentication_expiration =
      setting_flag(cfg, "SignalR:CloseOnAuthenticationExpiration");
  hub_opts.enable_detailed_errors = setting_flag(cfg, "SignalR:EnableDetailedErrors");
  hub_opts.encoding = encoding;
  hubcast::endpoint_options ep;
  ep.require_authenticated = true;
  ep.allow_stateful_reconnect = true;
  // The 11.0 clients' withAuthenticationRefresh(): a new token without reconnecting, so a
  // token's end is no gap in the stream even with CloseOnAuthenticationExpiration.
  ep.authentication_refresh.enabled = setting_flag(cfg, "SignalR:EnableAuthenticationRefresh");
  app.map_hub<stock_hub>("/hubs/stocks", hub_opts, ep,
                         [services] { return std::make_unique<stock_hub>(services); });

  asio::thread_pool workers(2);  // Argon2id: ~60 ms and 64 MiB each; two at a time at most
  login_throttle throttle;
  account_api_options accounts;
  accounts.signing_key = signing_key;
  accounts.issuer = issuer;
  accounts.audience = audience;
  accounts.access_lifetime = std::chrono::duration_cast<std::chrono::seconds>(access_lifetime);
  accounts.refresh_lifetime = std::chrono::duration_cast<std::chrono::seconds>(refresh_lifetime);
  map_account_api(app, *store, workers, throttle, accounts);

  // The dashboard at `/` (everything not matched above).
  std::filesystem::path www = cfg.get_or("Dashboard:Root", "");
  if (www.empty()) {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    www = ec ? std::filesystem::path("wwwroot") : exe.parent_path() / "wwwroot";
  }
  // Only the dashboard's own files run, load or connect (no inline script, no other origin); it
  // is never framed (clickjacking) and sends no Referer.
  app.map_prefix(
      "/", http::static_files(www, "/",
                              {{"Content-Security-Policy",
                                "default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
                               {"X-Frame-Options", "DENY"},
                               {"Referrer-Policy", "no-referrer"}}));

  auto readiness_probe = map_health(app, *store, backplane.get());

  prices->start();
  if (development) spdlog::info("Development: log in at POST /api/login with a user printed above");
  int rc = app.run();
  prices->stop();
  readiness_probe->stop();
  workers.join();
  return rc;
}

}  // namespace
