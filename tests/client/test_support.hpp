// Test support for the C++ client suite: our servers as child processes, a TCP proxy that can
// cut every connection, and a runner for awaitable test bodies.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>

namespace hubcast::test {

// Starts build/bin/<exe> (or $HUBCAST_BIN/<exe>) with `--urls http://127.0.0.1:0` plus args and
// waits for "Now listening on:". Killed (SIGTERM) on destruction.
class server_process {
 public:
  server_process(const std::string& exe, std::vector<std::string> args);
  ~server_process();
  const std::string& url() const { return url_; }
  // Lines the server printed so far (stdout and stderr).
  std::string output() const;

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  std::string url_;
  std::shared_ptr<std::string> output_;
  std::thread reader_;
};

// A loopback TCP proxy on its own thread; cut_all() drops every open connection (both sides).
class tcp_proxy {
 public:
  explicit tcp_proxy(unsigned short target_port);
  ~tcp_proxy();
  std::string url() const;
  void cut_all();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

unsigned short port_of(const std::string& url);

// Runs `body` on a fresh io_context until it finishes (or fails the test after `timeout`).
template <class T>
T run_async(boost::asio::awaitable<T> body,
            std::chrono::seconds timeout = std::chrono::seconds(30)) {
  boost::asio::io_context ioc;
  auto fut = boost::asio::co_spawn(ioc, std::move(body), boost::asio::use_future);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("test body timed out");
    ioc.run_for(std::chrono::milliseconds(50));
    if (ioc.stopped()) ioc.restart();
  }
  // Let the connection's loops wind down before the io_context goes away.
  ioc.run_for(std::chrono::milliseconds(20));
  return fut.get();
}

// co_await sleep_for(...)
boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d);

}  // namespace hubcast::test
