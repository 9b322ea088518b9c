// One hub connection (HubConnectionContext): the negotiated protocol, identity, group
// membership, keep-alive clocks (client results wait in the lifetime manager's
// client_results_manager). Lives on its connection's shard; every member function must be
// called there.
#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <hubcast/auth/claims_principal.hpp>
#include <hubcast/core/fifo.hpp>
#include <hubcast/metrics/hub_metrics.hpp>
#include <hubcast/protocol/hub_protocol.hpp>
#include <hubcast/session/client_result.hpp>
#include <hubcast/session/hub_options.hpp>
#include <hubcast/transport/connection.hpp>

namespace hubcast::session {

class hub_connection {
 public:
  using clock = std::chrono::steady_clock;

  hub_connection(std::shared_ptr<transport::connection> conn, const hub_options& options);
  ~hub_connection();

  const std::string& connection_id() const { return conn_->id(); }
  transport::connection& transport() { return *conn_; }
  const transport::connection& transport() const { return *conn_; }
  const hub_options& options() const { return options_; }
  std::size_t shard() const { return conn_->shard(); }

  const protocol::hub_protocol* protocol() const { return protocol_; }
  // Where its messages are counted (its hub's counters); none until set.
  void set_counters(const metrics::hub_counters* c) { counters_ = c; }
  const metrics::hub_counters* counters() const { return counters_; }
  void set_protocol(const protocol::hub_protocol* p);

  // Identity: the principal of the latest authentication (the transport's, replaced by an
  // authentication refresh). An invocation takes it when it starts and keeps it to its end.
  const std::shared_ptr<const auth::claims_principal>& user() const { return user_; }
  void set_user(std::shared_ptr<const auth::claims_principal> u) { user_ = std::move(u); }
  // What clients().user(...) routes by: set once at connect (before the lifetime manager
  // knows the connection), never re-keyed by a refresh. A second set is a logic_error.
  const std::optional<std::string>& user_identifier() const { return user_identifier_; }
  void set_user_identifier(std::optional<std::string> id);

  // Everything below belongs to the connection's shard: read and written there only.
  // Per-connection state of the application (Context.Items), as long as the connection lives.
  std::unordered_map<std::string, std::any>& items() { return items_; }
  // The groups it is in, as its lifetime manager keeps them (for the cleanup at disconnect).
  const std::vector<std::string>& groups() const { return groups_; }
  bool join_group(const std::string& group);   // false when it was in it already
  bool leave_group(const std::string& group);  // false when it was not in it
  // The lifetime manager's bookkeeping: its place in the shard's list of connections.
  static constexpr std::size_t no_slot = static_cast<std::size_t>(-1);
  std::size_t shard_slot() const { return shard_slot_; }
  void set_shard_slot(std::size_t slot) { shard_slot_ = slot; }

  // --- sending: false when the connection is closing or its queue overflowed ---
  bool send(const protocol::serialized_message& m);
  bool send_bytes(protocol::shared_bytes b);
  // Serializes with this connection's protocol and sends.
  bool send_invocation(std::string_view target, const protocol::payload& args,
                       std::optional<std::string_view> invocation_id = std::nullopt);
  bool send_completion_result(std::string_view id, const protocol::payload& result);
  bool send_completion_error(std::string_view id, std::string_view error);
  bool send_completion_void(std::string_view id);
  bool send_stream_item(std::string_view id, const protocol::payload& item);
  // A message already framed in this connection's protocol (one stream item shared by many
  // streams): counted, and kept for replay, like every hub message.
  bool send_framed(protocol::shared_bytes bytes) { return write_counted(std::move(bytes)); }

  // Writes a Close message (best effort) and ends the transport after it is flushed.
  void close(std::optional<std::string> error, bool allow_reconnect);
  bool closing() const { return closing_; }
  // Graceful shutdown: closes now, or as soon as the invocations in flight have answered.
  void close_when_idle(std::optional<std::string> error, bool allow_reconnect);
  // The dispatcher brackets each non-streaming invocation (queued or running) with these.
  void invocation_started() { ++in_flight_; }
  void invocation_finished();

  // --- clocks (signalr-protocol.md §9) ---
  void on_received(bool is_ping);
  // Called every second by the shard heartbeat: Ping when idle, close when the client is silent.
  void tick(clock::time_point now);

  // --- stateful reconnect (§11) ---
  void enable_stateful();
  bool stateful() const { return stateful_; }
  // A counted message arrived: false when it is a duplicate replayed by the client.
  bool accept_counted();
  void on_ack(std::int64_t sequence_id);
  // False when the id is ahead of what was received (fatal).
  bool on_sequence(std::int64_t sequence_id);
  // A new socket: Sequence first, then every unacknowledged message in order.
  void replay();

 private:
  friend class heartbeat;
  std::size_t heartbeat_slot_ = static_cast<std::size_t>(-1);
  std::shared_ptr<transport::connection> conn_;
  std::shared_ptr<const auth::claims_principal> user_;
  std::optional<std::string> user_identifier_;
  bool user_identifier_set_ = false;
  std::unordered_map<std::string, std::any> items_;
  std::vector<std::string> groups_;
  std::size_t shard_slot_ = no_slot;
  const hub_options& options_;
  const protocol::hub_protocol* protocol_ = nullptr;
  const metrics::hub_counters* counters_ = nullptr;
  clock::time_point last_write_;  // to the heartbeat's resolution (wrote_since_tick_)
  bool wrote_since_tick_ = false;
  clock::time_point last_read_;
  bool client_clock_started_ = false;
  bool closing_ = false;
  std::size_t in_flight_ = 0;
  struct pending_close {
    std::optional<std::string> error;
    bool allow_reconnect;
  };
  std::optional<pending_close> close_when_idle_;

  bool write(std::string bytes);  // not counted: ping, close, ack, sequence
  bool write_counted(protocol::shared_bytes bytes);

  struct buffered {
    std::int64_t id;
    protocol::shared_bytes bytes;
  };
  bool stateful_ = false;
  fifo<buffered> replay_;
  std::size_t replay_bytes_ = 0;
  std::int64_t sent_seq_ = 0;
  std::int64_t received_seq_ = 0;
  std::int64_t highest_processed_ = 0;
  std::int64_t last_ack_sent_ = 0;
};

}  // namespace hubcast::session
