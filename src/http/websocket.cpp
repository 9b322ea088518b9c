// The only translation unit that instantiates beast::websocket::stream.
#include <boost/asio/as_tuple.hpp>
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

template <class Next>
class beast_websocket final : public websocket {
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
    beast::get_lowest_layer(ws_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  void set_read_limit(std::size_t bytes) override { ws_.read_message_max(bytes); }
  bool peer_closed() const override { return peer_closed_; }

  asio::any_io_executor get_executor() override { return ws_.get_executor(); }

 private:
  ws::stream<Next> ws_;
  beast::flat_buffer read_buf_;
  std::string write_buf_;
  bool peer_closed_ = false;
};

}  // namespace

template <class Next>
asio::awaitable<std::unique_ptr<websocket>> accept(
    Next stream, const beast::http::request<beast::http::string_body>& req) {
  beast::get_lowest_layer(stream).expires_never();
  auto w = std::make_unique<beast_websocket<Next>>(std::move(stream));
  auto ec = co_await w->accept(req);
  if (ec) {
    spdlog::debug("websocket handshake failed: {}", ec.message());
    co_return nullptr;
  }
  co_return std::unique_ptr<websocket>(std::move(w));
}

asio::awaitable<std::unique_ptr<websocket>> accept_websocket(
    beast::tcp_stream stream, const beast::http::request<beast::http::string_body>& req) {
  auto task = accept(std::move(stream), req);
  co_return co_await std::move(task);
}

asio::awaitable<std::unique_ptr<websocket>> accept_websocket(
    beast::ssl_stream<beast::tcp_stream> stream,
    const beast::http::request<beast::http::string_body>& req) {
  auto task = accept(std::move(stream), req);
  co_return co_await std::move(task);
}

}  // namespace hubcast::http::detail
