#include <hubcast/transport/http_dispatcher.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <hubcast/core/log.hpp>
#include <hubcast/core/run_on.hpp>
#include <hubcast/transport/long_polling_transport.hpp>
#include <hubcast/transport/sse_transport.hpp>
#include <hubcast/transport/stateful_websocket_transport.hpp>
#include <hubcast/transport/websocket_transport.hpp>

namespace hubcast::transport {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

http::response text(int status, std::string body) {
  if (body.empty()) return http::response(status);
  return http::response(status, std::move(body), "text/plain");
}

// A node that is draining takes no new connection: the client (or the proxy in front, with
// `proxy_next_upstream http_503`) goes to another node.
http::response shutting_down() {
  http::response r(503, "The server is shutting down.", "text/plain");
  r.set("Retry-After", "1");
  return r;
}

http::response negotiate_error(std::string message) {
  boost::json::object o;
  o["error"] = message;
  return http::response(200, boost::json::serialize(o), "application/json");
}

// Whether a token expiring at `candidate` is fresher than the connection's, expiring at
// `current` (no expiry: never expires).
bool fresher(std::optional<std::chrono::system_clock::time_point> candidate,
             std::optional<std::chrono::system_clock::time_point> current) {
  if (!candidate) return true;
  return current && *candidate > *current;
}

struct endpoint {
  std::string path;
  std::shared_ptr<connection_handler> handler;
  endpoint_options options;
  std::shared_ptr<connection_manager> manager;

  // Authenticates and authorizes one request ([Authorize] runs on every request of the
  // connection, not only negotiate). Answers 401/403 itself and returns false when refused.
  // `out` is computed here unless `authenticated` says the caller did it already.
  asio::awaitable<bool> admit(http::exchange& ex, auth::authentication_result& out,
                              bool authenticated = false) {
    if (!options.authenticate) co_return true;
    if (!authenticated) out = options.authenticate(ex.req());
    if (out.token_present && !out.authenticated)
      spdlog::debug("{} {}: token refused: {}", ex.req().method,
                    log::escape(http::redact_target(ex.req().target)), out.error);
    if (options.require_authenticated && !out.authenticated) {
      http::response r(401);
      r.set("WWW-Authenticate", out.token_present ? "Bearer error=\"invalid_token\"" : "Bearer");
      co_await ex.async_respond(std::move(r));
      co_return false;
    }
    if (options.authorize) {
      auth::claims_principal anonymous;
      if (!options.authorize(out.principal ? *out.principal : anonymous)) {
        co_await ex.async_respond(http::response(out.authenticated ? 403 : 401));
        co_return false;
      }
    }
    co_return true;
  }

  // With authentication refresh on, a long poll whose token has expired (refused as expired,
  // or inside the clock skew) is answered 409 `authentication_refresh_required`: the 11.0
  // clients refresh once and poll again. Only for a poll of a long-polling connection of the
  // same user: anything else goes through admit() as before.
  asio::awaitable<bool> must_refresh_first(http::exchange& ex,
                                           const auth::authentication_result& who) {
    const auto& req = ex.req();
    // The cheap test first: almost every request carries a live token (or refresh is off).
    if (!options.authentication_refresh.enabled || !refresh_required(who) || req.method != "GET" ||
        req.websocket_upgrade)
      co_return false;
    auto accept = req.header("Accept");
    if (accept && accept->find("text/event-stream") != std::string_view::npos) co_return false;
    auto id = req.query_param("id");
    if (!id || id->empty()) co_return false;
    auto c = manager->find(*id);
    if (!c || c->transport() != transport_type::long_polling || !c->owner()) co_return false;
    // A token inside the clock skew names its user: it must be the connection's. One refused
    // as expired names nobody; the connection token (a capability) is what identifies the
    // caller then, as for the refresh that follows. Any other refusal gets admit()'s 401.
    if (who.authenticated && who.principal) {
      auto caller = who.principal->name_identifier();
      if (!caller || *caller != *c->owner()) co_return false;
    }
    co_await ex.async_respond(refresh_error(409, "authentication_refresh_required",
                                            "The connection's token has expired: refresh it."));
    co_return true;
  }

