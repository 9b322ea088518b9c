// Maps a connection endpoint (negotiate + transports) onto the router (HttpConnectionDispatcher).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <hubcast/auth/bearer.hpp>
#include <hubcast/http/router.hpp>
#include <hubcast/transport/authentication_refresh.hpp>
#include <hubcast/transport/connection_handler.hpp>
#include <hubcast/transport/connection_manager.hpp>

namespace hubcast::transport {

struct endpoint_options {
  // Authentication of every request (negotiate and each transport request); null: anonymous.
  std::function<auth::authentication_result(const http::request&)> authenticate;
  // Without a valid token: 401 with an empty body ([Authorize] on the hub).
  bool require_authenticated = false;
  // Hub-level policy: false answers 403.
  std::function<bool(const auth::claims_principal&)> authorize;
  // Named hub-level policies, resolved into `authorize` by server::app.
  std::vector<std::string> policies;
  bool websockets = true;
  bool server_sent_events = true;
  bool long_polling = true;
  // Stateful reconnect (opt-in per endpoint, like AllowStatefulReconnects).
  bool allow_stateful_reconnect = false;
  // A poll with nothing to send is answered 200 empty after this (below the clients' 100 s).
  std::chrono::milliseconds long_poll_timeout{90000};
  queue_limits limits;
  // Authentication refresh without reconnecting (EnableAuthenticationRefresh, ASP.NET Core 11):
  // `POST path/refresh`, negotiate's `tokenLifetimeSeconds`, and a long poll whose token has
  // expired answered 409 `authentication_refresh_required`.
  authentication_refresh_options authentication_refresh;
};

// Registers `path` (WebSocket, and later SSE/long polling) and `path/negotiate`.
void map_endpoint(http::router& routes, const std::string& path,
                  std::shared_ptr<connection_handler> handler, endpoint_options options,
                  std::shared_ptr<connection_manager> manager);

// The negotiate response body (signalr-protocol.md §2.3); `token_lifetime_seconds` only when
// authentication refresh is on and the token expires.
std::string negotiate_response_body(const connection& c, const endpoint_options& o,
                                    std::optional<std::int64_t> token_lifetime_seconds = {});

}  // namespace hubcast::transport
