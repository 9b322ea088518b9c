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

#include "client/http_client.hpp"

namespace hubcast_bench {

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
    auto res = co_await hubcast::client::http_request(ex, nullptr, std::string(nu.buffer()), "POST",
                                                      headers, {}, 30s);
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
  std::string request = "GET " + std::string(u.encoded_target()) +
                        " HTTP/1.1\r\nHost: " + std::string(u.encoded_host()) + ":" +
                        std::string(u.port()) +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\nUser-Agent: hubcast-bench\r\n";
  for (auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  request += "\r\n";
  co_await asio::async_write(conn->sock, asio::buffer(request), asio::use_awaitable);
  std::string head;
  auto n = co_await asio::async_read_until(conn->sock, asio::dynamic_buffer(head), "\r\n\r\n",
                                           asio::use_awaitable);
  if (head.compare(0, 12, "HTTP/1.1 101") != 0)
    throw std::runtime_error("upgrade refused: " + head.substr(0, head.find('\r')));
  conn->open = true;
  conn->binary = c_.mode == wire_mode::signalr && c_.protocol == "messagepack";
  auto collect = [&conn](std::string_view m) { conn->setup_messages.emplace_back(m); };
  if (head.size() > n) conn->consume(std::string_view(head).substr(n), collect);
  auto next_message = [&conn, collect]() -> asio::awaitable<std::string> {
    char chunk[4096];
    while (conn->setup_messages.empty()) {
      auto got = co_await conn->sock.async_read_some(asio::buffer(chunk), asio::use_awaitable);
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
