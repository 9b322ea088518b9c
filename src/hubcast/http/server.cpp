#include <hubcast/http/server.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <hubcast/core/log.hpp>
#include <hubcast/http/detail_websocket_factory.hpp>
#include <hubcast/http/forwarded_headers.hpp>
#include <hubcast/http/request_head.hpp>
#include <hubcast/metrics/server_metrics.hpp>

namespace hubcast::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The fields of a request head, in order. Taken before the body is read: Beast adds chunked
// trailer fields to the same container (next to headers of the same name), and a trailer
// "Host" or "Authorization" is not a header (Kestrel keeps trailers apart too).
std::vector<header_field> head_fields(const bhttp::request<bhttp::string_body>& r) {
  std::vector<header_field> out;
  out.reserve(static_cast<std::size_t>(std::distance(r.begin(), r.end())));
  for (const auto& f : r) out.push_back({std::string(f.name_string()), std::string(f.value())});
  return out;
}

request to_request(const bhttp::request<bhttp::string_body>& r, const std::string& remote,
                   std::vector<header_field> headers) {
  request out;
  out.method = std::string(r.method_string());
  out.target = std::string(r.target());
  std::string_view t = out.target;
  auto q = t.find('?');
  out.path = percent_decode(t.substr(0, q), false);
  if (q != std::string_view::npos) out.query = std::string(t.substr(q + 1));
  bool trailers = static_cast<std::size_t>(std::distance(r.begin(), r.end())) != headers.size();
  out.headers = std::move(headers);
  out.body = r.body();
  out.keep_alive = r.keep_alive();
  // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing: answered,
  // then the connection closes.
  if (r.version() < 11 && r.count(bhttp::field::transfer_encoding) > 0) out.keep_alive = false;
  // Never an upgrade decided by trailer fields; and as ASP.NET Core's WebSocket middleware, a
  // request without exactly one valid Sec-WebSocket-Key is no upgrade (RFC 6455 §4.2.1): the
  // endpoint answers it as a plain request (400 on a hub).
  out.websocket_upgrade = !trailers && beast::websocket::is_upgrade(r) &&
                          r.count(bhttp::field::sec_websocket_key) == 1 &&
                          valid_websocket_key(r[bhttp::field::sec_websocket_key]);
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

template <class Stream>
class session_exchange final : public exchange {
 public:
  session_exchange(Stream& stream, bhttp::request<bhttp::string_body>& raw, request req,
                   std::size_t shard, const server_options& options)
      : stream_(stream),
        executor_(stream.get_executor()),
        raw_(raw),
        req_(std::move(req)),
        shard_(shard),
        options_(options) {}

  const request& req() const override { return req_; }

  asio::awaitable<void> async_respond(response r) override {
    if (responded_) co_return;
    responded_ = true;
    if (options_.on_response) options_.on_response(req_, r);
    status_ = r.status;
    auto res = to_beast(std::move(r), raw_.version(), req_.keep_alive);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
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
    beast::get_lowest_layer(stream_).expires_never();
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(s), use_tuple);
    (void)n;
    co_return ec;
  }

  asio::awaitable<error_code> async_write_body(std::span<const std::string_view> parts) override {
    std::vector<asio::const_buffer> bufs;
    bufs.reserve(parts.size());
    for (auto p : parts) bufs.emplace_back(p.data(), p.size());
    auto [ec, n] = co_await asio::async_write(stream_, bufs, use_tuple);
    (void)n;
    co_return ec;
  }

  asio::awaitable<std::unique_ptr<websocket>> async_accept_websocket(bool direct_writer) override {
    responded_ = true;
    upgraded_ = true;
    status_ = 101;
    co_return co_await detail::accept_websocket(std::move(stream_), raw_, direct_writer);
  }

  asio::awaitable<void> async_wait_peer_close() override {
    char buf[512];
    for (;;) {
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf), use_tuple);
      (void)n;
      if (ec) co_return;
    }
  }

  void close_stream() override {
    error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).socket().close(ec);
  }
  bool responded() const override { return responded_; }
  // Cached: the stream is moved into the WebSocket on an upgrade.
  asio::any_io_executor get_executor() override { return executor_; }
  std::size_t shard() const override { return shard_; }

  bool upgraded() const { return upgraded_; }
  bool streaming() const { return streaming_; }
  bool write_failed() const { return write_failed_; }
  int status() const { return status_; }

 private:
  Stream& stream_;
  asio::any_io_executor executor_;
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
  std::shared_ptr<asio::ssl::context> tls_context;
  log::rate_limit accept_warnings;  // EMFILE: one warning per second

  forwarded_headers forwarded;  // from options.known_proxies

  impl(shard_pool& s, const router& r, server_options o)
      : shards(s), routes(r), options(o), forwarded(options.known_proxies) {}

  asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor, bool tls,
                                    std::string https_port) {
    auto self = shared_from_this();
    for (;;) {
      std::size_t shard = shards.next();
      auto [ec, socket] = co_await acceptor->async_accept(shards.context(shard), use_tuple);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        if (ec == asio::error::no_descriptors ||
            ec == boost::system::errc::too_many_files_open_in_system ||
            ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
          // Out of file descriptors (EMFILE/ENFILE) or kernel memory: say so once per second,
          // back off instead of spinning, and accept again once descriptors free up.
          if (auto refused = accept_warnings.ready())
            spdlog::warn("cannot accept connections: {} ({} refused since the last warning)",
                         ec.message(), *refused + 1);
          asio::steady_timer t(acceptor->get_executor(), std::chrono::milliseconds(50));
          co_await t.async_wait(use_tuple);
        }
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto ex = socket.get_executor();
      asio::co_spawn(
          ex,
          [self, shard, tls, https_port, s = std::move(socket)]() mutable {
            return self->run_session(std::move(s), shard, tls, https_port);
          },
          asio::detached);
    }
  }

  asio::awaitable<void> run_session(tcp::socket socket, std::size_t shard, bool tls,
                                    std::string https_port) {
    error_code ec;
    auto ep = socket.remote_endpoint(ec);
    std::string remote = ec ? std::string() : ep.address().to_string();
    if (!tls) {
      beast::tcp_stream stream(std::move(socket));
      bool upgraded = co_await serve_requests(stream, shard, remote, https_port);
      if (upgraded) co_return;  // the WebSocket owned and closed the stream
      error_code sec;
      stream.socket().shutdown(tcp::socket::shutdown_send, sec);
      stream.socket().close(sec);
      co_return;
    }
    std::optional<detail::tls_stream> made;
    try {
      made.emplace(std::move(socket), tls_context->native_handle());
    } catch (const std::bad_alloc&) {
      co_return;  // no memory for a session: the socket closes
    }
    auto& stream = *made;
    stream.expires_after(options.request_timeout);
    auto [hec] = co_await stream.async_handshake(use_tuple);
    if (hec) co_return;  // not TLS, or a failed handshake: nothing to answer
    bool upgraded = co_await serve_requests(stream, shard, remote, {});
    if (upgraded) co_return;
    stream.expires_after(std::chrono::seconds(5));
    co_await stream.async_shutdown(use_tuple);
    error_code sec;
    stream.socket().shutdown(tcp::socket::shutdown_send, sec);
    stream.socket().close(sec);
  }

  // Serves requests on one connection until it closes; true when a WebSocket took it over.
  template <class Stream>
  asio::awaitable<bool> serve_requests(Stream& stream, std::size_t shard, const std::string& remote,
                                       const std::string& https_port) {
    beast::flat_buffer buffer;
    bool first = true;
    auto refuse = [&](int status) -> asio::awaitable<void> {
      auto res = to_beast(response(status), 11, false);
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
      co_await bhttp::async_write(stream, res, use_tuple);
    };
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      parser.body_limit(options.max_body_bytes);
      // The first request gets the request timeout; an idle keep-alive connection waits longer
      // for its next request.
      beast::get_lowest_layer(stream).expires_after(first ? options.request_timeout
                                                          : options.keep_alive_timeout);
      first = false;
      // The head first, checked as bytes for what Beast lets through (request_head.hpp).
      head_verdict verdict = head_verdict::incomplete;
      for (;;) {
        auto data = buffer.data();
        std::string_view bytes(static_cast<const char*>(data.data()), data.size());
        verdict = check_request_head(bytes, options.max_header_bytes);
        if (verdict != head_verdict::incomplete) break;
        auto [ec, got] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
        if (ec) co_return false;  // closed, reset or timed out before a whole head
        buffer.commit(got);
      }
      if (verdict != head_verdict::ok) {
        co_await refuse(verdict == head_verdict::too_large ? 431 : 400);
        co_return false;
      }
      auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
      (void)hn;
      std::vector<header_field> header_fields;
      error_code rec = hec;
      if (!rec) {
        header_fields = head_fields(parser.get());
        auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
        (void)bn;
        rec = bec;
      }
      if (rec) {
        // Beast's own parse errors are the client's fault: 400 (Kestrel answers every malformed
        // request); a closed or timed-out socket gets no answer.
        static const auto& parse_errors =
            bhttp::make_error_code(bhttp::error::bad_method).category();
        if (rec == bhttp::error::body_limit)
          co_await refuse(413);
        else if (rec == bhttp::error::header_limit)
          co_await refuse(431);
        else if (rec.category() == parse_errors && rec != bhttp::error::end_of_stream &&
                 rec != bhttp::error::partial_message)
          co_await refuse(400);
        co_return false;
      }
      auto& raw = parser.get();
      auto parsed = to_request(raw, remote, std::move(header_fields));
      if (!forwarded.empty()) parsed.remote_address = forwarded.client_address(parsed, remote);
      // An encoded NUL or other control character in the path (`/index.html%00.js`): Kestrel
      // refuses the request target.
      if (has_control_characters(parsed.path)) {
        co_await refuse(400);
        co_return false;
      }
      const auto started = std::chrono::steady_clock::now();
      session_exchange<Stream> ex(stream, raw, std::move(parsed), shard, options);
      beast::get_lowest_layer(stream).expires_never();
      std::string_view route;
      const handler* h = routes.match(ex.req().path, &route);
      std::optional<response> early;
      if (!https_port.empty()) {
        // Plain HTTP beside HTTPS: everything moves to HTTPS (UseHttpsRedirection, 307).
        std::string host(ex.req().header("Host").value_or("localhost"));
        if (auto colon = host.rfind(':');
            colon != std::string::npos && host.find(']') == std::string::npos)
          host.erase(colon);
        response r(307);
        r.set("Location", "https://" + host + ":" + https_port + ex.req().target);
        early = std::move(r);
      } else if (options.before_route) {
        early = options.before_route(ex.req());
      }
      if (early) {
        co_await ex.async_respond(std::move(*early));
      } else if (!h) {
        co_await ex.async_respond(response(404));
      } else {
        bool failed = false;
        try {
          co_await (*h)(ex);
        } catch (const std::exception& e) {
          spdlog::error("unhandled error serving {} {}: {}", log::escape(ex.req().method),
                        log::escape(redact_target(ex.req().target)), log::escape(e.what()));
          failed = true;
        }
        if (!ex.responded())
          co_await ex.async_respond(response(500));
        else if (failed && !ex.upgraded())
          co_return false;
      }
      metrics::http_request(ex.req().method, h && !early ? route : std::string_view(), ex.status(),
                            std::chrono::steady_clock::now() - started);
      // Request lines go to the `hubcast.http` category at Information, tokens redacted (the
      // article's advice: raise this category to Warning to keep URLs out of logs entirely).
      if (options.log_requests) {
        static const auto requests = log::category("hubcast.http");
        if (requests->should_log(spdlog::level::info))
          requests->info("{} {} -> {}", log::escape(ex.req().method),
                         log::escape(redact_target(ex.req().target), 2048), ex.status());
      }
      if (ex.upgraded()) co_return true;
      if (ex.streaming() || ex.write_failed() || !ex.req().keep_alive) co_return false;
      // Shutting down: no next request on this connection (a proxy opens a new one, to a node
      // that accepts).
      if (stopping) co_return false;
    }
  }
};

