// A stream of a shared source: one feed of quotes that every subscriber's stream carries,
// each with its own symbols. With a Redis configuration as the second argument, the hub runs
// on a Redis backplane: several processes serve it, an announcement reaches the clients of all
// (each process publishes its own quotes).
//
//   quotes http://127.0.0.1:5000 [redis-host:6379]
//   connection.stream('Quotes')   after   connection.invoke('Watch', 'MSFT')
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/describe/class.hpp>
#include <hubcast/hubs/stream_source.hpp>
#include <hubcast/redis/use_redis.hpp>
#include <hubcast/server/app.hpp>

struct quote {
  std::string symbol;
  double price = 0;
};
BOOST_DESCRIBE_STRUCT(quote, (), (symbol, price))

using quote_source = hubcast::stream_source<quote>;

class quotes_hub : public hubcast::hub {
 public:
  explicit quotes_hub(std::shared_ptr<quote_source> source) : source_(std::move(source)) {}
  static void configure(hubcast::hub_methods<quotes_hub>& m) {
    m.add("Watch", &quotes_hub::watch).add("Quotes", &quotes_hub::quotes);
    m.add("Announce", &quotes_hub::announce);
  }
  bool watch(std::string symbol) { return symbols()->add(symbol); }  // a running stream too
  hubcast::async_stream<quote> quotes() { return source_->stream(symbols()); }
  void announce(std::string text) {  // every node's clients, through Redis when it is on
    clients().all().send("Announcement", text);
  }

 private:
  std::shared_ptr<quote_source> source_;
  // The caller's symbols: per connection, in its items (hub objects live for one call).
  std::shared_ptr<hubcast::stream_keys> symbols() {
    auto& items = context().items();
    auto [it, added] = items.try_emplace("symbols", std::make_shared<hubcast::stream_keys>());
    return std::any_cast<std::shared_ptr<hubcast::stream_keys>>(it->second);
  }
};

// Publishes a quote for each symbol every 100 ms (a real feed would read an exchange).
boost::asio::awaitable<void> feed(std::shared_ptr<quote_source> source) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  for (int tick = 0;; ++tick) {
    source->publish({{"MSFT", {"MSFT", 400.0 + tick % 10}}, {"AAPL", {"AAPL", 200.0 + tick % 7}}});
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
}

int main(int argc, char** argv) {
  hubcast::app_options options;
  if (argc > 1) options.urls = {argv[1]};
  hubcast::app app(options);
  if (argc > 2) hubcast::redis::use_redis(app, argv[2]);  // before the hubs are mapped
  auto source = quote_source::create(app.shards());
  app.map_hub<quotes_hub>("/quotes", {}, {},
                          [source] { return std::make_unique<quotes_hub>(source); });
  boost::asio::co_spawn(app.shards().executor(0), feed(source), boost::asio::detached);
  return app.run();
}
