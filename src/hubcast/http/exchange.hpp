// One HTTP request being served: what a route handler reads and answers.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <hubcast/http/request.hpp>
#include <hubcast/http/websocket.hpp>

namespace hubcast::http {

class exchange {
 public:
  virtual ~exchange() = default;

  virtual const request& req() const = 0;

  // Sends a complete response (Content-Length set from the body).
  virtual boost::asio::awaitable<void> async_respond(response r) = 0;

  // Streaming responses (Server-Sent Events, long polling): head first, then body parts.
  // The connection is not reused afterwards.
  virtual boost::asio::awaitable<boost::system::error_code> async_write_head(response head) = 0;
  virtual boost::asio::awaitable<boost::system::error_code> async_write_body(
      std::span<const std::string_view> parts) = 0;

  // Completes a WebSocket upgrade; nullptr if the handshake failed. `direct_writer`: the caller
  // writes frames through websocket::direct(); otherwise message by message with async_write.
  virtual boost::asio::awaitable<std::unique_ptr<websocket>> async_accept_websocket(
      bool direct_writer) = 0;

  // For streaming responses: completes when the client closes the TCP connection (or it
  // fails, or close_stream() was called).
  virtual boost::asio::awaitable<void> async_wait_peer_close() = 0;
  // Ends a streaming response by closing the TCP connection.
  virtual void close_stream() = 0;

  virtual bool responded() const = 0;
  virtual boost::asio::any_io_executor get_executor() = 0;
  virtual std::size_t shard() const = 0;
};

}  // namespace hubcast::http
