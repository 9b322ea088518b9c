#include "transport/http_dispatcher.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace hubcast::transport {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

http::response text(int status, std::string body) {
  if (body.empty()) return http::response(status);
  return http::response(status, std::move(body), "text/plain");
}

http::response negotiate_error(std::string message) {
  boost::json::object o;
  o["error"] = message;
  return http::response(200, boost::json::serialize(o), "application/json");
}

struct endpoint {
  std::string path;
  std::shared_ptr<connection_handler> handler;
  endpoint_options options;
  std::shared_ptr<connection_manager> manager;

  // Authenticates and authorizes one request ([Authorize] runs on every request of the
  // connection, not only negotiate). Answers 401/403 itself and returns false when refused.
  asio::awaitable<bool> admit(http::exchange& ex, auth::authentication_result& out) {
    if (!options.authenticate) co_return true;
    out = options.authenticate(ex.req());
    if (out.token_present && !out.authenticated)
      spdlog::debug("{} {}: token refused: {}", ex.req().method,
                    http::redact_target(ex.req().target), out.error);
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

  asio::awaitable<void> negotiate(http::exchange& ex) {
    const auto& req = ex.req();
    if (req.method != "POST") {
      co_await ex.async_respond(text(405, ""));
      co_return;
    }
    auth::authentication_result who;
    if (!co_await admit(ex, who)) co_return;
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
    http::response r(200, negotiate_response_body(*c, options), "application/json");
    co_await ex.async_respond(std::move(r));
  }

  asio::awaitable<void> serve(http::exchange& ex) {
    const auto& req = ex.req();
    auth::authentication_result who;
    if (!co_await admit(ex, who)) co_return;
    if (req.method == "GET") {
      auto accept = req.header("Accept");
      if (accept && accept->find("text/event-stream") != std::string_view::npos) {
        co_await ex.async_respond(
            text(404, "ServerSentEvents transport not supported by this end point type"));
        co_return;
      }
      if (req.websocket_upgrade) {
        co_await serve_websocket(ex, who);
        co_return;
      }
      auto id = req.query_param("id");
      if (!id || id->empty()) {
        co_await ex.async_respond(text(400, "Connection ID required"));
        co_return;
      }
      co_await ex.async_respond(
          text(404, "LongPolling transport not supported by this end point type"));
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
      if (req.method == "POST" && c->transport() == transport_type::websockets) {
        co_await ex.async_respond(
            text(405, "POST requests are not allowed for WebSocket connections."));
        co_return;
      }
      if (req.method == "DELETE" && c->transport() != transport_type::long_polling) {
        co_await ex.async_respond(
            text(400, "Cannot terminate this connection using the DELETE endpoint."));
        co_return;
      }
      co_await ex.async_respond(text(404, "No Connection with that ID"));
      co_return;
    }
    co_await ex.async_respond(text(405, ""));
  }

  asio::awaitable<void> serve_websocket(http::exchange& ex,
                                        const auth::authentication_result& who) {
    const auto& req = ex.req();
    if (!options.websockets) {
      co_await ex.async_respond(
          text(404, "WebSockets transport not supported by this end point type"));
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
      if (c->started.exchange(true)) {
        if (c->transport() != transport_type::websockets && c->transport() != transport_type::none)
          co_await ex.async_respond(text(400, "Cannot change transports mid-connection"));
        else
          co_await ex.async_respond(http::response(409));
        co_return;
      }
    } else {
      // Skip negotiation (§2.7): a brand-new connection.
      c = manager->create(1, options.limits);
      c->started = true;
    }
    auto ws = co_await ex.async_accept_websocket();
    if (!ws) {
      manager->remove(c->token());
      co_return;
    }
    c->attach(transport_type::websockets, req, ex.shard(), ex.get_executor(), ws.get());
    c->set_user(who.principal, who.expires_at);
    auto h = handler;
    auto run_handler = [c, h]() -> asio::awaitable<void> {
      try {
        co_await h->on_connected(c);
      } catch (const std::exception& e) {
        spdlog::error("connection {}: handler failed: {}", c->id(), e.what());
        c->abort();
      }
      c->complete();
    };
    co_await (run_handler() && c->run_websocket_writer());
    c->detach_websocket();
    manager->remove(c->token());
  }
};

}  // namespace

std::string negotiate_response_body(const connection& c, const endpoint_options& o) {
  boost::json::object r;
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
}

}  // namespace hubcast::transport
