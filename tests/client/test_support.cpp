#include "test_support.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <regex>
#include <set>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

extern char** environ;

namespace hubcast::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
std::mutex output_mutex;
std::condition_variable output_cv;

std::string bin_dir() {
  if (const char* d = std::getenv("HUBCAST_BIN"); d && *d) return d;
  return HUBCAST_DEFAULT_BIN;
}
}  // namespace

server_process::server_process(const std::string& exe, std::vector<std::string> args)
    : output_(std::make_shared<std::string>()) {
  std::string path = bin_dir() + "/" + exe;
  std::vector<std::string> argv_s{path, "--urls", "http://127.0.0.1:0"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  int rc = posix_spawn(&pid_, path.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw std::runtime_error("cannot start " + path);
  }
  out_fd_ = fds[0];
  auto out = output_;
  int fd = out_fd_;
  reader_ = std::thread([out, fd] {
    char buf[4096];
    for (;;) {
      auto n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      std::lock_guard lock(output_mutex);
      out->append(buf, static_cast<std::size_t>(n));
      output_cv.notify_all();
    }
  });
  std::unique_lock lock(output_mutex);
  std::regex listening("Now listening on: (http://[^\\s]+)");
  std::smatch m;
  bool ok = output_cv.wait_for(lock, std::chrono::seconds(20),
                               [&] { return std::regex_search(*output_, m, listening); });
  if (!ok) throw std::runtime_error(exe + " did not start: " + *output_);
  url_ = m[1];
}

server_process::~server_process() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) close(out_fd_);
}

std::string server_process::output() const {
  std::lock_guard lock(output_mutex);
  return *output_;
}

unsigned short port_of(const std::string& url) {
  auto colon = url.rfind(':');
  return static_cast<unsigned short>(std::stoi(url.substr(colon + 1)));
}

// --- proxy -------------------------------------------------------------------------------------

struct tcp_proxy::impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  unsigned short target;
  std::set<std::shared_ptr<tcp::socket>> sockets;
  std::thread thread;

  static asio::awaitable<void> pump(std::shared_ptr<tcp::socket> from,
                                    std::shared_ptr<tcp::socket> to) {
    char buf[16384];
    for (;;) {
      auto [ec, n] =
          co_await from->async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      auto [wec, wn] = co_await asio::async_write(*to, asio::buffer(buf, n),
                                                  asio::as_tuple(asio::use_awaitable));
      (void)wn;
      if (wec) break;
    }
    boost::system::error_code ignored;
    from->close(ignored);
    to->close(ignored);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto client = std::make_shared<tcp::socket>(ioc);
      auto [ec] = co_await acceptor.async_accept(*client, asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      auto upstream = std::make_shared<tcp::socket>(ioc);
      auto target_ep = tcp::endpoint(asio::ip::make_address("127.0.0.1"), target);
      auto [cec] = co_await upstream->async_connect(target_ep, asio::as_tuple(asio::use_awaitable));
      if (cec) continue;
      sockets.insert(client);
      sockets.insert(upstream);
      asio::co_spawn(ioc, pump(client, upstream), asio::detached);
      asio::co_spawn(ioc, pump(upstream, client), asio::detached);
    }
  }
};

tcp_proxy::tcp_proxy(unsigned short target_port) : impl_(std::make_unique<impl>()) {
  impl_->target = target_port;
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

tcp_proxy::~tcp_proxy() {
  asio::post(impl_->ioc, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    for (auto& s : impl_->sockets) s->close(ec);
    impl_->sockets.clear();
  });
  impl_->ioc.stop();
  impl_->thread.join();
}

std::string tcp_proxy::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port());
}

void tcp_proxy::cut_all() {
  std::promise<void> done;
  asio::post(impl_->ioc, [&] {
    boost::system::error_code ec;
    for (auto& s : impl_->sockets) {
      s->shutdown(tcp::socket::shutdown_both, ec);
      s->close(ec);
    }
    impl_->sockets.clear();
    done.set_value();
  });
  done.get_future().wait();
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(asio::use_awaitable);
}

}  // namespace hubcast::test
