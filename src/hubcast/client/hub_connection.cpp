// The public hub_connection: start and stop, state, handlers, and the calls (invoke, send,
// stream, upload streams) on the connection_core (client/connection_core.hpp).
#include <hubcast/client/hub_connection.hpp>

#include <algorithm>
#include <cctype>

#include <hubcast/client/connection_core.hpp>
#include <hubcast/client/http_client.hpp>

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
  while (!s->done) co_await s->wake.async_wait();
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
    co_await s->wake.async_wait();
  }
}

void cancel_stream(const std::shared_ptr<invocation_state>& s) {
  if (s->done || s->cancelled) return;
  s->cancelled = true;
  s->items.clear();
  s->wake.notify_all();
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
  if (detail::secure_url(o.url) || !o.ca_file.empty() || !o.verify_tls_peer)
    core_->tls = make_tls_context(o.verify_tls_peer, o.ca_file);
}

hub_connection::~hub_connection() {
  // Loops hold the core alive; end them.
  core_->stop_requested = true;
  ++core_->generation;
  core_->timer.cancel();
  core_->reconnect_timer.cancel();
  core_->outbox_wake.notify_all();
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
  core->schedule_initial_refresh();
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
    core->outbox_wake.notify_all();
    // Until the writer has taken it (at most a second).
    auto taken = core->outbox_wake.async_wait_for([core] { return core->outbox.empty(); },
                                                  std::chrono::seconds(1));
    co_await std::move(taken);
    ++core->generation;
    core->timer.cancel();
    core->outbox_wake.notify_all();
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

asio::awaitable<std::optional<std::chrono::seconds>> hub_connection::refresh_authentication() {
  auto core = core_;
  co_return co_await core->refresh_authentication();
}

void hub_connection::on_authentication_refreshed(authentication_refreshed_handler h) {
  core_->refreshed_handlers.push_back(std::move(h));
}

void hub_connection::on_authentication_refresh_failed(authentication_refresh_failed_handler h) {
  core_->refresh_failed_handlers.push_back(std::move(h));
}

}  // namespace hubcast::client
