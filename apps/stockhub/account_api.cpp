#include "account_api.hpp"

#include <hubcast/metrics/metrics.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <hubcast/core/run_on.hpp>
#include <hubcast/http/request.hpp>
#include <hubcast/protocol/value_codec.hpp>

namespace stockhub {

namespace asio = boost::asio;
namespace http = hubcast::http;
namespace auth = hubcast::auth;

namespace {

// Runs blocking work (Argon2id, SQLite) on the worker pool and resumes on the caller's shard.
template <class T, class F>
asio::awaitable<T> offload(asio::thread_pool& pool, F f) {
  auto task = hubcast::run_on<T>(
      pool.get_executor(), [f = std::move(f)]() mutable -> asio::awaitable<T> { co_return f(); });
  co_return co_await std::move(task);
}

http::response json_response(int status, const boost::json::value& v) {
  return http::response(status, boost::json::serialize(v), "application/json");
}

// stockhub_logins_total{outcome}: success, invalid_credentials, throttled, busy, invalid_request.
void count_login(const char* outcome) {
  static auto& family = prometheus::BuildCounter()
                            .Name("stockhub_logins_total")
                            .Help("POST /api/login answers, by outcome.")
                            .Register(hubcast::metrics::registry());
  family.Add({{"outcome", outcome}}).Increment();
}

http::response json_error(int status, std::string message) {
  boost::json::object err;
  err["error"] = std::move(message);
  return json_response(status, err);
}

std::string iso(std::chrono::system_clock::time_point t) {
  return hubcast::codec_detail::format_date_time(
      std::chrono::time_point_cast<std::chrono::microseconds>(t));
}

constexpr std::size_t max_api_body = 4096;

// The JSON endpoints take POST bodies of at most 4 KB, sent as application/json: a browser
// sends that type cross-site only after a CORS preflight, so no form on another site can log
// a victim in as the attacker (login CSRF) or post their refresh token.
std::optional<http::response> refuse_post(const http::request& req) {
  if (req.method != "POST") return http::response(405).set("Allow", "POST");
  if (req.body.size() > max_api_body) return http::response(413);
  auto type = req.header("Content-Type");
  if (req.header_count("Content-Type") != 1 || !is_json_content_type(*type))
    return json_error(415, "expected Content-Type: application/json");
  return std::nullopt;
}

// The body of /api/refresh and /api/logout: {"refreshToken": "..."}; otherwise the refusal.
std::optional<http::response> read_refresh_token(const http::request& req, std::string& token) {
  if (auto refused = refuse_post(req)) return refused;
  auto t = parse_refresh_body(req.body);
  if (!t) return json_error(400, "expected {\"refreshToken\"}");
  token = std::move(*t);
  return std::nullopt;
}

http::response token_pair(const std::string& token, const std::string& refresh,
                          std::chrono::system_clock::time_point expires) {
  boost::json::object out;
  out["token"] = token;
  out["refreshToken"] = refresh;
  out["expiresAt"] = iso(expires);
  return json_response(200, out);
}

}  // namespace

void map_account_api(hubcast::app& app, user_store& store, asio::thread_pool& workers,
                     login_throttle& throttle, account_api_options o) {
  auto* users = &store;
  auto* pool = &workers;
  auto* limiter = &throttle;
  auto issue = [o](const user& u) {
    boost::json::object claims;
    claims["sub"] = std::to_string(u.id);
    claims["email"] = u.email;
    if (u.roles.size() == 1) {
      claims["role"] = u.roles[0];
    } else if (!u.roles.empty()) {
      boost::json::array r;
      for (auto& x : u.roles) r.push_back(boost::json::string(x));
      claims["role"] = r;
    }
    claims["iss"] = o.issuer;
    claims["aud"] = o.audience;
    claims["jti"] = random_token(16);
    return std::pair{
        auth::issue_jwt(claims, auth::jwt_alg::hs256, o.signing_key, o.access_lifetime),
        std::chrono::system_clock::now() + o.access_lifetime};
  };
  auto refresh_lifetime = o.refresh_lifetime;
  auto pending = std::make_shared<std::atomic<std::size_t>>(0);
  const std::size_t max_pending = o.max_pending_logins;

  app.map("/api/login",
          [users, pool, limiter, issue, refresh_lifetime, pending,
           max_pending](http::exchange& ex) -> asio::awaitable<void> {
            const auto& req = ex.req();
            if (auto refused = refuse_post(req)) {
              co_await ex.async_respond(std::move(*refused));
              co_return;
            }
            auto body = parse_login_body(req.body);
            if (!body) {
              count_login("invalid_request");
              auto bad = json_error(400, "expected {\"email\", \"password\"}");
              co_await ex.async_respond(std::move(bad));
              co_return;
            }
            // One spelling per account: lookup, lockout and token all use the normalized form,
            // so "VICTIM@x" counts against (and is locked with) "victim@x".
            auto e = body->email;
            std::string account = "account:" + e;
            std::string address = "address:" + req.remote_address;
            // The attempt counts now, before the password is checked: a burst of concurrent
            // logins gets exactly the limit of verdicts (check-then-count let them all through).
            auto wait = limiter->try_reserve(account);
            if (wait.count() == 0) {
              wait = limiter->try_reserve(address);
              if (wait.count() > 0) limiter->release(account);
            }
            if (wait.count() > 0) {
              count_login("throttled");
              auto busy = json_error(429, "too many failed logins; try again later");
              busy.set("Retry-After", std::to_string(wait.count()));
              co_await ex.async_respond(std::move(busy));
              co_return;
            }
            // Whatever ends this request early (an exception, a dropped client), the attempts
            // reserved are given back; fail() or release() below settle them otherwise.
            struct reservation {
              login_throttle* limiter;
              std::string account, address;
              bool settled = false;
              ~reservation() {
                if (settled) return;
                limiter->release(account);
                limiter->release(address);
              }
            } held{limiter, account, address};
            // The password checks are bounded: past the bound, come back shortly (the reservation
            // is given back: nothing counted).
            if (pending->fetch_add(1) >= max_pending) {
              pending->fetch_sub(1);
              count_login("busy");
              auto busy = json_error(503, "too many logins in progress; try again shortly");
              busy.set("Retry-After", "1");
              co_await ex.async_respond(std::move(busy));
              co_return;
            }
            struct in_progress {
              std::atomic<std::size_t>* n;
              ~in_progress() { n->fetch_sub(1); }
            } counted{pending.get()};
            auto p = body->password;
            // Lambdas and awaitables get their own statements: g++ 12 destroys temporaries with
            // destructors twice when they sit in a co_await full-expression (docs/dependencies.md).
            auto verify = [users, e, p] { return users->verify(e, p); };
            auto verifying = offload<std::optional<user>>(*pool, std::move(verify));
            auto verified = co_await std::move(verifying);
            if (!verified) {
              count_login("invalid_credentials");
              held.settled = true;
              limiter->fail(account);
              limiter->fail(address);
              co_await ex.async_respond(http::response(401));
              co_return;
            }
            held.settled = true;
            limiter->reset(account);
            limiter->release(address);
            count_login("success");
            auto [token, expires] = issue(*verified);
            auto u = *verified;
            auto make_refresh = [users, u, refresh_lifetime] {
              return users->issue_refresh(u, refresh_lifetime);
            };
            auto issuing = offload<std::string>(*pool, std::move(make_refresh));
            auto refresh = co_await std::move(issuing);
            auto reply = token_pair(token, refresh, expires);
            co_await ex.async_respond(std::move(reply));
          });

  app.map("/api/refresh",
          [users, pool, issue, refresh_lifetime](http::exchange& ex) -> asio::awaitable<void> {
            std::string t;
            if (auto refused = read_refresh_token(ex.req(), t)) {
              co_await ex.async_respond(std::move(*refused));
              co_return;
            }
            struct outcome {
              user_store::refresh_outcome result{};
              user u;
              std::string family;
              std::string next;
            };
            auto redeem = [users, t, refresh_lifetime] {
              outcome r;
              r.result = users->redeem_refresh(t, r.u, r.family);
              if (r.result == user_store::refresh_outcome::ok)
                r.next = users->issue_refresh(r.u, refresh_lifetime, r.family);
              return r;
            };
            auto redeeming = offload<outcome>(*pool, std::move(redeem));
            auto r = co_await std::move(redeeming);
            if (r.result != user_store::refresh_outcome::ok) {
              if (r.result == user_store::refresh_outcome::reused)
                spdlog::warn(
                    "a spent refresh token was presented again; its session family is revoked");
              co_await ex.async_respond(http::response(401));
              co_return;
            }
            auto [access, expires] = issue(r.u);
            auto reply = token_pair(access, r.next, expires);
            co_await ex.async_respond(std::move(reply));
          });

  app.map("/api/logout", [users, pool](http::exchange& ex) -> asio::awaitable<void> {
    std::string t;
    if (auto refused = read_refresh_token(ex.req(), t)) {
      co_await ex.async_respond(std::move(*refused));
      co_return;
    }
    auto revoke = [users, t] {
      users->revoke_refresh(t);
      return true;
    };
    auto revoking = offload<bool>(*pool, std::move(revoke));
    co_await std::move(revoking);
    co_await ex.async_respond(http::response(204));
  });

  auto bearer = app.authenticator();
  app.map("/api/me", [bearer](http::exchange& ex) -> asio::awaitable<void> {
    // The bearer reads query tokens under /hubs only: /api/me takes the header alone.
    auto who = bearer->authenticate(ex.req());
    if (!who.authenticated) {
      // As ASP.NET Core's JwtBearer challenge: the scheme, and why when a token was given.
      http::response challenge(401);
      challenge.set("WWW-Authenticate",
                    who.token_present ? "Bearer error=\"invalid_token\"" : "Bearer");
      co_await ex.async_respond(std::move(challenge));
      co_return;
    }
    boost::json::array roles;
    for (const auto& c : who.principal->claims())
      if (c.type == "role") roles.push_back(boost::json::string(c.value));
    auto email = who.principal->find_first("email");
    boost::json::object out;
    out["email"] = std::string(email.value_or(""));
    out["roles"] = roles;
    auto r = json_response(200, out);
    co_await ex.async_respond(std::move(r));
  });
}

}  // namespace stockhub
