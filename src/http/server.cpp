#include "http/server.hpp"

#include <atomic>
#include <mutex>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "http/detail_websocket_factory.hpp"

namespace hubcast::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

request to_request(const bhttp::request<bhttp::string_body>& r, const std::string& remote) {
  request out;
  out.method = std::string(r.method_string());
  out.target = std::string(r.target());
  std::string_view t = out.target;
  auto q = t.find('?');
  out.path = percent_decode(t.substr(0, q), false);
  if (q != std::string_view::npos) out.query = std::string(t.substr(q + 1));
  out.headers.reserve(std::distance(r.begin(), r.end()));
  for (const auto& f : r)
    out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  out.body = r.body();
  out.keep_alive = r.keep_alive();
  out.websocket_upgrade = beast::websocket::is_upgrade(r);
  out.remote_address = remote;
  return out;
}

bhttp::response<bhttp::string_body> to_beast(response&& r, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(r.status), version};
  out.reason(reason_phrase(r.status));
  for (auto& h : r.headers) out.insert(h.name, h.value);
  out.body() = std::move(r.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

class session_exchange final : public exchange {
 public:
  session_exchange(beast::tcp_stream& stream, bhttp::request<bhttp::string_body>& raw, request req,
                   std::size_t shard, const server_options& options)
      : stream_(stream), raw_(raw), req_(std::move(req)), shard_(shard), options_(options) {}

  const request& req() const override { return req_; }

  asio::awaitable<void> async_respond(response r) override {
    if (responded_) co_return;
    responded_ = true;
    if (options_.on_response) options_.on_response(req_, r);
    status_ = r.status;
    auto res = to_beast(std::move(r), raw_.version(), req_.keep_alive);
    stream_.expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await bhttp::async_write(stream_, res, use_tuple);
    (void)n;
    if (ec) write_failed_ = true;
  }

  asio::awaitable<error_code> async_write_head(response head) override {
    responded_ = true;
    streaming_ = true;
    if (options_.on_response) options_.on_response(req_, head);
    status_ = head.status;
    std::string s = "HTTP/1.1 " + std::to_string(head.status) + " " +
                    std::string(reason_phrase(head.status)) + "\r\n";
    for (auto& h : head.headers) s += h.name + ": " + h.value + "\r\n";
    s += "Connection: close\r\n\r\n";
    s += head.body;
    stream_.expires_never();
    auto [ec, n] = co_await asio::async_write(stream_.socket(), asio::buffer(s), use_tuple);
    (void)n;
    co_return ec;
  }

  asio::awaitable<error_code> async_write_body(std::span<const std::string_view> parts) override {
    std::vector<asio::const_buffer> bufs;
    bufs.reserve(parts.size());
    for (auto p : parts) bufs.emplace_back(p.data(), p.size());
    auto [ec, n] = co_await asio::async_write(stream_.socket(), bufs, use_tuple);
    (void)n;
    co_return ec;
  }

  asio::awaitable<std::unique_ptr<websocket>> async_accept_websocket() override {
    responded_ = true;
    upgraded_ = true;
    status_ = 101;
    co_return co_await detail::accept_websocket(std::move(stream_), raw_);
  }

  asio::awaitable<void> async_wait_peer_close() override {
    char buf[512];
    for (;;) {
      auto [ec, n] = co_await stream_.socket().async_read_some(asio::buffer(buf), use_tuple);
      (void)n;
      if (ec) co_return;
    }
  }

  void close_stream() override {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }
  bool responded() const override { return responded_; }
  asio::any_io_executor get_executor() override { return stream_.get_executor(); }
  std::size_t shard() const override { return shard_; }

  bool upgraded() const { return upgraded_; }
  bool streaming() const { return streaming_; }
  bool write_failed() const { return write_failed_; }
  int status() const { return status_; }

 private:
  beast::tcp_stream& stream_;
  bhttp::request<bhttp::string_body>& raw_;
  request req_;
  std::size_t shard_;
  const server_options& options_;
  bool responded_ = false;
  bool upgraded_ = false;
  bool streaming_ = false;
  bool write_failed_ = false;
  int status_ = 0;
};

}  // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
  shard_pool& shards;
  const router& routes;
  server_options options;
  std::mutex mutex;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  std::atomic<bool> stopping{false};

  impl(shard_pool& s, const router& r, server_options o) : shards(s), routes(r), options(o) {}

  asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor) {
    auto self = shared_from_this();
    for (;;) {
      std::size_t shard = shards.next();
      auto [ec, socket] = co_await acceptor->async_accept(shards.context(shard), use_tuple);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        if (ec == asio::error::no_descriptors) {
          // Out of file descriptors: back off instead of spinning.
          asio::steady_timer t(acceptor->get_executor(), std::chrono::milliseconds(50));
          co_await t.async_wait(use_tuple);
        }
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto ex = socket.get_executor();
      asio::co_spawn(
          ex,
          [self, shard, s = std::move(socket)]() mutable {
            return self->run_session(std::move(s), shard);
          },
          asio::detached);
    }
  }

  asio::awaitable<void> run_session(tcp::socket socket, std::size_t shard) {
    error_code ec;
    auto ep = socket.remote_endpoint(ec);
    std::string remote = ec ? std::string() : ep.address().to_string();
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    bool first = true;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      parser.body_limit(options.max_body_bytes);
      // The first request gets the request timeout; an idle keep-alive connection waits longer
      // for its next request.
      stream.expires_after(first ? options.request_timeout : options.keep_alive_timeout);
      first = false;
      auto [rec, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
      (void)n;
      if (rec) {
        int status = 0;
        if (rec == bhttp::error::body_limit)
          status = 413;
        else if (rec == bhttp::error::header_limit)
          status = 431;
        else if (rec == bhttp::error::bad_target || rec == bhttp::error::bad_method ||
                 rec == bhttp::error::bad_version || rec == bhttp::error::bad_field ||
                 rec == bhttp::error::bad_value || rec == bhttp::error::bad_content_length ||
                 rec == bhttp::error::bad_transfer_encoding || rec == bhttp::error::bad_chunk ||
                 rec == bhttp::error::bad_line_ending || rec == bhttp::error::bad_obs_fold)
          status = 400;
        if (status != 0) {
          response r(status);
          auto res = to_beast(std::move(r), 11, false);
          stream.expires_after(std::chrono::seconds(5));
          co_await bhttp::async_write(stream, res, use_tuple);
        }
        break;
      }
      auto& raw = parser.get();
      session_exchange ex(stream, raw, to_request(raw, remote), shard, options);
      stream.expires_never();
      const handler* h = routes.match(ex.req().path);
      std::optional<response> early;
      if (options.before_route) early = options.before_route(ex.req());
      if (early) {
        co_await ex.async_respond(std::move(*early));
      } else if (!h) {
        co_await ex.async_respond(response(404));
      } else {
        bool failed = false;
        try {
          co_await (*h)(ex);
        } catch (const std::exception& e) {
          spdlog::error("unhandled error serving {} {}: {}", ex.req().method,
                        redact_target(ex.req().target), e.what());
          failed = true;
        }
        if (!ex.responded())
          co_await ex.async_respond(response(500));
        else if (failed && !ex.upgraded())
          break;
      }
      if (options.log_requests && spdlog::should_log(spdlog::level::debug))
        spdlog::debug("{} {} -> {}", ex.req().method, redact_target(ex.req().target), ex.status());
      if (ex.upgraded()) co_return;  // the WebSocket owned and closed the stream
      if (ex.streaming() || ex.write_failed() || !ex.req().keep_alive) break;
    }
    error_code sec;
    stream.socket().shutdown(tcp::socket::shutdown_send, sec);
    stream.socket().close(sec);
  }
};

