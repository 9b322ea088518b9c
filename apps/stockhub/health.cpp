#include "health.hpp"

#include <string>

#include "core/run_on.hpp"
#include "redis/redis_backplane.hpp"

namespace stockhub {

namespace asio = boost::asio;
namespace http = hubcast::http;

void map_health(hubcast::app& app, user_store& users, asio::thread_pool& workers) {
  app.map("/healthz", [](http::exchange& ex) -> asio::awaitable<void> {
    co_await ex.async_respond(http::response(200, "Healthy", "text/plain"));
  });
  app.map("/readyz", [&app, &users, &workers](http::exchange& ex) -> asio::awaitable<void> {
    std::string why;
    if (app.stopping()) {
      why = "shutting down";
    } else if (auto* backplane = app.backplane(); backplane && !backplane->connected()) {
      why = "Redis at " + backplane->client().options().endpoint() + " is not connected";
    } else {
      // SQLite may block: asked on the worker pool, answered on this shard.
      auto probing = hubcast::run_on<std::string>(
          workers.get_executor(), [&users]() -> asio::awaitable<std::string> {
            std::string problem;
            try {
              (void)users.count();
            } catch (const std::exception& e) {
              problem = std::string("the user store does not answer: ") + e.what();
            }
            co_return problem;
          });
      why = co_await std::move(probing);
    }
    auto res = why.empty() ? http::response(200, "Healthy", "text/plain")
                           : http::response(503, "Unhealthy: " + why, "text/plain");
    res.set("Cache-Control", "no-store");
    co_await ex.async_respond(std::move(res));
  });
}

}  // namespace stockhub
