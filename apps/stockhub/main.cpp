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
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "config.hpp"
#include "core/log.hpp"
#include "dev_certs.hpp"
#include "http/static_files.hpp"
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

// Runs blocking work (Argon2id, SQLite) on the worker pool and resumes on the caller's shard.
template <class T, class F>
asio::awaitable<T> offload(asio::thread_pool& pool, F f) {
  using channel = asio::experimental::concurrent_channel<void(boost::system::error_code, T)>;
  auto ex = co_await asio::this_coro::executor;  // its own statement (g++ 12, see docs)
  auto ch = std::make_shared<channel>(ex, 1);
  asio::post(pool,
             [ch, f = std::move(f)]() mutable { ch->try_send(boost::system::error_code{}, f()); });
  T result = co_await ch->async_receive(asio::use_awaitable);
  co_return result;
}

http::response json_response(int status, const boost::json::value& v) {
  return http::response(status, boost::json::serialize(v), "application/json");
}

std::string iso(std::chrono::system_clock::time_point t) {
  return hubcast::codec_detail::format_date_time(
      std::chrono::time_point_cast<std::chrono::microseconds>(t));
}

// Failed logins within 5 minutes: 5 per account or 50 per address → 429 for the rest of it.
class login_throttle {
 public:
  bool blocked(const std::string& key) {
    int limit = key.rfind("address:", 0) == 0 ? address_limit : account_limit;
    std::lock_guard lock(mutex_);
    auto it = failures_.find(key);
    if (it == failures_.end()) return false;
    if (std::chrono::steady_clock::now() - it->second.first > window) {
      failures_.erase(it);
      return false;
    }
    return it->second.second >= limit;
  }
  void fail(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto& f = failures_[key];
    if (f.second == 0 || std::chrono::steady_clock::now() - f.first > window)
      f = {std::chrono::steady_clock::now(), 0};
    f.second++;
    if (failures_.size() > 100000) failures_.clear();  // bounded memory under a spray
  }
  void reset(const std::string& key) {
    std::lock_guard lock(mutex_);
    failures_.erase(key);
  }

 private:
  static constexpr int account_limit = 5;
  static constexpr int address_limit = 50;
  static constexpr std::chrono::minutes window{5};
  std::mutex mutex_;
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, int>> failures_;
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

  auto allowed_origins =
      std::make_shared<std::vector<std::string>>(cfg.list("Cors:AllowedOrigins"));
  auto origin_allowed = [allowed_origins](const http::request& req, std::string_view origin) {
    for (const auto& a : *allowed_origins)
      if (a == origin) return true;
    // Same origin (the dashboard served by stockhub itself).
    auto host = req.header("Host");
    return host &&
           (origin == "http://" + std::string(*host) || origin == "https://" + std::string(*host));
  };
  app_opts.http.on_response = [origin_allowed](const http::request& req, http::response& res) {
    if (auto origin = req.header("Origin"); origin && origin_allowed(req, *origin)) {
      res.set("Access-Control-Allow-Origin", std::string(*origin));
      res.set("Access-Control-Allow-Credentials", "true");
      res.set("Vary", "Origin");
    }
  };
  app_opts.http.before_route =
      [origin_allowed](const http::request& req) -> std::optional<http::response> {
    auto origin = req.header("Origin");
    // CORS does not protect WebSockets: refuse upgrades from origins outside the list.
    if (req.websocket_upgrade && origin && !origin_allowed(req, *origin))
      return http::response(403);
    if (req.method != "OPTIONS") return std::nullopt;
    http::response r(204);
    if (origin && origin_allowed(req, *origin)) {
      r.set("Access-Control-Allow-Origin", std::string(*origin));
      r.set("Access-Control-Allow-Credentials", "true");
      r.set("Access-Control-Allow-Methods", "GET, POST, DELETE");
      if (auto h = req.header("Access-Control-Request-Headers"))
        r.set("Access-Control-Allow-Headers", std::string(*h));
      r.set("Vary", "Origin");
    }
    return r;
  };

