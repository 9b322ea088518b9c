// hub_connection's start: negotiate (redirects, access tokens, versions), transport selection
// in the server's order with a fallback, the handshake, and the start of a session's loops.
#include <hubcast/client/connection_core.hpp>

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <hubcast/client/http_client.hpp>
#include <hubcast/protocol/text_framing.hpp>

namespace hubcast::client::detail {

std::string with_path_suffix(const std::string& url, std::string_view suffix) {
  boost::urls::url u(*boost::urls::parse_uri(url));
  std::string path(u.encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  u.set_encoded_path(path + std::string(suffix));
  return std::string(u.buffer());
}

namespace {

std::string with_param(const std::string& url, std::string_view key, std::string_view value) {
  boost::urls::url u(*boost::urls::parse_uri(url));
  u.params().set(key, value);
  return std::string(u.buffer());
}

std::string to_ws_scheme(const std::string& url) {
  boost::urls::url u(*boost::urls::parse_uri(url));
  if (u.scheme() == "http") u.set_scheme("ws");
  if (u.scheme() == "https") u.set_scheme("wss");
  return std::string(u.buffer());
}

}  // namespace

bool secure_url(const std::string& url) {
  return url.rfind("https:", 0) == 0 || url.rfind("wss:", 0) == 0;
}

protocol::header_map connection_core::request_headers() const {
  protocol::header_map h = opt.headers;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  return h;
}

asio::awaitable<void> connection_core::refresh_token() {
  if (opt.access_token) {
    std::string t = co_await opt.access_token();
    token = std::move(t);
  }
}

asio::awaitable<connection_core::negotiation> connection_core::negotiate(std::string url) {
  for (int redirects = 0; redirects < 100; ++redirects) {
    std::string neg = with_path_suffix(url, "/negotiate");
    boost::urls::url nu(*boost::urls::parse_uri(neg));
    if (!nu.params().contains("negotiateVersion")) nu.params().set("negotiateVersion", "1");
    if (opt.stateful_reconnect) nu.params().set("useStatefulReconnect", "true");
    auto res = co_await http_request(ex, tls, std::string(nu.buffer()), "POST", request_headers(),
                                     {}, opt.http_timeout);
    if (res.status != 200) {
      std::string what = res.body.empty() ? res.reason : res.body;
      throw connection_error("Failed to complete negotiation with the server: Error: " + what +
                             ": Status code '" + std::to_string(res.status) + "'");
    }
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body, ec);
    if (ec || !v.is_object())
      throw connection_error(
          "Failed to complete negotiation with the server: the response is not a JSON object.");
    auto& o = v.as_object();
    if (o.contains("ProtocolVersion"))
      throw connection_error(
          "Detected a connection attempt to an ASP.NET SignalR Server. This client only "
          "supports connecting to an ASP.NET Core SignalR Server. See "
          "https://aka.ms/signalr-core-differences for details.");
    if (auto e = o.if_contains("error"); e && e->is_string())
      throw connection_error(std::string(e->get_string()));
    if (auto r = o.if_contains("url"); r && r->is_string()) {
      url = std::string(r->get_string());
      if (auto t = o.if_contains("accessToken"); t && t->is_string())
        token = std::string(t->get_string());
      continue;
    }
    negotiation n;
    n.url = url;
    int version = 0;
    if (auto nv = o.if_contains("negotiateVersion"); nv && nv->is_int64())
      version = static_cast<int>(nv->get_int64());
    if (auto id = o.if_contains("connectionId"); id && id->is_string())
      n.connection_id = std::string(id->get_string());
    if (auto t = o.if_contains("connectionToken"); version >= 1 && t && t->is_string())
      n.connection_token = std::string(t->get_string());
    else if (n.connection_id)
      n.connection_token = *n.connection_id;
    if (n.connection_token.empty())
      throw connection_error("Negotiate response did not contain a connection token.");
    n.token_lifetime_seconds = token_lifetime_of(o);
    if (auto s = o.if_contains("useStatefulReconnect"); s && s->is_bool() && s->get_bool()) {
      if (!opt.stateful_reconnect)
        throw connection_error("Client didn't negotiate Stateful Reconnect but the server did.");
      n.stateful = true;
    }
    if (auto ts = o.if_contains("availableTransports"); ts && ts->is_array()) {
      for (auto& t : ts->get_array()) {
        if (!t.is_object()) continue;
        auto name = t.as_object().if_contains("transport");
        if (!name || !name->is_string()) continue;
        std::vector<std::string> formats;
        if (auto f = t.as_object().if_contains("transferFormats"); f && f->is_array())
          for (auto& x : f->get_array())
            if (x.is_string()) formats.emplace_back(x.get_string());
        n.transports.emplace_back(std::string(name->get_string()), std::move(formats));
      }
    }
    co_return n;
  }
  throw connection_error("Negotiate redirection limit exceeded.");
}

// Negotiate (unless skipped), pick and connect a transport, handshake. On success the new
// session's loops are running.
asio::awaitable<void> connection_core::connect_session() {
  co_await refresh_token();
  initial_token_lifetime.reset();
  connection_token.clear();
  bool binary = proto->format() == protocol::transfer_format::binary;
  std::shared_ptr<transport> t;
  std::string errors;
  if (opt.skip_negotiation) {
    if (opt.transports != websockets)
      throw connection_error(
          "Negotiation can only be skipped when using the WebSocket transport directly.");
    std::string url = to_ws_scheme(opt.url);
    t = make_websocket_transport(ex, tls, secure_url(url));
    co_await t->connect(url, request_headers(), binary);
    connection_id.reset();
    transport_url = url;
    stateful = false;
  } else {
    negotiation n = co_await negotiate(opt.url);
    bool first = true;
    for (std::size_t i = 0; i < n.transports.size() && !t; ++i) {
      auto& [name, formats] = n.transports[i];
      unsigned flag = name == "WebSockets"         ? unsigned(websockets)
                      : name == "LongPolling"      ? unsigned(long_polling)
                      : name == "ServerSentEvents" ? unsigned(server_sent_events)
                                                   : 0;
      if (flag == 0 || !(opt.transports & flag) || flag == server_sent_events) continue;
      std::string want = binary ? "Binary" : "Text";
      if (std::find(formats.begin(), formats.end(), want) == formats.end()) {
        errors += "'" + name + "' does not support " + want + ". ";
        continue;
      }
      if (!first) {  // like the official clients: a new negotiate for each further attempt
        co_await refresh_token();
        n = co_await negotiate(opt.url);
      }
      first = false;
      std::string url = with_param(n.url, "id", n.connection_token);
      std::shared_ptr<transport> candidate;
      if (flag == websockets) {
        url = to_ws_scheme(url);
        candidate = make_websocket_transport(ex, tls, secure_url(url));
      } else {
        candidate = make_long_polling_transport(ex, tls, opt.http_timeout);
      }
      try {
        co_await candidate->connect(url, request_headers(), binary);
        t = candidate;
        connection_id = n.connection_id;
        transport_url = url;
        stateful = n.stateful && flag == websockets;
        // Authentication refresh: POST {hub URL after redirects}/refresh with this token.
        refresh_base = n.url;
        connection_token = n.connection_token;
        initial_token_lifetime = n.token_lifetime_seconds;
        if (opt.authentication_refresh) {
          std::weak_ptr<connection_core> weak = weak_from_this();
          std::weak_ptr<transport> self_transport = t;
          t->set_refresh_hook([weak, self_transport]() -> asio::awaitable<bool> {
            auto self = weak.lock();
            if (!self) co_return false;
            try {
              co_await self->refresh_authentication(true);
            } catch (const std::exception&) {
              co_return false;
            }
            // Before the handshake completes this transport is not yet the session's.
            if (auto tr = self_transport.lock()) tr->update_headers(self->request_headers());
            co_return true;
          });
        }
      } catch (const std::exception& e) {
        errors += std::string(e.what()) + " ";
        log(std::string("transport ") + name + " failed: " + e.what());
      }
    }
    if (!t) {
      while (!errors.empty() && errors.back() == ' ') errors.pop_back();
      throw connection_error(
          "Unable to connect to the server with any of the available transports." +
          (errors.empty() ? std::string() : " " + errors));
    }
  }
  co_await handshake(t);
}

asio::awaitable<void> connection_core::handshake(std::shared_ptr<transport> t) {
  std::string request = "{\"protocol\":\"" + std::string(proto->name()) +
                        "\",\"version\":" + (stateful ? "2" : "1") + "}" +
                        protocol::record_separator;
  // A timeout aborts the transport; the pending receive then fails.
  bool timed_out = false;
  asio::steady_timer deadline(ex);
  deadline.expires_after(opt.handshake_timeout);
  deadline.async_wait([t, &timed_out](boost::system::error_code ec) {
    if (!ec) {
      timed_out = true;
      t->abort();
    }
  });
  std::string buffer;
  std::size_t end = std::string::npos;
  try {
    co_await t->send(std::move(request));
    while ((end = buffer.find(protocol::record_separator)) == std::string::npos) {
      auto chunk = co_await t->receive();
      if (!chunk) throw connection_error("The server closed the connection before the handshake.");
      buffer += *chunk;
    }
  } catch (const std::exception& e) {
    deadline.cancel();
    t->abort();
    if (timed_out) throw connection_error("Handshake timed out.");
    throw;
  }
  deadline.cancel();
  boost::system::error_code ec;
  auto v = boost::json::parse(std::string_view(buffer).substr(0, end), ec);
  if (ec || !v.is_object()) {
    t->abort();
    throw connection_error("Server returned an invalid handshake response.");
  }
  if (auto e = v.as_object().if_contains("error"); e && e->is_string()) {
    t->abort();
    throw connection_error("Server returned handshake error: " + std::string(e->get_string()));
  }
  // Whatever followed the response is the first hub data.
  recv_buffer = buffer.substr(end + 1);
  begin_session(std::move(t), /*after_stateful_reconnect=*/false);
}

void connection_core::begin_session(std::shared_ptr<transport> t, bool resumed) {
  tr = std::move(t);
  auto gen = ++generation;
  last_send = last_receive = clock::now();
  if (!resumed) {
    outbox.clear();
    unacked.clear();
    sent_count = 0;
    next_receive_id = 1;
    latest_received = 0;
    ack_due.reset();
    await_sequence = false;
  }
  auto self = shared_from_this();
  auto session = tr;
  bool lp = std::string_view(session->name()) == "LongPolling";
  // co_spawn dispatches (runs inline on this executor): post, so that the loops start after
  // start() or the reconnect has settled the state.
  asio::post(ex, [self, gen, session, lp] {
    asio::co_spawn(
        self->ex, [self, gen, session]() { return self->reader(gen, session); }, asio::detached);
    asio::co_spawn(
        self->ex, [self, gen, session]() { return self->writer(gen, session); }, asio::detached);
    asio::co_spawn(
        self->ex, [self, gen, lp]() { return self->timers(gen, lp); }, asio::detached);
  });
  // Both official clients ping right after the handshake (not on long polling): the server
  // starts its client-timeout clock on the first Ping.
  if (!resumed && !lp) {
    std::string ping;
    proto->write_ping(ping);
    outbox.push_back(std::move(ping));
    outbox_wake.notify_all();
  }
}

}  // namespace hubcast::client::detail
