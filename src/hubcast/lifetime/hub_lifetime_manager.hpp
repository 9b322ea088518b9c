// Who receives what (HubLifetimeManager): the abstraction every hub sends through. The
// in-process default is default_hub_lifetime_manager; a backplane (Redis) implements the same
// operations across servers.
//
// Every operation is an awaitable that completes when the manager has done its part: handed
// the message to every local recipient's shard, published it to the backplane, or had a group
// change acknowledged by the server that owns the connection. It throws hub_exception when it
// cannot (a backplane that is down). Work is queued in call order before the awaitable first
// suspends, so sends started one after the other from one thread reach a client in that order
// even when nobody awaits them (client_proxy::send).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <hubcast/protocol/payload.hpp>

namespace hubcast {
class shard_pool;
}
namespace hubcast::session {
class hub_connection;
struct client_result;
}  // namespace hubcast::session

namespace hubcast::lifetime {

// A client method call to send: serialized once per protocol, however many recipients.
struct outgoing {
  std::string target;
  protocol::payload args;
};

class hub_lifetime_manager {
 public:
  virtual ~hub_lifetime_manager() = default;

  // On the connection's shard, after the handshake and OnConnectedAsync / when it ends.
  virtual boost::asio::awaitable<void> on_connected(session::hub_connection* c) = 0;
  virtual boost::asio::awaitable<void> on_disconnected(session::hub_connection* c) = 0;

  // SendAllAsync / SendAllExceptAsync.
  virtual boost::asio::awaitable<void> send_all(outgoing m,
                                                std::vector<std::string> excluded = {}) = 0;
  virtual boost::asio::awaitable<void> send_connection(std::string connection_id, outgoing m) = 0;
  virtual boost::asio::awaitable<void> send_connections(std::vector<std::string> ids,
                                                        outgoing m) = 0;
  // SendGroupAsync / SendGroupExceptAsync.
  virtual boost::asio::awaitable<void> send_group(std::string group, outgoing m,
                                                  std::vector<std::string> excluded = {}) = 0;
  // One message per group, as ASP.NET Core: a connection in two of them receives two.
  virtual boost::asio::awaitable<void> send_groups(std::vector<std::string> groups, outgoing m) = 0;
  virtual boost::asio::awaitable<void> send_user(std::string user_id, outgoing m) = 0;
  virtual boost::asio::awaitable<void> send_users(std::vector<std::string> user_ids,
                                                  outgoing m) = 0;

  // For any connection of the hub, wherever it is; a connection that does not exist is a no-op.
  virtual boost::asio::awaitable<void> add_to_group(std::string connection_id,
                                                    std::string group) = 0;
  virtual boost::asio::awaitable<void> remove_from_group(std::string connection_id,
                                                         std::string group) = 0;

  // Invokes a client method on one connection and waits for its Completion (client results).
  virtual boost::asio::awaitable<session::client_result> invoke_connection(
      std::string connection_id, std::string target, protocol::payload args,
      std::chrono::milliseconds timeout) = 0;
  // The Completion a local connection sent (SetConnectionResultAsync), on its shard: false when
  // no invocation of that id was sent to that connection (the Completion is then ignored).
  virtual bool set_connection_result(std::string_view connection_id,
                                     const std::string& invocation_id,
                                     session::client_result r) = 0;

  // Ends every local connection with a Close message (graceful shutdown), each once the
  // invocations it has in flight have answered.
  virtual void close_all(std::optional<std::string> error, bool allow_reconnect) = 0;

  // Local connections of the hub.
  virtual std::size_t connection_count() const = 0;
  virtual shard_pool& shards() = 0;
};

}  // namespace hubcast::lifetime
