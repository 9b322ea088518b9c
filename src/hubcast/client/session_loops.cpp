// The loops of one transport session: the reader (parse, dispatch, client results), the
// writer (the outbox in batches) and the timers (keep-alive pings, server timeout, stateful acks).
#include <hubcast/client/connection_core.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace hubcast::client::detail {

asio::awaitable<void> connection_core::reader(std::uint64_t gen, std::shared_ptr<transport> t) {
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
bool connection_core::consume(std::string chunk, std::uint64_t gen, bool& reconnect_allowed,
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
    if (!dispatch(std::move(*step.msg), reconnect_allowed, error)) {
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

bool connection_core::accept_counted() {
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

bool connection_core::dispatch(protocol::hub_message msg, bool& reconnect_allowed,
                               std::optional<std::string>& error) {
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
            it->second->wake.notify_all();
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
            s->wake.notify_all();
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

void connection_core::on_invocation(protocol::invocation_message m) {
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

asio::awaitable<void> connection_core::run_handler(std::shared_ptr<connection_core> self,
                                                   handler_fn h,
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

asio::awaitable<void> connection_core::writer(std::uint64_t gen, std::shared_ptr<transport> t) {
  auto keep = shared_from_this();
  try {
    for (;;) {
      if (gen != generation) co_return;
      if (outbox.empty()) {
        co_await outbox_wake.async_wait();
        continue;
      }
      std::string batch;
      while (!outbox.empty()) {
        batch += outbox.front();
        outbox.pop_front();
      }
      outbox_wake.notify_all();  // a stop() waiting for its Close to be taken
      co_await t->send(std::move(batch));
      last_send = clock::now();
    }
  } catch (const std::exception& e) {
    if (gen == generation) transport_closed(gen, std::string(e.what()), true);
  }
}

asio::awaitable<void> connection_core::timers(std::uint64_t gen, bool long_polling) {
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

}  // namespace hubcast::client::detail
