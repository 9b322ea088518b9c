#include <hubcast/redis/redis_client.hpp>

#include <hubcast/metrics/hot_metrics.hpp>

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hubcast/core/log.hpp>
#include <hubcast/core/run_on.hpp>
#include <hubcast/redis/redis_connection.hpp>

namespace hubcast::redis {

namespace {

// The counters as /metrics shows them (summed over every client of the process).
struct exported_counters {
  metrics::hot_counter publishes = metrics::hot_counter::get("hubcast_backplane_publishes_total",
                                                             "Messages published to Redis.");
  metrics::hot_counter publish_errors = metrics::hot_counter::get(
      "hubcast_backplane_publish_errors_total", "Publishes Redis refused or could not take.");
  metrics::hot_counter received = metrics::hot_counter::get(
      "hubcast_backplane_messages_received_total", "Messages received from Redis subscriptions.");
  metrics::hot_counter reconnects = metrics::hot_counter::get(
      "hubcast_backplane_reconnects_total", "Connections to Redis made again after a loss.");
  metrics::hot_counter connection_errors = metrics::hot_counter::get(
      "hubcast_backplane_connection_errors_total", "Failed or lost connections to Redis.");
};

const exported_counters& exported() {
  static const exported_counters c;
  return c;
}

}  // namespace

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
auto logger() {
  return log::category("hubcast.redis");
}
}  // namespace

redis_client::redis_client(asio::any_io_executor ex, redis_options options)
    : ex_(ex), options_(std::move(options)), wake_(std::make_unique<hubcast::event>(ex)) {
  (void)exported();  // on /metrics from the start, at 0
}

redis_client::~redis_client() = default;

void redis_client::start() {
  asio::co_spawn(
      ex_, [self = shared_from_this()] { return self->run(); }, asio::detached);
}

void redis_client::stop() {
  stopping_ = true;
  asio::dispatch(ex_, [self = shared_from_this()] {
    if (self->pub_) self->pub_->close("stopping");
    if (self->sub_) self->sub_->close("stopping");
    self->wake_->notify_all();
  });
}

asio::awaitable<void> redis_client::connect_both() {
  auto pub = std::make_shared<redis_connection>(ex_, options_, false);
  auto sub = std::make_shared<redis_connection>(ex_, options_, true);
  pub_ = pub;
  sub_ = sub;
  auto lost = [this](const std::string& reason) {
    if (connected_.exchange(false) && !stopping_)
      logger()->warn("The connection to Redis at {} was lost: {}", options_.endpoint(), reason);
    wake_->notify_all();
  };
  auto op1 = pub->connect();
  co_await std::move(op1);
  auto op2 = sub->connect();
  co_await std::move(op2);
  sub->set_push_handler([this](std::string_view channel, std::string_view payload) {
    counters_.messages_received.fetch_add(1, std::memory_order_relaxed);
    exported().received.add();
    if (on_message_) on_message_(channel, payload);
  });
  pub->set_closed_handler(lost);
  sub->set_closed_handler(lost);
  // Every wanted channel again, pipelined; the last reply means all of them were answered.
  if (!wanted_.empty()) {
    std::vector<std::string> channels(wanted_.begin(), wanted_.end());
    for (std::size_t i = 0; i + 1 < channels.size(); ++i)
      sub->command({"SUBSCRIBE", channels[i]}, nullptr);
    auto op = sub->request({"SUBSCRIBE", channels.back()});
    co_await std::move(op);
  }
  if (!pub->is_open() || !sub->is_open()) throw redis_unavailable("lost while subscribing");
  connected_ = true;
  wake_->notify_all();  // wait_connected()
}

asio::awaitable<void> redis_client::run() {
  auto self = shared_from_this();
  auto backoff = std::chrono::milliseconds(100);
  log::rate_limit failures(std::chrono::seconds(10));
  while (!stopping_) {
    try {
      co_await connect_both();
      backoff = 100ms;
      if (ever_connected_) {
        counters_.reconnects.fetch_add(1, std::memory_order_relaxed);
        exported().reconnects.add();
        logger()->info("Reconnected to Redis at {}; {} channels subscribed again",
                       options_.endpoint(), wanted_.size());
        if (on_reconnected_) on_reconnected_();
      } else {
        logger()->info("Connected to Redis at {}", options_.endpoint());
      }
      ever_connected_ = true;
      auto lost_or_stopping = wake_->async_wait_until([this] { return !connected_ || stopping_; });
      co_await std::move(lost_or_stopping);
    } catch (const std::exception& e) {
      counters_.connection_errors.fetch_add(1, std::memory_order_relaxed);
      exported().connection_errors.add();
      if (auto skipped = failures.ready())
        logger()->warn("Cannot reach Redis at {} ({}); retrying{}", options_.endpoint(),
                       log::escape(e.what()),
                       *skipped ? " (" + std::to_string(*skipped) + " more failures)" : "");
    }
    connected_ = false;
    if (pub_) pub_->close("reconnecting");
    if (sub_) sub_->close("reconnecting");
    if (stopping_) break;
    auto stopped = wake_->async_wait_for([this] { return stopping_.load(); }, backoff);
    co_await std::move(stopped);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
  }
  pub_.reset();
  sub_.reset();
}

