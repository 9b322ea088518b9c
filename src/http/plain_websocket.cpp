#include "http/plain_websocket.hpp"

#include <cerrno>
#include <chrono>
#include <vector>

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace hubcast::http::detail {

namespace asio = boost::asio;
using boost::system::error_code;
namespace errc = boost::system::errc;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t read_chunk = 64 * 1024;
constexpr auto close_timeout = std::chrono::seconds(5);  // the peer's answer to our close

// What recv() fills, shared by every connection of the thread: parsed before the next
// suspension, so no two connections ever use it at once.
char* thread_read_buffer() {
  thread_local std::vector<char> buf(read_chunk);
  return buf.data();
}

error_code error_for(std::uint16_t close_code) {
  if (close_code == close_message_too_big) return errc::make_error_code(errc::message_size);
  if (close_code == close_invalid_payload)
    return errc::make_error_code(errc::illegal_byte_sequence);
  return errc::make_error_code(errc::protocol_error);
}

}  // namespace

plain_websocket::plain_websocket(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

plain_websocket::~plain_websocket() = default;

void plain_websocket::queue_control(std::string frame, bool pong) {
  if (released_) return;  // closing: async_close writes the only frame still to go
  if (pong)
    pong_ = std::move(frame);
  else
    control_ += frame;
  if (owned_ && on_control_) on_control_();
}

std::string plain_websocket::take_control() {
  std::string out = std::exchange(pong_, std::string());
  out += control_;
  control_.clear();
  return out;
}

void plain_websocket::acquire(std::function<void()> on_control) {
  owned_ = true;
  on_control_ = std::move(on_control);
  if ((!control_.empty() || !pong_.empty()) && on_control_) on_control_();
}

void plain_websocket::release() {
  owned_ = false;
  released_ = true;
  on_control_ = nullptr;
  control_.clear();
  pong_.clear();
}

void plain_websocket::async_wait_writable(std::function<void(error_code)> done) {
  socket_.async_wait(asio::ip::tcp::socket::wait_write, std::move(done));
}

std::optional<error_code> plain_websocket::on_event(const frame_reader::result& r, std::string& out,
                                                    bool& binary) {
  switch (r.kind) {
    case frame_reader::event::message:
      out = reader_.take_message();
      binary = reader_.message_binary();
      return error_code{};
    case frame_reader::event::ping:
      if (!close_sent_) queue_control(make_control_frame(ws_opcode::pong, r.payload), true);
      return std::nullopt;
    case frame_reader::event::pong:
      return std::nullopt;
    case frame_reader::event::close:
      close_received_ = true;
      peer_closed_ = true;
      if (!close_sent_) {
        // Echo the peer's code (RFC 6455 §5.5.1); a close without one is answered with 1000,
        // as Kestrel does (a browser reports 1005 otherwise). Nothing is written after it.
        close_sent_ = true;
        queue_control(make_close_frame(close_reply_code(r.code)), false);
      }
      return asio::error::eof;
    case frame_reader::event::error:
      spdlog::debug("websocket: closing after a protocol violation: {} ({})", r.error, r.code);
      if (!close_sent_) {
        close_sent_ = true;
        queue_control(make_close_frame(r.code), false);
      }
      close_received_ = true;  // nothing more is read from this peer
      return error_for(r.code);
    case frame_reader::event::need_more:
      break;
  }
  return std::nullopt;
}

void plain_websocket::keep_rest(const char* data, std::size_t n) {
  partial_.assign(data, n);
  partial_offset_ = 0;
}

error_code plain_websocket::finish_reading(error_code ec) {
  if (ec) {
    reader_done_ = true;
    if (close_wait_) close_wait_->cancel();  // async_close waits for this reader
  }
  // Keep nothing an idle connection does not need.
  if (partial_offset_ >= partial_.size()) {
    std::string().swap(partial_);
    partial_offset_ = 0;
  }
  return ec;
}

std::optional<error_code> plain_websocket::read_available(std::string& out, bool& binary) {
  if (reader_done_ || close_received_) return asio::error::eof;
  for (;;) {
    // Bytes kept from an earlier read first: the frames after a message, or a frame's start.
    while (partial_offset_ < partial_.size()) {
      auto r = reader_.next(
          std::span<char>(partial_.data() + partial_offset_, partial_.size() - partial_offset_));
      partial_offset_ += r.consumed;
      if (r.kind == frame_reader::event::need_more) break;
      if (auto done = on_event(r, out, binary)) return done;
    }
    if (partial_offset_ > 0) {
      partial_.erase(0, partial_offset_);
      partial_offset_ = 0;
    }
    char* buf = thread_read_buffer();
    ssize_t n = ::recv(socket_.native_handle(), buf, read_chunk, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
      return error_code(errno, boost::system::system_category());
    }
    if (n == 0) return asio::error::eof;  // gone without a close frame
    const auto got = static_cast<std::size_t>(n);
    if (!partial_.empty()) {
      partial_.append(buf, got);  // completes a frame begun earlier
      continue;
    }
    // Parsed where it was received: only what is left after an event is copied.
    std::size_t off = 0;
    while (off < got) {
      auto r = reader_.next(std::span<char>(buf + off, got - off));
      off += r.consumed;
      if (r.kind == frame_reader::event::need_more) break;
      if (auto done = on_event(r, out, binary)) {
        if (!*done && off < got) keep_rest(buf + off, got - off);
        return done;
      }
    }
    if (off < got) keep_rest(buf + off, got - off);
  }
}

// A small coroutine frame (an idle connection keeps one): the work is in read_available().
asio::awaitable<error_code> plain_websocket::async_read(std::string& out, bool& binary) {
  for (;;) {
    if (auto done = read_available(out, binary)) co_return finish_reading(*done);
    auto [ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
    if (ec) co_return finish_reading(ec);
  }
}

asio::awaitable<error_code> plain_websocket::async_write(std::span<const std::string_view> parts,
                                                         bool binary) {
  if (owned_ || close_sent_) co_return asio::error::operation_not_supported;
  std::size_t len = 0;
  for (auto p : parts) len += p.size();
  unsigned char header[ws_max_header];
  std::size_t h = write_frame_header(header, binary ? ws_opcode::binary : ws_opcode::text, len);
  std::string control = take_control();
  std::vector<asio::const_buffer> bufs;
  bufs.reserve(parts.size() + 2);
  if (!control.empty()) bufs.emplace_back(control.data(), control.size());
  bufs.emplace_back(header, h);
  for (auto p : parts) bufs.emplace_back(p.data(), p.size());
  auto [ec, n] = co_await asio::async_write(socket_, bufs, use_tuple);
  (void)n;
  co_return ec;
}

asio::awaitable<error_code> plain_websocket::async_close(std::uint16_t code) {
  if (!socket_.is_open()) co_return error_code{};
  error_code result;
  if (!close_sent_) {
    close_sent_ = true;
    std::string frame = make_close_frame(code);
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(frame), use_tuple);
    (void)n;
    result = ec;
  }
  if (!result && !close_received_) {
    // The peer answers with its close frame; bounded, as Beast's close handshake timeout.
    close_wait_ = std::make_unique<asio::steady_timer>(socket_.get_executor(), close_timeout);
    if (!reader_done_) {
      // The connection's reader is still reading: it sees the close frame and wakes us.
      co_await close_wait_->async_wait(use_tuple);
    } else {
      close_wait_->async_wait([this](error_code ec) {
        if (!ec) {
          error_code ignored;
          socket_.cancel(ignored);
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

void plain_websocket::abort() {
  error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace hubcast::http::detail
