// The only translation unit that instantiates beast::websocket::stream: Beast answers the
// upgrade; hubcast reads and writes the frames (direct_websocket.hpp, frame_stream.hpp).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>
#include <optional>

#include <spdlog/spdlog.h>

#include <hubcast/http/detail_websocket_factory.hpp>
#include <hubcast/http/direct_websocket.hpp>
#include <hubcast/http/frame_stream.hpp>

namespace hubcast::http::detail {

namespace beast = boost::beast;
namespace asio = boost::asio;
namespace ws = boost::beast::websocket;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using tcp_socket = asio::ip::tcp::socket;

// The TCP socket under a stream, for abort().
struct lowest_of_plain {
  tcp_socket& operator()(tcp_socket& s) const { return s; }
};
struct lowest_of_tls {
  tcp_socket& operator()(tls_stream& s) const { return s.socket(); }
};

// A WebSocket over TLS, or over plain TCP written message by message (stateful reconnect):
// hubcast's frames on the stream.
template <class Stream, class Lowest>
class stream_websocket final : public websocket {
 public:
  stream_websocket(Stream stream, Lowest lowest)
      : frames_(std::move(stream), lowest, ws_role::server) {}

  asio::awaitable<error_code> async_read(std::string& out, bool& binary) override {
    auto ec = co_await frames_.read(out, binary);
    if (ec && frames_.violation())
      spdlog::debug("websocket: closing after a protocol violation: {} ({})", frames_.violation(),
                    frames_.violation_code());
    co_return ec;
  }
  asio::awaitable<error_code> async_write(std::span<const std::string_view> parts,
                                          bool binary) override {
    co_return co_await frames_.write(parts, binary);
  }
  asio::awaitable<error_code> async_close(std::uint16_t code) override {
    co_return co_await frames_.close(code);
  }
  void abort() override { frames_.abort(); }
  void set_read_limit(std::size_t bytes) override { frames_.set_max_message(bytes); }
  bool peer_closed() const override { return frames_.peer_closed(); }
  asio::any_io_executor get_executor() override { return frames_.next_layer().get_executor(); }

 private:
  frame_stream<Stream, Lowest> frames_;
};

// Beast answers the upgrade (and refuses a bad one): the stream under it, for hubcast's frames.
template <class Next>
asio::awaitable<std::optional<Next>> handshake(
    Next stream, const beast::http::request<beast::http::string_body>& req) {
  ws::stream<Next> ws(std::move(stream));
  ws::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(5);
  t.idle_timeout = ws::stream_base::none();
  t.keep_alive_pings = false;
  ws.set_option(t);
  // Clients wait for the 101 before sending frames, so the HTTP parser holds no WebSocket
  // bytes at this point.
  auto [ec] = co_await ws.async_accept(req, use_tuple);
  if (ec) {
    spdlog::debug("websocket handshake failed: {}", ec.message());
    co_return std::nullopt;
  }
  co_return std::optional<Next>(std::move(ws.next_layer()));
}

}  // namespace

asio::awaitable<std::unique_ptr<websocket>> accept_websocket(
    beast::tcp_stream stream, const beast::http::request<beast::http::string_body>& req,
    bool direct_writer) {
  stream.expires_never();
  auto socket = co_await handshake<tcp_socket>(stream.release_socket(), req);
  if (!socket) co_return nullptr;
  if (direct_writer) co_return std::make_unique<direct_websocket>(std::move(*socket));
  co_return std::make_unique<stream_websocket<tcp_socket, lowest_of_plain>>(std::move(*socket),
                                                                            lowest_of_plain{});
}

asio::awaitable<std::unique_ptr<websocket>> accept_websocket(
    tls_stream stream, const beast::http::request<beast::http::string_body>& req,
    bool direct_writer) {
  stream.expires_never();
  auto tls = co_await handshake<tls_stream>(std::move(stream), req);
  if (!tls) co_return nullptr;
  if (direct_writer) {
    auto [socket, session] = tls->release();
    co_return std::make_unique<direct_websocket>(std::move(socket), std::move(session));
  }
  co_return std::make_unique<stream_websocket<tls_stream, lowest_of_tls>>(std::move(*tls),
                                                                          lowest_of_tls{});
}

}  // namespace hubcast::http::detail