asio::awaitable<void> redis_client::wait_connected(std::chrono::milliseconds timeout) {
  if (connected()) co_return;
  // Woken by the connection itself (on its executor), not by polling.
  auto deadline = event::clock::now() + timeout;
  auto waiting = run_on<bool>(ex_, [self = shared_from_this(), deadline]() {
    return self->wake_->async_wait_until([self] { return self->connected(); }, deadline);
  });
  if (!co_await std::move(waiting))
    throw redis_unavailable("Redis at " + options_.endpoint() + " cannot be reached");
}

void redis_client::queue(bool on_subscriber, std::vector<std::string> argv,
                         std::function<void(outcome)> done, bool keep_value) {
  asio::dispatch(ex_, [self = shared_from_this(), on_subscriber, argv = std::move(argv),
                       done = std::move(done), keep_value]() mutable {
    if (on_subscriber && argv.size() == 2) {
      if (argv[0] == "SUBSCRIBE") self->wanted_.insert(argv[1]);
      if (argv[0] == "UNSUBSCRIBE") self->wanted_.erase(argv[1]);
    }
    auto& c = on_subscriber ? self->sub_ : self->pub_;
    // The subscriber takes commands as soon as it is open (they follow the renewal of the
    // wanted channels on a reconnect); publishes wait for both connections.
    if (!c || !c->is_open() || (!on_subscriber && !self->connected_)) {
      done(outcome::failed("Redis at " + self->options_.endpoint() + " is not connected"));
      return;
    }
    std::vector<std::string_view> views(argv.begin(), argv.end());
    c->command(views, [done = std::move(done), endpoint = self->options_.endpoint(),
                       keep_value](const redis_value* r) {
      if (!r) {
        done(outcome::failed("the connection to Redis at " + endpoint + " was lost"));
      } else if (r->is_error()) {
        done(outcome::failed("Redis: " + r->str.substr(0, 200), true));
      } else {
        outcome o;
        o.ok = true;
        o.integer = r->integer;
        if (keep_value) o.value = std::make_shared<redis_value>(*r);
        done(std::move(o));
      }
    });
  });
}

asio::awaitable<redis_client::outcome> redis_client::send(bool on_subscriber,
                                                          std::vector<std::string> argv,
                                                          bool keep_value) {
  using channel = asio::experimental::concurrent_channel<void(boost::system::error_code, outcome)>;
  auto ch = std::make_shared<channel>(co_await asio::this_coro::executor, 1);
  queue(
      on_subscriber, std::move(argv),
      [ch](outcome o) { ch->try_send(boost::system::error_code{}, std::move(o)); }, keep_value);
  auto [ec, o] = co_await ch->async_receive(asio::as_tuple(asio::use_awaitable));
  if (ec) o = outcome::failed("cancelled");
  co_return o;
}

asio::awaitable<long long> redis_client::publish(std::string channel, std::string payload) {
  auto op = send(false, {"PUBLISH", std::move(channel), std::move(payload)});
  auto o = co_await std::move(op);
  if (!o.ok) {
    counters_.publish_errors.fetch_add(1, std::memory_order_relaxed);
    exported().publish_errors.add();
    throw redis_unavailable(o.error);
  }
  counters_.publishes.fetch_add(1, std::memory_order_relaxed);
  exported().publishes.add();
  co_return o.integer;
}

asio::awaitable<void> redis_client::subscribe(std::string channel) {
  auto op = send(true, {"SUBSCRIBE", std::move(channel)});
  auto o = co_await std::move(op);
  if (!o.ok) throw redis_unavailable(o.error);
}

asio::awaitable<redis_value> redis_client::execute(std::vector<std::string> argv) {
  auto op = send(false, std::move(argv), true);
  auto o = co_await std::move(op);
  if (o.error_reply) throw redis_error(o.error);
  if (!o.ok || !o.value) throw redis_unavailable(o.error.empty() ? "cancelled" : o.error);
  co_return std::move(*o.value);
}

void redis_client::execute_detached(std::vector<std::string> argv,
                                    std::function<void(const redis_value*)> done) {
  queue(
      false, std::move(argv),
      [done = std::move(done)](outcome o) {
        if (done) done(o.value.get());
      },
      static_cast<bool>(done));
}

void redis_client::subscribe_detached(std::string channel) {
  // queue() marks it wanted before it knows whether Redis is up.
  queue(true, {"SUBSCRIBE", std::move(channel)}, [](outcome) {});
}

void redis_client::publish_detached(std::string channel, std::string payload) {
  queue(false, {"PUBLISH", std::move(channel), std::move(payload)},
        [self = shared_from_this()](outcome o) {
          (o.ok ? self->counters_.publishes : self->counters_.publish_errors)
              .fetch_add(1, std::memory_order_relaxed);
          (o.ok ? exported().publishes : exported().publish_errors).add();
        });
}

asio::awaitable<void> redis_client::unsubscribe(std::string channel) {
  auto op = send(true, {"UNSUBSCRIBE", std::move(channel)});
  co_await std::move(op);  // not subscribed any more either way: not wanted after a reconnect
}

}  // namespace hubcast::redis
