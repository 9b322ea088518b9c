// HTTP/1.1 server on Boost.Beast: listeners, one coroutine per TCP connection, routing.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <hubcast/core/shards.hpp>
#include <hubcast/http/router.hpp>

namespace hubcast::http {

struct server_options {
  std::size_t max_header_bytes = 32 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::seconds request_timeout{30};      // to receive one whole request
  std::chrono::seconds keep_alive_timeout{130};  // idle between requests (Kestrel's default)
  bool log_requests = true;                      // at debug level, tokens redacted
  // TLS for https:// URLs (PEM files).
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  // With both http:// and https:// bound, plain HTTP answers 307 to the HTTPS URL.
  bool redirect_http_to_https = true;
  // Reverse proxies (IP addresses) whose X-Forwarded-For names the client
  // (ForwardedHeadersOptions.KnownProxies): request::remote_address is then the client's.
  std::vector<std::string> known_proxies;
  // Middleware: may answer a request before routing (e.g. CORS preflight).
  std::function<std::optional<response>(const request&)> before_route;
  // Middleware: may decorate every response (headers, cookies).
  std::function<void(const request&, response&)> on_response;
};

class server {
 public:
  server(shard_pool& shards, const router& routes, server_options options = {});
  ~server();

  // Binds every `http://host:port` URL (port 0 picks a free port) and starts accepting.
  // Returns the bound URLs with real ports. Throws std::runtime_error on a bad URL or bind error.
  std::vector<std::string> listen(const std::vector<std::string>& urls);

  // Stops accepting new TCP connections.
  void stop_accepting();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace hubcast::http
