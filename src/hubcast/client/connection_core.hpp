// The state behind one hub_connection (internal to the client): options, the transport session
// in use, pending invocations, handlers, the outbox and the stateful-reconnect buffers. Its
// members are defined by concern:
//   connection_core.cpp  negotiate, transport selection, handshake, starting a session;
//   session_loops.cpp    the read, write and timer loops of one session, dispatch;
//   reconnect.cpp        endings: lost transports, automatic and stateful reconnects;
//   hub_connection.cpp   the public hub_connection and the calls (invoke, send, stream, uploads).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <hubcast/client/hub_connection.hpp>
#include <hubcast/client/transport.hpp>
#include <hubcast/core/ascii.hpp>
#include <hubcast/core/event.hpp>

namespace hubcast::client::detail {

using clock = std::chrono::steady_clock;
inline constexpr const char* closed_text =
    "Invocation canceled due to the underlying connection being closed.";

// What one invoke or stream is waiting for; shared by the caller and the connection.
struct invocation_state {
  explicit invocation_state(asio::any_io_executor ex) : wake(ex) {}
  std::weak_ptr<connection_core> core;
  call_kind kind = call_kind::invoke;
  std::string id;
  bool done = false;
  bool cancelled = false;
  std::optional<std::string> hub_error;         // Completion with error
  std::optional<std::string> connection_error;  // never sent, or closed before completion
  protocol::raw_value result;
  std::deque<protocol::raw_value> items;
  hubcast::event wake;
};

// Client method names match case-insensitively (as in the official clients).
using ci_less = ascii::iless;

// True for https: and wss: URLs.
bool secure_url(const std::string& url);
// `url` with `suffix` appended to its path ("/negotiate", "/refresh"), the query kept.
std::string with_path_suffix(const std::string& url, std::string_view suffix);
// negotiate's or a refresh's `tokenLifetimeSeconds`: a positive finite number (capped as the
// official clients do), else nothing.
std::optional<double> token_lifetime_of(const boost::json::object& o);

class connection_core : public std::enable_shared_from_this<connection_core> {
 public:
  connection_core(asio::any_io_executor ex, connection_options o)
      : ex(ex),
        opt(std::move(o)),
        proto(&protocol::protocol_by_id(opt.protocol)),
        refresh_timer(ex),
        outbox_wake(ex),
        timer(ex),
        reconnect_timer(ex) {}

 private:
  friend class client::hub_connection;
  friend std::shared_ptr<invocation_state> start_call(const std::shared_ptr<connection_core>&,
                                                      call_kind, std::string, protocol::payload,
                                                      std::vector<std::shared_ptr<upload_state>>);
  friend void cancel_stream(const std::shared_ptr<invocation_state>&);
  friend void upload_write(const std::shared_ptr<upload_state>&, protocol::payload);
  friend void upload_complete(const std::shared_ptr<upload_state>&, std::optional<std::string>);
  friend void add_handler(connection_core&, std::string, handler_fn);

  struct negotiation {
    std::string url;  // the hub URL after redirects
    std::optional<std::string> connection_id;
    std::string connection_token;
    bool stateful = false;
    std::vector<std::pair<std::string, std::vector<std::string>>> transports;
    std::optional<double> token_lifetime_seconds;
  };

  void log(const std::string& text) const {
    if (opt.log) opt.log(text);
  }

  // --- sending (messages the stateful protocol counts are kept until acknowledged) -------
  void enqueue(std::string bytes, bool is_counted) {
    if (stateful && is_counted) unacked.emplace_back(++sent_count, bytes);
    outbox.push_back(std::move(bytes));
    outbox_wake.notify_all();
  }
  bool can_send() const { return state == connection_state::connected; }

  // --- start (connection_core.cpp) --------------------------------------------------------
  protocol::header_map request_headers() const;
  asio::awaitable<void> refresh_token();
  // Follows redirects (at most 100), taking a redirect's access token.
  asio::awaitable<negotiation> negotiate(std::string url);
  // Negotiate (unless skipped), pick and connect a transport, handshake. On success the new
  // session's loops are running.
  asio::awaitable<void> connect_session();
  asio::awaitable<void> handshake(std::shared_ptr<transport> t);
  // Starts the loops of a new session on `t` (`resumed`: a stateful reconnect, buffers kept).
  void begin_session(std::shared_ptr<transport> t, bool resumed);