  asio::awaitable<void> negotiate(http::exchange& ex) {
    const auto& req = ex.req();
    if (req.method != "POST") {
      co_await ex.async_respond(text(405, ""));
      co_return;
    }
    auth::authentication_result who;
    if (!co_await admit(ex, who)) co_return;
    if (manager->shutting_down()) {
      co_await ex.async_respond(shutting_down());
      co_return;
    }
    // §2.2: version selection.
    int version = 0;
    if (auto v = req.query_param("negotiateVersion")) {
      long n = 0;
      bool ok = !v->empty();
      try {
        std::size_t used = 0;
        n = std::stol(*v, &used);
        ok = ok && used == v->size();
      } catch (const std::exception&) {
        ok = false;
      }
      if (!ok) {
        co_await ex.async_respond(
            negotiate_error("The client requested a non-integer protocol version."));
        co_return;
      }
      if (n < 0) {
        co_await ex.async_respond(
            negotiate_error("The client requested version '" + std::to_string(n) +
                            "', but the server does not support this version."));
        co_return;
      }
      version = n >= 1 ? 1 : 0;
    }
    auto c = manager->create(version, options.limits);
    if (!c) {
      // Too many negotiated connections waiting for their transport: a flood of negotiates
      // must not hold memory without bound. The official clients retry on 503.
      static log::rate_limit once_a_second;
      if (once_a_second.ready())
        log::category("hubcast.transport")
            ->warn("negotiate refused (503): {} connections are waiting for their transport",
                   manager->pending());
      http::response busy(503, "Too many pending connections", "text/plain");
      busy.set("Retry-After", "1");
      co_await ex.async_respond(std::move(busy));
      co_return;
    }
    c->set_owner(user_id_of(who));
    auto want = req.query_param("useStatefulReconnect");
    if (want && http::iequals(*want, "true") && options.allow_stateful_reconnect &&
        options.websockets)
      c->set_stateful(true);
    std::optional<std::int64_t> lifetime;
    if (options.authentication_refresh.enabled && who.authenticated)
      lifetime = token_lifetime_seconds(who.expires_at);
    http::response r(200, negotiate_response_body(*c, options, lifetime), "application/json");
    co_await ex.async_respond(std::move(r));
  }

  static std::optional<std::string> user_id_of(const auth::authentication_result& who) {
    if (!who.authenticated || !who.principal) return std::nullopt;
    if (auto id = who.principal->name_identifier()) return std::string(*id);
    return std::nullopt;
  }

  // The connection token is a capability of the user who negotiated it: a transport request
  // (poll, send, SSE, WebSocket, stateful reconnect, DELETE) by anybody else is refused with
  // 403, whether or not its own token is valid.
  asio::awaitable<bool> owned_by_caller(http::exchange& ex, const auth::authentication_result& who,
                                        const connection& c) {
    std::optional<std::string_view> caller;
    if (who.authenticated && who.principal) caller = who.principal->name_identifier();
    const auto& owner = c.owner();
    if (caller.has_value() == owner.has_value() && (!caller || *caller == *owner)) co_return true;
    static log::rate_limit once_a_second;
    if (once_a_second.ready())
      log::category("hubcast.transport")
          ->warn("{} {}: refused (403), the request's user is not the connection's",
                 ex.req().method, log::escape(http::redact_target(ex.req().target)));
    co_await ex.async_respond(http::response(403));
    co_return false;
  }

  asio::awaitable<void> serve(http::exchange& ex) {
    const auto& req = ex.req();
    auth::authentication_result who;
    if (options.authenticate) who = options.authenticate(req);
    if (co_await must_refresh_first(ex, who)) co_return;
    if (!co_await admit(ex, who, true)) co_return;
    if (req.method == "GET") {
      // §1: the SSE check comes first, then the WebSocket upgrade; anything else long-polls.
      auto accept = req.header("Accept");
      if (accept && accept->find("text/event-stream") != std::string_view::npos) {
        co_await serve_sse(ex, who);
      } else if (req.websocket_upgrade) {
        co_await serve_websocket(ex, who);
      } else {
        co_await serve_poll(ex, who);
      }
      co_return;
    }
    if (req.method == "POST" || req.method == "DELETE") {
      auto id = req.query_param("id");
      if (!id || id->empty()) {
        co_await ex.async_respond(text(400, "Connection ID required"));
        co_return;
      }
      auto c = manager->find(*id);
      if (!c) {
        co_await ex.async_respond(text(404, "No Connection with that ID"));
        co_return;
      }
      if (!co_await owned_by_caller(ex, who, *c)) co_return;
      if (req.method == "DELETE") {
        co_await serve_delete(ex, c);
        co_return;
      }
      if (c->transport() == transport_type::websockets) {
        co_await ex.async_respond(
            text(405, "POST requests are not allowed for WebSocket connections."));
        co_return;
      }
      if (!c->transport_active() || c->is_completed()) {
        co_await ex.async_respond(http::response(404));
        co_return;
      }
      // Append the body to the connection's input on its own shard (§3.3 "Send"), and answer
      // only once it is there: the client sends its next POST after this answer, possibly on
      // another TCP connection and shard. A bare post() is not enough: posted from the
      // connection's own shard it sits in that thread's private queue until the current handler
      // returns, and the next POST, posted from another shard, could overtake it.
      auto append = [c, body = req.body]() mutable -> asio::awaitable<bool> {
        c->push_input(std::move(body), false);
        co_return true;
      };
      auto target = c->get_executor();
      auto appending = run_on<bool>(target, std::move(append));
      co_await std::move(appending);
      co_await ex.async_respond(http::response(200));
      co_return;
    }
    co_await ex.async_respond(text(405, ""));
  }

