// The WebSockets transport of a stateful connection (signalr-protocol.md §11,
// useStatefulReconnect). A reconnect lands on whichever shard accepted its TCP connection, so
// the socket may live on another shard than the connection: what it reads is posted to the
// connection's shard, and what it writes is taken from there with a hop, one WebSocket message
// per batch. Each socket of the connection is one attachment; a newer one makes the older stop.
#pragma once

#include <cstdint>
#include <memory>

#include <boost/asio/awaitable.hpp>

#include <hubcast/http/websocket.hpp>
#include <hubcast/transport/connection.hpp>

namespace hubcast::transport {

class stateful_websocket_transport {
 public:
  // On the socket's shard; `attachment` is what connection::begin_attachment() gave this socket.
  stateful_websocket_transport(std::shared_ptr<connection> c, std::shared_ptr<http::websocket> ws,
                               std::uint64_t attachment)
      : conn_(std::move(c)), ws_(std::move(ws)), attachment_(attachment) {}

  // Reads and writes until the socket ends. A close frame (or the output's end) ends the
  // connection's input; a socket dropped without one leaves the connection for a reconnect
  // (connection::transport_lost). Then closes the socket: the close handshake when the output
  // completed, else an abort.
  boost::asio::awaitable<void> run();

 private:
  std::shared_ptr<connection> conn_;
  std::shared_ptr<http::websocket> ws_;
  std::uint64_t attachment_;

  boost::asio::awaitable<void> read();
  boost::asio::awaitable<void> write();
};

}  // namespace hubcast::transport
