#include <hubcast/lifetime/client_results_manager.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <gtest/gtest.h>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using hubcast::lifetime::client_results_manager;
using hubcast::session::client_result;

client_result value(int v) {
  return client_result{std::nullopt, hubcast::protocol::raw_value(boost::json::value(v)), true};
}

// A caller on `caller` that registers an invocation of conn-a and awaits it for `timeout`: its
// id goes to `id`, what it got to `out` (when it gets something).
void start_caller(client_results_manager& m, asio::io_context& caller,
                  std::chrono::milliseconds timeout, std::string& id, client_result& out) {
  asio::co_spawn(
      caller,
      [&m, &caller, timeout, &id, &out]() -> asio::awaitable<void> {
        auto pending = m.expect("conn-a", caller.get_executor());
        id = pending.id();
        auto op = pending.result(timeout);
        out = co_await std::move(op);
      },
      asio::detached);
}

TEST(ClientResultsManager, OnlyTheConnectionItWasSentToCompletesIt) {
  client_results_manager m;
  std::vector<client_result> got;
  ASSERT_TRUE(m.add("7", "conn-a", [&](client_result r) { got.push_back(std::move(r)); }));
  EXPECT_EQ(m.try_complete("conn-b", "7", value(1)),
            client_results_manager::completion::wrong_connection);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(m.pending(), 1u);
  EXPECT_EQ(m.try_complete("conn-a", "8", value(2)), client_results_manager::completion::unknown);
  EXPECT_EQ(m.try_complete("conn-a", "7", value(3)), client_results_manager::completion::completed);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value.json(), boost::json::value(3));
  // Once: a second Completion of the same id is unknown by then.
  EXPECT_EQ(m.try_complete("conn-a", "7", value(4)), client_results_manager::completion::unknown);
  EXPECT_EQ(got.size(), 1u);
  EXPECT_EQ(m.pending(), 0u);
}

TEST(ClientResultsManager, TheSameIdTwiceIsRefusedAndTheFirstKept) {
  client_results_manager m;
  int first = 0, second = 0;
  ASSERT_TRUE(m.add("x", "conn-a", [&](client_result) { ++first; }));
  EXPECT_FALSE(m.add("x", "conn-b", [&](client_result) { ++second; }));
  EXPECT_TRUE(m.try_complete("x", value(1)));  // by id alone (a backplane's return channel)
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 0);
  EXPECT_FALSE(m.try_complete("x", value(1)));
}

TEST(ClientResultsManager, AConnectionThatGoesFailsEachOfItsInvocationsOnce) {
  client_results_manager m;
  std::vector<std::string> errors;
  int other = 0;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(m.add(m.next_id(), "conn-a", [&](client_result r) {
      ASSERT_TRUE(r.error);
      errors.push_back(*r.error);
    }));
  ASSERT_TRUE(m.add(m.next_id(), "conn-b", [&](client_result) { ++other; }));
  auto done = m.next_id();
  ASSERT_TRUE(m.add(done, "conn-a", [&](client_result) {}));
  EXPECT_TRUE(m.try_complete(done, value(0)));

  EXPECT_EQ(m.fail_connection("conn-a", client_results_manager::disconnected), 3u);
  EXPECT_EQ(errors, std::vector<std::string>(3, "Connection disconnected."));
  EXPECT_EQ(m.fail_connection("conn-a", client_results_manager::disconnected), 0u);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(m.pending(), 1u);
}

TEST(ClientResultsManager, RemovedIsForgottenWithoutAnAnswer) {
  client_results_manager m;
  int calls = 0;
  ASSERT_TRUE(m.add("1", "conn-a", [&](client_result) { ++calls; }));
  EXPECT_TRUE(m.remove("1"));
  EXPECT_FALSE(m.remove("1"));
  EXPECT_EQ(m.try_complete("conn-a", "1", value(1)), client_results_manager::completion::unknown);
  EXPECT_EQ(m.fail_connection("conn-a", "gone"), 0u);
  EXPECT_EQ(calls, 0);
}

TEST(ClientResultsManager, IdsAreUniqueWithTheirPrefix) {
  client_results_manager m;
  auto a = m.next_id(), b = m.next_id("srv_");
  EXPECT_NE(a, b);
  EXPECT_EQ(b.rfind("srv_", 0), 0u);
}

