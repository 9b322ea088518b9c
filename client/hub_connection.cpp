// The client's connection core: negotiate and transport selection, handshake, the read, write
// and timer loops of one transport session, dispatch of server messages, reconnects.
#include "client/hub_connection.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "client/http_client.hpp"
#include "client/transport.hpp"
#include "protocol/text_framing.hpp"

namespace hubcast::client {

const char* to_string(connection_state s) {
  switch (s) {
    case connection_state::disconnected:
      return "Disconnected";
    case connection_state::connecting:
      return "Connecting";
    case connection_state::connected:
      return "Connected";
    case connection_state::reconnecting:
      return "Reconnecting";
    case connection_state::disconnecting:
      return "Disconnecting";
  }
  return "?";
}

reconnect_policy default_reconnect_policy(std::vector<duration> delays) {
  return [delays = std::move(delays)](const retry_context& c) -> std::optional<duration> {
    if (c.previous_retry_count >= delays.size()) return std::nullopt;
    return delays[c.previous_retry_count];
  };
}

namespace detail {

using clock = std::chrono::steady_clock;
constexpr const char* closed_text =
    "Invocation canceled due to the underlying connection being closed.";

// A wake-up for one waiter at a time on a single-threaded executor: waiters re-check their
// condition, so a notify with nobody waiting is never lost.
class signal {
 public:
  explicit signal(asio::any_io_executor ex) : timer_(ex) {
    timer_.expires_at(asio::steady_timer::time_point::max());
  }
  void notify() { timer_.cancel(); }
  asio::awaitable<void> wait() { co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable)); }

 private:
  asio::steady_timer timer_;
};

struct invocation_state {
  invocation_state(asio::any_io_executor ex) : wake(ex) {}
  std::weak_ptr<connection_core> core;
  call_kind kind = call_kind::invoke;
  std::string id;
  bool done = false;
  bool cancelled = false;
  std::optional<std::string> hub_error;         // Completion with error
  std::optional<std::string> connection_error;  // never sent, or closed before completion
  protocol::raw_value result;
  std::deque<protocol::raw_value> items;
  signal wake;
};

struct ci_less {
  bool operator()(const std::string& a, const std::string& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
      return std::tolower(static_cast<unsigned char>(x)) <
             std::tolower(static_cast<unsigned char>(y));
    });
  }
};

class connection_core : public std::enable_shared_from_this<connection_core> {
 public:
  connection_core(asio::any_io_executor ex, connection_options o)
      : ex(ex),
        opt(std::move(o)),
        proto(&protocol::protocol_by_id(opt.protocol)),
        outbox_wake(ex),
        timer(ex),
        reconnect_timer(ex) {}

  asio::any_io_executor ex;
  connection_options opt;
  const protocol::hub_protocol* proto;
  std::shared_ptr<asio::ssl::context> tls;
  connection_state state = connection_state::disconnected;
  std::shared_ptr<transport> tr;
  std::uint64_t generation = 0;  // one per transport session; stale loops see a newer one
  std::optional<std::string> connection_id;
  std::string transport_url;  // with id: the URL a stateful reconnect reopens
  std::string token;
  bool stateful = false;
  bool stop_requested = false;

  std::uint64_t next_id = 0;
  std::unordered_map<std::string, std::shared_ptr<invocation_state>> pending;
  std::map<std::string, std::vector<handler_fn>, ci_less> handlers;
  std::vector<closed_handler> closed_handlers, reconnecting_handlers;
  std::vector<reconnected_handler> reconnected_handlers;

  std::deque<std::string> outbox;
  signal outbox_wake;
  std::string recv_buffer;
  clock::time_point last_send, last_receive;
  asio::steady_timer timer;
  asio::steady_timer reconnect_timer;