  // Finds the connection of a GET, or answers the reference server's error and returns null.
  asio::awaitable<std::shared_ptr<connection>> lookup(http::exchange& ex,
                                                      const auth::authentication_result& who,
                                                      transport_type t) {
    auto id = ex.req().query_param("id");
    if (!id || id->empty()) {
      co_await ex.async_respond(text(400, "Connection ID required"));
      co_return nullptr;
    }
    auto c = manager->find(*id);
    if (!c) {
      co_await ex.async_respond(text(404, "No Connection with that ID"));
      co_return nullptr;
    }
    if (!co_await owned_by_caller(ex, who, *c)) co_return nullptr;
    if (c->is_started() && c->transport() != t && c->transport() != transport_type::none) {
      co_await ex.async_respond(text(400, "Cannot change transports mid-connection"));
      co_return nullptr;
    }
    co_return c;
  }

  asio::awaitable<void> not_enabled(http::exchange& ex, transport_type t) {
    co_await ex.async_respond(text(
        404, std::string(transport_name(t)) + " transport not supported by this end point type"));
  }

  // Runs the connection handler; its end completes the output.
  static asio::awaitable<void> run_handler(std::shared_ptr<connection_handler> h,
                                           std::shared_ptr<connection> c) {
    try {
      co_await h->on_connected(c);
    } catch (const std::exception& e) {
      spdlog::error("connection {}: handler failed: {}", c->id(), e.what());
      c->abort();
    }
    c->set_handler_done();
    c->complete();
  }

  asio::awaitable<void> serve_sse(http::exchange& ex, const auth::authentication_result& who) {
    if (!options.server_sent_events) {
      co_await not_enabled(ex, transport_type::server_sent_events);
      co_return;
    }
    auto c = co_await lookup(ex, who, transport_type::server_sent_events);
    if (!c) co_return;
    if (!c->try_start()) {
      co_await ex.async_respond(http::response(409));
      co_return;
    }
    c->attach(transport_type::server_sent_events, ex.req(), ex.shard(), ex.get_executor(), nullptr);
    c->set_user(who.principal, who.expires_at);
    // Headers and a comment at once: some clients only fire `open` when bytes arrive (§3.3).
    http::response head(200, ":\r\n", "text/event-stream");
    head.set("Cache-Control", "no-cache,no-store");
    head.set("Pragma", "no-cache");
    head.set("Content-Encoding", "identity");
    if (co_await ex.async_write_head(std::move(head))) {
      manager->remove(c->token());
      co_return;
    }
    auto watch = [c, &ex]() -> asio::awaitable<void> {
      co_await ex.async_wait_peer_close();
      // The client closed its EventSource: the connection is gone.
      c->end_input();
      c->abort();
    };
    // Build the awaitables in their own statements: g++ 12 mishandles temporaries with
    // destructors (here shared_ptr arguments) inside a co_await full-expression.
    auto handler_task = run_handler(handler, c);
    sse_transport sse(c, ex);
    auto writer_task = sse.run();
    auto watch_task = watch();
    co_await (std::move(handler_task) && std::move(writer_task) && std::move(watch_task));
    manager->remove(c->token());
  }

