#include <hubcast/transport/websocket_transport.hpp>

#include <vector>

#include <spdlog/spdlog.h>
#include <sys/uio.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hubcast/http/websocket_frames.hpp>

namespace hubcast::transport {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::size_t max_iov = 1024;            // IOV_MAX on Linux
constexpr std::size_t batch_bytes = 256 * 1024;  // per gathered write (one larger message alone)
constexpr std::size_t header_max = http::ws_max_header;

// Scratch space for one gathered write, reused by every connection of the shard's thread.
struct scratch {
  std::vector<iovec> iov;
  std::vector<unsigned char> headers;
  scratch() {
    iov.reserve(max_iov);
    headers.resize(header_max * max_iov);
  }
};
scratch& thread_scratch() {
  thread_local scratch s;
  return s;
}

}  // namespace

websocket_transport::websocket_transport(std::shared_ptr<connection> c,
                                         std::unique_ptr<http::websocket> ws)
    : conn_(std::move(c)),
      ws_(std::move(ws)),
      signal_(ws_->get_executor(), asio::steady_timer::time_point::max()) {}

websocket_transport::~websocket_transport() = default;

void websocket_transport::wake_waiter() {
  if (waiting_) signal_.cancel();
}

void websocket_transport::on_output() {
  if (direct_)
    mark_ready();
  else
    wake_waiter();
}

void websocket_transport::mark_ready() {
  if (scheduled_) {
    note_output();
    return;
  }
  if (waiting_writable_ || finished_) return;
  scheduled_ = true;
  schedule_flush(shared_from_this(), signal_.get_executor());
}

void websocket_transport::start(std::function<void()> on_closed) {
  on_closed_ = std::move(on_closed);
  direct_ = ws_->direct();
  if (!direct_) {
    asio::co_spawn(signal_.get_executor(), run_beast_writer(),
                   [self = shared_from_this()](std::exception_ptr) { self->closed(); });
    return;
  }
  std::weak_ptr<websocket_transport> weak = shared_from_this();
  direct_->acquire([weak] {
    if (auto s = weak.lock()) {
      s->control_pending_ = true;
      s->mark_ready();
    }
  });
  conn_->set_output_sink(this);
  mark_ready();  // what was queued before the transport started, or an early end
}

asio::awaitable<void> websocket_transport::close_socket() {
  direct_->release();
  if (!failed_ && !conn_->is_aborted()) {
    co_await ws_->async_close(1000);
  } else {
    ws_->abort();
  }
}

void websocket_transport::closed() {
  if (auto f = std::exchange(on_closed_, nullptr)) f();
}

void websocket_transport::flush() {
  scheduled_ = false;
  if (finished_ || waiting_writable_) return;
  if (conn_->is_aborted()) {
    finish(false);
    return;
  }
  // The rest of an earlier write first: frames never interleave.
  if (rest_offset_ < rest_.size() && !write_out(rest_, rest_offset_)) return;
  // Then the reader's control frames (a pong, the reply to a close), between two of our frames.
  if (control_pending_ && control_offset_ >= control_.size()) {
    control_pending_ = false;
    control_ = direct_->take_control();
    control_offset_ = 0;
    // A close frame (the reply to the peer's, or ours after a violation) ends the stream: nothing
    // may follow it (RFC 6455 §5.5.1). Server control frames: unmasked, payload under 126 bytes
    // (two-byte header).
    for (std::size_t i = 0; i + 1 < control_.size();
         i += 2 + (static_cast<unsigned char>(control_[i + 1]) & 0x7f))
      if ((static_cast<unsigned char>(control_[i]) & 0x0f) == 0x8) closed_by_peer_ = true;
  }
  if (!control_.empty()) {
    if (!write_out(control_, control_offset_)) return;
    direct_->control_written({});
    if (closed_by_peer_) {
      finish(false);
      return;
    }
  }
  if (!conn_->output().empty()) {
    if (!write_queued()) return;
    if (!conn_->output().empty()) {
      mark_ready();  // more than one batch: the next pass
      return;
    }
  }
  if (conn_->is_completed()) finish(false);
}

bool websocket_transport::write_out(std::string& buf, std::size_t& offset) {
  while (offset < buf.size()) {
    iovec v{buf.data() + offset, buf.size() - offset};
    auto r = direct_->write(&v, 1);
    if (r.ec) {
      spdlog::debug("connection {}: write failed: {}", conn_->id(), r.ec.message());
      finish(true);
      return false;
    }
    offset += r.written;
    if (r.blocked) {
      wait_writable();  // TLS: the same bytes again, from `offset`
      return false;
    }
  }
  buf.clear();
  offset = 0;
  if (buf.capacity() > batch_bytes) std::string().swap(buf);
  return true;
}

