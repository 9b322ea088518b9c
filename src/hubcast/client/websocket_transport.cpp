// WebSockets transport (ws:// and wss://): the upgrade request and its answer on Beast's HTTP
// parser, then hubcast's frame layer (http/frame_stream.hpp, the server's own) reads and writes
// the frames: server frames that
// break RFC 6455 get the close code the server would answer with, and every frame sent is
// masked with a fresh key from OpenSSL's generator.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <hubcast/client/http_client.hpp>
#include <hubcast/client/hub_connection.hpp>
#include <hubcast/client/transport.hpp>
#include <hubcast/http/frame_stream.hpp>

namespace hubcast::client::detail {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

tcp::socket& lowest_socket(beast::tcp_stream& s) {
  return s.socket();
}
tcp::socket& lowest_socket(beast::ssl_stream<beast::tcp_stream>& s) {
  return beast::get_lowest_layer(s).socket();
}
struct lowest_of {
  template <class S>
  tcp::socket& operator()(S& s) const {
    return lowest_socket(s);
  }
};

// RFC 6455 §5.3: each frame's masking key from a strong source.
void random_mask_key(unsigned char* key) {
  if (RAND_bytes(key, 4) != 1) throw connection_error("WebSocket: no random bytes for a mask");
}

// The Sec-WebSocket-Accept a server must answer `key` with (RFC 6455 §4.2.2).
std::string expected_accept(const std::string& key) {
  std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(in.data(), in.size(), digest, &size, EVP_sha1(), nullptr);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest, static_cast<int>(size));
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (beast::iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

template <class Next>
class ws_transport final : public transport {
 public:
  // The TLS context (if any) is held here so that it outlives the stream.
  explicit ws_transport(asio::any_io_executor ex, std::shared_ptr<asio::ssl::context> ctx)
      : ctx_(std::move(ctx)), connecting_(make_next(ex, ctx_.get())) {}

  asio::awaitable<void> connect(std::string url, protocol::header_map headers,
                                bool binary) override {
    auto [secure, host, port, target, host_header] = parse_endpoint(url);
    (void)secure;  // the stream type already says
    try {
      auto ex = co_await asio::this_coro::executor;
      tcp::resolver resolver(ex);
      auto endpoints = co_await resolver.async_resolve(host, port, asio::use_awaitable);
      Next& stream = *connecting_;
      auto& lowest = beast::get_lowest_layer(stream);
      lowest.expires_after(std::chrono::seconds(30));
      co_await lowest.async_connect(endpoints, asio::use_awaitable);
      if constexpr (!std::is_same_v<Next, beast::tcp_stream>) {
        if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()))
          throw connection_error("TLS: cannot set the server name");
        stream.set_verify_callback(asio::ssl::host_name_verification(host));
        co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
      }
      // The upgrade (RFC 6455 §4.1), answered and checked here: what the server sends after
      // its 101 in the same read is the first frames, handed to the frame layer.
      unsigned char nonce[16];
      if (RAND_bytes(nonce, sizeof nonce) != 1)
        throw connection_error("WebSocket: no random bytes for a key");
      unsigned char key_text[32];
      int key_len = EVP_EncodeBlock(key_text, nonce, sizeof nonce);
      std::string key(reinterpret_cast<char*>(key_text), static_cast<std::size_t>(key_len));
      http::request<http::empty_body> req{http::verb::get, target, 11};
      req.set(http::field::host, host_header);
      req.set(http::field::upgrade, "websocket");
      req.set(http::field::connection, "Upgrade");
      req.set(http::field::sec_websocket_key, key);
      req.set(http::field::sec_websocket_version, "13");
      req.set(http::field::user_agent, user_agent());
      for (const auto& [k, v] : headers) req.set(k, v);
      co_await http::async_write(stream, req, asio::use_awaitable);
      beast::flat_buffer buffer;
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 * 1024);
      parser.skip(false);
      co_await http::async_read_header(stream, buffer, parser, asio::use_awaitable);
      auto& res = parser.get();
      if (res.result_int() != 101) {
        if (!parser.is_done()) {
          auto [ec, n] = co_await http::async_read(stream, buffer, parser,
                                                   asio::as_tuple(asio::use_awaitable));
          (void)ec;
          (void)n;
        }
        throw connection_error("WebSocket failed to connect: the server answered " +
                               std::to_string(res.result_int()) + " " + std::string(res.reason()) +
                               ".");
      }
      if (!beast::iequals(res[http::field::upgrade], "websocket") ||
          !has_token(res[http::field::connection], "upgrade") ||
          res[http::field::sec_websocket_accept] != expected_accept(key))
        throw connection_error(
            "WebSocket failed to connect: the server's 101 is not a WebSocket upgrade.");
      lowest.expires_never();
      binary_ = binary;
      frames_.emplace(std::move(stream), lowest_of{}, hubcast::http::ws_role::client,
                      random_mask_key);
      connecting_.reset();
      frames_->set_max_message(64 * 1024 * 1024);
      auto rest = buffer.cdata();
      frames_->prime(std::string_view(static_cast<const char*>(rest.data()), rest.size()));
    } catch (const boost::system::system_error& e) {
      throw connection_error("WebSocket failed to connect: " + e.code().message() + ".");
    }
  }

  asio::awaitable<void> send(std::string data) override {
    if (!frames_) throw connection_error("WebSocket is not connected.");
    std::string_view part(data);
    auto ec = co_await frames_->write(std::span<const std::string_view>(&part, 1), binary_);
    if (ec) throw connection_error("WebSocket send failed: " + ec.message() + ".");
  }

  asio::awaitable<std::optional<std::string>> receive() override {
    if (!frames_) throw connection_error("WebSocket is not connected.");
    std::string out;
    bool binary = false;
    auto ec = co_await frames_->read(out, binary);
    if (!ec) co_return out;
    if (frames_->peer_closed()) {
      auto code = frames_->peer_code();
      if (code == hubcast::http::close_normal || code == 0) co_return std::nullopt;
      throw connection_error("WebSocket closed with status code: " + std::to_string(code) + " (" +
                             frames_->peer_reason() + ").");
    }
    if (frames_->violation())
      throw connection_error(std::string("WebSocket closed with an error: ") +
                             frames_->violation() + " (close " +
                             std::to_string(frames_->violation_code()) + ").");
    throw connection_error("WebSocket closed with an error: " + ec.message() + ".");
  }

  asio::awaitable<void> stop() override {
    if (!frames_) co_return;
    auto ec = co_await frames_->close(hubcast::http::close_normal);
    (void)ec;
  }

  void abort() override {
    if (frames_) {
      frames_->abort();
      return;
    }
    beast::error_code ec;
    if (connecting_) beast::get_lowest_layer(*connecting_).socket().close(ec);
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
  std::optional<Next> connecting_;  // until the upgrade; then its stream moves into frames_
  std::optional<hubcast::http::frame_stream<Next, lowest_of>> frames_;
  bool binary_ = false;
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
