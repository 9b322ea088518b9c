// A small blocking facade over hub_connection for simple programs: it owns an io_context and
// its thread; every call waits for its result. Handlers run on that thread.
#pragma once

#include <future>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <hubcast/client/hub_connection.hpp>

namespace hubcast::client {

template <class T>
class blocking_stream;

class blocking_hub_connection {
 public:
  // Runs `make()` (which returns an awaitable) on the connection's thread and waits for it.
  template <class R, class Make>
  R run(Make make) {
    std::promise<R> done;
    auto result = done.get_future();
    boost::asio::post(ioc_, [&] {
      boost::asio::co_spawn(ioc_, make(), [&done](std::exception_ptr e, auto... value) {
        if (e)
          done.set_exception(e);
        else
          done.set_value(std::move(value)...);
      });
    });
    return result.get();
  }
  template <class F>
  auto on_thread(F f) {
    std::promise<decltype(f())> done;
    auto result = done.get_future();
    boost::asio::post(ioc_, [&] { done.set_value(f()); });
    return result.get();
  }

  explicit blocking_hub_connection(connection_options options)
      : work_(ioc_.get_executor()), conn_(ioc_.get_executor(), std::move(options)) {
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~blocking_hub_connection() {
    try {
      stop();
    } catch (...) {
    }
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

  void start() {
    run<void>([this] { return conn_.start(); });
  }
  void stop() {
    run<void>([this] { return conn_.stop(); });
  }
  connection_state state() {
    return on_thread([this] { return conn_.state(); });
  }
  std::optional<std::string> connection_id() {
    return on_thread([this] { return conn_.connection_id(); });
  }

  template <class R = void, class... A>
  R invoke(std::string method, A... args) {
    return run<R>([&] { return conn_.invoke<R>(std::move(method), std::move(args)...); });
  }
  template <class... A>
  void send(std::string method, A... args) {
    run<void>([&] { return conn_.send(std::move(method), std::move(args)...); });
  }
  template <class T, class... A>
  blocking_stream<T> stream(std::string method, A... args);

  template <class F>
  void on(std::string method, F handler) {
    on_thread([&] {
      conn_.on(std::move(method), std::move(handler));
      return 0;
    });
  }
  void on_closed(closed_handler h) {
    on_thread([&] {
      conn_.on_closed(std::move(h));
      return 0;
    });
  }
  void on_reconnecting(closed_handler h) {
    on_thread([&] {
      conn_.on_reconnecting(std::move(h));
      return 0;
    });
  }
  void on_reconnected(reconnected_handler h) {
    on_thread([&] {
      conn_.on_reconnected(std::move(h));
      return 0;
    });
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  hub_connection conn_;
  std::thread thread_;
};

template <class T>
class blocking_stream {
 public:
  blocking_stream(blocking_hub_connection& c, stream_reader<T> r) : c_(&c), r_(std::move(r)) {}
  blocking_stream(blocking_stream&& o) noexcept
      : c_(std::exchange(o.c_, nullptr)), r_(std::move(o.r_)) {}
  ~blocking_stream() {
    if (c_)
      c_->on_thread([this] {
        stream_reader<T> gone = std::move(r_);
        return 0;
      });
  }
  // Blocks for the next item; nothing at the end of the stream.
  std::optional<T> next() {
    return c_->run<std::optional<T>>([this] { return r_.next(); });
  }
  void cancel() {
    c_->on_thread([this] {
      r_.cancel();
      return 0;
    });
  }

 private:
  blocking_hub_connection* c_;
  stream_reader<T> r_;
};

template <class T, class... A>
blocking_stream<T> blocking_hub_connection::stream(std::string method, A... args) {
  auto reader = on_thread([&] { return conn_.stream<T>(std::move(method), std::move(args)...); });
  return blocking_stream<T>(*this, std::move(reader));
}

}  // namespace hubcast::client