  asio::awaitable<void> serve_poll(http::exchange& ex, const auth::authentication_result& who) {
    if (!options.long_polling) {
      co_await not_enabled(ex, transport_type::long_polling);
      co_return;
    }
    auto c = co_await lookup(ex, who, transport_type::long_polling);
    if (!c) co_return;
    if (c->try_start()) {
      // §3.4: the first poll only starts the connection and is answered at once.
      c->attach(transport_type::long_polling, ex.req(), ex.shard(), ex.get_executor(), nullptr);
      c->set_user(who.principal, who.expires_at);
      c->touch();
      asio::co_spawn(c->get_executor(), run_handler(handler, c), asio::detached);
      http::response r(200, "", "application/octet-stream");
      co_await ex.async_respond(std::move(r));
      co_return;
    }
    // Every poll is authorized again; a fresher token (one that expires later) of the same user
    // replaces the connection's. Never an older one: a poll sent with the token an
    // authentication refresh has just replaced must not bring its expiry back.
    auto timeout = options.long_poll_timeout;
    using poll_result = long_polling_transport::poll_result;
    auto poll = [c, timeout, who]() -> asio::awaitable<poll_result> {
      if (who.principal && fresher(who.expires_at, c->auth_expires_at()))
        c->set_user(who.principal, who.expires_at);
      auto r = co_await long_polling_transport::poll(c, timeout);
      // The application ended the connection (the client's Close message, a hub's Abort): this
      // 204 is the last answer, and nothing more is read, as after a DELETE. The hub's read loop
      // ends and OnDisconnected runs now, not when the connection times out.
      if (r.status == 204 && c->is_completed()) c->end_input();
      co_return r;
    };
    auto target = c->get_executor();
    auto task = run_on<poll_result>(target, std::move(poll));
    auto result = co_await std::move(task);
    if (result.status == 204 && c->is_completed() && !c->poll_active()) manager->remove(c->token());
    http::response r(result.status, std::move(result.body),
                     result.status == 200 ? "application/octet-stream" : "");
    r.set("Cache-Control", "no-cache, no-store");
    r.set("Pragma", "no-cache");
    r.set("Expires", "Thu, 01 Jan 1970 00:00:00 GMT");
    co_await ex.async_respond(std::move(r));
  }

  // A stateful WebSocket (§11): the socket's first or a reconnect's attachment to the connection,
  // then stateful_websocket_transport until the socket ends.
  asio::awaitable<void> serve_bridged(http::exchange& ex, const auth::authentication_result& who,
                                      std::shared_ptr<connection> c, bool first) {
    auto ws_owned = co_await ex.async_accept_websocket(false);
    if (!ws_owned) {
      if (first) manager->remove(c->token());
      co_return;
    }
    std::shared_ptr<http::websocket> ws(std::move(ws_owned));
    std::uint64_t attachment = 0;
    if (first) {
      c->attach(transport_type::websockets, ex.req(), ex.shard(), ex.get_executor(), nullptr);
      c->set_bridged();
      c->set_user(who.principal, who.expires_at);
      attachment = c->begin_attachment();
      asio::co_spawn(c->get_executor(), run_handler(handler, c), asio::detached);
    } else {
      auto take_over = [c, who]() -> asio::awaitable<std::uint64_t> {
        if (who.principal && fresher(who.expires_at, c->auth_expires_at()))
          c->set_user(who.principal, who.expires_at);
        co_return c->begin_attachment();  // the old socket's coroutines see it and stop
      };
      auto target = c->get_executor();
      auto task = run_on<std::uint64_t>(target, std::move(take_over));
      attachment = co_await std::move(task);
    }
    stateful_websocket_transport transport(c, ws, attachment);
    co_await transport.run();
    if (c->handler_done() && c->is_completed()) manager->remove(c->token());
  }

  asio::awaitable<void> serve_delete(http::exchange& ex, std::shared_ptr<connection> c) {
    if (c->transport() != transport_type::long_polling) {
      co_await ex.async_respond(
          text(400, "Cannot terminate this connection using the DELETE endpoint."));
      co_return;
    }
    // Graceful client close: the pending poll is released (204) and the connection disposed.
    auto release = [c]() -> asio::awaitable<bool> {
      c->end_input();
      c->complete();
      co_return true;
    };
    auto target = c->get_executor();
    auto task = run_on<bool>(target, std::move(release));
    co_await std::move(task);
    manager->remove(c->token());
    co_await ex.async_respond(http::response(202));
  }

