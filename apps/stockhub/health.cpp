#include "health.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <hubcast/redis/redis_backplane.hpp>

namespace stockhub {

namespace asio = boost::asio;
namespace http = hubcast::http;
using clock_type = std::chrono::steady_clock;

namespace {
constexpr auto probe_every = std::chrono::seconds(1);
constexpr auto probe_stale = std::chrono::seconds(5);
}  // namespace

// The user store's state, kept by a timer on a thread of its own.
class readiness_probe final : public readiness {
 public:
  explicit readiness_probe(user_store& users) : users_(users), timer_(thread_) {}
  ~readiness_probe() override { stop(); }

  void start() { schedule(std::chrono::seconds(0)); }

  void stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(thread_, [this] { timer_.cancel(); });
    thread_.join();
  }

  // Empty when the store answered within the last few seconds; else why not.
  std::string store_problem() {
    std::lock_guard lock(mutex_);
    if (started_ == clock_type::time_point{}) return {};  // the first probe is on its way
    if (clock_type::now() - answered_ > probe_stale && clock_type::now() - started_ > probe_stale)
      return "the user store has not answered for " +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::seconds>(clock_type::now() - answered_)
                     .count()) +
             " s";
    return problem_;
  }

  // Logs the reason once each time readiness changes.
  void report(const std::string& why) {
    std::lock_guard lock(mutex_);
    if (why == reported_) return;
    if (why.empty())
      spdlog::info("/readyz: ready again");
    else
      spdlog::warn("/readyz: not ready: {}", why);
    reported_ = why;
  }

 private:
  user_store& users_;
  asio::thread_pool thread_{1};
  asio::steady_timer timer_;
  std::atomic<bool> stopped_{false};
  std::mutex mutex_;
  clock_type::time_point started_{};   // the probe in progress (or last) began
  clock_type::time_point answered_{};  // the last probe came back
  std::string problem_;
  std::string reported_;

  void schedule(clock_type::duration after) {
    timer_.expires_after(after);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || stopped_) return;
      probe();
      schedule(probe_every);
    });
  }

  void probe() {
    {
      std::lock_guard lock(mutex_);
      started_ = clock_type::now();
      if (answered_ == clock_type::time_point{}) answered_ = started_;
    }
    std::string problem;
    try {
      (void)users_.count();  // SQLite may block: only this thread waits
    } catch (const std::exception& e) {
      problem = std::string("the user store does not answer: ") + e.what();
    }
    std::lock_guard lock(mutex_);
    answered_ = clock_type::now();
    problem_ = std::move(problem);
  }
};

std::shared_ptr<readiness> map_health(hubcast::app& app, user_store& users,
                                      const hubcast::redis::redis_backplane* backplane) {
  auto ready = std::make_shared<readiness_probe>(users);
  ready->start();
  app.map("/healthz", [](http::exchange& ex) -> asio::awaitable<void> {
    co_await ex.async_respond(http::response(200, "Healthy", "text/plain"));
  });
  app.map("/readyz", [&app, ready, backplane](http::exchange& ex) -> asio::awaitable<void> {
    std::string why;
    if (app.stopping()) {
      why = "shutting down";
    } else if (backplane && !backplane->connected()) {
      why = "Redis at " + backplane->client().options().endpoint() + " is not connected";
    } else {
      why = ready->store_problem();
    }
    ready->report(why);
    auto res = why.empty() ? http::response(200, "Healthy", "text/plain")
                           : http::response(503, "Unhealthy", "text/plain");
    res.set("Cache-Control", "no-store");
    co_await ex.async_respond(std::move(res));
  });
  return ready;
}

}  // namespace stockhub
