// One-shot HTTP(S) requests for the client: negotiate, long polling, and apps' own API calls
// (stockhub-cli's login). One connection per request; timeouts on every step.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <hubcast/protocol/hub_message.hpp>

namespace hubcast::client {

struct http_response {
  unsigned status = 0;
  std::string reason;
  std::string body;
  std::string content_type;
};

// A TLS context for https/wss: peer verification against `ca_file` (PEM) or the system store.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(bool verify_peer,
                                                            const std::string& ca_file);

// `method` is GET, POST or DELETE. Throws connection_error on network errors and timeouts;
// any HTTP status is returned. Bodies over 64 MiB are refused.
boost::asio::awaitable<http_response> http_request(boost::asio::any_io_executor ex,
                                                   std::shared_ptr<boost::asio::ssl::context> tls,
                                                   std::string url, std::string method,
                                                   protocol::header_map headers, std::string body,
                                                   std::chrono::milliseconds timeout);

// Where an http(s)/ws(s) URL points. Throws connection_error on a malformed URL or another scheme.
struct url_endpoint {
  bool secure = false;      // https or wss
  std::string host;         // as written (no brackets removed)
  std::string port;         // explicit, or 443/80
  std::string target;       // path and query, at least "/"
  std::string host_header;  // host[:port] as the Host header wants it
};
url_endpoint parse_endpoint(const std::string& url);

// "hubcast-client/<version> (C++; Linux)"
const std::string& user_agent();

}  // namespace hubcast::client