// The awaiting caller on one executor, the Completion from another thread.
TEST(ClientResultsManager, AnAwaitedResultArrivesFromAnotherThread) {
  client_results_manager m;
  asio::io_context caller;
  asio::thread_pool shard(1);
  std::promise<client_result> out;
  asio::co_spawn(
      caller,
      [&]() -> asio::awaitable<void> {
        auto pending = m.expect("conn-a", caller.get_executor());
        asio::post(shard, [&m, id = pending.id()] {
          EXPECT_EQ(m.try_complete("conn-a", id, value(42)),
                    client_results_manager::completion::completed);
        });
        auto op = pending.result(10s);
        out.set_value(co_await std::move(op));
      },
      asio::detached);
  caller.run();
  shard.join();
  auto r = out.get_future().get();
  EXPECT_FALSE(r.error);
  ASSERT_TRUE(r.has_value);
  EXPECT_EQ(r.value.json(), boost::json::value(42));
  EXPECT_EQ(m.pending(), 0u);
}

TEST(ClientResultsManager, AnUnansweredInvocationTimesOutAndIsForgotten) {
  client_results_manager m;
  asio::io_context caller;
  std::string id;
  client_result r;
  start_caller(m, caller, 20ms, id, r);
  caller.run();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, "Timed out waiting for the client result.");
  EXPECT_EQ(m.pending(), 0u);
  // A late Completion finds nothing.
  EXPECT_EQ(m.try_complete("conn-a", id, value(1)), client_results_manager::completion::unknown);
  EXPECT_THROW(
      {
        m.expect("conn-a", caller.get_executor(), "dup");
        m.expect("conn-a", caller.get_executor(), "dup");
      },
      std::logic_error);
}

// At shutdown a caller's coroutine is destroyed with its executor, its entry left pending: the
// entry does not hold the caller's channel (bound to that executor) past it.
TEST(ClientResultsManager, AnEntryLeftBehindDoesNotOutliveItsCallersExecutor) {
  client_results_manager m;
  std::string id;
  client_result never;
  {
    asio::io_context caller;
    start_caller(m, caller, 1h, id, never);
    caller.poll();  // suspended in the wait
    ASSERT_FALSE(id.empty());
  }
  EXPECT_EQ(m.pending(), 1u);
  EXPECT_TRUE(m.try_complete(id, value(1)));  // nobody to tell any more: nothing is touched
  EXPECT_EQ(m.pending(), 0u);
}

// Completions, failures and removals race from several threads: every handler runs once.
TEST(ClientResultsManager, EachInvocationEndsExactlyOnceAcrossThreads) {
  client_results_manager m;
  constexpr int connections = 8, per_connection = 500;
  std::vector<std::atomic<int>> calls(connections * per_connection);
  for (int c = 0; c < connections; ++c)
    for (int i = 0; i < per_connection; ++i) {
      int k = c * per_connection + i;
      ASSERT_TRUE(m.add(std::to_string(k), "conn-" + std::to_string(c),
                        [&calls, k](client_result) { calls[k].fetch_add(1); }));
    }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int c = 0; c < connections; ++c) {
        for (int i = t; i < per_connection; i += 4) {
          auto id = std::to_string(c * per_connection + i);
          if (i % 3 == 0)
            m.try_complete("conn-" + std::to_string(c), id, value(i));
          else if (i % 3 == 1)
            m.remove(id);
        }
        if (c % 4 == t) m.fail_connection("conn-" + std::to_string(c), "gone");
      }
    });
  for (auto& th : threads) th.join();
  for (int c = 0; c < connections; ++c) m.fail_connection("conn-" + std::to_string(c), "gone");
  EXPECT_EQ(m.pending(), 0u);
  for (int c = 0; c < connections; ++c)
    for (int i = 0; i < per_connection; ++i) {
      int k = c * per_connection + i;
      // At most once for those removed (a failure may come first), else exactly once.
      if (i % 3 == 1)
        EXPECT_LE(calls[k].load(), 1) << "invocation " << k;
      else
        EXPECT_EQ(calls[k].load(), 1) << "invocation " << k;
    }
}

}  // namespace