  asio::awaitable<void> serve_websocket(http::exchange& ex,
                                        const auth::authentication_result& who) {
    const auto& req = ex.req();
    if (!options.websockets) {
      co_await not_enabled(ex, transport_type::websockets);
      co_return;
    }
    std::shared_ptr<connection> c;
    auto id = req.query_param("id");
    if (id && !id->empty()) {
      c = manager->find(*id);
      if (!c) {
        co_await ex.async_respond(text(404, "No Connection with that ID"));
        co_return;
      }
      if (!co_await owned_by_caller(ex, who, *c)) co_return;
      if (c->stateful() && c->transport() == transport_type::websockets && c->is_started() &&
          !c->handler_done()) {
        // §11: a reconnect of a stateful connection, with the same token.
        co_await serve_bridged(ex, who, c, false);
        co_return;
      }
      if (!c->try_start()) {
        if (c->transport() != transport_type::websockets && c->transport() != transport_type::none)
          co_await ex.async_respond(text(400, "Cannot change transports mid-connection"));
        else
          co_await ex.async_respond(http::response(409));
        co_return;
      }
      if (c->stateful()) {
        co_await serve_bridged(ex, who, c, true);
        co_return;
      }
    } else {
      // Skip negotiation (§2.7): a brand-new connection.
      if (manager->shutting_down()) {
        co_await ex.async_respond(shutting_down());
        co_return;
      }
      c = manager->create(1, options.limits, false);
      c->try_start();
      c->set_owner(user_id_of(who));
    }
    auto ws = co_await ex.async_accept_websocket(true);
    if (!ws) {
      manager->remove(c->token());
      co_return;
    }
    c->attach(transport_type::websockets, req, ex.shard(), ex.get_executor(), ws.get());
    c->set_user(who.principal, who.expires_at);
    auto transport = std::make_shared<websocket_transport>(c, std::move(ws));
    // Both halves end before the connection is removed: the handler (reading) and the
    // transport (writing, then the close handshake).
    auto both = std::make_shared<int>(2);
    auto done = [both, c, m = manager] {
      if (--*both > 0) return;
      c->detach_websocket();
      m->remove(c->token());
    };
    transport->start(done);  // `done` holds no transport: no cycle through on_closed
    // The handler reads from the transport's socket: the transport lives at least as long.
    asio::co_spawn(c->get_executor(), run_handler(handler, c),
                   [done, transport](std::exception_ptr) { done(); });
    // Returns at once: the request's coroutines, its parser and read buffer are freed. An idle
    // connection keeps the handler's read coroutine, and no writer coroutine at all.
  }
};

}  // namespace

std::string negotiate_response_body(const connection& c, const endpoint_options& o,
                                    std::optional<std::int64_t> token_lifetime_seconds) {
  boost::json::object r;
  if (c.stateful()) r["useStatefulReconnect"] = true;
  r["negotiateVersion"] = c.negotiate_version();
  r["connectionId"] = c.id();
  if (c.negotiate_version() >= 1) r["connectionToken"] = c.token();
  boost::json::array transports;
  if (o.websockets)
    transports.push_back(
        boost::json::object{{"transport", "WebSockets"}, {"transferFormats", {"Text", "Binary"}}});
  if (o.server_sent_events)
    transports.push_back(
        boost::json::object{{"transport", "ServerSentEvents"}, {"transferFormats", {"Text"}}});
  if (o.long_polling)
    transports.push_back(
        boost::json::object{{"transport", "LongPolling"}, {"transferFormats", {"Text", "Binary"}}});
  r["availableTransports"] = std::move(transports);
  if (token_lifetime_seconds) r["tokenLifetimeSeconds"] = *token_lifetime_seconds;
  return boost::json::serialize(r);
}

void map_endpoint(http::router& routes, const std::string& path,
                  std::shared_ptr<connection_handler> handler, endpoint_options options,
                  std::shared_ptr<connection_manager> manager) {
  auto ep =
      std::make_shared<endpoint>(endpoint{path, std::move(handler), options, std::move(manager)});
  std::string base = path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  routes.add_exact(base + "/negotiate", [ep](http::exchange& ex) { return ep->negotiate(ex); });
  routes.add_exact(base, [ep](http::exchange& ex) { return ep->serve(ex); });
  if (ep->options.authentication_refresh.enabled)
    routes.add_exact(base + "/refresh", [ep](http::exchange& ex) {
      return serve_authentication_refresh(ex, ep->options, *ep->manager);
    });
}

}  // namespace hubcast::transport