bool websocket_transport::write_queued() {
  auto& q = conn_->output();
  auto& s = thread_scratch();
  s.iov.clear();
  const auto opcode = conn_->binary() ? http::ws_opcode::binary : http::ws_opcode::text;
  std::size_t taken = 0;
  std::size_t total = 0;
  if (conn_->coalesce()) {
    // Every queued message in one WebSocket message: hub protocols parse several records per
    // message (record separators, length prefixes).
    std::size_t payload = 0;
    s.iov.push_back({});  // the header, once the length is known
    while (taken < q.size() && s.iov.size() < max_iov) {
      const auto& m = q.at(taken);
      if (taken > 0 && payload + m.size() > batch_bytes) break;
      s.iov.push_back({const_cast<char*>(m.data()), m.size()});
      payload += m.size();
      ++taken;
    }
    std::size_t h = http::write_frame_header(s.headers.data(), opcode, payload);
    s.iov[0] = {s.headers.data(), h};
    total = h + payload;
  } else {
    // Raw connections: one WebSocket message per send.
    while (taken < q.size() && s.iov.size() + 2 <= max_iov) {
      const auto& m = q.at(taken);
      if (taken > 0 && total + m.size() > batch_bytes) break;
      unsigned char* hdr = s.headers.data() + header_max * taken;
      std::size_t h = http::write_frame_header(hdr, opcode, m.size());
      s.iov.push_back({hdr, h});
      s.iov.push_back({const_cast<char*>(m.data()), m.size()});
      total += h + m.size();
      ++taken;
    }
  }
  auto r = direct_->write(s.iov.data(), s.iov.size());
  if (r.ec) {
    spdlog::debug("connection {}: write failed: {}", conn_->id(), r.ec.message());
    finish(true);
    return false;
  }
  if (r.blocked && r.written == 0 && !r.repeat) {
    wait_writable();  // nothing written: the queue is intact
    return false;
  }
  const std::size_t written = r.written;
  if (written < total) {
    // Part of it went (or TLS began it: the whole batch must go again first): keep the rest
    // (a copy, only now) and wait for writability.
    rest_.clear();
    rest_offset_ = 0;
    std::size_t skip = written;
    for (const auto& v : s.iov) {
      if (skip >= v.iov_len) {
        skip -= v.iov_len;
        continue;
      }
      rest_.append(static_cast<const char*>(v.iov_base) + skip, v.iov_len - skip);
      skip = 0;
    }
  }
  q.pop(taken);
  conn_->on_written();
  if (written < total) {
    wait_writable();
    return false;
  }
  return true;
}

void websocket_transport::wait_writable() {
  waiting_writable_ = true;
  auto self = shared_from_this();
  direct_->async_wait_writable([self](error_code ec) {
    self->waiting_writable_ = false;
    if (self->finished_) return;
    if (ec) {
      self->finish(true);
      return;
    }
    self->flush();
  });
}

void websocket_transport::finish(bool failed) {
  if (finished_) return;
  finished_ = true;
  failed_ = failed;
  conn_->set_output_sink(nullptr);
  if (failed) conn_->abort();
  if (!direct_) {
    wake_waiter();
    return;
  }
  direct_->control_written(asio::error::broken_pipe);  // unwritten control frames
  // The close handshake is the only coroutine of a direct transport, for its last seconds.
  asio::co_spawn(signal_.get_executor(), close_socket(),
                 [self = shared_from_this()](std::exception_ptr) { self->closed(); });
}

asio::awaitable<void> websocket_transport::run_beast_writer() {
  auto self = shared_from_this();
  conn_->set_output_sink(this);
  std::vector<std::string_view> parts;
  connection::batch out;  // reused: no allocation per write
  for (;;) {
    out.parts.clear();
    if (!conn_->take_ready(conn_->attachment(), out)) {
      signal_.expires_at(asio::steady_timer::time_point::max());
      waiting_ = true;
      co_await signal_.async_wait(asio::as_tuple(asio::use_awaitable));
      waiting_ = false;
      // Woken by a send: let the rest of the fan-out queue up first, so that several messages
      // share one TLS record and write.
      co_await asio::post(signal_.get_executor(), asio::use_awaitable);
      continue;
    }
    if (out.done) break;
    parts.clear();
    for (const auto& part : out.parts) parts.emplace_back(*part);
    conn_->on_written();
    if (co_await ws_->async_write(parts, out.binary)) {
      failed_ = true;
      break;
    }
  }
  finished_ = true;
  conn_->set_output_sink(nullptr);
  if (!conn_->is_aborted() && !failed_) {
    co_await ws_->async_close(1000);
  } else {
    if (failed_) conn_->abort();
    ws_->abort();
  }
}

}  // namespace hubcast::transport
