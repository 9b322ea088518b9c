// The connection side of the hub dispatcher (HubConnectionHandler): the handshake, the read
// loop, OnConnectedAsync, and what the transport reports about a running connection (a
// stateful reconnect, an authentication refresh).
#include <cctype>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include <hubcast/core/log.hpp>
#include <hubcast/dispatch/connection_state.hpp>
#include <hubcast/dispatch/hub_dispatcher.hpp>
#include <hubcast/protocol/handshake.hpp>
#include <hubcast/protocol/hub_protocol.hpp>
#include <hubcast/protocol/text_framing.hpp>

namespace hubcast::dispatch {

namespace asio = boost::asio;
using session::hub_connection;

asio::awaitable<bool> hub_dispatcher::handshake(connection_state& st, std::string& inbuf) {
  auto conn = st.conn;
  auto done = std::make_shared<bool>(false);
  auto timer = std::make_shared<asio::steady_timer>(st.ex, options_.handshake_timeout);
  timer->async_wait([done, conn](boost::system::error_code ec) {
    if (ec || *done) return;
    *done = true;
    conn->set_binary(false);
    conn->try_send(std::make_shared<const std::string>(
        protocol::handshake_failure("Handshake was canceled.")));
    conn->complete();
  });
  auto fail = [&](const std::string& text) {
    *done = true;
    timer->cancel();
    conn->set_binary(false);  // a failed handshake is answered in a Text frame
    conn->try_send(std::make_shared<const std::string>(protocol::handshake_failure(text)));
    conn->complete();
  };
  const std::size_t max = options_.maximum_receive_message_size;
  std::string chunk;
  bool binary = false;
  for (;;) {
    auto ended = co_await conn->async_read(chunk, binary);
    if (ended) {
      *done = true;
      timer->cancel();
      co_return false;
    }
    if (*done) continue;  // failed or timed out: drain until the client goes
    inbuf += chunk;
    auto pos = inbuf.find(protocol::record_separator);
    if (pos == std::string::npos) {
      if (max != 0 && inbuf.size() >= max) fail("Handshake was canceled.");
      continue;
    }
    if (max != 0 && pos + 1 > max) {
      fail("Handshake was canceled.");
      continue;
    }
    auto parsed = protocol::parse_handshake_request(std::string_view(inbuf).substr(0, pos));
    if (auto* err = std::get_if<protocol::handshake_error>(&parsed)) {
      std::string text = "An unexpected error occurred during connection handshake.";
      if (options_.enable_detailed_errors) text += " " + err->detail;
      fail(text);
      continue;
    }
    auto& req = std::get<protocol::handshake_request>(parsed);
    const protocol::hub_protocol* p = protocol::find_protocol(req.protocol);
    if (p && p->id() == protocol::protocol_id::json && !options_.allow_json) p = nullptr;
    if (p && p->id() == protocol::protocol_id::messagepack && !options_.allow_messagepack)
      p = nullptr;
    if (!p) {
      fail("The protocol '" + req.protocol + "' is not supported.");
      continue;
    }
    if (req.version > p->version() || req.version < 0) {
      fail("The server does not support version " + std::to_string(req.version) + " of the '" +
           req.protocol + "' protocol.");
      continue;
    }
    if (p->format() == protocol::transfer_format::binary &&
        conn->transport() == transport::transport_type::server_sent_events) {
      fail("Cannot use the '" + req.protocol +
           "' protocol on the current transport. The transport does not support 'Binary' "
           "transfer format.");
      continue;
    }
    *done = true;
    timer->cancel();
    st.hc->set_protocol(p);
    if (conn->stateful()) {
      // A version-1 handshake turns stateful reconnect off for this connection (§11).
      if (req.version >= 2) {
        st.hc->enable_stateful();
      } else {
        conn->set_stateful(false);
      }
    }
    conn->try_send(std::make_shared<const std::string>(protocol::handshake_success()));
    inbuf.erase(0, pos + 1);
    co_return true;
  }
}

asio::awaitable<void> hub_dispatcher::on_connected(std::shared_ptr<transport::connection> conn) {
  auto st = std::make_shared<connection_state>();
  st->conn = conn;
  st->ex = conn->get_executor();
  st->hc = std::make_shared<hub_connection>(conn, options_);
  st->hc->set_counters(counters_);
  st->hc->set_user(conn->user());
  if (const auto& user = st->hc->user()) {
    if (options_.user_id_provider) {
      st->hc->set_user_identifier(options_.user_id_provider(*user));
    } else if (auto id = user->name_identifier()) {
      st->hc->set_user_identifier(std::string(*id));
    }
  }
  conn->set_coalesce(true);
  // Two plain pointers (kept inside std::function, no allocation per connection), valid while
  // this frame lives: the guard unhooks them when it ends, however it ends.
  conn->set_event_handler(
      [self = this, raw = st.get()](transport::connection::event e) { self->on_event(*raw, e); });
  struct unhook {
    transport::connection& c;
    ~unhook() { c.set_event_handler(nullptr); }
  } unhook_on_exit{*conn};
  std::string inbuf;
  if (!co_await handshake(*st, inbuf)) co_return;

  const bool connected = co_await connect(st);
  // The read loop keeps only what an idle connection needs across its wait: parsing and the
  // messages' handling run in their own coroutine frames (process), freed after each read.
  auto& hc = *st->hc;
  std::string chunk;
  bool binary = false;
  for (;;) {
    if (!hc.closing() && !inbuf.empty()) co_await process(st, inbuf);
    if (hc.closing()) inbuf.clear();
    if (inbuf.empty()) std::string().swap(inbuf);  // no buffer held while idle
    auto ended = co_await conn->async_read(chunk, binary);
    if (ended) {
      // Why the input ended, for OnDisconnectedAsync: none when the client closed (with or
      // without the handshake), as ASP.NET Core; a close with an error already says its own.
      if (!is_graceful_end(ended) && !st->close_error) st->close_error = ended.message();
      break;
    }
    counters_->bytes_received.add(chunk.size());
    hc.on_received(false);
    if (hc.closing()) continue;
    if (inbuf.empty())
      inbuf.swap(chunk);  // the common case: one whole message, no copy
    else
      inbuf.append(chunk);
  }
  co_await disconnect(st, connected);
}

asio::awaitable<bool> hub_dispatcher::connect(std::shared_ptr<connection_state> st) {
  auto& hc = *st->hc;
  // OnConnectedAsync (§10: failure closes without reconnect).
  try {
    auto h = make_hub(*st);
    hub_lifetime_context ctx(*h, def_.name);
    auto op = filters_.connected(ctx);
    co_await std::move(op);
  } catch (const std::exception& e) {
    spdlog::debug("connection {}: on_connected failed: {}", st->conn->id(), log::escape(e.what()));
    hc.close(error_text("Connection closed with an error.", e), false);
    co_return false;
  }
  std::optional<std::string> refused;
  try {
    co_await lifetime_->on_connected(&hc);
  } catch (const std::exception& e) {
    // A backplane that could not subscribe the connection: it could not be reached.
    spdlog::warn("connection {}: the lifetime manager refused it: {}", st->conn->id(),
                 log::escape(e.what()));
    refused = error_text("Connection closed with an error.", e);
  }
  if (refused) {
    try {
      co_await lifetime_->on_disconnected(&hc);
    } catch (const std::exception&) {
    }
    hc.close(*refused, true);
    co_return false;
  }
  heartbeat_.add(&hc);
  st->connected = true;
  co_return true;
}

void hub_dispatcher::on_event(connection_state& st, transport::connection::event e) {
  using event = transport::connection::event;
  switch (e) {
    case event::reconnected:
      if (st.hc->stateful()) st.hc->replay();
      break;
    case event::authentication_refreshed:
      // Invocations from now on see the new principal; running ones keep theirs. The user
      // identifier (Clients.User, the lifetime manager's index) is not re-keyed.
      st.hc->set_user(st.conn->user());
      if (st.connected && !st.hc->closing()) {
        // Serialized with the invocations, as ASP.NET Core does: after the call running now.
        connection_state::pending_call refreshed;
        refreshed.authentication_refreshed = true;
        st.queue.push_back(std::move(refreshed));
        start_worker(st.shared_from_this());
      }
      break;
  }
}

asio::awaitable<void> hub_dispatcher::authentication_refreshed(
    std::shared_ptr<connection_state> st) {
  try {
    auto h = make_hub(*st);
    co_await h->on_authentication_refreshed();
  } catch (const std::exception& e) {
    // Like a failing OnConnectedAsync's neighbours: logged, the connection goes on.
    spdlog::warn("connection {}: on_authentication_refreshed failed: {}", st->conn->id(),
                 log::escape(e.what()));
  }
}

}  // namespace hubcast::dispatch
