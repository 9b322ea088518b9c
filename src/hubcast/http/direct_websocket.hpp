// Internal to http/: a WebSocket on plain TCP or TLS after Beast's upgrade handshake, read by
// hubcast's own frame reader (http/websocket_frames.hpp) and written by a direct frame writer
// (http::direct_socket). An idle connection holds the socket, its TLS session (after a TLS 1.3
// handshake only the traffic keys and sequence numbers: http/tls_records.hpp) and a few flags:
// bytes are read into a buffer shared by the thread's connections, and only the rest of an
// incomplete frame is kept (no per-connection read buffer, no Beast or Asio stream state, no
// timers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <hubcast/http/tls_session.hpp>
#include <hubcast/http/websocket.hpp>
#include <hubcast/http/websocket_frames.hpp>

namespace hubcast::http::detail {

class direct_websocket final : public websocket, public direct_socket {
 public:
  // `tls`: the socket's TLS session, its handshake done (nullptr: plain TCP).
  explicit direct_websocket(boost::asio::ip::tcp::socket socket,
                            std::unique_ptr<tls_session> tls = nullptr);
  ~direct_websocket() override;

  // websocket
  boost::asio::awaitable<boost::system::error_code> async_read(std::string& out,
                                                               bool& binary) override;
  // Without a direct writer only (control frames held meanwhile go first).
  boost::asio::awaitable<boost::system::error_code> async_write(
      std::span<const std::string_view> parts, bool binary) override;
  boost::asio::awaitable<boost::system::error_code> async_close(std::uint16_t code) override;
  void abort() override;
  void set_read_limit(std::size_t bytes) override { reader_.set_max_message(bytes); }
  bool peer_closed() const override { return peer_closed_; }
  boost::asio::any_io_executor get_executor() override { return socket_.get_executor(); }
  direct_socket* direct() override { return this; }

  // direct_socket
  write_result write(const iovec* iov, std::size_t n) override;
  void async_wait_writable(std::function<void(boost::system::error_code)> done) override;
  void acquire(std::function<void()> on_control) override;
  std::string take_control() override;
  void control_written(boost::system::error_code) override {}
  void release() override;

 private:
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<tls_session> tls_;
  frame_reader reader_;
  // The unparsed rest of what was received (an incomplete frame, or frames after a message).
  std::string partial_;
  std::size_t partial_offset_ = 0;
  // Control frames for the writer: the pong to the latest ping (a flood of pings gets one pong,
  // RFC 6455 §5.5.3, so this stays bounded), then the close (a reply, or ours after a violation).
  std::string pong_;
  std::string control_;
  std::function<void()> on_control_;
  bool owned_ = false;     // a direct writer has the write side
  bool released_ = false;  // ... and gave it back: closing
  bool close_sent_ = false;
  bool close_received_ = false;
  bool peer_closed_ = false;
  bool reader_done_ = false;  // async_read returned an error: nobody reads any more
  // TLS: what the session waits for before reading (writable: it has to send first) and
  // before writing again (readable: it has to receive first).
  bool read_waits_writable_ = false;
  bool write_waits_readable_ = false;
  std::unique_ptr<boost::asio::steady_timer> close_wait_;  // only while closing

  // Handles one reader event: a value when async_read returns (a message, or the error).
  std::optional<boost::system::error_code> on_event(const frame_reader::result& r, std::string& out,
                                                    bool& binary);
  // Parses what is kept, then reads what the socket has, without waiting: a value when
  // async_read returns, nullopt when the socket has nothing more now.
  std::optional<boost::system::error_code> read_available(std::string& out, bool& binary);
  void queue_control(std::string frame, bool pong);
  void keep_rest(const char* data, std::size_t n);
  // Reads what is there now: bytes, 0 and no error (nothing now), or an error (eof: closed).
  std::size_t receive(char* buf, std::size_t n, boost::system::error_code& ec);
  // Writes `bytes` whole, waiting for the socket as needed (the close handshake, async_write).
  boost::asio::awaitable<boost::system::error_code> write_all(std::string bytes);
  // What a blocked write waits for (TLS may have to receive first).
  boost::asio::ip::tcp::socket::wait_type write_wait() const;
  boost::system::error_code finish_reading(boost::system::error_code ec);
};

}  // namespace hubcast::http::detail
