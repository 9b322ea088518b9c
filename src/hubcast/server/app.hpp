// The composition root: options, hubs and routes, listening, graceful shutdown.
//
//   hubcast::app app(options);
//   auto stocks = app.map_hub<stock_hub>("/hubs/stocks");
//   app.map_get("/healthz", [](hubcast::http::exchange& ex) -> boost::asio::awaitable<void> {...});
//   return app.run();
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <hubcast/auth/bearer.hpp>
#include <hubcast/auth/jwt.hpp>
#include <hubcast/auth/policy.hpp>
#include <hubcast/dispatch/hub_dispatcher.hpp>
#include <hubcast/http/server.hpp>
#include <hubcast/hubs/clients.hpp>
#include <hubcast/hubs/hub_filter.hpp>
#include <hubcast/hubs/method_table.hpp>
#include <hubcast/lifetime/hub_lifetime_manager_factory.hpp>
#include <hubcast/session/hub_options.hpp>
#include <hubcast/transport/http_dispatcher.hpp>

namespace hubcast {

class event;

struct app_options {
  std::vector<std::string> urls{"http://127.0.0.1:5000"};
  std::size_t threads = 0;  // 0: one shard per hardware thread
  http::server_options http{};
  std::chrono::milliseconds disconnect_timeout{15000};
  // How long a graceful shutdown waits for connections to flush and close.
  std::chrono::milliseconds shutdown_timeout{5000};
  // Negotiated connections waiting for their first transport request, at most (0: no cap);
  // past it, negotiate answers 503 with Retry-After. Unused ones go after disconnect_timeout.
  std::size_t max_pending_connections = 10000;
};

using endpoint_options = transport::endpoint_options;
using authentication_refresh_context = transport::authentication_refresh_context;

// The Prometheus endpoint (app::use_metrics; docs/metrics.md).
struct metrics_options {
  // Where the exposition is served.
  std::string path = "/metrics";
  // Empty: on the app's own listeners. Otherwise a listener of its own on these URLs (kept off
  // the public port), printed as "Metrics listening on: <url>".
  std::vector<std::string> urls;
  // The HTTP options of that listener (TLS among them).
  http::server_options http{};
};

// Sends to a hub's clients from outside a hub method (IHubContext): background services,
// HTTP handlers.
class hub_context {
 public:
  hub_context() = default;
  explicit hub_context(std::shared_ptr<lifetime::hub_lifetime_manager> lm) : lm_(std::move(lm)) {}
  hub_clients clients() const { return hub_clients(lm_.get()); }
  group_manager groups() const { return group_manager(lm_.get()); }
  std::size_t connection_count() const;

 private:
  std::shared_ptr<lifetime::hub_lifetime_manager> lm_;
};

class app {
 public:
  explicit app(app_options options = {});
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  // Maps hub `Hub` at `path`. `Hub` declares its methods in
  // `static void configure(hubcast::hub_methods<Hub>&)`.
  template <class Hub>
  hub_context map_hub(std::string path, hub_options options = {}, endpoint_options endpoint = {},
                      std::function<std::unique_ptr<Hub>()> factory = nullptr) {
    hub_methods<Hub> methods;
    Hub::configure(methods);
    dispatch::hub_definition def;
    def.methods = std::move(methods.list());
    if (factory) {
      def.factory = [f = std::move(factory)]() -> std::unique_ptr<hub> { return f(); };
    } else if constexpr (std::is_default_constructible_v<Hub>) {
      def.factory = []() -> std::unique_ptr<hub> { return std::make_unique<Hub>(); };
    } else {
      throw std::logic_error("map_hub: this hub type needs a factory");
    }
    return map_hub_definition(std::move(path), std::move(def), std::move(options),
                              std::move(endpoint));
  }

  hub_context map_hub_definition(std::string path, dispatch::hub_definition def,
                                 hub_options options, endpoint_options endpoint);

