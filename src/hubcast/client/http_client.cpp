#include <hubcast/client/http_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <hubcast/client/hub_connection.hpp>

namespace hubcast::client {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

const std::string& user_agent() {
  static const std::string ua = "hubcast-client/0.1 (C++; Linux)";
  return ua;
}

std::shared_ptr<asio::ssl::context> make_tls_context(bool verify_peer, const std::string& ca_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
  if (verify_peer) {
    ctx->set_verify_mode(asio::ssl::verify_peer);
    if (ca_file.empty())
      ctx->set_default_verify_paths();
    else
      ctx->load_verify_file(ca_file);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none);
  }
  return ctx;
}

url_endpoint parse_endpoint(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw connection_error("Invalid URL '" + url + "'.");
  boost::urls::url_view u(*parsed);
  url_endpoint e;
  e.secure = u.scheme() == "https" || u.scheme() == "wss";
  if (!e.secure && u.scheme() != "http" && u.scheme() != "ws")
    throw connection_error("Unsupported URL scheme '" + std::string(u.scheme()) + "'.");
  e.host = std::string(u.encoded_host());
  e.port = u.has_port() ? std::string(u.port()) : (e.secure ? "443" : "80");
  e.target = std::string(u.encoded_target());
  if (e.target.empty()) e.target = "/";
  e.host_header = u.has_port() ? e.host + ":" + e.port : e.host;
  return e;
}

namespace {

template <class Stream>
asio::awaitable<http_response> exchange(Stream& stream, http::request<http::string_body> req,
                                        std::chrono::milliseconds timeout) {
  beast::get_lowest_layer(stream).expires_after(timeout);
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.header_limit(64 * 1024);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  auto& res = parser.get();
  http_response out;
  out.status = res.result_int();
  out.reason = std::string(res.reason());
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  co_return out;
}

}  // namespace

asio::awaitable<http_response> http_request(asio::any_io_executor ex,
                                            std::shared_ptr<asio::ssl::context> tls,
                                            std::string url, std::string method,
                                            protocol::header_map headers, std::string body,
                                            std::chrono::milliseconds timeout) {
  auto [secure, host, port, target, host_header] = parse_endpoint(url);
  http::verb verb = method == "POST"     ? http::verb::post
                    : method == "DELETE" ? http::verb::delete_
                                         : http::verb::get;
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host_header);
  req.set(http::field::user_agent, user_agent());
  req.set("X-Requested-With", "XMLHttpRequest");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (verb != http::verb::get) {
    req.body() = std::move(body);
    req.prepare_payload();
  }

  try {
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(host, port, asio::use_awaitable);
    if (secure) {
      if (!tls) tls = make_tls_context(true, {});
      beast::ssl_stream<beast::tcp_stream> stream(ex, *tls);
      beast::get_lowest_layer(stream).expires_after(timeout);
      co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
      if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()))
        throw connection_error("TLS: cannot set the server name");
      stream.set_verify_callback(asio::ssl::host_name_verification(host));
      co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
      auto res = co_await exchange(stream, std::move(req), timeout);
      beast::error_code ec;
      beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
      co_return res;
    }
    beast::tcp_stream stream(ex);
    stream.expires_after(timeout);
    co_await stream.async_connect(endpoints, asio::use_awaitable);
    auto res = co_await exchange(stream, std::move(req), timeout);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    co_return res;
  } catch (const boost::system::system_error& e) {
    if (e.code() == beast::error::timeout)
      throw connection_error(method + " " + url.substr(0, url.find('?')) + " timed out.");
    throw connection_error(method + " " + url.substr(0, url.find('?')) +
                           " failed: " + e.code().message());
  }
}

}  // namespace hubcast::client
