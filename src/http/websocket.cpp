// The only translation unit that instantiates beast::websocket::stream.
#include <optional>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <spdlog/spdlog.h>

#include "http/detail_websocket_factory.hpp"

namespace hubcast::http::detail {

namespace beast = boost::beast;
namespace asio = boost::asio;
namespace ws = boost::beast::websocket;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using write_handler = asio::any_completion_handler<void(error_code, std::size_t)>;

using tcp_socket = asio::ip::tcp::socket;

// The socket under a WebSocket stream: a bare socket (plain TCP), or a tcp_stream (under TLS).
tcp_socket& raw_socket(tcp_socket& s) {
  return s;
}
tcp_socket& raw_socket(beast::tcp_stream& s) {
  return s.socket();
}

// A bare TCP socket whose writes can be taken over by a direct writer (http::direct_socket).
// Beast writes only control frames on a server stream we never write through: while the direct
// writer owns the socket they are held here, and complete once the owner wrote them. (No
// beast::tcp_stream: its timers are not needed once the WebSocket's own timeouts run, and an
// idle connection would keep them.)
class gated_stream {
 public:
  using executor_type = tcp_socket::executor_type;
  using next_layer_type = tcp_socket;

  explicit gated_stream(tcp_socket s) : next_(std::move(s)) {}
  gated_stream(gated_stream&&) = default;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& b, Token&& token) {
    return next_.async_read_some(b, std::forward<Token>(token));
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& b, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const Buffers& buffers) {
          if (!owned_) {
            next_.async_write_some(buffers, std::move(handler));
            return;
          }
          // Beast has one write in flight at a time: at most one is ever held.
          std::size_t n = 0;
          for (auto it = asio::buffer_sequence_begin(buffers);
               it != asio::buffer_sequence_end(buffers); ++it) {
            asio::const_buffer cb(*it);
            held_.append(static_cast<const char*>(cb.data()), cb.size());
            n += cb.size();
          }
          waiting_.emplace(held_write{n, write_handler(std::move(handler))});
          if (on_control_) on_control_();
        },
        token, b);
  }

  void acquire(std::function<void()> on_control) {
    owned_ = true;
    on_control_ = std::move(on_control);
    if (!held_.empty() && on_control_) on_control_();
  }
  std::string take_control() {
    taken_ = waiting_.has_value();
    return std::exchange(held_, std::string());
  }
  void control_written(error_code ec) {
    if (taken_ && waiting_) complete(ec);
    taken_ = false;
  }
  void release() {
    owned_ = false;
    on_control_ = nullptr;
    held_.clear();
    taken_ = false;
    if (waiting_) complete(asio::error::operation_aborted);
  }

  friend void teardown(beast::role_type role, gated_stream& s, error_code& ec) {
    using ws::teardown;
    teardown(role, s.next_, ec);
  }
  template <class Handler>
  friend void async_teardown(beast::role_type role, gated_stream& s, Handler&& handler) {
    using ws::async_teardown;
    async_teardown(role, s.next_, std::forward<Handler>(handler));
  }

 private:
  struct held_write {
    std::size_t bytes;
    write_handler handler;
  };
  tcp_socket next_;
  bool owned_ = false;
  std::function<void()> on_control_;
  std::string held_;
  std::optional<held_write> waiting_;
  bool taken_ = false;  // the owner has taken held_ and will say when it is written

  // Never inline: the owner calls this from its own write loop. (Beast's operations run on the
  // stream's executor, the shard's io_context.)
  void complete(error_code ec) {
    held_write w = std::move(*waiting_);
    waiting_.reset();
    asio::post(next_.get_executor(), [h = std::move(w.handler), ec,
                                      n = ec ? 0 : w.bytes]() mutable { std::move(h)(ec, n); });
  }
};

template <class Next>
class beast_websocket : public websocket {
 public:
  explicit beast_websocket(Next s) : ws_(std::move(s)) {
    ws::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(5);  // also bounds the close handshake
    t.idle_timeout = ws::stream_base::none();       // the hub layer runs its own timeouts
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.auto_fragment(false);
    ws_.read_message_max(1024 * 1024);
  }

  // Clients wait for the 101 before sending frames, so the HTTP parser holds no WebSocket
  // bytes at this point.
  asio::awaitable<error_code> accept(const beast::http::request<beast::http::string_body>& req) {
    auto [ec] = co_await ws_.async_accept(req, use_tuple);
    co_return ec;
  }