  // JWT bearer authentication for every endpoint: the Authorization header anywhere, the
  // access_token query parameter only under `query_token_path_prefixes`.
  void use_jwt_bearer(auth::jwt_validation_options options,
                      std::vector<std::string> query_token_path_prefixes = {"/hubs"});
  std::shared_ptr<const auth::bearer_authenticator> authenticator() const { return bearer_; }
  // Named policies for hub methods (`hub_methods::require(name)`) and hub endpoints
  // (`endpoint_options::policies`). Unknown names refuse (fail closed).
  void add_policy(std::string name, auth::authorization_policy policy);
  bool evaluate_policies(const std::vector<std::string>& names,
                         const auth::claims_principal& user) const;
  // A filter every hub's invocations and connections pass (AddSignalR(o => o.AddFilter(…))),
  // after method authorization and before the hub's own filters (hub_options::filters); in the
  // order added. Before start().
  void add_hub_filter(std::shared_ptr<hub_filter> filter);

  // Scale-out: every hub mapped after this call gets its lifetime manager from `factory`
  // (lifetime/hub_lifetime_manager_factory.hpp), which the app starts and stops with itself.
  // Redis: hubcast::redis::use_redis(app, configuration) (<hubcast/redis/use_redis.hpp>, target
  // hubcast::redis). Before the hubs are mapped, once.
  void use_lifetime_managers(std::shared_ptr<lifetime::hub_lifetime_manager_factory> factory);
  lifetime::hub_lifetime_manager_factory* lifetime_managers() const {
    return lifetime_factory_.get();
  }

  // Serves every counter in the Prometheus text format and counts each hub method's
  // invocations (a filter first in every hub's pipeline). Before start().
  void use_metrics(metrics_options options = {});
  // The bound URLs of the metrics listener (after start(); empty when it shares the app's).
  const std::vector<std::string>& metrics_urls() const { return metrics_urls_; }

  // A raw connection endpoint (bytes in, bytes out, no hub protocol).
  void map_connection_handler(std::string path, std::shared_ptr<transport::connection_handler> h,
                              endpoint_options endpoint = {});

  // Plain HTTP routes (paths match case-insensitively).
  void map(std::string path, http::handler h);
  void map_prefix(std::string prefix, http::handler h);

  // Listens on the configured URLs, prints "Now listening on: <url>" for each, and serves
  // until SIGINT/SIGTERM or stop(). Returns the process exit code.
  int run();
  // Starts listening without blocking (tests); returns the bound URLs.
  std::vector<std::string> start();
  // Called once with the bound URLs (real ports) before the first request is served.
  void on_listening(std::function<void(const std::vector<std::string>&)> f) {
    on_listening_.push_back(std::move(f));
  }
  // Called when shutdown begins (SIGINT/SIGTERM or stop()), in order, each awaited, while the
  // shards and the backplane still run (ASP.NET's ApplicationStopping): give leases up, leave
  // registries. Each should bound its own time.
  void on_stopping(std::function<boost::asio::awaitable<void>()> f) {
    on_stopping_.push_back(std::move(f));
  }
  // Graceful stop: refuse new connections, close hub connections with a Close message.
  void stop();
  // True from the moment shutdown begins (readiness probes answer 503 from then on).
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  shard_pool& shards() { return *shards_; }
  const app_options& options() const { return options_; }

 private:
  app_options options_;
  std::unique_ptr<shard_pool> shards_;
  http::router router_;
  std::unique_ptr<http::server> server_;
  std::optional<metrics_options> metrics_;
  http::router metrics_router_;
  std::unique_ptr<http::server> metrics_server_;
  std::vector<std::string> metrics_urls_;
  std::shared_ptr<transport::connection_manager> connections_;
  std::shared_ptr<lifetime::hub_lifetime_manager_factory> lifetime_factory_;
  std::deque<hub_options> hub_options_;  // stable addresses: connections refer to them
  std::vector<std::shared_ptr<lifetime::hub_lifetime_manager>> lifetimes_;
  std::vector<std::shared_ptr<dispatch::hub_dispatcher>> dispatchers_;
  std::shared_ptr<const auth::bearer_authenticator> bearer_;
  auth::policy_registry policies_;
  std::vector<std::shared_ptr<hub_filter>> hub_filters_;
  std::vector<std::function<void(const std::vector<std::string>&)>> on_listening_;
  std::vector<std::function<boost::asio::awaitable<void>()>> on_stopping_;
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  // On shard 0: a connection ended (its transport, or its hub connection). Shutdown waits on it.
  std::shared_ptr<event> connection_ended_;

  void begin_shutdown();
  void apply_auth(endpoint_options& endpoint);
};

}  // namespace hubcast
