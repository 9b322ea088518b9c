// One logical SignalR connection at the HTTP layer (HttpConnectionContext): identity, the
// request that started it, the active transport, and the outbound byte queue the transport
// drains. Everything but the manager's bookkeeping runs on the connection's shard.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <hubcast/auth/claims_principal.hpp>
#include <hubcast/core/error.hpp>
#include <hubcast/core/event.hpp>
#include <hubcast/http/request.hpp>
#include <hubcast/http/websocket.hpp>
#include <hubcast/transport/outbound_queue.hpp>

namespace hubcast::transport {

enum class transport_type { none, websockets, server_sent_events, long_polling };
std::string_view transport_name(transport_type t);
// The `signalr_transport` label: web_sockets, server_sent_events, long_polling.
std::string_view metrics_transport_name(transport_type t);

enum class send_result { ok, closed, overflow };

// What a WebSocket read's failure `ec` means for its connection (a hubcast::errc): the peer's
// close frame (`peer_closed`) is a close; a reset or an end without one, a premature close.
boost::system::error_code websocket_end_reason(const boost::system::error_code& ec,
                                               bool peer_closed);

// The transport writing a connection's output, told when there is something to write (or the
// output completed or was aborted). Called on the connection's shard.
class output_sink {
 public:
  virtual ~output_sink() = default;
  virtual void on_output() = 0;
  // Bytes taken from the queue but not yet on the socket.
  virtual std::size_t buffered_bytes() const = 0;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(std::string id, std::string token, int negotiate_version, queue_limits limits);
  ~connection();

  const std::string& id() const { return id_; }
  const std::string& token() const { return token_; }
  int negotiate_version() const { return negotiate_version_; }

  // The HTTP request that started the transport (headers, query, cookies), body dropped.
  const http::request& request() const { return request_; }
  transport_type transport() const { return transport_; }
  std::size_t shard() const { return shard_; }
  boost::asio::any_io_executor get_executor() const { return executor_; }

  // The user of the latest transport request, and when its token expires.
  std::shared_ptr<const auth::claims_principal> user() const { return user_; }
  std::optional<std::chrono::system_clock::time_point> auth_expires_at() const {
    return auth_expires_at_;
  }
  void set_user(std::shared_ptr<const auth::claims_principal> u,
                std::optional<std::chrono::system_clock::time_point> expires_at) {
    user_ = std::move(u);
    auth_expires_at_ = expires_at;
  }

  // What the transport tells the handler about (on the connection's shard).
  enum class event {
    reconnected,               // a stateful reconnect's new socket took over (§11)
    authentication_refreshed,  // POST {hub}/refresh replaced user() and auth_expires_at()
  };
  void set_event_handler(std::function<void(event)> f) { on_event_ = std::move(f); }
  void notify(event e) {
    if (on_event_) on_event_(e);
  }

  // --- inbound (called by the connection handler) ---
  // The next transport message from the client; once the client is gone, why (a hubcast::errc:
  // closed, closed prematurely, aborted, too large, a protocol violation, the transport failed).
  boost::asio::awaitable<boost::system::error_code> async_read(std::string& out, bool& binary);

  // --- outbound (called on the connection's shard) ---
  send_result try_send(shared_bytes bytes);
  // Frame type for WebSocket messages (binary for MessagePack).
  void set_binary(bool binary) { binary_ = binary; }
  bool binary() const { return binary_; }
  // Whether queued messages may be sent together in one transport message (hub protocols:
  // yes; raw connections: no, each send is one WebSocket message).
  void set_coalesce(bool coalesce) { coalesce_ = coalesce; }
  bool coalesce() const { return coalesce_; }
  // Graceful end: flush what is queued, then close the transport (WebSocket close 1000).
  void complete();
  // Ends at once, dropping queued output.
  void abort();
  bool is_completed() const { return completed_; }
  bool is_aborted() const { return aborted_; }
  // Queued, plus taken by the transport but not yet written.
  std::size_t queued_bytes() const {
    return queue_.bytes() + (sink_ ? sink_->buffered_bytes() : 0);
  }
  // Completes once queued_bytes() is at most `bytes`, or the connection completed.
  boost::asio::awaitable<void> async_wait_drained(std::size_t bytes);

  // --- transport side ---
  // Bytes from POST-based transports (and in-memory tests): queued for async_read.
  void push_input(std::string data, bool binary);
  // No more input: once the queue is drained, async_read returns `reason`.
  void end_input(boost::system::error_code reason = errc::connection_closed);
  // Takes everything queued for sending (POST-based transports, in-memory tests).
  std::vector<shared_bytes> take_output();
  // The queue itself, for a transport that writes from it in place (then on_written()).
  outbound_queue& output() { return queue_; }
  void on_written();
  // The transport to tell about new output (nullptr: wake async_wait_output instead).
  void set_output_sink(output_sink* s) { sink_ = s; }
  // Binds the connection to a transport on the calling shard.
  void attach(transport_type t, http::request req, std::size_t shard,
              boost::asio::any_io_executor ex, http::websocket* ws);
  void detach_websocket() { ws_ = nullptr; }
  bool transport_active() const { return transport_active_; }