  hubcast::app app(app_opts);
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
  services->users = std::make_shared<user_tracker>();

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
  auto* users = store.get();
  auto issue = [=](const user& u) {
    boost::json::object claims;
    claims["sub"] = std::to_string(u.id);
    claims["email"] = u.email;
    if (u.roles.size() == 1)
      claims["role"] = u.roles[0];
    else if (!u.roles.empty()) {
      boost::json::array r;
      for (auto& x : u.roles) r.push_back(boost::json::string(x));
      claims["role"] = r;
    }
    claims["iss"] = issuer;
    claims["aud"] = audience;
    claims["jti"] = random_token(16);
    auto lifetime = std::chrono::duration_cast<std::chrono::seconds>(access_lifetime);
    return std::pair{auth::issue_jwt(claims, auth::jwt_alg::hs256, signing_key, lifetime),
                     std::chrono::system_clock::now() + lifetime};
  };
  constexpr std::size_t max_api_body = 4096;
  auto read_json = [](const http::request& req) -> std::optional<boost::json::object> {
    boost::system::error_code ec;
    auto v = boost::json::parse(req.body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return v.as_object();
  };
  auto str_field = [](const boost::json::object& o,
                      const char* name) -> std::optional<std::string> {
    auto p = o.if_contains(name);
    if (!p || !p->is_string()) return std::nullopt;
    return std::string(p->get_string());
  };

  // The JSON endpoints take POST bodies of at most 4 KB.
  auto check_post = [](const http::request& req) -> std::optional<http::response> {
    if (req.method != "POST") return http::response(405);
    if (req.body.size() > max_api_body) return http::response(413);
    return std::nullopt;
  };
  auto token_pair = [](const std::string& token, const std::string& refresh,
                       std::chrono::system_clock::time_point expires) {
    boost::json::object out;
    out["token"] = token;
    out["refreshToken"] = refresh;
    out["expiresAt"] = iso(expires);
    return json_response(200, out);
  };

  app.map("/api/login",
          [&, issue, read_json, str_field, check_post,
           token_pair](http::exchange& ex) -> asio::awaitable<void> {
            const auto& req = ex.req();
            if (auto refused = check_post(req)) {
              co_await ex.async_respond(std::move(*refused));
              co_return;
            }
            auto body = read_json(req);
            auto email = body ? str_field(*body, "email") : std::nullopt;
            auto password = body ? str_field(*body, "password") : std::nullopt;
            if (!email || !password || email->size() > 254 || password->size() > 1024) {
              boost::json::object err;
              err["error"] = "expected {\"email\", \"password\"}";
              auto r = json_response(400, err);
              {
                co_await ex.async_respond(std::move(r));
                co_return;
              }
            }
            std::string account = "account:" + *email;
            std::string address = "address:" + req.remote_address;
            if (throttle.blocked(account) || throttle.blocked(address)) {
              co_await ex.async_respond(http::response(429));
              co_return;
            }
            auto e = *email, p = *password;
            // Lambdas and awaitables get their own statements: g++ 12 destroys temporaries with
            // destructors twice when they sit in a co_await full-expression (docs/dependencies.md).
            auto verify = [users, e, p] { return users->verify(e, p); };
            auto verifying = offload<std::optional<user>>(workers, std::move(verify));
            auto verified = co_await std::move(verifying);
            if (!verified) {
              throttle.fail(account);
              throttle.fail(address);
              {
                co_await ex.async_respond(http::response(401));
                co_return;
              }
            }
            throttle.reset(account);
            auto [token, expires] = issue(*verified);
            auto u = *verified;
            auto make_refresh = [users, u, refresh_lifetime] {
              return users->issue_refresh(
                  u, std::chrono::duration_cast<std::chrono::seconds>(refresh_lifetime));
            };
            auto issuing = offload<std::string>(workers, std::move(make_refresh));
            auto refresh = co_await std::move(issuing);
            auto reply = token_pair(token, refresh, expires);
            co_await ex.async_respond(std::move(reply));
          });

  app.map("/api/refresh",
          [&, issue, read_json, str_field, check_post,
           token_pair](http::exchange& ex) -> asio::awaitable<void> {
            const auto& req = ex.req();
            if (auto refused = check_post(req)) {
              co_await ex.async_respond(std::move(*refused));
              co_return;
            }
            auto body = read_json(req);
            auto token = body ? str_field(*body, "refreshToken") : std::nullopt;
            if (!token) {
              boost::json::object err;
              err["error"] = "expected {\"refreshToken\"}";
              auto bad = json_response(400, err);
              {
                co_await ex.async_respond(std::move(bad));
                co_return;
              }
            }
            struct outcome {
              user_store::refresh_outcome result{};
              user u;
              std::string family;
              std::string next;
            };
            auto t = *token;
            auto redeem = [users, t, refresh_lifetime] {
              outcome o;
              o.result = users->redeem_refresh(t, o.u, o.family);
              if (o.result == user_store::refresh_outcome::ok)
                o.next = users->issue_refresh(
                    o.u, std::chrono::duration_cast<std::chrono::seconds>(refresh_lifetime),
                    o.family);
              return o;
            };
            auto redeeming = offload<outcome>(workers, std::move(redeem));
            auto r = co_await std::move(redeeming);
            if (r.result != user_store::refresh_outcome::ok) {
              if (r.result == user_store::refresh_outcome::reused)
                spdlog::warn(
                    "a spent refresh token was presented again; its session family is revoked");
              {
                co_await ex.async_respond(http::response(401));
                co_return;
              }
            }
            auto [access, expires] = issue(r.u);
            auto reply = token_pair(access, r.next, expires);
            co_await ex.async_respond(std::move(reply));
          });

  app.map("/api/logout",
          [&, read_json, str_field, check_post](http::exchange& ex) -> asio::awaitable<void> {
            const auto& req = ex.req();
            if (auto refused = check_post(req)) {
              co_await ex.async_respond(std::move(*refused));
              co_return;
            }
            auto body = read_json(req);
            auto token = body ? str_field(*body, "refreshToken") : std::nullopt;
            if (!token) {
              co_await ex.async_respond(http::response(400));
              co_return;
            }
            auto t = *token;
            auto revoke = [users, t] {
              users->revoke_refresh(t);
              return true;
            };
            auto revoking = offload<bool>(workers, std::move(revoke));
            co_await std::move(revoking);
            co_await ex.async_respond(http::response(204));
          });

  auto bearer = app.authenticator();
  app.map("/api/me", [bearer](http::exchange& ex) -> asio::awaitable<void> {
    // The bearer reads query tokens under /hubs only: /api/me takes the header alone.
    auto who = bearer->authenticate(ex.req());
    if (!who.authenticated) {
      co_await ex.async_respond(http::response(401));
      co_return;
    }
    boost::json::array roles;
    for (const auto& c : who.principal->claims())
      if (c.type == "role") roles.push_back(boost::json::string(c.value));
    auto email = who.principal->find_first("email");
    boost::json::object out;
    out["email"] = std::string(email.value_or(""));
    out["roles"] = roles;
    auto r = json_response(200, out);
    co_await ex.async_respond(std::move(r));
  });

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
