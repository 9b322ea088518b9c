// A server-side WebSocket after a successful upgrade. Beast stays inside websocket.cpp
// (one instantiation of the stream template for the whole program).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

namespace hubcast::http {

class websocket {
 public:
  virtual ~websocket() = default;

  // One whole message. `binary` tells the frame type the peer used.
  virtual boost::asio::awaitable<boost::system::error_code> async_read(std::string& out,
                                                                       bool& binary) = 0;
  // Writes `parts` as one WebSocket message (a gathered write).
  virtual boost::asio::awaitable<boost::system::error_code> async_write(
      std::span<const std::string_view> parts, bool binary) = 0;
  // Sends a close frame and waits (bounded by the close timeout) for the peer's.
  virtual boost::asio::awaitable<boost::system::error_code> async_close(std::uint16_t code) = 0;
  // Drops the TCP connection at once.
  virtual void abort() = 0;
  virtual void set_read_limit(std::size_t bytes) = 0;
  // The last failed read ended with the peer's close frame (a graceful close).
  virtual bool peer_closed() const = 0;
  virtual boost::asio::any_io_executor get_executor() = 0;
};

}  // namespace hubcast::http