  // Stateful reconnect (both directions counted independently; signalr-protocol.md §11).
  std::deque<std::pair<std::int64_t, std::string>> unacked;
  std::int64_t sent_count = 0;
  std::int64_t next_receive_id = 1;
  std::int64_t latest_received = 0;
  std::optional<clock::time_point> ack_due;
  bool await_sequence = false;

  void log(const std::string& text) const {
    if (opt.log) opt.log(text);
  }

  // --- sending ---------------------------------------------------------------------------
  static bool counted(protocol::message_type t) {
    using mt = protocol::message_type;
    return t == mt::invocation || t == mt::stream_item || t == mt::completion ||
           t == mt::stream_invocation || t == mt::cancel_invocation;
  }
  void enqueue(std::string bytes, bool is_counted) {
    if (stateful && is_counted) unacked.emplace_back(++sent_count, bytes);
    outbox.push_back(std::move(bytes));
    outbox_wake.notify();
  }
  bool can_send() const { return state == connection_state::connected; }

  // --- start ------------------------------------------------------------------------------
  std::string http_base() const {
    auto parsed = boost::urls::parse_uri(opt.url);
    if (!parsed) throw connection_error("Invalid URL '" + opt.url + "'.");
    return opt.url;
  }

  protocol::header_map request_headers() const {
    protocol::header_map h = opt.headers;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    return h;
  }

  static std::string with_path_suffix(const std::string& url, std::string_view suffix) {
    boost::urls::url u(*boost::urls::parse_uri(url));
    std::string path(u.encoded_path());
    while (!path.empty() && path.back() == '/') path.pop_back();
    u.set_encoded_path(path + std::string(suffix));
    return std::string(u.buffer());
  }
  static std::string with_param(const std::string& url, std::string_view key,
                                std::string_view value) {
    boost::urls::url u(*boost::urls::parse_uri(url));
    u.params().set(key, value);
    return std::string(u.buffer());
  }
  static std::string to_ws_scheme(const std::string& url) {
    boost::urls::url u(*boost::urls::parse_uri(url));
    if (u.scheme() == "http") u.set_scheme("ws");
    if (u.scheme() == "https") u.set_scheme("wss");
    return std::string(u.buffer());
  }
  static bool secure_url(const std::string& url) {
    return url.rfind("https:", 0) == 0 || url.rfind("wss:", 0) == 0;
  }

  struct negotiation {
    std::string url;  // the hub URL after redirects
    std::optional<std::string> connection_id;
    std::string connection_token;
    bool stateful = false;
    std::vector<std::pair<std::string, std::vector<std::string>>> transports;
  };

