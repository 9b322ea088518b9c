// Authentication refresh without reconnecting (ASP.NET Core 11, the 11.0 clients'
// `withAuthenticationRefresh()`): negotiate says how long the token lives
// (`tokenLifetimeSeconds`), and `POST {hub}/refresh` with the connection token and a new bearer
// token replaces the connection's user and expiry. docs/authentication-refresh.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include <hubcast/auth/bearer.hpp>
#include <hubcast/http/exchange.hpp>

namespace hubcast::transport {

class connection_manager;
struct endpoint_options;

// What the application's hook sees (AuthenticationRefreshContext). Nothing has changed yet.
struct authentication_refresh_context {
  std::string_view connection_id;
  const http::request& request;
  // The connection's user until now (an empty principal when it had none).
  const auth::claims_principal& previous_user;
  const auth::claims_principal& new_user;
  std::optional<std::chrono::system_clock::time_point> new_expiration;
};

struct authentication_refresh_options {
  // Off: `{hub}/refresh` is not mapped (404) and negotiate names no token lifetime.
  bool enabled = false;
  // OnAuthenticationRefresh: false refuses (403 `refresh_refused`, nothing changes). Runs on the
  // connection's shard, after the default policy (the same user) passed.
  std::function<bool(const authentication_refresh_context&)> on_refresh;
};

// Whole seconds from `now` to `expires_at`, at least 1 (a token inside the clock skew is
// refreshed at once); nullopt without an expiry.
std::optional<std::int64_t> token_lifetime_seconds(
    std::optional<std::chrono::system_clock::time_point> expires_at,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// "2026-12-07T11:06:33.123Z".
std::string iso_8601_utc(std::chrono::system_clock::time_point t);

// The JSON error answer `{"error":…,"error_description":…}` of the refresh endpoint and of a
// long poll that must refresh first (409 `authentication_refresh_required`).
http::response refresh_error(int status, std::string_view error, std::string_view description);

// True when a long poll must be answered 409 `authentication_refresh_required`: refresh is on
// and the poll's token has expired (refused as expired, or still inside the clock skew).
bool refresh_required(const auth::authentication_result& who,
                      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// POST {hub}/refresh.
boost::asio::awaitable<void> serve_authentication_refresh(http::exchange& ex,
                                                          const endpoint_options& options,
                                                          connection_manager& manager);

}  // namespace hubcast::transport
