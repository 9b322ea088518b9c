// stockhub: the article's JWT-secured stock-price streaming service on hubcast.
//
//   stockhub [--config FILE] [--environment Development|Production] [--urls URLS]
//   [--Section:Key=value]... stockhub users add EMAIL [--role ROLE]... [--password-stdin] stockhub
//   users list | remove EMAIL | set-password EMAIL --password-stdin
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <spdlog/spdlog.h>
#include <boost/asio/thread_pool.hpp>

#include "account_api.hpp"
#include "config.hpp"
#include "core/log.hpp"
#include "dev_certs.hpp"
#include "http/cors.hpp"
#include "http/static_files.hpp"
#include "market_cluster.hpp"
#include "server/app.hpp"
#include "stock_hub.hpp"
#include "user_store.hpp"

extern char** environ;

namespace asio = boost::asio;
namespace http = hubcast::http;
namespace auth = hubcast::auth;
using namespace stockhub;

namespace {

struct options_t {
  std::string config_file = "appsettings.json";
  bool config_given = false;
  std::string environment = "Production";
  std::vector<std::pair<std::string, std::string>> overrides;
  std::vector<std::string> positional;
  std::vector<std::string> roles;
  bool password_stdin = false;
};

std::string read_password_stdin() {
  std::string p;
  std::getline(std::cin, p);
  if (!p.empty() && p.back() == '\r') p.pop_back();
  return p;
}

int users_command(user_store& store, const options_t& o) {
  const auto& a = o.positional;
  if (a.size() < 2) {
    std::cerr << "usage: stockhub users add|list|remove|set-password ...\n";
    return 2;
  }
  try {
    if (a[1] == "list") {
      for (const auto& u : store.list()) {
        std::cout << u.email;
        for (std::size_t i = 0; i < u.roles.size(); ++i)
          std::cout << (i ? "," : "\t") << u.roles[i];
        std::cout << "\n";
      }
      return 0;
    }
    if (a.size() < 3) {
      std::cerr << "usage: stockhub users " << a[1] << " EMAIL\n";
      return 2;
    }
    if (a[1] == "add") {
      std::string password = o.password_stdin ? read_password_stdin() : generate_password();
      store.add(a[2], password, o.roles);
      if (!o.password_stdin) std::cout << "password: " << password << "\n";
      return 0;
    }
    if (a[1] == "remove") {
      if (!store.remove(a[2])) {
        std::cerr << "no user " << a[2] << "\n";
        return 1;
      }
      return 0;
    }
    if (a[1] == "set-password") {
      if (!o.password_stdin) {
        std::cerr << "set-password reads the new password from --password-stdin\n";
        return 2;
      }
      if (!store.set_password(a[2], read_password_stdin())) {
        std::cerr << "no user " << a[2] << "\n";
        return 1;
      }
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "unknown users command '" << a[1] << "'\n";
  return 2;
}

options_t parse_args(int argc, char** argv) {
  options_t o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& name) -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(name + " needs a value");
      return argv[++i];
    };
    if (a == "--config") {
      o.config_file = value(a);
      o.config_given = true;
    } else if (a == "--environment") {
      o.environment = value(a);
    } else if (a == "--urls") {
      o.overrides.emplace_back("Urls", value(a));
    } else if (a == "--role") {
      o.roles.push_back(value(a));
    } else if (a == "--password-stdin") {
      o.password_stdin = true;
    } else if (a.rfind("--", 0) == 0 && a.find(':') != std::string::npos) {
      auto eq = a.find('=');
      if (eq != std::string::npos)
        o.overrides.emplace_back(a.substr(2, eq - 2), a.substr(eq + 1));
      else
        o.overrides.emplace_back(a.substr(2), value(a));
    } else if (a.rfind("--", 0) == 0) {
      throw std::runtime_error("unknown option " + a);
    } else {
      o.positional.push_back(a);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  options_t o;
  configuration cfg;
  try {
    o = parse_args(argc, argv);
    if (auto env = std::getenv("STOCKHUB_ENVIRONMENT"); env && o.environment == "Production")
      o.environment = env;
    cfg.load_json_file(o.config_file, o.config_given);
    auto dir = std::filesystem::path(o.config_file).parent_path();
    cfg.load_json_file((dir / ("appsettings." + o.environment + ".json")).string(), false);
    cfg.load_environment("STOCKHUB_", environ);
    for (auto& [k, v] : o.overrides) cfg.set(k, v);
  } catch (const std::exception& e) {
    std::cerr << "stockhub: " << e.what() << "\n";
    return 2;
  }
  const bool development = o.environment == "Development";
  try {
    // Logging:LogLevel:Default and per category, e.g. "hubcast.http": "Warning" keeps request
    // lines (and so any URL) out of the logs; "Microsoft.AspNetCore.Hosting" is an alias for it.
    spdlog::set_level(
        hubcast::log::parse_level(cfg.get_or("Logging:LogLevel:Default", "Information")));
    for (auto& [name, level] : cfg.section("Logging:LogLevel")) {
      if (name == "default") continue;
      auto category = name == "microsoft.aspnetcore.hosting" ? std::string("hubcast.http") : name;
      hubcast::log::set_level(category, hubcast::log::parse_level(level));
    }
  } catch (const std::exception& e) {
    std::cerr << "stockhub: Logging: " << e.what() << "\n";
    return 2;
  }

  std::string db_path =
      cfg.get_or("Database:Path", development ? "stockhub-dev.db" : "stockhub.db");
  std::unique_ptr<user_store> store;
  try {
    store = std::make_unique<user_store>(db_path);
  } catch (const std::exception& e) {
    std::cerr << "stockhub: " << e.what() << "\n";
    return 1;
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
    std::cerr << "stockhub: Auth:Key must be at least 32 bytes in " << o.environment
              << " (set it in appsettings.json, STOCKHUB_Auth__Key or --Auth:Key=...)\n";
    return 1;
  }
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
  std::string urls = cfg.get_or("Urls", "http://127.0.0.1:5000");
  app_opts.urls.clear();
  for (std::size_t start = 0; start <= urls.size();) {
    auto end = urls.find(';', start);
    if (end == std::string::npos) end = urls.size();
    if (end > start) app_opts.urls.push_back(urls.substr(start, end - start));
    start = end + 1;
  }
  app_opts.threads = static_cast<std::size_t>(cfg.number("Server:Threads", 0));
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
    long pending = cfg.number("SignalR:MaxPendingConnections",
                              static_cast<long>(app_opts.max_pending_connections));
    if (pending < 0) {
      std::cerr << "stockhub: configuration error: SignalR:MaxPendingConnections: must be 0 (no "
                   "cap) or more\n";
      return 1;
    }
    app_opts.max_pending_connections = static_cast<std::size_t>(pending);
  }

  hubcast::app app(app_opts);
  // Scale-out: every node on one Redis serves one market (docs/scale-out.md).
  const std::string redis_configuration = cfg.get_or("Redis:Configuration", "");
  if (!redis_configuration.empty()) {
    try {
      app.use_redis(redis_configuration);
    } catch (const std::invalid_argument& e) {
      std::cerr << "stockhub: configuration error: Redis:Configuration: " << e.what() << "\n";
      return 1;
    }
  }
  app.on_listening([cors](const std::vector<std::string>& urls) { cors->set_server_urls(urls); });
  auto signing_key = auth::jwt_key::symmetric(key);
  std::string issuer = cfg.get_or("Auth:Issuer", "stockhub");
  std::string audience = cfg.get_or("Auth:Audience", "stockhub-clients");
  auto access_lifetime = cfg.duration("Auth:AccessTokenLifetime", std::chrono::minutes(15));
  auto refresh_lifetime = cfg.duration("Auth:RefreshTokenLifetime", std::chrono::hours(24 * 7));
  auth::jwt_validation_options jwt;
  jwt.algorithms = {auth::jwt_alg::hs256};
  jwt.keys = {signing_key};
  jwt.valid_issuers = {issuer};
  jwt.valid_audiences = {audience};
  jwt.clock_skew = std::chrono::duration_cast<std::chrono::seconds>(
      cfg.duration("Auth:ClockSkew", std::chrono::seconds(30)));
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
      std::cerr << "stockhub: SignalR:MessagePackKeys must be PascalCase or camelCase, not '"
                << keys << "'\n";
      return 2;
    }
  }
  auto prices = std::make_shared<market>(
      app.shards(), symbols, cfg.duration("Stocks:TickInterval", std::chrono::milliseconds(500)),
      encoding);
  auto services = std::make_shared<hub_services>();
  services->prices = prices;
  services->shards = &app.shards();
  std::shared_ptr<market_cluster> cluster;
  if (auto* backplane = app.backplane()) {
    cluster = std::make_shared<market_cluster>(prices, *backplane);
    services->presence = std::make_shared<cluster_presence>(*backplane);
    cluster->start();
    services->presence->start();
    app.on_stopping([cluster] { return cluster->shutdown(); });
    app.on_stopping([presence = services->presence] { return presence->shutdown(); });
  }
  services->users = std::make_shared<user_tracker>(services->presence);

  hubcast::hub_options hub_opts;
  hub_opts.maximum_receive_message_size =
      static_cast<std::size_t>(cfg.number("SignalR:MaximumReceiveMessageSize", 32 * 1024));
  hub_opts.keep_alive_interval =
      cfg.duration("SignalR:KeepAliveInterval", std::chrono::seconds(15));
  hub_opts.client_timeout_interval =
      cfg.duration("SignalR:ClientTimeoutInterval", std::chrono::seconds(30));
  hub_opts.close_on_authentication_expiration =
      cfg.flag("SignalR:CloseOnAuthenticationExpiration", true);
  hub_opts.enable_detailed_errors = cfg.flag("SignalR:EnableDetailedErrors", false);
  hub_opts.encoding = encoding;
  hubcast::endpoint_options ep;
  ep.require_authenticated = true;
  ep.allow_stateful_reconnect = true;
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
  app.map_prefix("/", http::static_files(www, "/"));

  app.map("/healthz", [](http::exchange& ex) -> asio::awaitable<void> {
    co_await ex.async_respond(http::response(200, "Healthy", "text/plain"));
  });

  prices->start();
  if (development) spdlog::info("Development: log in at POST /api/login with a user printed above");
  int rc = app.run();
  prices->stop();
  workers.join();
  return rc;
}
