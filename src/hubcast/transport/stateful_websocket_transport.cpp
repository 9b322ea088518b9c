#include <hubcast/transport/stateful_websocket_transport.hpp>

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>

#include <hubcast/core/run_on.hpp>

namespace hubcast::transport {

namespace asio = boost::asio;

asio::awaitable<void> stateful_websocket_transport::run() {
  using namespace asio::experimental::awaitable_operators;
  auto read_task = read();
  auto write_task = write();
  co_await (std::move(read_task) && std::move(write_task));
}

asio::awaitable<void> stateful_websocket_transport::read() {
  auto c = conn_;
  auto ws = ws_;
  const auto attachment = attachment_;
  std::string data;
  bool binary = false;
  boost::system::error_code ec;
  for (;;) {
    ec = co_await ws->async_read(data, binary);
    if (ec) break;
    asio::post(c->get_executor(), [c, attachment, d = std::move(data), binary]() mutable {
      if (c->attachment() == attachment) c->push_input(std::move(d), binary);
    });
    data.clear();
  }
  const bool graceful = ws->peer_closed();
  const auto reason = websocket_end_reason(ec, graceful);
  asio::post(c->get_executor(), [c, attachment, graceful, reason] {
    if (c->attachment() != attachment) return;  // a newer socket took over
    if (graceful || c->is_completed()) {
      // A close frame means gone for good: no reconnect (§3.2).
      c->end_input(reason);
    } else {
      c->transport_lost();  // keep everything; the client reconnects with the same id
    }
  });
  ws->abort();
}

asio::awaitable<void> stateful_websocket_transport::write() {
  auto c = conn_;
  auto ws = ws_;
  const auto attachment = attachment_;
  std::vector<std::string_view> parts;
  for (;;) {
    auto take = [c, attachment]() -> asio::awaitable<connection::batch> {
      auto b = co_await c->async_take_output(attachment);
      co_return b;
    };
    auto target = c->get_executor();
    auto task = run_on<connection::batch>(target, std::move(take));
    auto b = co_await std::move(task);
    if (b.done) {
      if (c->is_completed() && !c->is_aborted() && !c->is_lost())
        co_await ws->async_close(1000);
      else
        ws->abort();
      co_return;
    }
    parts.clear();
    for (auto& p : b.parts) parts.emplace_back(*p);
    if (co_await ws->async_write(parts, b.binary)) {
      ws->abort();
      co_return;
    }
  }
}

}  // namespace hubcast::transport
