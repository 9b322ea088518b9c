// Runs hub connections (HubConnectionHandler + DefaultHubDispatcher): handshake, on_connected,
// the read/dispatch loop, streaming both ways, client results, error texts, cleanup.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <hubcast/hubs/hub_filter.hpp>
#include <hubcast/hubs/method_table.hpp>
#include <hubcast/lifetime/hub_lifetime_manager.hpp>
#include <hubcast/metrics/hub_metrics.hpp>
#include <hubcast/protocol/hub_message.hpp>
#include <hubcast/session/heartbeat.hpp>
#include <hubcast/session/hub_options.hpp>
#include <hubcast/transport/connection_handler.hpp>

namespace hubcast::dispatch {

struct hub_definition {
  // What filters and logs call the hub (the path it is mapped at).
  std::string name;
  std::function<std::unique_ptr<hub>()> factory;
  std::vector<detail::method_descriptor> methods;
};

// An invocation's parsed arguments, kept for the hub filters (null without filters).
using invocation_arguments = std::shared_ptr<const std::vector<protocol::raw_value>>;

class hub_dispatcher final : public transport::connection_handler {
 public:
  hub_dispatcher(hub_definition def, const hub_options& options,
                 std::shared_ptr<lifetime::hub_lifetime_manager> lifetime);
  ~hub_dispatcher() override;

  boost::asio::awaitable<void> on_connected(std::shared_ptr<transport::connection> conn) override;

  lifetime::hub_lifetime_manager& lifetime() { return *lifetime_; }
  // The filters every invocation, on_connected and on_disconnected pass, in order (set before
  // the first connection).
  void set_filters(std::vector<std::shared_ptr<hub_filter>> filters) {
    filters_ = detail::hub_filter_pipeline(std::move(filters));
  }
  const hub_definition& definition() const { return def_; }
  // Called on a connection's shard once it has left the lifetime manager and the hub's
  // on_disconnected has run (set before the first connection).
  void set_on_connection_ended(std::function<void()> f) { on_connection_ended_ = std::move(f); }
  // The keep-alive / client-timeout clock of this hub's connections.
  void start() { heartbeat_.start(); }
  void stop() { heartbeat_.stop(); }

  struct connection_state;

 private:
  hub_definition def_;
  const hub_options& options_;
  std::shared_ptr<lifetime::hub_lifetime_manager> lifetime_;
  session::heartbeat heartbeat_;
  detail::hub_filter_pipeline filters_;
  std::function<void()> on_connection_ended_;
  const metrics::hub_counters* counters_;
  std::unordered_map<std::string, const detail::method_descriptor*> by_name_;  // lower-cased

  const detail::method_descriptor* find(std::string_view name) const;
  std::string error_text(const std::string& prefix, const std::exception& e) const;
  boost::asio::awaitable<bool> handshake(connection_state& st, std::string& inbuf);
  // OnConnectedAsync; false when it failed (the connection is closing).
  boost::asio::awaitable<bool> connect(std::shared_ptr<connection_state> st);
  // Parses and handles the whole messages in `inbuf`, leaving an incomplete rest.
  boost::asio::awaitable<void> process(std::shared_ptr<connection_state> st, std::string& inbuf);
  boost::asio::awaitable<void> disconnect(std::shared_ptr<connection_state> st, bool connected);
  // What the transport reports about a running connection (on its shard).
  void on_event(connection_state& st, transport::connection::event e);
  boost::asio::awaitable<void> authentication_refreshed(std::shared_ptr<connection_state> st);
  boost::asio::awaitable<void> handle(std::shared_ptr<connection_state> st,
                                      protocol::hub_message& m);
  void handle_invocation(std::shared_ptr<connection_state> st, protocol::invocation_message& m);
  // Queues a call (or the refresh callback) behind the others; starts the worker if idle.
  void start_worker(std::shared_ptr<connection_state> st);
  boost::asio::awaitable<void> run_invocations(std::shared_ptr<connection_state> st);
  boost::asio::awaitable<void> run_stream(std::shared_ptr<connection_state> st, std::string id,
                                          std::string target,
                                          const detail::method_descriptor* method,
                                          detail::bound_call call, invocation_arguments args);
  // The method through the filters (which see `args`).
  boost::asio::awaitable<detail::invocation_outcome> invoke(hub& h,
                                                            const detail::method_descriptor& m,
                                                            const detail::bound_call& call,
                                                            const invocation_arguments& args);
  std::unique_ptr<hub> make_hub(connection_state& st);
};

}  // namespace hubcast::dispatch
