// Internal to http/ (included by websocket.cpp only): a WebSocket over any Asio stream (TLS, or
// plain TCP written message by message for stateful reconnect) read by hubcast's own frame
// reader (http/websocket_frames.hpp), so every transport gives the same answers to the same
// frames (RFC 6455 and what Kestrel does). Writes are serialized: a message, the pong to a ping,
// the close reply never interleave.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include "http/websocket.hpp"
#include "http/websocket_frames.hpp"

namespace hubcast::http::detail {

// `Stream`: an Asio stream (async_read_some, async_write_some). `lowest(stream)` gives the TCP
// socket underneath, for abort().
template <class Stream, class Lowest>
class stream_websocket final : public websocket {
 public:
  stream_websocket(Stream stream, Lowest lowest)
      : stream_(std::move(stream)), lowest_(lowest), write_done_(stream_.get_executor()) {
    write_done_.expires_at(std::chrono::steady_clock::time_point::max());
  }

  boost::asio::awaitable<boost::system::error_code> async_read(std::string& out,
                                                               bool& binary) override {
    using boost::system::error_code;
    namespace asio = boost::asio;
    if (reader_done_ || close_received_) co_return asio::error::eof;
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

  boost::asio::awaitable<boost::system::error_code> async_write(
      std::span<const std::string_view> parts, bool binary) override {
    namespace asio = boost::asio;
    if (close_sent_) co_return asio::error::operation_not_supported;
    std::size_t len = 0;
    for (auto p : parts) len += p.size();
    unsigned char header[ws_max_header];
    std::size_t h = write_frame_header(header, binary ? ws_opcode::binary : ws_opcode::text, len);
    // One contiguous buffer (TLS encrypts it in one record where it fits).
    std::string frame;
    frame.reserve(h + len);
    frame.append(reinterpret_cast<const char*>(header), h);
    for (auto p : parts) frame.append(p);
    co_return co_await write_frames(std::move(frame));
  }

  boost::asio::awaitable<boost::system::error_code> async_close(std::uint16_t code) override {
    using boost::system::error_code;
    namespace asio = boost::asio;
    if (!lowest_(stream_).is_open()) co_return error_code{};
    error_code result;
    if (!close_sent_) {
      close_sent_ = true;
      result = co_await write_frames(make_close_frame(code));
    }
    if (!result && !close_received_) {
      // The peer answers with its close frame; bounded, as Beast's close handshake timeout.
      close_wait_ = std::make_unique<asio::steady_timer>(stream_.get_executor(), close_timeout);
      if (!reader_done_) {
        co_await close_wait_->async_wait(use_tuple);  // the reader sees the close and wakes us
      } else {
        close_wait_->async_wait([this](error_code ec) {
          if (!ec) {
            error_code ignored;
            lowest_(stream_).cancel(ignored);
          }
        });
        std::string discard;
        bool b = false;
        reader_done_ = false;
        while (!co_await async_read(discard, b)) discard.clear();
        close_wait_->cancel();
      }
      close_wait_.reset();
    }
    abort();
    co_return result;
  }

  void abort() override {
    boost::system::error_code ec;
    auto& s = lowest_(stream_);
    s.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    s.close(ec);
  }

  void set_read_limit(std::size_t bytes) override { reader_.set_max_message(bytes); }
  bool peer_closed() const override { return peer_closed_; }
  boost::asio::any_io_executor get_executor() override { return stream_.get_executor(); }

 private:
  static constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);
  static constexpr std::size_t read_chunk = 4096;
  static constexpr auto close_timeout = std::chrono::seconds(5);

  Stream stream_;
  Lowest lowest_;
  frame_reader reader_;
  std::string partial_;  // received bytes not yet parsed
  std::size_t offset_ = 0;
  bool writing_ = false;
  boost::asio::steady_timer write_done_;  // wakes a writer waiting for the one in progress
  bool close_sent_ = false;
  bool close_received_ = false;
  bool peer_closed_ = false;
  bool reader_done_ = false;
  std::unique_ptr<boost::asio::steady_timer> close_wait_;  // only while closing

  void compact() {
    if (offset_ == 0) return;
    partial_.erase(0, offset_);
    offset_ = 0;
    if (partial_.empty() && partial_.capacity() > 2 * read_chunk) std::string().swap(partial_);
  }

  // One reader event: a value when async_read returns; `control` is what to write first.
  std::optional<boost::system::error_code> on_event(const frame_reader::result& r, std::string& out,
                                                    bool& binary, std::string& control) {
    namespace asio = boost::asio;
    namespace errc = boost::system::errc;
    switch (r.kind) {
      case frame_reader::event::message:
        out = reader_.take_message();
        binary = reader_.message_binary();
        return boost::system::error_code{};
      case frame_reader::event::ping:
        if (!close_sent_) control = make_control_frame(ws_opcode::pong, r.payload);
        return std::nullopt;
      case frame_reader::event::pong:
        return std::nullopt;
      case frame_reader::event::close:
        close_received_ = true;
        peer_closed_ = true;
        if (!close_sent_) {
          close_sent_ = true;
          control = make_close_frame(close_reply_code(r.code));
        }
        return asio::error::eof;
      case frame_reader::event::error:
        spdlog::debug("websocket: closing after a protocol violation: {} ({})", r.error, r.code);
        if (!close_sent_) {
          close_sent_ = true;
          control = make_close_frame(r.code);
        }
        close_received_ = true;
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
    if (ec) {
      reader_done_ = true;
      if (close_wait_) close_wait_->cancel();
    }
    compact();
    return ec;
  }

  // Writes whole frames, one writer at a time.
  boost::asio::awaitable<boost::system::error_code> write_frames(std::string frames) {
    while (writing_) co_await write_done_.async_wait(use_tuple);
    writing_ = true;
    auto [ec, n] =
        co_await boost::asio::async_write(stream_, boost::asio::buffer(frames), use_tuple);
    (void)n;
    writing_ = false;
    write_done_.cancel();
    co_return ec;
  }
};

}  // namespace hubcast::http::detail
