// WebSockets transport (ws:// and wss://) on Beast.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "client/http_client.hpp"
#include "client/hub_connection.hpp"
#include "client/transport.hpp"

namespace hubcast::client::detail {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

template <class Next>
class ws_transport final : public transport {
 public:
  // The TLS context (if any) is held here so that it outlives the stream.
  explicit ws_transport(asio::any_io_executor ex, std::shared_ptr<asio::ssl::context> ctx)
      : ctx_(std::move(ctx)), ws_(make_next(ex, ctx_.get())) {}

  asio::awaitable<void> connect(std::string url, protocol::header_map headers,
                                bool binary) override {
    auto [secure, host, port, target, host_header] = parse_endpoint(url);
    (void)secure;  // the stream type already says
    try {
      auto ex = co_await asio::this_coro::executor;
      tcp::resolver resolver(ex);
      auto endpoints = co_await resolver.async_resolve(host, port, asio::use_awaitable);
      auto& lowest = beast::get_lowest_layer(ws_);
      lowest.expires_after(std::chrono::seconds(30));
      co_await lowest.async_connect(endpoints, asio::use_awaitable);
      if constexpr (!std::is_same_v<Next, beast::tcp_stream>) {
        if (!SSL_set_tlsext_host_name(ws_.next_layer().native_handle(), host.c_str()))
          throw connection_error("TLS: cannot set the server name");
        ws_.next_layer().set_verify_callback(asio::ssl::host_name_verification(host));
        co_await ws_.next_layer().async_handshake(asio::ssl::stream_base::client,
                                                  asio::use_awaitable);
      }
      lowest.expires_never();
      auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
      timeouts.handshake_timeout = std::chrono::seconds(30);
      ws_.set_option(timeouts);
      ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
        req.set(http::field::user_agent, user_agent());
        for (const auto& [k, v] : headers) req.set(k, v);
      }));
      ws_.read_message_max(64 * 1024 * 1024);
      websocket::response_type res;
      auto [ec] = co_await ws_.async_handshake(res, host_header, target,
                                               asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (res.result_int() != 0 && res.result_int() != 101)
          throw connection_error("WebSocket failed to connect: the server answered " +
                                 std::to_string(res.result_int()) + " " +
                                 std::string(res.reason()) + ".");
        throw boost::system::system_error(ec);
      }
      ws_.binary(binary);
    } catch (const boost::system::system_error& e) {
      throw connection_error("WebSocket failed to connect: " + e.code().message() + ".");
    }
  }

  asio::awaitable<void> send(std::string data) override {
    co_await ws_.async_write(asio::buffer(data), asio::use_awaitable);
  }

  asio::awaitable<std::optional<std::string>> receive() override {
    buffer_.clear();
    auto [ec, n] = co_await ws_.async_read(buffer_, asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (ec == websocket::error::closed) {
      auto reason = ws_.reason();
      if (reason.code == websocket::close_code::normal ||
          reason.code == websocket::close_code::none)
        co_return std::nullopt;
      throw connection_error("WebSocket closed with status code: " +
                             std::to_string(static_cast<unsigned>(reason.code)) + " (" +
                             std::string(reason.reason.c_str()) + ").");
    }
    if (ec) throw connection_error("WebSocket closed with an error: " + ec.message() + ".");
    co_return beast::buffers_to_string(buffer_.data());
  }

  asio::awaitable<void> stop() override {
    if (!ws_.is_open()) co_return;
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(5));
    auto [ec] = co_await ws_.async_close(websocket::close_code::normal,
                                         asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }

  void abort() override {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  const char* name() const override { return "WebSockets"; }

 private:
  static Next make_next(asio::any_io_executor ex, asio::ssl::context* ctx) {
    if constexpr (std::is_same_v<Next, beast::tcp_stream>) {
      (void)ctx;
      return Next(ex);
    } else {
      return Next(ex, *ctx);
    }
  }

  std::shared_ptr<asio::ssl::context> ctx_;
  websocket::stream<Next> ws_;
  beast::flat_buffer buffer_;
};

}  // namespace

std::shared_ptr<transport> make_websocket_transport(asio::any_io_executor ex,
                                                    std::shared_ptr<asio::ssl::context> tls,
                                                    bool secure) {
  if (!secure) return std::make_shared<ws_transport<beast::tcp_stream>>(ex, nullptr);
  if (!tls) tls = make_tls_context(true, {});
  return std::make_shared<ws_transport<beast::ssl_stream<beast::tcp_stream>>>(ex, std::move(tls));
}

}  // namespace hubcast::client::detail
