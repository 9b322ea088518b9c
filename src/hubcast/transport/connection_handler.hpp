// What runs on top of a transport connection: the hub dispatcher, or a raw handler (/echo).
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>

#include <hubcast/transport/connection.hpp>

namespace hubcast::transport {

class connection_handler {
 public:
  virtual ~connection_handler() = default;
  // Runs the connection until the client is gone (async_read returned false). Called on the
  // connection's shard once a transport is attached.
  virtual boost::asio::awaitable<void> on_connected(std::shared_ptr<connection> conn) = 0;
};

}  // namespace hubcast::transport