server::server(shard_pool& shards, const router& routes, server_options options)
    : impl_(std::make_shared<impl>(shards, routes, options)) {}

server::~server() {
  stop_accepting();
}

std::vector<std::string> server::listen(const std::vector<std::string>& urls) {
  struct endpoint_spec {
    std::string url;
    bool tls;
    tcp::endpoint ep;
  };
  std::vector<endpoint_spec> specs;
  for (const auto& url : urls) {
    std::string_view u = url;
    bool tls = istarts_with(u, "https://");
    if (!tls && !istarts_with(u, "http://"))
      throw std::runtime_error("unsupported URL '" + url + "': expected http(s)://host:port");
    u.remove_prefix(tls ? 8 : 7);
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
    specs.push_back({url, tls, tcp::endpoint(addr, static_cast<unsigned short>(port))});
  }
  bool any_tls = false;
  for (auto& sp : specs) any_tls = any_tls || sp.tls;
  if (any_tls && !impl_->tls_context) {
    if (impl_->options.tls_certificate_file.empty() || impl_->options.tls_private_key_file.empty())
      throw std::runtime_error("an https:// URL needs a certificate and a private key");
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    // OpenSSL's record buffers (~33 KiB) go back to the heap while a connection is idle: most
    // WebSocket connections are, most of the time.
    detail::tls_session::configure(ctx->native_handle());
    error_code ec;
    ctx->use_certificate_chain_file(impl_->options.tls_certificate_file, ec);
    if (ec)
      throw std::runtime_error("cannot read the certificate " +
                               impl_->options.tls_certificate_file + ": " + ec.message());
    ctx->use_private_key_file(impl_->options.tls_private_key_file, asio::ssl::context::pem, ec);
    if (ec)
      throw std::runtime_error("cannot read the private key " +
                               impl_->options.tls_private_key_file + ": " + ec.message());
    impl_->tls_context = ctx;
  }
  struct bound_acceptor {
    std::shared_ptr<tcp::acceptor> acceptor;
    bool tls;
  };
  std::vector<bound_acceptor> acceptors;
  std::vector<std::string> bound;
  std::string https_port;
  for (auto& sp : specs) {
    error_code ec;
    auto acceptor = std::make_shared<tcp::acceptor>(impl_->shards.context(0));
    acceptor->open(sp.ep.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(sp.ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + sp.url + ": " + ec.message());
    auto local = acceptor->local_endpoint();
    std::string shown = local.address().is_v6() ? "[" + local.address().to_string() + "]"
                                                : local.address().to_string();
    bound.push_back(std::string(sp.tls ? "https://" : "http://") + shown + ":" +
                    std::to_string(local.port()));
    if (sp.tls && https_port.empty()) https_port = std::to_string(local.port());
    acceptors.push_back({acceptor, sp.tls});
  }
  for (auto& a : acceptors) {
    {
      std::lock_guard lock(impl_->mutex);
      impl_->acceptors.push_back(a.acceptor);
    }
    auto self = impl_;
    std::string redirect =
        (!a.tls && impl_->options.redirect_http_to_https) ? https_port : std::string();
    auto acceptor = a.acceptor;
    bool tls = a.tls;
    asio::co_spawn(
        acceptor->get_executor(),
        [self, acceptor, tls, redirect] { return self->accept_loop(acceptor, tls, redirect); },
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
