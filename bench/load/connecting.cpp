// Opening the load: negotiate (or skip it), the WebSocket upgrade and the SignalR handshake or
// Engine.IO open, `concurrency` at a time, then each socket handed to the epoll reader.
#include "bench.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <iostream>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <hubcast/client/http_client.hpp>

namespace hubcast_bench {

namespace {

// wss:// set-up I/O: OpenSSL on the non-blocking socket, Asio only waits for readiness.
asio::awaitable<void> tls_wait(connection& c, int error) {
  if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE)
    throw std::runtime_error("TLS: error " + std::to_string(error));
  co_await c.sock.async_wait(
      error == SSL_ERROR_WANT_WRITE ? tcp::socket::wait_write : tcp::socket::wait_read,
      asio::use_awaitable);
}

asio::awaitable<void> setup_write(connection& c, std::string_view data) {
  if (!c.ssl) {
    co_await asio::async_write(c.sock, asio::buffer(data), asio::use_awaitable);
    co_return;
  }
  while (!data.empty()) {
    std::size_t n = 0;
    int r = SSL_write_ex(c.ssl, data.data(), data.size(), &n);
    if (r == 1)
      data.remove_prefix(n);
    else
      co_await tls_wait(c, SSL_get_error(c.ssl, r));
  }
}

asio::awaitable<std::size_t> setup_read_some(connection& c, char* buf, std::size_t size) {
  if (!c.ssl)
    co_return co_await c.sock.async_read_some(asio::buffer(buf, size), asio::use_awaitable);
  for (;;) {
    std::size_t n = 0;
    int r = SSL_read_ex(c.ssl, buf, size, &n);
    if (r == 1) co_return n;
    int e = SSL_get_error(c.ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN) throw std::runtime_error("TLS: closed during setup");
    co_await tls_wait(c, e);
  }
}

}  // namespace

SSL_CTX* bench::tls_client() {
  if (!ssl_ctx_) {
    ssl_ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ssl_ctx_) throw std::runtime_error("SSL_CTX_new");
    SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_NONE, nullptr);  // the bench's self-signed certificate
    SSL_CTX_set_mode(ssl_ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // Read what the socket has into OpenSSL's buffer, not a record header and then its body:
    // one recv for many records instead of two per record (the generator must not be the limit).
    SSL_CTX_set_read_ahead(ssl_ctx_, 1);
    asio_tls_ = hubcast::client::make_tls_context(false, "");
  }
  return ssl_ctx_;
}

// --- connecting
std::string bench::ws_url(const std::string& base, const std::string& id) const {
  boost::urls::url u(*boost::urls::parse_uri(base));
  u.set_scheme(u.scheme() == "https" ? "wss" : "ws");
  if (c_.mode == wire_mode::socketio) {
    u.set_encoded_path("/socket.io/");
    u.params().set("EIO", "4");
    u.params().set("transport", "websocket");
  }
  if (!id.empty()) u.params().set("id", id);
  if (c_.token_in_query && !c_.token.empty()) u.params().set("access_token", c_.token);
  return std::string(u.buffer());
}

