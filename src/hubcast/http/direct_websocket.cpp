#include <hubcast/http/direct_websocket.hpp>

#include <hubcast/http/close_handshake.hpp>

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

// What recv() fills, shared by every connection of the thread: parsed before the next
// suspension, so no two connections ever use it at once.
char* thread_read_buffer() {
  thread_local std::vector<char> buf(read_chunk);
  return buf.data();
}

// The thread's gather buffer for TLS writes: filled and written in one call.
std::string& thread_gather_buffer() {
  thread_local std::string buf;
  return buf;
}

error_code error_for(std::uint16_t close_code) {
  if (close_code == close_message_too_big) return errc::make_error_code(errc::message_size);
  if (close_code == close_invalid_payload)
    return errc::make_error_code(errc::illegal_byte_sequence);
  return errc::make_error_code(errc::protocol_error);
}

}  // namespace

direct_websocket::direct_websocket(asio::ip::tcp::socket socket, std::unique_ptr<tls_session> tls)
    : socket_(std::move(socket)), tls_(std::move(tls)) {}

direct_websocket::~direct_websocket() = default;

void direct_websocket::queue_control(std::string frame, bool pong) {
  if (released_) return;  // closing: async_close writes the only frame still to go
  if (pong)
    pong_ = std::move(frame);
  else
    control_ += frame;
  if (owned_ && on_control_) on_control_();
}

std::string direct_websocket::take_control() {
  std::string out = std::exchange(pong_, std::string());
  out += control_;
  control_.clear();
  return out;
}

void direct_websocket::acquire(std::function<void()> on_control) {
  owned_ = true;
  on_control_ = std::move(on_control);
  if ((!control_.empty() || !pong_.empty()) && on_control_) on_control_();
}

void direct_websocket::release() {
  owned_ = false;
  released_ = true;
  on_control_ = nullptr;
  control_.clear();
  pong_.clear();
}

asio::ip::tcp::socket::wait_type direct_websocket::write_wait() const {
  return write_waits_readable_ ? asio::ip::tcp::socket::wait_read
                               : asio::ip::tcp::socket::wait_write;
}

void direct_websocket::async_wait_writable(std::function<void(error_code)> done) {
  socket_.async_wait(write_wait(), std::move(done));
}

write_result direct_websocket::write(const iovec* iov, std::size_t n) {
  write_result r;
  // Checked on every write: an abort closes the socket, and its number may belong to another
  // connection by now.
  if (!socket_.is_open()) {
    r.ec = asio::error::bad_descriptor;
    return r;
  }
  std::size_t total = 0;
  for (std::size_t i = 0; i < n; ++i) total += iov[i].iov_len;
  if (!tls_) {
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(iov);
    m.msg_iovlen = n;
    for (;;) {
      ssize_t w = ::sendmsg(socket_.native_handle(), &m, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
          r.blocked = true;
        else
          r.ec = error_code(errno, boost::system::system_category());
        return r;
      }
      r.written = static_cast<std::size_t>(w);
      r.blocked = r.written < total;
      return r;
    }
  }
  // TLS: one call for the whole gathered write (records of up to 16 KiB).
  tls_io t;
  if (n == 1) {
    t = tls_->write(iov[0].iov_base, total);
  } else {
    auto& g = thread_gather_buffer();
    g.clear();
    for (std::size_t i = 0; i < n; ++i)
      g.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    t = tls_->write(g.data(), g.size());
    if (g.capacity() > 1024 * 1024) std::string().swap(g);  // after an unusually large write
  }
  write_waits_readable_ = false;
  if (t.ec) {
    r.ec = t.ec;
  } else if (t.need != tls_io::wait::none) {
    r.blocked = true;
    r.repeat = true;
    write_waits_readable_ = t.need == tls_io::wait::readable;
  } else {
    r.written = total;
  }
  return r;
}