  asio::awaitable<error_code> async_read(std::string& out, bool& binary) override {
    auto [ec, n] = co_await ws_.async_read(read_buf_, use_tuple);
    if (ec == ws::error::closed) peer_closed_ = true;
    if (ec) spdlog::debug("websocket read ended: {}", ec.message());
    if (ec) co_return ec;
    binary = ws_.got_binary();
    out.assign(static_cast<const char*>(read_buf_.cdata().data()), n);
    read_buf_.consume(n);
    // An idle connection holds no read buffer (Beast grows it to the largest message seen).
    if (read_buf_.size() == 0) read_buf_.shrink_to_fit();
    co_return error_code{};
  }

  asio::awaitable<error_code> async_write(std::span<const std::string_view> parts,
                                          bool binary) override {
    ws_.binary(binary);
    // One contiguous buffer: a single part as is, several copied into a reused string (cheaper
    // than a vector of buffers, which Beast copies again into its operation).
    asio::const_buffer buf;
    if (parts.size() == 1) {
      buf = asio::const_buffer(parts[0].data(), parts[0].size());
    } else {
      write_buf_.clear();
      for (auto p : parts) write_buf_.append(p);
      buf = asio::const_buffer(write_buf_.data(), write_buf_.size());
    }
    auto [ec, n] = co_await ws_.async_write(buf, use_tuple);
    (void)n;
    if (write_buf_.capacity() > 256 * 1024) std::string().swap(write_buf_);
    co_return ec;
  }

  asio::awaitable<error_code> async_close(std::uint16_t code) override {
    if (!ws_.is_open()) co_return error_code{};
    auto [ec] = co_await ws_.async_close(ws::close_reason(code), use_tuple);
    co_return ec;
  }

  void abort() override {
    error_code ec;
    raw_socket(beast::get_lowest_layer(ws_)).shutdown(tcp_socket::shutdown_both, ec);
    raw_socket(beast::get_lowest_layer(ws_)).close(ec);
  }

  void set_read_limit(std::size_t bytes) override { ws_.read_message_max(bytes); }
  bool peer_closed() const override { return peer_closed_; }

  asio::any_io_executor get_executor() override { return ws_.get_executor(); }

 protected:
  ws::stream<Next> ws_;

 private:
  beast::flat_buffer read_buf_;
  std::string write_buf_;
  bool peer_closed_ = false;
};

// Plain TCP: Beast reads, hubcast writes its own frames to the socket.
class plain_websocket final : public beast_websocket<gated_stream>, public direct_socket {
 public:
  using beast_websocket<gated_stream>::beast_websocket;

  direct_socket* direct() override { return this; }
  int native_handle() override { return socket().native_handle(); }
  void async_wait_writable(std::function<void(error_code)> done) override {
    socket().async_wait(asio::ip::tcp::socket::wait_write, std::move(done));
  }
  void acquire(std::function<void()> on_control) override {
    ws_.next_layer().acquire(std::move(on_control));
  }
  std::string take_control() override { return ws_.next_layer().take_control(); }
  void control_written(error_code ec) override { ws_.next_layer().control_written(ec); }
  void release() override { ws_.next_layer().release(); }

 private:
  tcp_socket& socket() { return beast::get_lowest_layer(ws_); }
};

template <class W, class Next>
asio::awaitable<std::unique_ptr<websocket>> accept_as(
    Next stream, const beast::http::request<beast::http::string_body>& req) {
  auto w = std::make_unique<W>(std::move(stream));
  auto ec = co_await w->accept(req);
  if (ec) {
    spdlog::debug("websocket handshake failed: {}", ec.message());
    co_return nullptr;
  }
  co_return std::unique_ptr<websocket>(std::move(w));
}

}  // namespace

asio::awaitable<std::unique_ptr<websocket>> accept_websocket(
    beast::tcp_stream stream, const beast::http::request<beast::http::string_body>& req) {
  stream.expires_never();
  auto task = accept_as<plain_websocket>(gated_stream(stream.release_socket()), req);
  co_return co_await std::move(task);
}

asio::awaitable<std::unique_ptr<websocket>> accept_websocket(
    beast::ssl_stream<beast::tcp_stream> stream,
    const beast::http::request<beast::http::string_body>& req) {
  beast::get_lowest_layer(stream).expires_never();
  auto task =
      accept_as<beast_websocket<beast::ssl_stream<beast::tcp_stream>>>(std::move(stream), req);
  co_return co_await std::move(task);
}

}  // namespace hubcast::http::detail
