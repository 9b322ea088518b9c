// A WebSocket's frames over any Asio stream (plain TCP, TLS), for either end: hubcast's frame
// reader (http/websocket_frames.hpp) on the read side, whole frames on the write side (masked
// from a client), one writer at a time (a message, the pong to a ping and the close reply never
// interleave). The server's TLS and stateful-reconnect WebSockets (http/websocket.cpp) and the
// C++ client's WebSocket transport are this one class, so both ends give the same answers to the
// same frames. Header-only on Asio: no Beast, no logging.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/errc.hpp>
#include <boost/system/system_error.hpp>

#include <hubcast/core/event.hpp>
#include <hubcast/http/close_handshake.hpp>
#include <hubcast/http/websocket_frames.hpp>

namespace hubcast::http {

// `Stream`: an Asio stream (async_read_some, async_write_some). `Lowest`: a callable giving the
// TCP socket under it (for abort and the close timeout).
template <class Stream, class Lowest>
class frame_stream {
 public:
  // A client masks every frame with a key from `mask_key` (4 unpredictable bytes per call).
  frame_stream(Stream stream, Lowest lowest, ws_role role,
               std::function<void(unsigned char*)> mask_key = {})
      : stream_(std::move(stream)),
        lowest_(lowest),
        mask_key_(std::move(mask_key)),
        reader_(1024 * 1024, role),
        write_done_(stream_.get_executor()) {}

  Stream& next_layer() { return stream_; }
  // Bytes that arrived with the upgrade's answer (read by the HTTP parser): the first frames.
  void prime(std::string_view bytes) { partial_.append(bytes); }
  void set_max_message(std::size_t bytes) { reader_.set_max_message(bytes); }

  // One whole message; asio::error::eof once the peer's close frame arrived (peer_closed(), its
  // code and reason) or the connection ended without one; another error after a protocol
  // violation (the close frame with violation_code() was sent).
  boost::asio::awaitable<boost::system::error_code> read(std::string& out, bool& binary) {
    namespace asio = boost::asio;
    if (reader_done_ || close_received_) co_return asio::error::eof;
    reading_ = true;
    for (;;) {
      while (offset_ < partial_.size()) {
        auto r =
            reader_.next(std::span<char>(partial_.data() + offset_, partial_.size() - offset_));
        offset_ += r.consumed;
        if (r.kind == frame_reader::event::need_more) break;
        std::string control;
        auto done = on_event(r, out, binary, control);
        if (!control.empty()) {
          auto ec = co_await write_frames(std::move(control));
          if (ec && !done) done = ec;
        }
        if (done) co_return finish_reading(*done);
      }
      compact();
      // Room for the next read without keeping a large buffer on an idle connection.
      const std::size_t have = partial_.size();
      partial_.resize(have + read_chunk);
      auto [ec, n] = co_await stream_.async_read_some(
          asio::buffer(partial_.data() + have, read_chunk), use_tuple);
      partial_.resize(have + n);
      if (ec) co_return finish_reading(ec);
    }
  }

  // `parts` as one message.
  boost::asio::awaitable<boost::system::error_code> write(std::span<const std::string_view> parts,
                                                          bool binary) {
    if (close_sent_) co_return boost::asio::error::operation_not_supported;
    const auto op = binary ? ws_opcode::binary : ws_opcode::text;
    if (mask_key_) {
      std::string joined;
      for (auto p : parts) joined.append(p);
      co_return co_await write_frames(make_masked_frame(op, joined, key()));
    }
    std::size_t len = 0;
    for (auto p : parts) len += p.size();
    unsigned char header[ws_max_header];
    std::size_t h = write_frame_header(header, op, len);
    // One contiguous buffer (TLS encrypts it in one record where it fits).
    std::string frame;
    frame.reserve(h + len);
    frame.append(reinterpret_cast<const char*>(header), h);
    for (auto p : parts) frame.append(p);
    co_return co_await write_frames(std::move(frame));
  }

  // Sends a close frame with `code` (unless one went already), waits up to 5 s for the peer's,
  // then closes the connection. A read in progress elsewhere sees the peer's close.
  boost::asio::awaitable<boost::system::error_code> close(std::uint16_t code) {
    using boost::system::error_code;
    namespace asio = boost::asio;
    if (!lowest_(stream_).is_open()) co_return error_code{};
    error_code result;
    if (!close_sent_) {
      close_sent_ = true;
      result = co_await write_frames(close_frame(code));
    }
    if (!result && !close_received_) {
      const bool reader_running = reading_;
      reader_done_ = false;  // when nobody reads, the wait reads itself
      co_await detail::await_peer_close(
          close_wait_, stream_.get_executor(), reader_running,
          [this](std::string& out, bool& binary) { return read(out, binary); },
          [this] {
            error_code ignored;
            lowest_(stream_).cancel(ignored);
          });
    }
    abort();
    co_return result;
  }

