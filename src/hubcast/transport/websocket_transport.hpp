// The WebSockets transport (WebSocketsServerTransport): writes a connection's output to its
// socket until the output completes, then closes with 1000 (or drops the socket on abort).
//
// With a direct writer (plain TCP and TLS): the shard's write passes (flush_scheduler) call
// flush(), which frames everything queued as one WebSocket message (hub protocols) or one
// message per send (raw connections) and writes it with one gathered write straight to the
// connection (plain: one sendmsg, no copy per recipient; TLS: one SSL_write, records of up to
// 16 KiB) — no coroutine resumption, no write operation per message. A socket whose kernel
// buffer is full keeps the unwritten rest and waits for writability; the pass goes on with the
// other sockets. Written message by message (stateful reconnect): a writer coroutine takes
// everything queued into one WebSocket message.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <hubcast/http/websocket.hpp>
#include <hubcast/transport/connection.hpp>
#include <hubcast/transport/flush_scheduler.hpp>

namespace hubcast::transport {

class websocket_transport final : public flushable,
                                  public output_sink,
                                  public std::enable_shared_from_this<websocket_transport> {
 public:
  // On the connection's shard (the socket's).
  websocket_transport(std::shared_ptr<connection> c, std::unique_ptr<http::websocket> ws);
  ~websocket_transport() override;

  http::websocket& socket() { return *ws_; }

  // Writes until the output completes or fails, then ends the WebSocket (close handshake or
  // abort) and calls `on_closed`. Direct: no coroutine runs meanwhile, the shard's write
  // passes call flush(); otherwise one writer coroutine. The caller keeps the transport alive for
  // as long as anything reads from its socket (pending writes and the close keep it too).
  void start(std::function<void()> on_closed);

  void on_output() override;
  std::size_t buffered_bytes() const override { return rest_.size() - rest_offset_; }
  void flush() override;

 private:
  std::shared_ptr<connection> conn_;
  std::unique_ptr<http::websocket> ws_;
  http::direct_socket* direct_ = nullptr;
  bool control_pending_ = false;  // the reader queued a control frame since the last take
  std::function<void()> on_closed_;
  boost::asio::steady_timer signal_;  // the writer coroutine waits on it (not direct)
  bool waiting_ = false;              // the writer coroutine is waiting on signal_
  bool scheduled_ = false;            // in the shard's next write pass
  bool waiting_writable_ = false;     // the kernel buffer was full
  bool finished_ = false;
  bool failed_ = false;
  bool closed_by_peer_ = false;  // a close frame went out: nothing may follow it
  // Bytes of a gathered write the kernel did not take (copied once, only when it happens),
  // and the reader's control frames (a pong, the reply to a close).
  std::string rest_;
  std::size_t rest_offset_ = 0;
  std::string control_;
  std::size_t control_offset_ = 0;

  void mark_ready();
  void wake_waiter();
  // Writes buf[offset..] until done (true), blocked (false, waiting for writability) or failed.
  bool write_out(std::string& buf, std::size_t& offset);
  // One gathered write of what is queued; false when blocked or failed.
  bool write_queued();
  void wait_writable();
  void finish(bool failed);
  boost::asio::awaitable<void> run_beast_writer();
  boost::asio::awaitable<void> close_socket();
  void closed();
};

}  // namespace hubcast::transport