std::optional<error_code> direct_websocket::on_event(const frame_reader::result& r,
                                                     std::string& out, bool& binary) {
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

void direct_websocket::keep_rest(const char* data, std::size_t n) {
  partial_.assign(data, n);
  partial_offset_ = 0;
}

error_code direct_websocket::finish_reading(error_code ec) {
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

std::optional<error_code> direct_websocket::read_available(std::string& out, bool& binary) {
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
    error_code ec;
    const std::size_t got = receive(buf, read_chunk, ec);
    if (ec) return ec;  // eof: gone without a close frame
    if (got == 0) return std::nullopt;
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

std::size_t direct_websocket::receive(char* buf, std::size_t n, error_code& ec) {
  if (!socket_.is_open()) {
    ec = asio::error::bad_descriptor;
    return 0;
  }
  if (tls_) {
    auto t = tls_->read(buf, n);
    read_waits_writable_ = t.need == tls_io::wait::writable;
    ec = t.ec;
    return t.bytes;
  }
  for (;;) {
    ssize_t got = ::recv(socket_.native_handle(), buf, n, MSG_DONTWAIT);
    if (got > 0) return static_cast<std::size_t>(got);
    if (got == 0) {
      ec = asio::error::eof;
    } else if (errno == EINTR) {
      continue;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      ec = error_code(errno, boost::system::system_category());
    }
    return 0;
  }
}

// A small coroutine frame (an idle connection keeps one): the work is in read_available().
asio::awaitable<error_code> direct_websocket::async_read(std::string& out, bool& binary) {
  for (;;) {
    if (auto done = read_available(out, binary)) co_return finish_reading(*done);
    auto [ec] = co_await socket_.async_wait(
        read_waits_writable_ ? asio::ip::tcp::socket::wait_write : asio::ip::tcp::socket::wait_read,
        use_tuple);
    if (ec) co_return finish_reading(ec);
  }
}

asio::awaitable<error_code> direct_websocket::write_all(std::string bytes) {
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    iovec v{bytes.data() + offset, bytes.size() - offset};
    auto r = write(&v, 1);
    if (r.ec) co_return r.ec;
    offset += r.written;
    if (r.blocked) {
      auto [ec] = co_await socket_.async_wait(write_wait(), use_tuple);
      if (ec) co_return ec;
    }
  }
  co_return error_code{};
}

asio::awaitable<error_code> direct_websocket::async_write(std::span<const std::string_view> parts,
                                                          bool binary) {
  if (owned_ || close_sent_) co_return asio::error::operation_not_supported;
  std::size_t len = 0;
  for (auto p : parts) len += p.size();
  unsigned char header[ws_max_header];
  std::size_t h = write_frame_header(header, binary ? ws_opcode::binary : ws_opcode::text, len);
  std::string bytes = take_control();
  bytes.reserve(bytes.size() + h + len);
  bytes.append(reinterpret_cast<const char*>(header), h);
  for (auto p : parts) bytes.append(p);
  co_return co_await write_all(std::move(bytes));
}

asio::awaitable<error_code> direct_websocket::async_close(std::uint16_t code) {
  if (!socket_.is_open()) co_return error_code{};
  error_code result;
  if (!close_sent_) {
    close_sent_ = true;
    result = co_await write_all(make_close_frame(code));
  }
  if (!result && !close_received_) {
    const bool reader_running = !reader_done_;
    reader_done_ = false;  // when nobody reads, the wait reads itself
    co_await await_peer_close(
        close_wait_, socket_.get_executor(), reader_running,
        [this](std::string& out, bool& binary) { return async_read(out, binary); },
        [this] {
          error_code ignored;
          socket_.cancel(ignored);
        });
  }
  abort();
  co_return result;
}

void direct_websocket::abort() {
  // TLS: close_notify if it goes out at once (a browser does not wait for it).
  if (tls_ && socket_.is_open()) tls_->shutdown();
  error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace hubcast::http::detail