  // Long polling (long_polling_transport): a poll supersedes the one before it.
  std::uint64_t begin_poll();
  bool poll_superseded(std::uint64_t generation) const { return generation != poll_generation_; }
  void end_poll();
  // Completes when woken (output queued, completed, a newer poll) or at `deadline`.
  boost::asio::awaitable<void> async_wait_output(std::chrono::steady_clock::time_point deadline);
  bool poll_active() const { return poll_active_.load(); }
  // Steady clock milliseconds of the last poll, for the disconnect timeout.
  std::int64_t last_activity_ms() const { return last_activity_ms_.load(); }
  void touch();
  // Handler finished (the connection is over once the output is drained).
  bool handler_done() const { return handler_done_.load(); }
  void set_handler_done() { handler_done_ = true; }

  // --- stateful reconnect (§11), WebSockets only ---
  // Negotiated with useStatefulReconnect; the hub layer turns it off for a version-1 handshake.
  bool stateful() const { return stateful_.load(); }
  void set_stateful(bool on) { stateful_ = on; }
  // Stateful connections run "bridged": the socket's coroutines may live on another shard than
  // the connection, so input goes through the input queue and output is taken with a hop.
  bool bridged() const { return bridged_; }
  void set_bridged() { bridged_ = true; }
  // The socket dropped without a close frame: keep the connection for a reconnect.
  void transport_lost();
  bool is_lost() const { return lost_.load(); }
  std::int64_t lost_since_ms() const { return lost_since_ms_.load(); }
  // A new socket took over: drop what was queued for the old one (the hub replays what was
  // not acknowledged), then let the hub write Sequence + replay. Returns the attachment number.
  std::uint64_t begin_attachment();
  std::uint64_t attachment() const { return attachment_; }
  // Output for a bridged writer: waits until something is queued, the output completed, or the
  // attachment changed. `done` says the writer should close the socket.
  struct batch {
    std::vector<shared_bytes> parts;
    bool done = false;
    bool binary = false;
  };
  boost::asio::awaitable<batch> async_take_output(std::uint64_t attachment);
  // The synchronous part: true when `b` is ready (parts taken, or done).
  bool take_ready(std::uint64_t attachment, batch& b);
  boost::asio::awaitable<void> wait_for_output();

  // Manager bookkeeping (any thread).
  std::chrono::steady_clock::time_point created_at() const { return created_at_; }
  // A transport request arrived. try_start() is true for the one call that started it.
  bool is_started() const { return started_.load(); }
  bool try_start();
  // The connection is gone (removed from its manager): its duration is recorded once, with
  // `status` normal_closure | timeout | app_shutdown, if a transport ever started.
  void record_end(std::string_view status);
  // Negotiated connections not yet started are counted against the manager's cap: the counter
  // is given back exactly once (started, or removed unused).
  void count_as_pending(std::shared_ptr<std::atomic<std::size_t>> counter);
  void release_pending();

  // The user who negotiated the connection (NameIdentifier / `sub`; nullopt when anonymous):
  // the connection token is a capability of that user only, every later transport request
  // must be theirs.
  const std::optional<std::string>& owner() const { return owner_; }
  void set_owner(std::optional<std::string> user_id) { owner_ = std::move(user_id); }

 private:
  std::string id_;
  std::string token_;
  int negotiate_version_;
  queue_limits limits_;
  http::request request_;
  std::shared_ptr<const auth::claims_principal> user_;
  std::optional<std::chrono::system_clock::time_point> auth_expires_at_;
  transport_type transport_ = transport_type::none;
  std::size_t shard_ = 0;
  boost::asio::any_io_executor executor_;
  http::websocket* ws_ = nullptr;
  std::unique_ptr<boost::asio::steady_timer> signal_;
  int signal_waiters_ = 0;  // coroutines waiting on signal_
  outbound_queue queue_;
  output_sink* sink_ = nullptr;
  // A stream producer waiting for the queue to drain (created on the first wait).
  std::unique_ptr<hubcast::event> drained_;
  std::size_t drained_at_ = 0;
  struct input_chunk {
    std::string data;
    bool binary;
  };
  std::vector<input_chunk> input_;  // from input_head_ on (no deque: it allocates when empty)
  std::size_t input_head_ = 0;
  bool input_ended_ = false;
  boost::system::error_code input_end_reason_;
  std::unique_ptr<hubcast::event> input_signal_;
  std::size_t input_bytes_ = 0;
  std::uint64_t poll_generation_ = 0;
  std::atomic<bool> poll_active_{false};
  std::atomic<std::int64_t> last_activity_ms_{0};
  std::atomic<bool> handler_done_{false};
  std::atomic<bool> stateful_{false};
  std::atomic<bool> lost_{false};
  std::atomic<std::int64_t> lost_since_ms_{0};
  std::function<void(event)> on_event_;
  bool bridged_ = false;
  std::uint64_t attachment_ = 0;
  bool binary_ = false;
  bool coalesce_ = true;
  bool completed_ = false;
  bool aborted_ = false;
  bool transport_active_ = false;
  std::chrono::steady_clock::time_point created_at_;
  std::atomic<int> metrics_state_{0};  // 0 no transport yet, 1 counted active, 2 ended
  std::chrono::steady_clock::time_point metrics_started_at_;
  std::atomic<bool> started_{false};
  std::shared_ptr<std::atomic<std::size_t>> pending_counter_;
  std::atomic<bool> pending_released_{false};
  std::optional<std::string> owner_;

  void wake();
};

}  // namespace hubcast::transport
