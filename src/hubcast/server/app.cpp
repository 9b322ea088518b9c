#include <hubcast/server/app.hpp>

#include <algorithm>
#include <cstdio>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hubcast/core/event.hpp>
#include <hubcast/core/log.hpp>
#include <hubcast/lifetime/default_hub_lifetime_manager.hpp>
#include <hubcast/metrics/metrics.hpp>
#include <hubcast/metrics/server_metrics.hpp>
#include <hubcast/server/authorization_filter.hpp>
#include <hubcast/server/metrics_filter.hpp>

namespace hubcast {

namespace asio = boost::asio;

std::size_t hub_context::connection_count() const {
  return lm_ ? lm_->connection_count() : 0;
}

app::app(app_options options) : options_(std::move(options)) {
  log::use_single_line_messages();
  std::size_t n = options_.threads ? options_.threads : std::thread::hardware_concurrency();
  shards_ = std::make_unique<shard_pool>(n ? n : 1);
  connections_ = std::make_shared<transport::connection_manager>(options_.disconnect_timeout,
                                                                 options_.max_pending_connections);
}

app::~app() {
  if (server_) server_->stop_accepting();
  if (metrics_server_) metrics_server_->stop_accepting();
  for (auto& d : dispatchers_) d->stop();
  if (lifetime_factory_) lifetime_factory_->stop();
  connections_->stop_scan();
  // Every pending frame goes while the hubs, lifetimes and connections it refers to still
  // exist, and every io_context outlives every timer and socket (shard_pool::shutdown).
  shards_->shutdown();
}

void app::use_jwt_bearer(auth::jwt_validation_options options,
                         std::vector<std::string> query_token_path_prefixes) {
  bearer_ = std::make_shared<const auth::bearer_authenticator>(
      std::make_shared<const auth::jwt_validator>(std::move(options)),
      std::move(query_token_path_prefixes));
}

void app::add_policy(std::string name, auth::authorization_policy policy) {
  policies_.add(std::move(name), std::move(policy));
}

bool app::evaluate_policies(const std::vector<std::string>& names,
                            const auth::claims_principal& user) const {
  for (const auto& n : names) {
    const auto* p = policies_.find(n);
    if (!p) {
      spdlog::error("authorization policy '{}' is not defined; refusing", n);
      return false;
    }
    if (!p->evaluate(user)) return false;
  }
  return true;
}

void app::apply_auth(endpoint_options& endpoint) {
  if (!endpoint.authenticate && bearer_) {
    auto b = bearer_;
    endpoint.authenticate = [b](const http::request& r) { return b->authenticate(r); };
  }
  if (!endpoint.policies.empty() && !endpoint.authorize) {
    endpoint.authorize = [this, names = endpoint.policies](const auth::claims_principal& u) {
      return evaluate_policies(names, u);
    };
  }
  if ((endpoint.require_authenticated || endpoint.authorize) && !endpoint.authenticate)
    throw std::logic_error(
        "an endpoint requires authorization but no authentication is configured");
}

hub_context app::map_hub_definition(std::string path, dispatch::hub_definition def,
                                    hub_options options, endpoint_options endpoint) {
  apply_auth(endpoint);
  if (def.name.empty()) def.name = path;
  hub_options_.push_back(std::move(options));
  const hub_options& opts = hub_options_.back();
  std::shared_ptr<lifetime::hub_lifetime_manager> lm;
  if (lifetime_factory_) {
    lm = lifetime_factory_->create(opts, opts.backplane_name.empty() ? path : opts.backplane_name);
    if (!lm) throw std::logic_error("the lifetime manager factory made no manager for " + path);
  } else {
    lm = std::make_shared<lifetime::default_hub_lifetime_manager>(*shards_, opts);
  }
  auto d = std::make_shared<dispatch::hub_dispatcher>(std::move(def), opts, lm);
  lifetimes_.push_back(lm);
  dispatchers_.push_back(d);
  transport::map_endpoint(router_, path, d, endpoint, connections_);
  return hub_context(lm);
}

void app::add_hub_filter(std::shared_ptr<hub_filter> filter) {
  if (started_) throw std::logic_error("add_hub_filter must be called before start()");
  if (!filter) throw std::invalid_argument("add_hub_filter: null filter");
  hub_filters_.push_back(std::move(filter));
}

void app::use_metrics(metrics_options options) {
  if (started_) throw std::logic_error("use_metrics must be called before start()");
  if (options.path.empty() || options.path.front() != '/')
    throw std::invalid_argument("the metrics path must start with '/': '" + options.path + "'");
  metrics::register_server_instruments();
  auto handler = [](http::exchange& ex) -> asio::awaitable<void> {
    if (ex.req().method != "GET" && ex.req().method != "HEAD") {
      http::response r(405);
      r.set("Allow", "GET, HEAD");
      co_await ex.async_respond(std::move(r));
      co_return;
    }
    http::response r(200, metrics::scrape(), metrics::content_type);
    r.set("Cache-Control", "no-store");
    co_await ex.async_respond(std::move(r));
  };
  if (options.urls.empty())
    router_.add_exact(options.path, handler);
  else
    metrics_router_.add_exact(options.path, handler);
  metrics_ = std::move(options);
}

void app::use_lifetime_managers(std::shared_ptr<lifetime::hub_lifetime_manager_factory> factory) {
  if (!factory) throw std::invalid_argument("use_lifetime_managers: null factory");
  if (started_) throw std::logic_error("use_lifetime_managers must be called before start()");
  if (!dispatchers_.empty())
    throw std::logic_error("use_lifetime_managers must be called before the hubs are mapped");
  if (lifetime_factory_)
    throw std::logic_error("use_lifetime_managers: the app has a lifetime manager factory already");
  lifetime_factory_ = std::move(factory);
}

void app::map_connection_handler(std::string path, std::shared_ptr<transport::connection_handler> h,
                                 endpoint_options endpoint) {
  apply_auth(endpoint);
  transport::map_endpoint(router_, path, std::move(h), endpoint, connections_);
}

void app::map(std::string path, http::handler h) {
  router_.add_exact(std::move(path), std::move(h));
}

void app::map_prefix(std::string prefix, http::handler h) {
  router_.add_prefix(std::move(prefix), std::move(h));
}

std::vector<std::string> app::start() {
  // Set before the first connection can come. Shutdown waits for the last connection to end;
  // each end (its transport, its hub connection) wakes it, on shard 0.
  connection_ended_ = std::make_shared<event>(shards_->executor(0));
  auto ended = [w = std::weak_ptr<event>(connection_ended_), ex = shards_->executor(0)] {
    asio::post(ex, [w] {
      if (auto e = w.lock()) e->notify_all();
    });
  };
  connections_->set_on_removed(ended);
  for (auto& d : dispatchers_) d->set_on_connection_ended(ended);
  server_ = std::make_unique<http::server>(*shards_, router_, options_.http);
  auto urls = server_->listen(options_.urls);
  if (metrics_ && !metrics_->urls.empty()) {
    metrics_server_ = std::make_unique<http::server>(*shards_, metrics_router_, metrics_->http);
    metrics_urls_ = metrics_server_->listen(metrics_->urls);
  }
  for (auto& f : on_listening_) f(urls);
  // Each hub's pipeline: method authorization, the global filters, the hub's own.
  for (std::size_t i = 0; i < dispatchers_.size(); ++i) {
    std::vector<std::shared_ptr<hub_filter>> filters;
    const auto& def = dispatchers_[i]->definition();
    if (metrics_) filters.push_back(std::make_shared<metrics_filter>(def.name, def.methods));
    if (authorization_filter::guards_any(dispatchers_[i]->definition().methods))
      filters.push_back(std::make_shared<authorization_filter>(
          [this](const std::vector<std::string>& names, const auth::claims_principal& u) {
            return evaluate_policies(names, u);
          }));
    filters.insert(filters.end(), hub_filters_.begin(), hub_filters_.end());
    const auto& own = hub_options_[i].filters;
    filters.insert(filters.end(), own.begin(), own.end());
    dispatchers_[i]->set_filters(std::move(filters));
  }
  for (auto& d : dispatchers_) d->start();
  if (lifetime_factory_) lifetime_factory_->start();
  connections_->start_scan(shards_->executor(0));
  started_ = true;
  return urls;
}

void app::begin_shutdown() {
  if (stopping_.exchange(true)) return;
  spdlog::info("Application is shutting down...");
  if (server_) server_->stop_accepting();
  if (metrics_server_) metrics_server_->stop_accepting();
  connections_->set_shutting_down();
  for (auto& l : lifetimes_) l->close_all(std::nullopt, true);
  // Raw connections have no Close message: end their output.
  for (auto& c : connections_->all()) {
    auto ex = c->get_executor();
    if (ex) asio::post(ex, [c] { c->complete(); });
  }
  // Waits for the last connection to go (woken by each end, not polling), at most the shutdown
  // timeout.
  if (!connection_ended_) connection_ended_ = std::make_shared<event>(shards_->executor(0));
  asio::co_spawn(
      shards_->executor(0),
      [this]() -> asio::awaitable<void> {
        auto deadline = std::chrono::steady_clock::now() + options_.shutdown_timeout;
        for (auto& f : on_stopping_) {
          try {
            auto op = f();
            co_await std::move(op);
          } catch (const std::exception& e) {
            spdlog::warn("A stopping handler failed: {}", e.what());
          }
        }
        // The count is taken right before each wait: an end's wake-up (posted to this shard)
        // cannot slip in between and be lost.
        auto none_left = connection_ended_->async_wait_until(
            [this] {
              std::size_t live = connections_->active();
              for (auto& l : lifetimes_) live += l->connection_count();
              return live == 0;
            },
            deadline);
        co_await std::move(none_left);
        connections_->set_on_removed(nullptr);
        for (auto& d : dispatchers_) d->stop();
        if (lifetime_factory_) lifetime_factory_->stop();
        connections_->stop_scan();
        shards_->stop();
      },
      asio::detached);
}

void app::stop() {
  asio::post(shards_->executor(0), [this] { begin_shutdown(); });
}

int app::run() {
  // The handlers exist before the first "Now listening" line: a supervisor that signals as soon
  // as it reads it gets a drain, never the default action (an abrupt exit).
  asio::signal_set signals(shards_->context(0), SIGINT, SIGTERM);
  signals.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) begin_shutdown();
  });
  std::vector<std::string> urls;
  try {
    urls = start();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  for (const auto& u : urls) std::printf("Now listening on: %s\n", u.c_str());
  for (const auto& u : metrics_urls_) std::printf("Metrics listening on: %s\n", u.c_str());
  std::fflush(stdout);
  shards_->run();
  return 0;
}

}  // namespace hubcast