asio::awaitable<std::shared_ptr<connection>> bench::open_connection() {
  // Round robin over the servers: with several, the clients are split evenly across them.
  const std::string base = c_.urls[next_url_++ % c_.urls.size()];
  auto ex = co_await asio::this_coro::executor;
  auto& ioc = static_cast<asio::io_context&>(ex.context());
  std::string id;
  hubcast::protocol::header_map headers;
  if (!c_.token.empty() && !c_.token_in_query)
    headers.emplace_back("Authorization", "Bearer " + c_.token);
  if (c_.mode == wire_mode::signalr && !c_.skip_negotiation) {
    boost::urls::url nu(*boost::urls::parse_uri(base));
    nu.set_encoded_path(std::string(nu.encoded_path()) + "/negotiate");
    nu.params().set("negotiateVersion", "1");
    if (c_.token_in_query && !c_.token.empty()) nu.params().set("access_token", c_.token);
    if (nu.scheme() == "https") tls_client();
    auto res = co_await hubcast::client::http_request(ex, asio_tls_, std::string(nu.buffer()),
                                                      "POST", headers, {}, 30s);
    if (res.status != 200) throw std::runtime_error("negotiate: " + std::to_string(res.status));
    auto v = boost::json::parse(res.body);
    id = std::string(v.at("connectionToken").as_string());
  }
  auto url = ws_url(base, id);
  boost::urls::url u(*boost::urls::parse_uri(url));
  auto conn = std::make_shared<connection>(ioc);
  conn->owner = this;
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(std::string(u.encoded_host()),
                                                   std::string(u.port()), asio::use_awaitable);
  co_await asio::async_connect(conn->sock, endpoints, asio::use_awaitable);
  conn->sock.set_option(tcp::no_delay(true));
  if (u.scheme() == "wss") {
    conn->sock.non_blocking(true);
    conn->ssl = SSL_new(tls_client());
    if (!conn->ssl || SSL_set_fd(conn->ssl, conn->sock.native_handle()) != 1)
      throw std::runtime_error("SSL_new");
    for (;;) {
      int r = SSL_connect(conn->ssl);
      if (r == 1) break;
      co_await tls_wait(*conn, SSL_get_error(conn->ssl, r));
    }
  }
  std::string request = "GET " + std::string(u.encoded_target()) +
                        " HTTP/1.1\r\nHost: " + std::string(u.encoded_host()) + ":" +
                        std::string(u.port()) +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\nUser-Agent: hubcast-bench\r\n";
  for (auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  request += "\r\n";
  co_await setup_write(*conn, request);
  std::string head;
  std::size_t n = 0;
  for (;;) {
    char chunk[4096];
    auto got = co_await setup_read_some(*conn, chunk, sizeof chunk);
    head.append(chunk, got);
    auto end = head.find("\r\n\r\n");
    if (end != std::string::npos) {
      n = end + 4;
      break;
    }
    if (head.size() > 65536) throw std::runtime_error("upgrade: no end of head");
  }
  if (head.compare(0, 12, "HTTP/1.1 101") != 0)
    throw std::runtime_error("upgrade refused: " + head.substr(0, head.find('\r')));
  conn->open = true;
  conn->binary = c_.mode == wire_mode::signalr && c_.protocol == "messagepack";
  auto collect = [&conn](std::string_view m) { conn->setup_messages.emplace_back(m); };
  if (head.size() > n) conn->consume(std::string_view(head).substr(n), collect);
  auto next_message = [&conn, collect]() -> asio::awaitable<std::string> {
    char chunk[4096];
    while (conn->setup_messages.empty()) {
      auto got = co_await setup_read_some(*conn, chunk, sizeof chunk);
      if (!conn->consume(std::string_view(chunk, got), collect))
        throw std::runtime_error("closed during setup");
    }
    std::string m = std::move(conn->setup_messages.front());
    conn->setup_messages.pop_front();
    co_return m;
  };
  if (c_.mode == wire_mode::signalr) {
    std::string hs = "{\"protocol\":\"" + c_.protocol + "\",\"version\":1}\x1e";
    conn->send_frame(connection::frame(hs, false));
    std::string got = co_await next_message();
    auto end = got.find('\x1e');
    if (end == std::string::npos || got.substr(0, end).find("error") != std::string::npos)
      throw std::runtime_error("handshake: " + got.substr(0, end));
  } else if (c_.mode == wire_mode::socketio) {
    co_await next_message();  // "0{...}" open
    std::string connect = c_.token.empty() ? "40" : "40{\"token\":\"" + c_.token + "\"}";
    conn->send_frame(connection::frame(connect, false));
    std::string reply = co_await next_message();
    if (reply.rfind("40", 0) != 0) throw std::runtime_error("socket.io connect: " + reply);
  }
  setup_messages_ += conn->setup_messages.size();
  conn->setup_messages.clear();
  co_return conn;
}

// After set-up: the socket leaves Asio for the epoll reader once no Asio write is in flight.
asio::awaitable<void> bench::hand_over(std::shared_ptr<connection> c) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  while (c->busy) {
    t.expires_after(1ms);
    co_await t.async_wait(asio::use_awaitable);
  }
  c->release();
  reader_->add(*c);
  c->on_writable();  // anything queued meanwhile
}

// Opens connections until `target` are open, `concurrency` at a time.
asio::awaitable<void> bench::open_many(std::size_t target) {
  auto ex = co_await asio::this_coro::executor;
  std::size_t in_flight = 0, failures = 0;
  asio::steady_timer wait(ex);
  while (conns_.size() + in_flight < target || in_flight > 0) {
    while (conns_.size() + in_flight < target && in_flight < c_.concurrency) {
      ++in_flight;
      asio::co_spawn(
          ex, open_connection(),
          [this, &in_flight, &failures](std::exception_ptr e, std::shared_ptr<connection> c) {
            --in_flight;
            if (e) {
              ++failures;
              try {
                std::rethrow_exception(e);
              } catch (const std::exception& x) {
                if (failures <= 3) std::cerr << "connect failed: " << x.what() << "\n";
              }
              return;
            }
            conns_.push_back(c);
            asio::co_spawn(c->sock.get_executor(), hand_over(c), asio::detached);
          });
    }
    if (failures > target / 100 + 10) throw std::runtime_error("too many connection failures");
    wait.expires_after(1ms);
    co_await wait.async_wait(asio::use_awaitable);
  }
  failures_ += failures;
}

void bench::start_keep_alive() {
  if (c_.mode != wire_mode::signalr) return;
  std::string ping;
  proto_->write_ping(ping);
  auto bytes = std::make_shared<const std::string>(std::move(ping));
  asio::co_spawn(
      ioc(),
      [this, bytes]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        for (;;) {
          t.expires_after(10s);
          co_await t.async_wait(asio::use_awaitable);
          for (auto& c : conns_) c->send(bytes);
        }
      },
      asio::detached);
}

}  // namespace hubcast_bench
