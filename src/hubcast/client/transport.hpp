// The client transports behind one seam: WebSockets (plain and TLS) and long polling.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <hubcast/protocol/hub_message.hpp>

namespace hubcast::client::detail {

class transport {
 public:
  virtual ~transport() = default;
  // `url` is the transport URL (http(s) for long polling, ws(s) for WebSockets), `id` included.
  virtual boost::asio::awaitable<void> connect(std::string url, protocol::header_map headers,
                                               bool binary) = 0;
  // One batch of serialized messages. Sends never overlap.
  virtual boost::asio::awaitable<void> send(std::string data) = 0;
  // The next chunk of bytes; nothing when the server closed the connection normally. Throws
  // on a transport error. One receive at a time.
  virtual boost::asio::awaitable<std::optional<std::string>> receive() = 0;
  // Graceful close (WebSocket close 1000, long-polling DELETE).
  virtual boost::asio::awaitable<void> stop() = 0;
  // Immediate: closes sockets; pending operations fail.
  virtual void abort() = 0;
  virtual const char* name() const = 0;
  // An authentication refresh replaced the bearer token: later requests carry these headers
  // (long polling; a WebSocket makes no further requests).
  virtual void update_headers(protocol::header_map headers) { (void)headers; }
  // Long polling: a poll answered 409 authentication_refresh_required runs `hook` (the refresh,
  // true when it succeeded) once, then polls again.
  virtual void set_refresh_hook(std::function<boost::asio::awaitable<bool>()> hook) { (void)hook; }
};

std::shared_ptr<transport> make_websocket_transport(boost::asio::any_io_executor ex,
                                                    std::shared_ptr<boost::asio::ssl::context> tls,
                                                    bool secure);
std::shared_ptr<transport> make_long_polling_transport(
    boost::asio::any_io_executor ex, std::shared_ptr<boost::asio::ssl::context> tls,
    std::chrono::milliseconds http_timeout);

}  // namespace hubcast::client::detail
