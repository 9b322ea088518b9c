// stream_source with fake sinks: the key index, framing shared across streams, conflation of a
// full stream, cancellation, and delivery on every shard.
#include <hubcast/hubs/stream_source.hpp>

#include <atomic>
#include <exception>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hubcast {
namespace {

namespace asio = boost::asio;
using detail::framing_cache;
using detail::try_write_result;

// A stream's connection: what it got (one JSON text per item), whether its output is full.
class fake_sink final : public detail::stream_sink {
 public:
  fake_sink(asio::any_io_executor ex, std::string id)
      : id_(std::move(id)),
        cancel_(ex, asio::steady_timer::time_point::max()),
        writable_(ex, asio::steady_timer::time_point::max()) {}

  std::vector<std::string> got;
  int framed = 0;  // items this sink framed itself (not found in the delivery's cache)
  bool full = false;
  std::vector<std::string>* trace = nullptr;  // when set: the id of each write, in write order

  asio::awaitable<void> async_write(protocol::payload) override { co_return; }
  bool cancelled() const override { return cancelled_; }
  asio::awaitable<void> async_wait_cancelled() override {
    while (!cancelled_) {
      cancel_.expires_at(asio::steady_timer::time_point::max());
      co_await cancel_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  try_write_result try_write(const protocol::payload& item, framing_cache& cache) override {
    if (cancelled_) return try_write_result::cancelled;
    if (full) return try_write_result::full;
    auto b = cache.find(&tag, id_);
    if (!b) {
      std::string s;
      item.append_json(s, {});
      b = std::make_shared<const std::string>(std::move(s));
      cache.add(&tag, id_, b);
      ++framed;
    }
    got.push_back(*b);
    if (trace) trace->push_back(id_);
    return try_write_result::written;
  }
  asio::awaitable<void> async_wait_writable() override {
    while (full && !cancelled_) {
      writable_.expires_at(asio::steady_timer::time_point::max());
      co_await writable_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  void drain() {
    full = false;
    writable_.cancel();
  }
  void cancel() {
    cancelled_ = true;
    cancel_.cancel();
    writable_.cancel();
  }

 private:
  static inline int tag = 0;
  std::string id_;
  bool cancelled_ = false;
  asio::steady_timer cancel_, writable_;
};

// Lets the shard run what is ready (the streams' wake-ups) a few turns.
asio::awaitable<void> yield() {
  for (int i = 0; i < 5; ++i)
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

// Runs `body` on shard 0 of a pool of `n` shards.
template <class F>
void on_shards(std::size_t n, F body) {
  shard_pool pool(n);
  std::exception_ptr error;
  asio::co_spawn(
      pool.executor(0), [&]() -> asio::awaitable<void> { co_await body(pool); },
      [&](std::exception_ptr e) {
        error = e;
        pool.stop();
      });
  pool.run();
  if (error) std::rethrow_exception(error);
}

// Starts a stream of `src` on the calling shard.
template <class T>
void start(const std::shared_ptr<stream_source<T>>& src, std::shared_ptr<fake_sink> sink,
           std::shared_ptr<stream_keys> keys, asio::any_io_executor ex) {
  auto producer = src->stream(std::move(keys)).producer();
  asio::co_spawn(ex, producer(stream_writer<T>(sink)), asio::detached);
}

std::vector<std::pair<std::string, int>> tick(int base) {
  return {{"A", base + 1}, {"B", base + 2}, {"C", base + 3}};
}

TEST(StreamSource, EveryKeyWithoutKeysOnlyItsKeysWithThem) {
  on_shards(1, [](shard_pool& pool) -> asio::awaitable<void> {
    auto ex = pool.executor(0);
    auto src = stream_source<int>::create(pool);
    auto all = std::make_shared<fake_sink>(ex, "0");
    auto some = std::make_shared<fake_sink>(ex, "1");
    auto keys = std::make_shared<stream_keys>();
    keys->add("B");
    start(src, all, std::make_shared<stream_keys>(), ex);
    start(src, some, keys, ex);
    co_await yield();
    EXPECT_EQ(src->streams_on(0), 2u);
    src->publish(tick(0));
    EXPECT_EQ(all->got, (std::vector<std::string>{"1", "2", "3"}));
    EXPECT_EQ(some->got, (std::vector<std::string>{"2"}));
    // Changes apply at once: from keyed to every key and back.
    keys->add("C");
    src->publish(tick(10));
    EXPECT_EQ(some->got, (std::vector<std::string>{"2", "12", "13"}));
    keys->remove("B");
    keys->remove("C");
    src->publish(tick(20));
    EXPECT_EQ(some->got, (std::vector<std::string>{"2", "12", "13", "21", "22", "23"}));
    keys->add("A");
    src->publish(tick(30));
    EXPECT_EQ(some->got.back(), "31");
    EXPECT_EQ(some->got.size(), 7u);
    EXPECT_FALSE(keys->add("A")) << "already there";
    EXPECT_FALSE(keys->remove("Z")) << "not there";
    all->cancel();
    some->cancel();
    co_await yield();
    co_await yield();
    EXPECT_EQ(src->streams_on(0), 0u);
  });
}

TEST(StreamSource, FramesOncePerInvocationIdAcrossStreams) {
  on_shards(1, [](shard_pool& pool) -> asio::awaitable<void> {
    auto ex = pool.executor(0);
    auto src = stream_source<int>::create(pool);
    std::vector<std::shared_ptr<fake_sink>> sinks;
    for (const char* id : {"0", "0", "0", "7"}) {
      sinks.push_back(std::make_shared<fake_sink>(ex, id));
      start(src, sinks.back(), std::make_shared<stream_keys>(), ex);
    }
    co_await yield();
    src->publish(tick(0));
    int framed = 0;
    for (auto& s : sinks) {
      EXPECT_EQ(s->got.size(), 3u);
      framed += s->framed;
    }
    EXPECT_EQ(framed, 6) << "3 items x 2 distinct ids, not x 4 streams";
    for (auto& s : sinks) s->cancel();
    co_await yield();
  });
}

TEST(StreamSource, AFullStreamKeepsTheLatestPerKeyAndNobodyWaits) {
  on_shards(1, [](shard_pool& pool) -> asio::awaitable<void> {
    auto ex = pool.executor(0);
    int conflated = 0;
    auto src = stream_source<int>::create(pool, {}, [&] { ++conflated; });
    auto slow = std::make_shared<fake_sink>(ex, "0");
    auto fast = std::make_shared<fake_sink>(ex, "0");
    start(src, slow, std::make_shared<stream_keys>(), ex);
    start(src, fast, std::make_shared<stream_keys>(), ex);
    co_await yield();
    slow->full = true;
    for (int t = 0; t < 5; ++t) src->publish(tick(t * 10));
    EXPECT_EQ(fast->got.size(), 15u) << "the fast stream got every item";
    EXPECT_TRUE(slow->got.empty());
    EXPECT_EQ(conflated, 12) << "3 keys kept, 12 replaced";
    slow->drain();
    co_await yield();
    co_await yield();
    EXPECT_EQ(slow->got, (std::vector<std::string>{"41", "42", "43"})) << "the latest, by key";
    src->publish(tick(50));
    EXPECT_EQ(slow->got.size(), 6u) << "then direct again";
    slow->cancel();
    fast->cancel();
    co_await yield();
  });
}

TEST(StreamSource, ItemsNewerThanPendingOnesWaitBehindThem) {
  on_shards(1, [](shard_pool& pool) -> asio::awaitable<void> {
    auto ex = pool.executor(0);
    auto src = stream_source<int>::create(pool);
    auto s = std::make_shared<fake_sink>(ex, "0");
    auto keys = std::make_shared<stream_keys>();
    keys->add("A");
    keys->add("B");
    start(src, s, keys, ex);
    co_await yield();
    s->full = true;
    src->publish({{"A", 1}});
    s->full = false;  // writable again, but the stream has not drained its pending item yet
    src->publish({{"A", 2}, {"B", 3}});
    EXPECT_TRUE(s->got.empty()) << "no item overtakes a pending one";
    s->drain();
    co_await yield();
    co_await yield();
    EXPECT_EQ(s->got, (std::vector<std::string>{"2", "3"}));
    // An unsubscribed key's pending item is dropped.
    s->full = true;
    src->publish({{"A", 4}, {"B", 5}});
    keys->remove("A");
    s->drain();
    co_await yield();
    co_await yield();
    EXPECT_EQ(s->got, (std::vector<std::string>{"2", "3", "5"}));
    s->cancel();
    co_await yield();
  });
}

// A batch reaches each keyed stream as one run of writes (its connection touched once), in the
// batch's order whatever the order its keys were added in; slots freed by ended streams are
// taken again by new ones.
TEST(StreamSource, KeyedStreamsGetABatchAsOneRunInBatchOrder) {
  on_shards(1, [](shard_pool& pool) -> asio::awaitable<void> {
    auto ex = pool.executor(0);
    auto src = stream_source<int>::create(pool);
    std::vector<std::string> trace;
    std::vector<std::shared_ptr<fake_sink>> sinks;
    auto add = [&](std::string id, std::vector<std::string> keys) {
      auto k = std::make_shared<stream_keys>();
      for (const auto& key : keys) k->add(key);
      auto sink = std::make_shared<fake_sink>(ex, std::move(id));
      sink->trace = &trace;
      start(src, sink, k, ex);
      sinks.push_back(sink);
      return sink;
    };
    auto x = add("x", {"C", "A"});
    auto y = add("y", {"B"});
    auto z = add("z", {"B", "C", "A"});
    co_await yield();
    src->publish(tick(0));  // A, B, C
    EXPECT_EQ(x->got, (std::vector<std::string>{"1", "3"}));
    EXPECT_EQ(y->got, (std::vector<std::string>{"2"}));
    EXPECT_EQ(z->got, (std::vector<std::string>{"1", "2", "3"}));
    // Each stream's writes are consecutive.
    std::vector<std::string> runs;
    for (const auto& id : trace)
      if (runs.empty() || runs.back() != id) runs.push_back(id);
    EXPECT_EQ(runs.size(), 3u);
    // End x; a new stream takes its slot and gets only its own keys.
    x->cancel();
    co_await yield();
    co_await yield();
    auto w = add("w", {"A"});
    co_await yield();
    EXPECT_EQ(src->streams_on(0), 3u);
    src->publish({{"C", 7}, {"A", 8}});
    EXPECT_EQ(x->got.size(), 2u) << "an ended stream gets nothing";
    EXPECT_EQ(w->got, (std::vector<std::string>{"8"}));
    EXPECT_EQ(z->got, (std::vector<std::string>{"1", "2", "3", "7", "8"}));
    EXPECT_EQ(y->got.size(), 1u);
    for (auto& s : sinks) s->cancel();
    co_await yield();
    co_await yield();
    EXPECT_EQ(src->streams_on(0), 0u);
    src->publish(tick(10));  // nobody: nothing happens
  });
}

TEST(StreamSource, ACancelledStreamLeavesTheIndexAndItsKeys) {
  on_shards(1, [](shard_pool& pool) -> asio::awaitable<void> {
    auto ex = pool.executor(0);
    auto src = stream_source<int>::create(pool);
    auto keys = std::make_shared<stream_keys>();
    keys->add("A");
    auto a = std::make_shared<fake_sink>(ex, "0");
    auto b = std::make_shared<fake_sink>(ex, "1");
    start(src, a, keys, ex);
    start(src, b, keys, ex);  // two streams of one connection share its keys
    co_await yield();
    EXPECT_EQ(src->streams_on(0), 2u);
    a->cancel();
    co_await yield();
    co_await yield();
    EXPECT_EQ(src->streams_on(0), 1u);
    keys->add("B");  // only the running stream follows
    src->publish(tick(0));
    EXPECT_TRUE(a->got.empty());
    EXPECT_EQ(b->got, (std::vector<std::string>{"1", "2"}));
    b->cancel();
    co_await yield();
    co_await yield();
    EXPECT_EQ(src->streams_on(0), 0u);
    src->publish(tick(10));  // nobody: nothing happens
  });
}

TEST(StreamSource, DeliversOnEveryShard) {
  on_shards(2, [](shard_pool& pool) -> asio::awaitable<void> {
    auto src = stream_source<int>::create(pool);
    auto s0 = std::make_shared<fake_sink>(pool.executor(0), "0");
    std::shared_ptr<fake_sink> s1;
    std::atomic<bool> started{false};
    // The second stream lives on shard 1: made, started and read there.
    asio::post(pool.executor(1), [&] {
      s1 = std::make_shared<fake_sink>(pool.executor(1), "0");
      start(src, s1, std::make_shared<stream_keys>(), pool.executor(1));
      started = true;
    });
    start(src, s0, std::make_shared<stream_keys>(), pool.executor(0));
    asio::steady_timer t(pool.executor(0));
    while (!started || src->streams_on(0) != 1) {
      t.expires_after(std::chrono::milliseconds(1));
      co_await t.async_wait(asio::use_awaitable);
    }
    std::atomic<std::size_t> on1{0};
    for (int i = 0; i < 100 && on1 != 1; ++i) {
      asio::post(pool.executor(1), [&] { on1 = src->streams_on(1); });
      t.expires_after(std::chrono::milliseconds(1));
      co_await t.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(on1, 1u);
    src->publish(tick(0));
    std::atomic<std::size_t> got1{0};
    for (int i = 0; i < 1000 && got1 != 3; ++i) {
      asio::post(pool.executor(1), [&] { got1 = s1->got.size(); });
      t.expires_after(std::chrono::milliseconds(1));
      co_await t.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(s0->got.size(), 3u);
    EXPECT_EQ(got1, 3u);
    s0->cancel();
    asio::post(pool.executor(1), [&] { s1->cancel(); });
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(asio::use_awaitable);
  });
}

}  // namespace
}  // namespace hubcast
