// Authentication refresh without reconnecting (the official 11.0 clients'
// withAuthenticationRefresh; docs/auth.md): the schedule from the token lifetime the server names,
// and POST {hub}/refresh.
#include <cmath>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>

#include <hubcast/client/connection_core.hpp>
#include <hubcast/client/http_client.hpp>

namespace hubcast::client::detail {

std::optional<double> token_lifetime_of(const boost::json::object& o) {
  auto* v = o.if_contains("tokenLifetimeSeconds");
  if (!v || !v->is_number()) return std::nullopt;
  boost::system::error_code ec;
  double d = v->to_number<double>(ec);
  if (ec || !std::isfinite(d) || d <= 0) return std::nullopt;
  return std::min(d, 9007199254740.0);  // Number.MAX_SAFE_INTEGER / 1000, as the JS client
}

void connection_core::schedule_initial_refresh() {
  if (opt.authentication_refresh && opt.authentication_refresh->enable_auto_refresh &&
      initial_token_lifetime)
    schedule_refresh(*initial_token_lifetime);
}

void connection_core::schedule_refresh(double lifetime_seconds) {
  using ms = std::chrono::milliseconds;
  auto lifetime = ms(static_cast<long long>(lifetime_seconds * 1000));
  auto before =
      std::chrono::duration_cast<ms>(opt.authentication_refresh->refresh_before_expiration);
  auto in = lifetime <= 2 * before ? lifetime / 2 : lifetime - before;
  in = std::min(in, ms(2147483647));  // setTimeout's limit, as the JS client
  auto schedule = ++refresh_schedule;
  refresh_timer.expires_after(in);
  asio::co_spawn(
      ex,
      [self = shared_from_this(), schedule]() -> asio::awaitable<void> {
        auto [ec] = co_await self->refresh_timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || schedule != self->refresh_schedule) co_return;
        if (self->state != connection_state::connected) {
          self->log("Skipping authentication refresh because the connection is not active.");
          co_return;
        }
        try {
          co_await self->refresh_authentication();
        } catch (const std::exception& e) {
          self->log(std::string("Authentication refresh failed: ") + e.what());
        }
      },
      asio::detached);
}

void connection_core::cancel_refresh() {
  ++refresh_schedule;
  refresh_timer.cancel();
}

asio::awaitable<std::optional<std::chrono::seconds>> connection_core::refresh_authentication(
    bool for_transport) {
  auto self = shared_from_this();  // the handlers may drop the last hub_connection reference
  const auto session = generation;
  // A refresh that a stop() or a new connection overtook while it waited reports to nobody:
  // the application may have released what its handlers refer to.
  auto overtaken = [this, session] {
    return session != generation || state == connection_state::disconnecting ||
           state == connection_state::disconnected;
  };
  auto fail = [this, overtaken](const std::string& why, bool waited = true) {
    if (!waited || !overtaken()) {
      auto hs = refresh_failed_handlers;
      for (auto& h : hs) h(why);
    }
    return connection_error(why);
  };
  // The long-polling transport asks from its first poll on, before the handshake completes.
  if (state != connection_state::connected &&
      !(for_transport && state == connection_state::connecting))
    throw fail("Cannot refresh authentication when the connection is not active.", false);
  if (!opt.authentication_refresh || connection_token.empty())
    throw fail("Authentication refresh is not configured for this connection.", false);
  std::string fresh = token;
  if (opt.access_token) fresh = co_await opt.access_token();
  protocol::header_map h = opt.headers;
  if (!fresh.empty()) h.emplace_back("Authorization", "Bearer " + fresh);
  h.emplace_back("X-SignalR-Connection-Token", connection_token);
  h.emplace_back("X-SignalR-User-Agent", user_agent());
  http_response res;
  try {
    res = co_await http_request(
        ex, tls, with_path_suffix(refresh_base, "/refresh"), "POST", h, {},
        std::chrono::duration_cast<std::chrono::milliseconds>(opt.http_timeout));
  } catch (const std::exception& e) {
    throw fail(e.what());
  }
  if (res.status != 200)
    throw fail("Unexpected status code returned from authentication refresh '" +
               std::to_string(res.status) + "'");
  boost::system::error_code ec;
  auto body = boost::json::parse(res.body, ec);
  if (ec || !body.is_object())
    throw fail("Invalid authentication refresh response received: expected JSON content.");
  if (overtaken()) co_return std::nullopt;  // stopped, or a newer connection took over meanwhile
  const auto& o = body.as_object();
  // A redirecting server may hand a transport token; otherwise the one that refreshed is kept.
  if (auto* t = o.if_contains("accessToken"); t && t->is_string() && !t->get_string().empty())
    token = std::string(t->get_string());
  else
    token = std::move(fresh);
  if (tr) tr->update_headers(request_headers());
  auto lifetime = token_lifetime_of(o);
  if (lifetime && opt.authentication_refresh->enable_auto_refresh) schedule_refresh(*lifetime);
  std::optional<std::chrono::seconds> out;
  if (lifetime) out = std::chrono::seconds(static_cast<long long>(*lifetime));
  log("Authentication refresh completed.");
  auto hs = refreshed_handlers;
  for (auto& handler : hs) handler(out);
  co_return out;
}

}  // namespace hubcast::client::detail