  // --- authentication refresh (authentication_refresh.cpp) --------------------------------
  // `for_transport`: asked by a long poll answered 409 (also while still connecting).
  asio::awaitable<std::optional<std::chrono::seconds>> refresh_authentication(
      bool for_transport = false);
  // After a (re)connect: the first refresh, from negotiate's token lifetime.
  void schedule_initial_refresh();
  void schedule_refresh(double lifetime_seconds);
  void cancel_refresh();

  // --- the loops of one session (session_loops.cpp) ----------------------------------------
  asio::awaitable<void> reader(std::uint64_t gen, std::shared_ptr<transport> t);
  // Parses and dispatches; false when the session ended (Close, protocol error).
  bool consume(std::string chunk, std::uint64_t gen, bool& reconnect_allowed,
               std::optional<std::string>& error);
  // Counts a received message for the stateful protocol; false for a replayed duplicate.
  bool accept_counted();
  bool dispatch(protocol::hub_message msg, bool& reconnect_allowed,
                std::optional<std::string>& error);
  void on_invocation(protocol::invocation_message m);
  static asio::awaitable<void> run_handler(std::shared_ptr<connection_core> self, handler_fn h,
                                           std::vector<protocol::raw_value> args,
                                           std::string target, std::optional<std::string> reply_id);
  asio::awaitable<void> writer(std::uint64_t gen, std::shared_ptr<transport> t);
  asio::awaitable<void> timers(std::uint64_t gen, bool long_polling);

  // --- endings (reconnect.cpp) ------------------------------------------------------------
  void fail_pending(const std::string& why);
  // The session `gen` ended: resumes it (stateful), reconnects, or closes.
  void transport_closed(std::uint64_t gen, std::optional<std::string> error, bool reconnect_allowed,
                        bool resumable = true);
  void lost(std::optional<std::string> error, bool reconnect_allowed);
  void finish(std::optional<std::string> error);
  // Reopens the same connection (same token, no negotiate, no handshake), then sends Sequence
  // and replays what the server has not acknowledged.
  static asio::awaitable<void> stateful_reconnect(std::shared_ptr<connection_core> self,
                                                  std::optional<std::string> error);
  static asio::awaitable<void> reconnect_loop(std::shared_ptr<connection_core> self,
                                              std::optional<std::string> error);

  asio::any_io_executor ex;
  connection_options opt;
  const protocol::hub_protocol* proto;
  std::shared_ptr<asio::ssl::context> tls;
  connection_state state = connection_state::disconnected;
  std::shared_ptr<transport> tr;
  std::uint64_t generation = 0;  // one per transport session; stale loops see a newer one
  std::optional<std::string> connection_id;
  std::string transport_url;  // with id: the URL a stateful reconnect reopens
  std::string token;
  // Authentication refresh: where and for which connection, the lifetime negotiate named, the
  // timer of the next automatic refresh (`refresh_schedule` tells a stale wait from the
  // current one).
  std::string refresh_base;
  std::string connection_token;
  std::optional<double> initial_token_lifetime;
  asio::steady_timer refresh_timer;
  std::uint64_t refresh_schedule = 0;
  std::vector<authentication_refreshed_handler> refreshed_handlers;
  std::vector<authentication_refresh_failed_handler> refresh_failed_handlers;
  bool stateful = false;
  bool stop_requested = false;

  std::uint64_t next_id = 0;
  std::unordered_map<std::string, std::shared_ptr<invocation_state>> pending;
  std::map<std::string, std::vector<handler_fn>, ci_less> handlers;
  std::vector<closed_handler> closed_handlers, reconnecting_handlers;
  std::vector<reconnected_handler> reconnected_handlers;

  std::deque<std::string> outbox;
  hubcast::event outbox_wake;  // the outbox got a message, or the writer took them all
  std::string recv_buffer;
  clock::time_point last_send, last_receive;
  asio::steady_timer timer;
  asio::steady_timer reconnect_timer;

  // Stateful reconnect (both directions counted independently; signalr-protocol.md §11).
  std::deque<std::pair<std::int64_t, std::string>> unacked;
  std::int64_t sent_count = 0;
  std::int64_t next_receive_id = 1;
  std::int64_t latest_received = 0;
  std::optional<clock::time_point> ack_due;
  bool await_sequence = false;
};

}  // namespace hubcast::client::detail
