#include <hubcast/transport/authentication_refresh.hpp>

#include <ctime>

#include <spdlog/spdlog.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <hubcast/core/log.hpp>
#include <hubcast/core/run_on.hpp>
#include <hubcast/metrics/server_metrics.hpp>
#include <hubcast/transport/connection_manager.hpp>
#include <hubcast/transport/http_dispatcher.hpp>

namespace hubcast::transport {

namespace asio = boost::asio;
using clock = std::chrono::system_clock;

namespace {

const auth::claims_principal nobody;

std::shared_ptr<spdlog::logger> logger() {
  return log::category("hubcast.transport");
}

}  // namespace

std::optional<std::int64_t> token_lifetime_seconds(std::optional<clock::time_point> expires_at,
                                                   clock::time_point now) {
  if (!expires_at) return std::nullopt;
  auto left = std::chrono::duration_cast<std::chrono::seconds>(*expires_at - now).count();
  return left < 1 ? 1 : left;
}

std::string iso_8601_utc(clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

http::response refresh_error(int status, std::string_view error, std::string_view description) {
  boost::json::object o;
  o["error"] = error;
  o["error_description"] = description;
  http::response r(status, boost::json::serialize(o), "application/json");
  r.set("Cache-Control", "no-store");
  return r;
}

bool refresh_required(const auth::authentication_result& who, clock::time_point now) {
  if (!who.token_present) return false;
  if (!who.authenticated) return std::string_view(who.reason) == "expired";
  return who.expires_at && *who.expires_at <= now;
}

asio::awaitable<void> serve_authentication_refresh(http::exchange& ex,
                                                   const endpoint_options& options,
                                                   connection_manager& manager) {
  const auto& req = ex.req();
  auto refuse = [&ex](int status, std::string_view outcome, std::string_view error,
                      std::string_view description) -> asio::awaitable<void> {
    metrics::authentication_refresh(outcome);
    auto r = refresh_error(status, error, description);
    if (status == 401) r.set("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    co_await ex.async_respond(std::move(r));
  };
  if (req.method != "POST") {
    http::response r(405);
    r.set("Allow", "POST");
    co_await ex.async_respond(std::move(r));
    co_return;
  }
  // The connection token: the client's header, or `?id=` as on every other transport request.
  // Two headers are one ambiguous credential: refused.
  std::optional<std::string> token;
  if (req.header_count("X-SignalR-Connection-Token") == 1) {
    token = std::string(*req.header("X-SignalR-Connection-Token"));
  } else if (req.header_count("X-SignalR-Connection-Token") == 0 &&
             req.query_param_count("id") == 1) {
    token = req.query_param("id");
  }
  if (!token || token->empty() || token->size() > 256) {
    co_await refuse(400, "missing_connection_token", "missing_connection_token",
                    "The request names no connection (X-SignalR-Connection-Token).");
    co_return;
  }
  // Authenticated first: who is not may not learn which connections exist.
  auto who = options.authenticate ? options.authenticate(req) : auth::authentication_result{};
  if (!who.authenticated || !who.principal) {
    logger()->debug("authentication refresh refused (401): {}",
                    who.token_present ? log::escape(who.error) : "no bearer token");
    co_await refuse(401, "invalid_token", "invalid_token",
                    who.token_present ? "The bearer token is not valid."
                                      : "The request carries no bearer token.");
    co_return;
  }
  if (options.authorize && !options.authorize(*who.principal)) {
    co_await refuse(403, "forbidden", "forbidden", "The hub's policy refuses this user.");
    co_return;
  }
  auto c = manager.find(*token);
  if (!c || !c->is_started() || c->is_completed() || c->handler_done()) {
    co_await refuse(404, "connection_not_found", "connection_not_found",
                    "No connection with that token.");
    co_return;
  }
  // The default policy: the token must be the connection's user's (NameIdentifier). A token of
  // somebody else never takes over a connection, and one for an anonymous connection neither.
  auto caller = who.principal->name_identifier();
  const auto& owner = c->owner();
  if (!caller || !owner || *caller != *owner) {
    static log::rate_limit once_a_second;
    if (once_a_second.ready())
      logger()->warn("authentication refresh for connection {} refused (403): another user",
                     c->id());
    co_await refuse(403, "user_mismatch", "user_mismatch",
                    "The token's user is not the connection's user.");
    co_return;
  }
  // On the connection's shard: the hook sees the user it replaces, and the swap is ordered
  // with the connection's own work (the heartbeat's expiry check, invocations starting).
  enum class verdict { refreshed, refused, gone };
  auto swap = [c, who, request = req,
               hook = options.authentication_refresh.on_refresh]() -> asio::awaitable<verdict> {
    if (c->is_completed() || c->handler_done()) co_return verdict::gone;
    if (hook) {
      auto previous = c->user();
      authentication_refresh_context ctx{c->id(), request, previous ? *previous : nobody,
                                         *who.principal, who.expires_at};
      if (!hook(ctx)) co_return verdict::refused;
    }
    c->set_user(who.principal, who.expires_at);
    c->notify(connection::event::authentication_refreshed);
    co_return verdict::refreshed;
  };
  auto target = c->get_executor();
  auto task = run_on<verdict>(target, std::move(swap));
  auto v = co_await std::move(task);
  if (v == verdict::gone) {
    co_await refuse(404, "connection_not_found", "connection_not_found",
                    "No connection with that token.");
    co_return;
  }
  if (v == verdict::refused) {
    logger()->info("authentication refresh for connection {} refused by the application", c->id());
    co_await refuse(403, "refresh_refused", "refresh_refused",
                    "The application refused the refresh.");
    co_return;
  }
  metrics::authentication_refresh("refreshed");
  auto now = clock::now();
  auto lifetime = token_lifetime_seconds(who.expires_at, now);
  logger()->debug("connection {}: authentication refreshed, the token lives {} s", c->id(),
                  lifetime ? std::to_string(*lifetime) : std::string("without expiry"));
  boost::json::object body;
  body["connectionId"] = c->id();
  body["refreshedAt"] = iso_8601_utc(now);
  if (lifetime) body["tokenLifetimeSeconds"] = *lifetime;
  http::response r(200, boost::json::serialize(body), "application/json");
  r.set("Cache-Control", "no-store");
  co_await ex.async_respond(std::move(r));
}

}  // namespace hubcast::transport
