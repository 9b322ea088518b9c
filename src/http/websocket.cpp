// The only translation unit that instantiates beast::websocket::stream.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <spdlog/spdlog.h>

#include "http/detail_websocket_factory.hpp"
#include "http/plain_websocket.hpp"

namespace hubcast::http::detail {

namespace beast = boost::beast;
namespace asio = boost::asio;
namespace ws = boost::beast::websocket;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using tcp_socket = asio::ip::tcp::socket;

// The socket under a WebSocket stream: a bare socket (plain TCP), or a tcp_stream (under TLS).
tcp_socket& raw_socket(tcp_socket& s) {
  return s;
}
tcp_socket& raw_socket(beast::tcp_stream& s) {
  return s.socket();
}

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
    beast::tcp_stream stream, const beast::http::request<beast::http::string_body>& req,
    bool direct_writer) {
  stream.expires_never();
  if (!direct_writer) {
    auto task = accept_as<beast_websocket<tcp_socket>>(stream.release_socket(), req);
    co_return co_await std::move(task);
  }
  // Beast answers the upgrade (and refuses a bad one); hubcast reads and writes the frames.
  ws::stream<tcp_socket> handshake(stream.release_socket());
  ws::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(5);
  t.idle_timeout = ws::stream_base::none();
  t.keep_alive_pings = false;
  handshake.set_option(t);
  auto [ec] = co_await handshake.async_accept(req, use_tuple);
  if (ec) {
    spdlog::debug("websocket handshake failed: {}", ec.message());
    co_return nullptr;
  }
  co_return std::make_unique<plain_websocket>(std::move(handshake.next_layer()));
}

asio::awaitable<std::unique_ptr<websocket>> accept_websocket(
    beast::ssl_stream<beast::tcp_stream> stream,
    const beast::http::request<beast::http::string_body>& req, bool /*direct_writer*/) {
  beast::get_lowest_layer(stream).expires_never();
  auto task =
      accept_as<beast_websocket<beast::ssl_stream<beast::tcp_stream>>>(std::move(stream), req);
  co_return co_await std::move(task);
}

}  // namespace hubcast::http::detail
