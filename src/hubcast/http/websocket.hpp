// A server-side WebSocket after a successful upgrade (Beast answers the upgrade, hubcast reads
// and writes the frames). With a direct writer, over plain TCP or TLS: hubcast's own frame
// reader on the socket (direct_websocket.cpp, websocket_frames.cpp). Written message by
// message (stateful reconnect): frame_stream.hpp over the socket or the TLS stream.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <sys/uio.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

namespace hubcast::http {

// What one direct write did.
struct write_result {
  std::size_t written = 0;  // bytes the connection took (the caller drops them)
  // Not all taken: wait for async_wait_writable before writing again.
  bool blocked = false;
  // Blocked with nothing taken, but the next write must begin with the same bytes, unchanged
  // (TLS: part of them is encrypted already); plain TCP: the caller may gather anew.
  bool repeat = false;
  boost::system::error_code ec;  // failed: the connection is unusable
};

// The write side of a WebSocket, for a writer that frames its messages itself and writes them
// straight to the connection (one gathered write for many messages, no write operation per
// message; plain TCP: no copy; TLS: one copy into the records). While acquired, the control frames
// the reader has to send (the pong to a ping, the reply to a close, a close after a protocol
// violation) are held and handed to the owner, which writes them between two of its own frames:
// bytes never interleave.
class direct_socket {
 public:
  virtual ~direct_socket() = default;
  // Writes what it can of `iov` now, without waiting.
  virtual write_result write(const iovec* iov, std::size_t n) = 0;
  // Calls `done` once the socket is writable again (or with an error once it is closed).
  virtual void async_wait_writable(std::function<void(boost::system::error_code)> done) = 0;
  // Takes the write side; `on_control` is called when a control frame is waiting.
  virtual void acquire(std::function<void()> on_control) = 0;
  // The control frames queued since the last call (whole frames, in order).
  virtual std::string take_control() = 0;
  // Everything taken so far is on the socket (or could not be written: `ec`).
  virtual void control_written(boost::system::error_code ec) = 0;
  // Gives the write side back (for the close handshake, async_close); control frames not yet
  // taken are dropped.
  virtual void release() = 0;
};

class websocket {
 public:
  virtual ~websocket() = default;

  // One whole message. `binary` tells the frame type the peer used.
  virtual boost::asio::awaitable<boost::system::error_code> async_read(std::string& out,
                                                                       bool& binary) = 0;
  // Writes `parts` as one WebSocket message (a gathered write).
  virtual boost::asio::awaitable<boost::system::error_code> async_write(
      std::span<const std::string_view> parts, bool binary) = 0;
  // Sends a close frame and waits (bounded by the close timeout) for the peer's.
  virtual boost::asio::awaitable<boost::system::error_code> async_close(std::uint16_t code) = 0;
  // Drops the TCP connection at once.
  virtual void abort() = 0;
  virtual void set_read_limit(std::size_t bytes) = 0;
  // The last failed read ended with the peer's close frame (a graceful close).
  virtual bool peer_closed() const = 0;
  virtual boost::asio::any_io_executor get_executor() = 0;
  // The direct writer; nullptr when written message by message (use async_write).
  virtual direct_socket* direct() { return nullptr; }
};

}  // namespace hubcast::http
