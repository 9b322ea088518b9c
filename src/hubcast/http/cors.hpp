// CORS and WebSocket origin checks (ASP.NET Core's CORS middleware with a named policy, plus
// the origin check browsers never make for WebSockets). An origin is allowed when it is in the
// configured list or is one of the server's own listening URLs. Never derived from the Host
// header: the client writes it, so "Host: evil.example" + "Origin: http://evil.example" would
// otherwise be "same origin".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <hubcast/http/request.hpp>

namespace hubcast::http {

struct cors_options {
  // Exact origins ("https://app.example.com"); compared case-insensitively, default ports
  // (:80 for http, :443 for https) ignored. "*" is refused with credentials.
  std::vector<std::string> allowed_origins;
  bool allow_credentials = true;
  std::string allowed_methods = "GET, POST, DELETE";
  // Browsers send Origin on WebSocket upgrades but never enforce CORS on them: refuse upgrades
  // whose Origin is not allowed (403). Requests without Origin (non-browser clients) pass.
  bool check_websocket_origin = true;
};

class cors_policy {
 public:
  explicit cors_policy(cors_options options);

  // The URLs the server listens on ("http://127.0.0.1:5000"), as bound: their origins count as
  // the server's own. A loopback URL also covers "localhost", "127.0.0.1" and "[::1]" on the
  // same scheme and port. Wildcard binds (0.0.0.0, [::]) name no origin. Call before serving.
  void set_server_urls(const std::vector<std::string>& urls);

  bool origin_allowed(std::string_view origin) const;

  // Middleware for server_options::before_route: answers preflights (204) and refuses
  // cross-origin WebSocket upgrades (403); nullopt lets the request through.
  std::optional<response> before_route(const request& req) const;
  // Middleware for server_options::on_response: the Access-Control-* headers.
  void on_response(const request& req, response& res) const;

  // "HTTP://Example.com:80/" → "http://example.com"; nullopt when not an http(s) origin.
  static std::optional<std::string> normalize_origin(std::string_view origin);

 private:
  cors_options options_;
  std::vector<std::string> allowed_;  // normalized
  std::vector<std::string> own_;      // normalized origins of the listening URLs
};

}  // namespace hubcast::http
