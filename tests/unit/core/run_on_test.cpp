// core/run_on: the coroutine runs on the target executor, the caller resumes on its own with the
// result; run_on<void> for completion only; exceptions cross back.
#include <hubcast/core/run_on.hpp>

#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace hubcast {
namespace {

namespace asio = boost::asio;

struct two_threads {
  asio::io_context caller, target;
  asio::executor_work_guard<asio::io_context::executor_type> keep{target.get_executor()};
  std::thread worker{[this] { target.run(); }};
  ~two_threads() {
    keep.reset();
    worker.join();
  }
};

TEST(RunOn, ValueAndVoidRunOnTheTargetAndResumeOnTheCaller) {
  two_threads t;
  std::thread::id ran_on, resumed_on, void_ran_on;
  int value = 0;
  bool void_done = false;
  asio::co_spawn(
      t.caller,
      [&]() -> asio::awaitable<void> {
        auto get = run_on<int>(t.target.get_executor(), [&]() -> asio::awaitable<int> {
          ran_on = std::this_thread::get_id();
          co_return 42;
        });
        value = co_await std::move(get);
        auto work = run_on<void>(t.target.get_executor(), [&]() -> asio::awaitable<void> {
          void_ran_on = std::this_thread::get_id();
          co_return;
        });
        co_await std::move(work);
        void_done = true;
        resumed_on = std::this_thread::get_id();
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  t.caller.run();
  EXPECT_EQ(value, 42);
  EXPECT_TRUE(void_done);
  EXPECT_EQ(ran_on, t.worker.get_id());
  EXPECT_EQ(void_ran_on, t.worker.get_id());
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

TEST(RunOn, AnExceptionIsRethrownToTheCaller) {
  two_threads t;
  std::string caught;
  asio::co_spawn(
      t.caller,
      [&]() -> asio::awaitable<void> {
        auto fail = run_on<void>(t.target.get_executor(), []() -> asio::awaitable<void> {
          throw std::runtime_error("no");
          co_return;
        });
        try {
          co_await std::move(fail);
        } catch (const std::runtime_error& e) {
          caught = e.what();
        }
      },
      asio::detached);
  t.caller.run();
  EXPECT_EQ(caught, "no");
}

}  // namespace
}  // namespace hubcast