server::server(shard_pool& shards, const router& routes, server_options options)
    : impl_(std::make_shared<impl>(shards, routes, options)) {}

server::~server() {
  stop_accepting();
}

std::vector<std::string> server::listen(const std::vector<std::string>& urls) {
  std::vector<std::string> bound;
  for (const auto& url : urls) {
    std::string_view u = url;
    if (!istarts_with(u, "http://"))
      throw std::runtime_error("unsupported URL '" + url + "': expected http://host:port");
    u.remove_prefix(7);
    while (!u.empty() && u.back() == '/') u.remove_suffix(1);
    auto colon = u.rfind(':');
    if (colon == std::string_view::npos) throw std::runtime_error("URL '" + url + "' has no port");
    std::string host(u.substr(0, colon));
    std::string port_text(u.substr(colon + 1));
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    if (host == "localhost") host = "127.0.0.1";
    if (host == "*" || host == "+") host = "0.0.0.0";
    unsigned long port = 0;
    try {
      std::size_t used = 0;
      port = std::stoul(port_text, &used);
      if (used != port_text.size() || port > 65535) throw std::invalid_argument("port");
    } catch (const std::exception&) {
      throw std::runtime_error("URL '" + url + "' has an invalid port");
    }
    error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) throw std::runtime_error("URL '" + url + "': '" + host + "' is not an IP address");
    tcp::endpoint ep(addr, static_cast<unsigned short>(port));
    auto acceptor = std::make_shared<tcp::acceptor>(impl_->shards.context(0));
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + url + ": " + ec.message());
    auto local = acceptor->local_endpoint();
    std::string shown = local.address().is_v6() ? "[" + local.address().to_string() + "]"
                                                : local.address().to_string();
    bound.push_back("http://" + shown + ":" + std::to_string(local.port()));
    {
      std::lock_guard lock(impl_->mutex);
      impl_->acceptors.push_back(acceptor);
    }
    auto self = impl_;
    asio::co_spawn(
        acceptor->get_executor(), [self, acceptor] { return self->accept_loop(acceptor); },
        asio::detached);
  }
  return bound;
}

void server::stop_accepting() {
  impl_->stopping = true;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  {
    std::lock_guard lock(impl_->mutex);
    acceptors.swap(impl_->acceptors);
  }
  for (auto& a : acceptors) {
    asio::post(a->get_executor(), [a] {
      error_code ec;
      a->close(ec);
    });
  }
}

}  // namespace hubcast::http