  asio::awaitable<negotiation> negotiate(std::string url) {
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

  asio::awaitable<void> refresh_token() {
    if (opt.access_token) {
      std::string t = co_await opt.access_token();
      token = std::move(t);
    }
  }

  // Negotiate (unless skipped), pick and connect a transport, handshake. On success the new
  // session's loops are running.
  asio::awaitable<void> connect_session() {
    co_await refresh_token();
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

  asio::awaitable<void> handshake(std::shared_ptr<transport> t) {
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
        if (!chunk)
          throw connection_error("The server closed the connection before the handshake.");
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

  void begin_session(std::shared_ptr<transport> t, bool resumed) {
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
      outbox_wake.notify();
    }
  }

  // --- the loops of one session -------------------------------------------------------------
  asio::awaitable<void> reader(std::uint64_t gen, std::shared_ptr<transport> t) {
    auto keep = shared_from_this();
    std::optional<std::string> error;
    bool reconnect_allowed = true;
    try {
      if (!recv_buffer.empty()) {
        std::string first = std::move(recv_buffer);
        recv_buffer.clear();
        if (!consume(std::move(first), gen, reconnect_allowed, error)) co_return;
      }
      for (;;) {
        auto chunk = co_await t->receive();
        if (gen != generation) co_return;
        if (!chunk) {
          // The server ended the connection without a Close message.
          break;
        }
        last_receive = clock::now();
        if (!consume(std::move(*chunk), gen, reconnect_allowed, error)) co_return;
      }
    } catch (const std::exception& e) {
      if (gen != generation) co_return;
      error = e.what();
    }
    transport_closed(gen, std::move(error), reconnect_allowed);
  }

  // Parses and dispatches; false when the session ended (Close, protocol error).
  bool consume(std::string chunk, std::uint64_t gen, bool& reconnect_allowed,
               std::optional<std::string>& error) {
    recv_buffer += chunk;
    std::string_view view(recv_buffer);
    for (;;) {
      auto step = proto->parse_next(view, 0);
      if (step.kind == protocol::parse_step::need_more) break;
      if (step.kind == protocol::parse_step::ignored) continue;
      if (step.kind != protocol::parse_step::message) {
        recv_buffer.clear();
        transport_closed(gen, "Invalid message from the server: " + step.error, true);
        return false;
      }
      if (!dispatch(std::move(*step.msg), gen, reconnect_allowed, error)) {
        recv_buffer.clear();
        // A Close message ends the connection on the server: nothing to resume.
        transport_closed(gen, std::move(error), reconnect_allowed, /*resumable=*/false);
        return false;
      }
      if (gen != generation) return false;
    }
    recv_buffer.erase(0, recv_buffer.size() - view.size());
    return true;
  }

  bool accept_counted() {
    if (!stateful) return true;
    std::int64_t current = next_receive_id++;
    if (current <= latest_received) return false;  // a duplicate replayed after a reconnect
    latest_received = current;
    if (!ack_due) {
      ack_due = clock::now() + std::chrono::seconds(1);
      timer.cancel();  // re-arm at the earlier deadline
    }
    return true;
  }

  bool dispatch(protocol::hub_message msg, std::uint64_t gen, bool& reconnect_allowed,
                std::optional<std::string>& error) {
    (void)gen;
    if (await_sequence && !std::holds_alternative<protocol::sequence_message>(msg) &&
        !std::holds_alternative<protocol::ping_message>(msg))
      await_sequence = false;  // the server had nothing to replay
    return std::visit(
        [&](auto& m) -> bool {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, protocol::invocation_message>) {
            if (accept_counted()) on_invocation(std::move(m));
          } else if constexpr (std::is_same_v<M, protocol::stream_item_message>) {
            if (!accept_counted()) return true;
            auto it = pending.find(m.invocation_id);
            if (it != pending.end() && it->second->kind == call_kind::stream &&
                !it->second->cancelled) {
              it->second->items.push_back(std::move(m.item));
              it->second->wake.notify();
            }
          } else if constexpr (std::is_same_v<M, protocol::completion_message>) {
            if (!accept_counted()) return true;
            auto it = pending.find(m.invocation_id);
            if (it != pending.end()) {
              auto s = it->second;
              pending.erase(it);
              s->done = true;
              s->hub_error = std::move(m.error);
              if (m.has_result) s->result = std::move(m.result);
              s->wake.notify();
            }
          } else if constexpr (std::is_same_v<M, protocol::close_message>) {
            reconnect_allowed = m.allow_reconnect;
            if (m.error) error = "Server returned an error on close: " + *m.error;
            return false;
          } else if constexpr (std::is_same_v<M, protocol::ack_message>) {
            while (!unacked.empty() && unacked.front().first <= m.sequence_id) unacked.pop_front();
          } else if constexpr (std::is_same_v<M, protocol::sequence_message>) {
            if (m.sequence_id > next_receive_id) {
              error = "Sequence ID greater than amount of messages we've received.";
              return false;
            }
            next_receive_id = m.sequence_id;
            await_sequence = false;
          }
          // Ping: only resets the server timeout (done on receipt).
          return true;
        },
        msg);
  }

  void on_invocation(protocol::invocation_message m) {
    auto it = handlers.find(m.target);
    std::vector<handler_fn> hs;
    if (it != handlers.end()) hs = it->second;
    if (!m.invocation_id) {
      if (hs.empty()) log("No client method with the name '" + m.target + "' found.");
      for (auto& h : hs) {
        auto self = shared_from_this();
        auto args = m.arguments;
        asio::co_spawn(ex, run_handler(self, h, std::move(args), m.target, std::nullopt),
                       asio::detached);
      }
      return;
    }
    if (hs.empty()) {
      std::string out;
      proto->write_completion_error(out, *m.invocation_id, "Client didn't provide a result.");
      enqueue(std::move(out), true);
      return;
    }
    // The last registered handler answers (the others still run).
    for (std::size_t i = 0; i + 1 < hs.size(); ++i) {
      auto self = shared_from_this();
      auto args = m.arguments;
      asio::co_spawn(ex, run_handler(self, hs[i], std::move(args), m.target, std::nullopt),
                     asio::detached);
    }
    auto self = shared_from_this();
    asio::co_spawn(ex,
                   run_handler(self, hs.back(), std::move(m.arguments), m.target, *m.invocation_id),
                   asio::detached);
  }

  static asio::awaitable<void> run_handler(std::shared_ptr<connection_core> self, handler_fn h,
                                           std::vector<protocol::raw_value> args,
                                           std::string target,
                                           std::optional<std::string> reply_id) {
    std::optional<handler_result> result;
    std::optional<std::string> failure;
    try {
      handler_result r = co_await h(std::move(args));
      result = std::move(r);
    } catch (const std::exception& e) {
      failure = e.what();
      self->log("A callback for the method '" + target + "' threw error '" + e.what() + "'.");
    }
    if (!reply_id || !self->can_send()) co_return;
    std::string out;
    if (failure)
      self->proto->write_completion_error(out, *reply_id, "Error: " + *failure);
    else if (!result->has_value)
      self->proto->write_completion_error(out, *reply_id, "Client didn't provide a result.");
    else
      self->proto->write_completion_result(out, *reply_id, result->value, self->opt.encoding);
    self->enqueue(std::move(out), true);
  }

  asio::awaitable<void> writer(std::uint64_t gen, std::shared_ptr<transport> t) {
    auto keep = shared_from_this();
    try {
      for (;;) {
        if (gen != generation) co_return;
        if (outbox.empty()) {
          co_await outbox_wake.wait();
          continue;
        }
        std::string batch;
        while (!outbox.empty()) {
          batch += outbox.front();
          outbox.pop_front();
        }
        co_await t->send(std::move(batch));
        last_send = clock::now();
      }
    } catch (const std::exception& e) {
      if (gen == generation) transport_closed(gen, std::string(e.what()), true);
    }
  }

  asio::awaitable<void> timers(std::uint64_t gen, bool long_polling) {
    auto keep = shared_from_this();
    while (gen == generation) {
      auto now = clock::now();
      if (!long_polling && now - last_receive >= opt.server_timeout) {
        transport_closed(gen, "Server timeout elapsed without receiving a message from the server.",
                         true);
        co_return;
      }
      if (!long_polling && now - last_send >= opt.keep_alive_interval && outbox.empty()) {
        std::string ping;
        proto->write_ping(ping);
        enqueue(std::move(ping), false);
        last_send = now;  // the writer updates it again when sent
      }
      if (ack_due && now >= *ack_due) {
        ack_due.reset();
        std::string ack;
        proto->write_ack(ack, latest_received);
        enqueue(std::move(ack), false);
      }
      auto next = last_send + opt.keep_alive_interval;
      if (!long_polling) next = std::min(next, last_receive + opt.server_timeout);
      if (ack_due) next = std::min(next, *ack_due);
      timer.expires_at(std::max(next, now + std::chrono::milliseconds(1)));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  // --- endings ------------------------------------------------------------------------------
  void fail_pending(const std::string& why) {
    auto all = std::move(pending);
    pending.clear();
    for (auto& [id, s] : all) {
      s->done = true;
      s->connection_error = why;
      s->wake.notify();
    }
  }

  void transport_closed(std::uint64_t gen, std::optional<std::string> error, bool reconnect_allowed,
                        bool resumable = true) {
    if (gen != generation) return;
    ++generation;  // every loop of this session stops
    timer.cancel();
    outbox_wake.notify();
    if (tr) tr->abort();
    if (state == connection_state::disconnecting || stop_requested) return;
    if (error) log("Connection lost: " + *error);
    auto self = shared_from_this();
    if (stateful && resumable && state == connection_state::connected) {
      asio::co_spawn(ex, stateful_reconnect(self, error), asio::detached);
      return;
    }
    lost(std::move(error), reconnect_allowed);
  }

  void lost(std::optional<std::string> error, bool reconnect_allowed) {
    fail_pending(closed_text);
    outbox.clear();
    if (opt.reconnect && reconnect_allowed && state == connection_state::connected) {
      state = connection_state::reconnecting;
      for (auto& h : reconnecting_handlers) h(error);
      asio::co_spawn(ex, reconnect_loop(shared_from_this(), error), asio::detached);
      return;
    }
    finish(std::move(error));
  }

  void finish(std::optional<std::string> error) {
    state = connection_state::disconnected;
    connection_id.reset();
    tr.reset();
    fail_pending(closed_text);
    auto hs = closed_handlers;
    for (auto& h : hs) h(error);
  }

  // Reopens the same connection (same token, no negotiate, no handshake), then sends Sequence
  // and replays what the server has not acknowledged.
  static asio::awaitable<void> stateful_reconnect(std::shared_ptr<connection_core> self,
                                                  std::optional<std::string> error) {
    const duration delays[] = {duration{0}, duration{1000}, duration{2000}};
    for (auto delay : delays) {
      if (delay.count() > 0) {
        self->reconnect_timer.expires_after(delay);
        co_await self->reconnect_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      if (self->stop_requested || self->state != connection_state::connected) co_return;
      try {
        co_await self->refresh_token();
        bool binary = self->proto->format() == protocol::transfer_format::binary;
        auto t = make_websocket_transport(self->ex, self->tls, secure_url(self->transport_url));
        co_await t->connect(self->transport_url, self->request_headers(), binary);
        if (self->stop_requested || self->state != connection_state::connected) {
          t->abort();
          co_return;
        }
        self->log("Stateful reconnect: the connection resumed.");
        self->outbox.clear();
        std::string seq;
        self->proto->write_sequence(
            seq, self->unacked.empty() ? self->sent_count + 1 : self->unacked.front().first);
        self->outbox.push_back(std::move(seq));
        for (auto& [id, bytes] : self->unacked) self->outbox.push_back(bytes);
        self->recv_buffer.clear();
        self->await_sequence = true;
        self->begin_session(std::move(t), /*resumed=*/true);
        co_return;
      } catch (const std::exception& e) {
        self->log(std::string("Stateful reconnect attempt failed: ") + e.what());
      }
    }
    self->stateful = false;
    self->lost(std::move(error), true);
  }

  static asio::awaitable<void> reconnect_loop(std::shared_ptr<connection_core> self,
                                              std::optional<std::string> error) {
    auto started = clock::now();
    retry_context ctx;
    ctx.retry_reason = error.value_or("");
    for (;;) {
      ctx.elapsed = std::chrono::duration_cast<duration>(clock::now() - started);
      auto delay = self->opt.reconnect(ctx);
      if (!delay) {
        self->log("Reconnect retries have been exhausted.");
        if (self->state == connection_state::reconnecting) self->finish(std::move(error));
        co_return;
      }
      self->reconnect_timer.expires_after(*delay);
      co_await self->reconnect_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (self->state != connection_state::reconnecting) co_return;  // stopped meanwhile
      try {
        co_await self->connect_session();
        if (self->state != connection_state::reconnecting) {
          ++self->generation;
          if (self->tr) self->tr->abort();
          co_return;
        }
        self->state = connection_state::connected;
        auto hs = self->reconnected_handlers;
        for (auto& h : hs) h(self->connection_id);
        co_return;
      } catch (const std::exception& e) {
        self->log(std::string("Reconnect attempt failed: ") + e.what());
        ctx.retry_reason = e.what();
        error = e.what();
        ++ctx.previous_retry_count;
        if (self->state != connection_state::reconnecting) co_return;
      }
    }
  }
};

// --- calls --------------------------------------------------------------------------------

std::shared_ptr<invocation_state> start_call(const std::shared_ptr<connection_core>& core,
                                             call_kind kind, std::string method,
                                             protocol::payload args,
                                             std::vector<std::shared_ptr<upload_state>> uploads) {
  auto s = std::make_shared<invocation_state>(core->ex);
  s->core = core;
  s->kind = kind;
  if (!core->can_send()) {
    s->done = true;
    s->connection_error = "Cannot send data if the connection is not in the 'Connected' State.";
    return s;
  }
  std::vector<std::string> stream_ids;
  for (auto& u : uploads) {
    u->core = core;
    u->id = std::to_string(core->next_id++);
    stream_ids.push_back(u->id);
  }
  std::optional<std::string_view> id;
  if (kind != call_kind::send) {
    s->id = std::to_string(core->next_id++);
    id = s->id;
    core->pending.emplace(s->id, s);
  }
  std::string out;
  core->proto->write_client_invocation(out, kind == call_kind::stream, method, args, id, stream_ids,
                                       core->opt.encoding);
  core->enqueue(std::move(out), true);
  if (kind == call_kind::send) s->done = true;
  return s;
}

asio::awaitable<protocol::raw_value> await_result(std::shared_ptr<invocation_state> s) {
  while (!s->done) co_await s->wake.wait();
  if (s->connection_error) throw connection_error(*s->connection_error);
  if (s->hub_error) throw hub_exception(*s->hub_error);
  co_return std::move(s->result);
}

asio::awaitable<std::optional<protocol::raw_value>> next_item(std::shared_ptr<invocation_state> s) {
  if (!s) co_return std::nullopt;
  for (;;) {
    if (!s->items.empty()) {
      protocol::raw_value v = std::move(s->items.front());
      s->items.pop_front();
      co_return std::optional<protocol::raw_value>(std::move(v));
    }
    if (s->cancelled) co_return std::nullopt;
    if (s->done) {
      if (s->connection_error) throw connection_error(*s->connection_error);
      if (s->hub_error) throw hub_exception(*s->hub_error);
      co_return std::nullopt;
    }
    co_await s->wake.wait();
  }
}

void cancel_stream(const std::shared_ptr<invocation_state>& s) {
  if (s->done || s->cancelled) return;
  s->cancelled = true;
  s->items.clear();
  s->wake.notify();
  auto core = s->core.lock();
  if (!core) return;
  core->pending.erase(s->id);
  if (!core->can_send()) return;
  std::string out;
  core->proto->write_cancel_invocation(out, s->id);
  core->enqueue(std::move(out), true);
}

void upload_write(const std::shared_ptr<upload_state>& u, protocol::payload item) {
  auto core = u->core.lock();
  if (!core || u->id.empty())
    throw std::logic_error("pass the upload_stream to invoke/send/stream before writing to it");
  if (u->completed) throw std::logic_error("the upload stream is already complete");
  if (!core->can_send())
    throw connection_error("Cannot send data if the connection is not in the 'Connected' State.");
  std::string out;
  core->proto->write_stream_item(out, u->id, item, core->opt.encoding);
  core->enqueue(std::move(out), true);
}

void upload_complete(const std::shared_ptr<upload_state>& u, std::optional<std::string> error) {
  auto core = u->core.lock();
  if (!core || u->id.empty() || u->completed) return;
  u->completed = true;
  if (!core->can_send()) return;
  std::string out;
  if (error)
    core->proto->write_completion_error(out, u->id, *error);
  else
    core->proto->write_completion_void(out, u->id);
  core->enqueue(std::move(out), true);
}

asio::awaitable<void> ready() {
  co_return;
}

void add_handler(connection_core& core, std::string method, handler_fn fn) {
  core.handlers[std::move(method)].push_back(std::move(fn));
}

}  // namespace detail

// --- hub_connection ---------------------------------------------------------------------------

hub_connection::hub_connection(asio::any_io_executor ex, connection_options options)
    : core_(std::make_shared<detail::connection_core>(ex, std::move(options))) {
  auto& o = core_->opt;
  bool secure = o.url.rfind("https:", 0) == 0 || o.url.rfind("wss:", 0) == 0;
  if (secure || !o.ca_file.empty() || !o.verify_tls_peer)
    core_->tls = make_tls_context(o.verify_tls_peer, o.ca_file);
}

hub_connection::~hub_connection() {
  // Loops hold the core alive; end them.
  core_->stop_requested = true;
  ++core_->generation;
  core_->timer.cancel();
  core_->reconnect_timer.cancel();
  core_->outbox_wake.notify();
  if (core_->tr) core_->tr->abort();
  core_->fail_pending(detail::closed_text);
}

asio::awaitable<void> hub_connection::start() {
  auto core = core_;
  if (core->state != connection_state::disconnected)
    throw connection_error("Cannot start a HubConnection that is not in the 'Disconnected' state.");
  core->state = connection_state::connecting;
  core->stop_requested = false;
  std::optional<std::string> failure;
  try {
    co_await core->connect_session();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (core->stop_requested) {
    ++core->generation;
    if (core->tr) core->tr->abort();
    core->state = connection_state::disconnected;
    throw connection_error("The connection was stopped during negotiation.");
  }
  if (failure) {
    core->state = connection_state::disconnected;
    core->tr.reset();
    throw connection_error(*failure);
  }
  core->state = connection_state::connected;
}

asio::awaitable<void> hub_connection::stop() {
  auto core = core_;
  if (core->state == connection_state::disconnected) co_return;
  core->stop_requested = true;
  if (core->state == connection_state::connecting) co_return;  // start() sees the flag
  if (core->state == connection_state::reconnecting) {
    core->reconnect_timer.cancel();
    core->finish(std::nullopt);
    co_return;
  }
  core->state = connection_state::disconnecting;
  auto t = core->tr;
  if (t) {
    // A Close message first, like the official clients, then the transport's own close.
    std::string close;
    core->proto->write_close(close, std::nullopt, false);
    core->outbox.push_back(std::move(close));
    core->outbox_wake.notify();
    asio::steady_timer wait(core->ex);
    for (int i = 0; i < 100 && !core->outbox.empty(); ++i) {
      wait.expires_after(std::chrono::milliseconds(10));
      co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    ++core->generation;
    core->timer.cancel();
    core->outbox_wake.notify();
    try {
      co_await t->stop();
    } catch (const std::exception&) {
    }
    t->abort();
  }
  core->finish(std::nullopt);
}

connection_state hub_connection::state() const {
  return core_->state;
}
std::optional<std::string> hub_connection::connection_id() const {
  return core_->connection_id;
}
std::string hub_connection::transport_name() const {
  return core_->tr && core_->state == connection_state::connected ? core_->tr->name() : "";
}
void hub_connection::remove(const std::string& method) {
  core_->handlers.erase(method);
}
void hub_connection::on_closed(closed_handler h) {
  core_->closed_handlers.push_back(std::move(h));
}
void hub_connection::on_reconnecting(closed_handler h) {
  core_->reconnecting_handlers.push_back(std::move(h));
}
void hub_connection::on_reconnected(reconnected_handler h) {
  core_->reconnected_handlers.push_back(std::move(h));
}

}  // namespace hubcast::client
