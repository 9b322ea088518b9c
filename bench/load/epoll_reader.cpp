#include "epoll_reader.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include <boost/asio/post.hpp>

#include "measure.hpp"
#include "ws_connection.hpp"

namespace hubcast_bench {

namespace {
char scratch[1 << 16];  // one thread: every read lands in the same buffer
}

epoll_reader::epoll_reader(boost::asio::io_context& ioc, read_sink& sink)
    : sink_(sink), epfd_(::epoll_create1(EPOLL_CLOEXEC)), waiter_(ioc) {
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  waiter_.assign(::dup(epfd_));
  arm();
}

epoll_reader::~epoll_reader() {
  boost::system::error_code ec;
  waiter_.close(ec);
  ::close(epfd_);
}

void epoll_reader::add(connection& c) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &c;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd(), &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
}

void epoll_reader::remove(connection& c) {
  if (c.fd() >= 0) ::epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd(), nullptr);
  std::erase(carry_, &c);
}

void epoll_reader::arm() {
  waiter_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [this](boost::system::error_code ec) {
                       if (!ec) on_ready();
                     });
}

bool epoll_reader::drain(connection& c, int max_reads) {
  if (c.ssl) {
    // SSL_read gives one record at a time: read until OpenSSL wants the socket again.
    for (int i = 0; i < max_reads * 8; ++i) {
      std::size_t n = 0;
      int r = SSL_read_ex(c.ssl, scratch, sizeof scratch, &n);
      if (r == 1) {
        if (sink_.on_data(c, std::string_view(scratch, n), now_ns())) continue;
      } else {
        int e = SSL_get_error(c.ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
      }
      remove(c);
      c.close();
      sink_.on_closed(c);
      return false;
    }
    return true;
  }
  for (int i = 0; i < max_reads; ++i) {
    ssize_t n = ::recv(c.fd(), scratch, sizeof scratch, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 ||
        !sink_.on_data(c, std::string_view(scratch, static_cast<std::size_t>(n)), now_ns())) {
      remove(c);
      c.close();
      sink_.on_closed(c);
      return false;
    }
    if (static_cast<std::size_t>(n) < sizeof scratch) return false;  // drained for now
  }
  return true;
}

std::int64_t epoll_reader::spin_ns() {
  static const std::int64_t ns = [] {
    const char* v = std::getenv("HUBCAST_BENCH_SPIN_US");
    return v ? std::atoll(v) * 1000 : 200'000;
  }();
  return ns;
}

void epoll_reader::on_ready() {
  // Sockets left readable by the last pass first, then what the kernel reports now.
  std::vector<connection*> again;
  again.swap(carry_);
  for (auto* c : again)
    if (drain(*c, 4)) carry_.push_back(c);
  epoll_event events[512];
  int n = ::epoll_wait(epfd_, events, 512, 0);
  for (int i = 0; i < n; ++i) {
    auto& c = *static_cast<connection*>(events[i].data.ptr);
    if (events[i].events & EPOLLOUT) c.on_writable();
    if (!c.is_open()) continue;
    if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
      if (drain(c, 4)) carry_.push_back(&c);
  }
  // More to do: let timers and the publisher run in between, then go on without waiting.
  // Nothing to do: keep polling for a short while after the last data before sleeping. A
  // server writing to thousands of sockets sends a burst of small writes a few µs apart; were
  // the generator asleep between them, each write would pay for waking it (on this machine
  // kind, a cross-CPU wake-up is ~40 % of a small loopback send) and the server's measured cost
  // would be the generator's: the same step then ran at either of two costs per item, 2× apart,
  // depending on whether the generator happened to be awake. A remote client costs the server
  // no such wake-up. The polling is the generator's CPU, which it reports.
  auto now = now_ns();
  if (n > 0) last_data_ns_ = now;
  if (n == 512 || !carry_.empty() || now - last_data_ns_ < spin_ns())
    boost::asio::post(waiter_.get_executor(), [this] { on_ready(); });
  else
    arm();
}

}  // namespace hubcast_bench
