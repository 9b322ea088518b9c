// The generator's receive path: every connection's socket in one edge-triggered epoll set of its
// own, which the Asio loop waits on as one descriptor. A wake reads every ready socket into one
// scratch buffer. Per read this costs the recv and nothing else: no reactor operation, no
// coroutine resumption, and no epoll_ctl (Asio re-arms a descriptor with EPOLL_CTL_MOD on each
// async_wait, a syscall per read that was 8 % of the generator's time at 7 M deliveries/s).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace hubcast_bench {

struct connection;

// Receives what the reader reads.
class read_sink {
 public:
  // `data` was read from `c` at `now_ns`; false closes the connection.
  virtual bool on_data(connection& c, std::string_view data, std::int64_t now_ns) = 0;
  // `c` was closed by the peer, by an error or by on_data.
  virtual void on_closed(connection& c) = 0;

 protected:
  ~read_sink() = default;
};

class epoll_reader {
 public:
  epoll_reader(boost::asio::io_context& ioc, read_sink& sink);
  ~epoll_reader();
  epoll_reader(const epoll_reader&) = delete;
  epoll_reader& operator=(const epoll_reader&) = delete;

  // Watches `c`, whose socket has been released from Asio (c.fd() >= 0, non-blocking). `c` must
  // outlive the reader or be removed.
  void add(connection& c);
  void remove(connection& c);

 private:
  void arm();
  void on_ready();
  // Reads `c` until the kernel has nothing more (at most `max_reads` full buffers); true when
  // it may have more.
  bool drain(connection& c, int max_reads);

  read_sink& sink_;
  int epfd_;
  boost::asio::posix::stream_descriptor waiter_;
  std::vector<connection*> carry_;  // still readable after their share of a pass
  std::int64_t last_data_ns_ = 0;   // when a pass last found a readable socket
  // Polls this long after it before sleeping (HUBCAST_BENCH_SPIN_US, default 200; 0: never).
  static std::int64_t spin_ns();
};

}  // namespace hubcast_bench
