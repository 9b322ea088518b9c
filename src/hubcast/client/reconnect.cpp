// How a session ends: pending calls fail, a stateful connection resumes on a new WebSocket, an
// automatic reconnect follows the policy, or the connection closes.
#include <hubcast/client/connection_core.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace hubcast::client::detail {

void connection_core::fail_pending(const std::string& why) {
  auto all = std::move(pending);
  pending.clear();
  for (auto& [id, s] : all) {
    s->done = true;
    s->connection_error = why;
    s->wake.notify_all();
  }
}

void connection_core::transport_closed(std::uint64_t gen, std::optional<std::string> error,
                                       bool reconnect_allowed, bool resumable) {
  if (gen != generation) return;
  ++generation;  // every loop of this session stops
  timer.cancel();
  outbox_wake.notify_all();
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

void connection_core::lost(std::optional<std::string> error, bool reconnect_allowed) {
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

void connection_core::finish(std::optional<std::string> error) {
  state = connection_state::disconnected;
  cancel_refresh();
  connection_id.reset();
  tr.reset();
  fail_pending(closed_text);
  auto hs = closed_handlers;
  for (auto& h : hs) h(error);
}

// Reopens the same connection (same token, no negotiate, no handshake), then sends Sequence
// and replays what the server has not acknowledged.
asio::awaitable<void> connection_core::stateful_reconnect(std::shared_ptr<connection_core> self,
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

asio::awaitable<void> connection_core::reconnect_loop(std::shared_ptr<connection_core> self,
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
      self->schedule_initial_refresh();
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

}  // namespace hubcast::client::detail
