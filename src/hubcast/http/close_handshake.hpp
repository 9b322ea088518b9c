// Internal to http/: the wait for the peer's close frame after ours (RFC 6455 §7.1.1), shared by
// the direct WebSocket and the stateful-reconnect frame stream. Bounded as Beast's close
// handshake timeout. While the connection's own reader is reading, it sees the peer's close
// and cancels `timer`; otherwise this reads (and drops) frames itself until the close arrives,
// the connection fails, or the timeout cancels the socket's operations.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

namespace hubcast::http::detail {

inline constexpr auto close_handshake_timeout = std::chrono::seconds(5);

// `read(std::string&, bool&)` reads one message (awaitable<error_code>; an error ends the wait);
// `cancel()` cancels the socket's operations. `timer` is the owner's, so that its reader can
// cancel the wait; it is reset before this returns.
template <class Read, class Cancel>
boost::asio::awaitable<void> await_peer_close(std::unique_ptr<boost::asio::steady_timer>& timer,
                                              boost::asio::any_io_executor executor,
                                              bool reader_running, Read read, Cancel cancel) {
  timer = std::make_unique<boost::asio::steady_timer>(executor, close_handshake_timeout);
  if (reader_running) {
    co_await timer->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  } else {
    timer->async_wait([cancel](boost::system::error_code ec) {
      if (!ec) cancel();
    });
    std::string discard;
    bool binary = false;
    while (!co_await read(discard, binary)) discard.clear();
    timer->cancel();
  }
  timer.reset();
}

}  // namespace hubcast::http::detail