  void abort() {
    boost::system::error_code ec;
    auto& s = lowest_(stream_);
    s.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    s.close(ec);
  }

  bool peer_closed() const { return peer_closed_; }
  // The peer's close code (0: its close frame had none) and reason.
  std::uint16_t peer_code() const { return peer_code_; }
  const std::string& peer_reason() const { return peer_reason_; }
  // After a protocol violation: the close code sent, and what was wrong.
  std::uint16_t violation_code() const { return violation_code_; }
  const char* violation() const { return violation_; }

 private:
  static constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);
  static constexpr std::size_t read_chunk = 4096;

  Stream stream_;
  Lowest lowest_;
  std::function<void(unsigned char*)> mask_key_;
  frame_reader reader_;
  std::string partial_;  // received bytes not yet parsed
  std::size_t offset_ = 0;
  bool writing_ = false;
  hubcast::event write_done_;  // wakes a writer waiting for the one in progress
  bool reading_ = false;
  bool close_sent_ = false;
  bool close_received_ = false;
  bool peer_closed_ = false;
  bool reader_done_ = false;
  std::uint16_t peer_code_ = 0;
  std::string peer_reason_;
  std::uint16_t violation_code_ = 0;
  const char* violation_ = nullptr;
  std::unique_ptr<boost::asio::steady_timer> close_wait_;  // only while closing
  unsigned char key_[4] = {};

  const unsigned char* key() {
    mask_key_(key_);
    return key_;
  }

  std::string control_frame(ws_opcode op, std::string_view payload) {
    return mask_key_ ? make_masked_frame(op, payload, key()) : make_control_frame(op, payload);
  }
  std::string close_frame(std::uint16_t code) {
    return mask_key_ ? make_masked_close_frame(code, key()) : make_close_frame(code);
  }

  void compact() {
    if (offset_ == 0) return;
    partial_.erase(0, offset_);
    offset_ = 0;
    if (partial_.empty() && partial_.capacity() > 2 * read_chunk) std::string().swap(partial_);
  }

  // One reader event: a value when read() returns; `control` is what to write first.
  std::optional<boost::system::error_code> on_event(const frame_reader::result& r, std::string& out,
                                                    bool& binary, std::string& control) {
    namespace errc = boost::system::errc;
    switch (r.kind) {
      case frame_reader::event::message:
        out = reader_.take_message();
        binary = reader_.message_binary();
        return boost::system::error_code{};
      case frame_reader::event::ping:
        if (!close_sent_) control = control_frame(ws_opcode::pong, r.payload);
        return std::nullopt;
      case frame_reader::event::pong:
        return std::nullopt;
      case frame_reader::event::close:
        close_received_ = true;
        peer_closed_ = true;
        peer_code_ = r.code;
        peer_reason_.assign(r.payload);
        if (!close_sent_) {
          // The peer's code echoed; a close without one answered with 1000 (as Kestrel).
          close_sent_ = true;
          control = close_frame(close_reply_code(r.code));
        }
        return boost::asio::error::eof;
      case frame_reader::event::error:
        violation_code_ = r.code;
        violation_ = r.error;
        if (!close_sent_) {
          close_sent_ = true;
          control = close_frame(r.code);
        }
        close_received_ = true;  // nothing more is read from this peer
        if (r.code == close_message_too_big) return errc::make_error_code(errc::message_size);
        if (r.code == close_invalid_payload)
          return errc::make_error_code(errc::illegal_byte_sequence);
        return errc::make_error_code(errc::protocol_error);
      case frame_reader::event::need_more:
        break;
    }
    return std::nullopt;
  }

  boost::system::error_code finish_reading(boost::system::error_code ec) {
    reading_ = false;
    if (ec) {
      reader_done_ = true;
      if (close_wait_) close_wait_->cancel();
    }
    if (offset_ > 0) {
      partial_.erase(0, offset_);
      offset_ = 0;
    }
    if (partial_.empty() && partial_.capacity() > 2 * read_chunk) std::string().swap(partial_);
    return ec;
  }

  // Writes whole frames, one writer at a time.
  boost::asio::awaitable<boost::system::error_code> write_frames(std::string frames) {
    try {
      auto turn = write_done_.async_wait_until([this] { return !writing_; });
      co_await std::move(turn);
    } catch (const boost::system::system_error& e) {
      co_return e.code();  // this writer's own operation was cancelled
    }
    writing_ = true;
    auto [ec, n] =
        co_await boost::asio::async_write(stream_, boost::asio::buffer(frames), use_tuple);
    (void)n;
    writing_ = false;
    write_done_.notify_all();
    co_return ec;
  }
};

}  // namespace hubcast::http
