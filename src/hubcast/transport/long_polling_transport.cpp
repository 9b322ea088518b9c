#include <hubcast/transport/long_polling_transport.hpp>

namespace hubcast::transport {

boost::asio::awaitable<long_polling_transport::poll_result> long_polling_transport::poll(
    std::shared_ptr<connection> c, std::chrono::milliseconds timeout) {
  auto mine = c->begin_poll();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  poll_result r;
  for (;;) {
    if (c->poll_superseded(mine)) {
      r.status = 204;
      co_return r;
    }
    if (!c->output().empty()) {
      r.body = c->output().take_joined();
      c->on_written();
      break;
    }
    if (c->is_completed() || c->is_aborted()) {
      r.status = 204;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;  // 200, empty: poll again
    co_await c->async_wait_output(deadline);
  }
  c->end_poll();
  co_return r;
}

}  // namespace hubcast::transport
