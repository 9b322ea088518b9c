// The backplane's Redis client (the part of StackExchange.Redis's ConnectionMultiplexer that
// SignalR uses): one publisher and one subscriber connection per process, both on one shard's
// executor. It reconnects with backoff (0.1 s doubling to 5 s) and renews every subscription
// after Redis comes back; what is published while a connection is down is lost (Redis pub/sub
// keeps nothing), and a publish made then fails at once with redis_unavailable.
//
// Thread-safe: every public member function may be called from any thread. Messages are
// handed to the message handler on the client's executor.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <hubcast/core/event.hpp>
#include <hubcast/redis/redis_options.hpp>
#include <hubcast/redis/redis_value.hpp>

namespace hubcast::redis {

class redis_connection;

// Redis cannot be reached (or the connection was lost before it answered).
class redis_unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Redis answered a command with an error reply (the text, cut to 200 bytes).
class redis_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct redis_counters {
  std::atomic<std::uint64_t> publishes{0};
  std::atomic<std::uint64_t> publish_errors{0};
  std::atomic<std::uint64_t> messages_received{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> connection_errors{0};
};

class redis_client : public std::enable_shared_from_this<redis_client> {
 public:
  using message_handler = std::function<void(std::string_view channel, std::string_view payload)>;

  redis_client(boost::asio::any_io_executor ex, redis_options options);
  ~redis_client();

  // Set before start().
  void set_message_handler(message_handler h) { on_message_ = std::move(h); }
  // Called (on the client's executor) each time both connections are up again after a loss.
  void set_on_reconnected(std::function<void()> h) { on_reconnected_ = std::move(h); }

  // Connects in the background and keeps reconnecting until stop().
  void start();
  void stop();
  bool connected() const { return connected_.load(std::memory_order_acquire); }
  // Completes when connected, or throws redis_unavailable after `timeout`.
  boost::asio::awaitable<void> wait_connected(std::chrono::milliseconds timeout);

  // PUBLISH; returns how many subscribers received it. Throws redis_unavailable. The command is
  // queued when the awaitable is first awaited (co_spawn on the client's executor runs that far
  // at once).
  boost::asio::awaitable<long long> publish(std::string channel, std::string payload);

  // SUBSCRIBE / UNSUBSCRIBE: the channel is wanted (renewed on every reconnect) from the call;
  // completes when Redis confirmed. subscribe throws redis_unavailable when Redis is down (the
  // channel stays wanted and is subscribed when Redis is back).
  boost::asio::awaitable<void> subscribe(std::string channel);
  boost::asio::awaitable<void> unsubscribe(std::string channel);
  // SUBSCRIBE without waiting: wanted from now on, subscribed when Redis answers (and again
  // after every reconnect).
  void subscribe_detached(std::string channel);

  // Any other command, on the publisher connection (pipelined with the publishes, answered in
  // order). Throws redis_unavailable when Redis is down, redis_error on an error reply. Not for
  // SUBSCRIBE, MULTI, or anything else that changes the connection's state for later commands.
  boost::asio::awaitable<redis_value> execute(std::vector<std::string> argv);
  // The same without waiting: queued before it returns when called on the client's executor
  // (so calls made there are sent in call order), posted there otherwise. `done` (optional)
  // gets the reply, or nullptr when Redis is down or answered with an error.
  void execute_detached(std::vector<std::string> argv,
                        std::function<void(const redis_value*)> done = {});
  // PUBLISH without waiting, ordered as execute_detached; a failure is counted.
  void publish_detached(std::string channel, std::string payload);

  const redis_counters& counters() const { return counters_; }
  const redis_options& options() const { return options_; }
  boost::asio::any_io_executor executor() const { return ex_; }

 private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> connect_both();
  // Queues a command on a connection, on ex_; `done` gets the outcome on ex_.
  struct outcome {
    bool ok = false;
    long long integer = 0;
    std::string error;
    std::shared_ptr<redis_value> value;  // with keep_value
    bool error_reply = false;

    static outcome failed(std::string why, bool error_reply = false) {
      outcome o;
      o.error = std::move(why);
      o.error_reply = error_reply;
      return o;
    }
  };
  void queue(bool on_subscriber, std::vector<std::string> argv, std::function<void(outcome)> done,
             bool keep_value = false);
  boost::asio::awaitable<outcome> send(bool on_subscriber, std::vector<std::string> argv,
                                       bool keep_value = false);

  boost::asio::any_io_executor ex_;
  redis_options options_;
  message_handler on_message_;
  std::function<void()> on_reconnected_;
  std::shared_ptr<redis_connection> pub_, sub_;
  std::set<std::string> wanted_;  // on ex_
  std::atomic<bool> connected_{false};
  std::atomic<bool> stopping_{false};
  bool ever_connected_ = false;
  // On ex_: connected, a connection closed, stopping.
  std::unique_ptr<event> wake_;
  redis_counters counters_;
};

}  // namespace hubcast::redis
