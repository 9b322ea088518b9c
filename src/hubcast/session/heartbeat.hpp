// The hub connections' clock (ASP.NET Core's HubConnectionHandler keep-alive loop): once a
// second on each shard, every connection of the hub is ticked, which sends a Ping to a
// connection that wrote nothing for KeepAliveInterval and closes one whose client was silent
// for ClientTimeoutInterval (signalr-protocol.md §9). Independent of the lifetime manager, so
// a backplane does not re-implement clocks.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <boost/asio/steady_timer.hpp>

namespace hubcast {
class shard_pool;
}

namespace hubcast::session {

class hub_connection;

class heartbeat {
 public:
  explicit heartbeat(shard_pool& shards);
  ~heartbeat();
  heartbeat(const heartbeat&) = delete;
  heartbeat& operator=(const heartbeat&) = delete;

  // On the connection's shard.
  void add(hub_connection* c);
  void remove(hub_connection* c);

  void start();
  void stop();

 private:
  struct shard_state {
    std::vector<hub_connection*> all;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  shard_pool& shards_;
  std::vector<std::unique_ptr<shard_state>> state_;
};

}  // namespace hubcast::session
