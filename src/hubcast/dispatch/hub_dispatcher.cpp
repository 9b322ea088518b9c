#include <hubcast/core/ascii.hpp>
#include <hubcast/dispatch/hub_dispatcher.hpp>

#include <hubcast/core/log.hpp>

#include <cctype>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hubcast/core/fifo.hpp>
#include <hubcast/dispatch/connection_state.hpp>
#include <hubcast/protocol/handshake.hpp>
#include <hubcast/protocol/hub_protocol.hpp>
#include <hubcast/protocol/text_framing.hpp>
#include <hubcast/session/hub_connection.hpp>

namespace hubcast::dispatch {

namespace asio = boost::asio;
using protocol::hub_message;
using session::hub_connection;

namespace {

std::string lower(std::string_view s) {
  return ascii::to_lower(s);
}

std::string unauthorized_text(const std::string& target) {
  return "Failed to invoke '" + target + "' because user is unauthorized";
}

}  // namespace

hub_dispatcher::hub_dispatcher(hub_definition def, const hub_options& options,
                               std::shared_ptr<lifetime::hub_lifetime_manager> lifetime)
    : def_(std::move(def)),
      options_(options),
      lifetime_(std::move(lifetime)),
      heartbeat_(lifetime_->shards()),
      counters_(&metrics::hub_counters::of(def_.name)) {
  for (const auto& m : def_.methods) by_name_[lower(m.name)] = &m;
}

hub_dispatcher::~hub_dispatcher() = default;

const detail::method_descriptor* hub_dispatcher::find(std::string_view name) const {
  auto it = by_name_.find(lower(name));
  return it == by_name_.end() ? nullptr : it->second;
}

std::string hub_dispatcher::error_text(const std::string& prefix, const std::exception& e) const {
  // §7.3: HubException messages always pass; others only with DetailedErrors.
  if (dynamic_cast<const hub_exception*>(&e) || options_.enable_detailed_errors)
    return prefix + " " + describe_exception(e);
  return prefix;
}

std::unique_ptr<hub> hub_dispatcher::make_hub(connection_state& st) {
  auto h = def_.factory();
  h->bind_caller(st.hc, lifetime_.get());
  return h;
}

asio::awaitable<void> hub_dispatcher::process(std::shared_ptr<connection_state> st,
                                              std::string& inbuf) {
  auto& hc = *st->hc;
  const auto* proto = hc.protocol();
  const std::size_t max = options_.maximum_receive_message_size;
  std::string_view view(inbuf);
  while (!hc.closing()) {
    auto step = proto->parse_next(view, max);
    if (step.kind == protocol::parse_step::need_more) break;
    counters_->messages_received.add();
    if (step.kind == protocol::parse_step::ignored) continue;
    if (step.kind == protocol::parse_step::too_large ||
        step.kind == protocol::parse_step::invalid) {
      std::string detail =
          step.kind == protocol::parse_step::too_large
              ? "InvalidDataException: The maximum message size of " + std::to_string(max) +
                    "B was exceeded. The message size can be configured in AddHubOptions."
              : "InvalidDataException: " + step.error;
      std::string text = "Connection closed with an error.";
      if (options_.enable_detailed_errors) text += " " + detail;
      st->close_error = detail;
      hc.close(text, true);
      break;
    }
    co_await handle(st, *step.msg);
  }
  inbuf.erase(0, inbuf.size() - view.size());
}

asio::awaitable<void> hub_dispatcher::disconnect(std::shared_ptr<connection_state> st,
                                                 bool connected) {
  // Cleanup: the client is gone (or the transport ended after our Close).
  auto& hc = *st->hc;
  st->reader_done = true;
  st->connected = false;  // no authentication-refreshed callback after this
  st->queue.clear();
  // The connection is gone: every invocation's token says so (ConnectionAborted).
  for (auto& [id, c] : st->cancellations) c->cancel();
  st->cancellations.clear();
  for (auto& [id, s] : st->streams) s->cancel();
  for (auto& [id, u] : st->uploads) u->complete(std::string("The connection was closed."));
  if (connected) {
    heartbeat_.remove(&hc);
    try {
      co_await lifetime_->on_disconnected(&hc);
    } catch (const std::exception& e) {
      spdlog::warn("connection {}: the lifetime manager failed to remove it: {}", st->conn->id(),
                   log::escape(e.what()));
    }
    try {
      auto h = make_hub(*st);
      hub_lifetime_context ctx(*h, def_.name);
      auto op = filters_.disconnected(ctx, st->close_error);
      co_await std::move(op);
    } catch (const std::exception& e) {
      spdlog::warn("connection {}: on_disconnected failed: {}", st->conn->id(),
                   log::escape(e.what()));
    }
  }
  hc.close(std::nullopt, false);
  if (on_connection_ended_) on_connection_ended_();
}

asio::awaitable<void> hub_dispatcher::handle(std::shared_ptr<connection_state> st, hub_message& m) {
  auto& hc = *st->hc;
  const bool counted = std::holds_alternative<protocol::invocation_message>(m) ||
                       std::holds_alternative<protocol::stream_item_message>(m) ||
                       std::holds_alternative<protocol::completion_message>(m) ||
                       std::holds_alternative<protocol::cancel_invocation_message>(m);
  if (counted && !hc.accept_counted()) co_return;  // already processed before a reconnect
  if (auto* inv = std::get_if<protocol::invocation_message>(&m)) {
    handle_invocation(st, *inv);
  } else if (auto* item = std::get_if<protocol::stream_item_message>(&m)) {
    auto it = st->uploads.find(item->invocation_id);
    if (it != st->uploads.end()) {
      auto ch = it->second;
      // StreamBufferCapacity: the reader waits for the method to take items.
      if (ch->full()) co_await ch->async_wait_space();
      ch->push(std::move(item->item));
    }
  } else if (auto* c = std::get_if<protocol::completion_message>(&m)) {
    auto it = st->uploads.find(c->invocation_id);
    if (it != st->uploads.end()) {
      it->second->complete(c->error);
      st->uploads.erase(it);
    } else {
      // A client result (ClientResultsManager): only for an invocation sent to this connection.
      session::client_result r{c->error, std::move(c->result), c->has_result};
      if (!lifetime_->set_connection_result(st->conn->id(), c->invocation_id, std::move(r)))
        spdlog::debug("connection {}: a Completion for no invocation it was sent ('{}')",
                      st->conn->id(), log::escape(c->invocation_id));
    }
  } else if (auto* cancel = std::get_if<protocol::cancel_invocation_message>(&m)) {
    auto it = st->streams.find(cancel->invocation_id);
    if (it != st->streams.end()) {
      it->second->cancel();
    } else if (auto c = st->cancellations.find(cancel->invocation_id);
               c != st->cancellations.end()) {
      // An ordinary invocation: its cancellation_token says so; it still answers (ASP.NET:
      // the method decides what a cancelled call returns, or throws).
      c->second->cancel();
    }
  } else if (std::holds_alternative<protocol::ping_message>(m)) {
    hc.on_received(true);
  } else if (auto* close = std::get_if<protocol::close_message>(&m)) {
    st->close_error = close->error;
    hc.close(std::nullopt, false);
  } else if (auto* ack = std::get_if<protocol::ack_message>(&m)) {
    hc.on_ack(ack->sequence_id);
  } else if (auto* seq = std::get_if<protocol::sequence_message>(&m)) {
    if (!hc.on_sequence(seq->sequence_id)) {
      std::string text = "Connection closed with an error.";
      if (options_.enable_detailed_errors)
        text +=
            " InvalidOperationException: Sequence ID greater than amount of messages we've "
            "received.";
      hc.close(text, false);
    }
  }
  co_return;
}

void hub_dispatcher::handle_invocation(std::shared_ptr<connection_state> st,
                                       protocol::invocation_message& m) {
  auto& hc = *st->hc;
  auto reply_error = [&](const std::string& text) {
    if (m.invocation_id) hc.send_completion_error(*m.invocation_id, text);
  };
  const auto* method = find(m.target);
  const std::string bind_prefix =
      "Failed to invoke '" + m.target + "' due to an error on the server.";
  if (!method) {
    reply_error(bind_prefix + " HubException: Method does not exist.");
    return;
  }
  if (m.arguments.size() != method->arg_count) {
    std::string text = bind_prefix;
    if (options_.enable_detailed_errors)
      text += " InvalidDataException: Invocation provides " + std::to_string(m.arguments.size()) +
              " argument(s) but target expects " + std::to_string(method->arg_count) + ".";
    reply_error(text);
    return;
  }
  if (!m.streaming && method->streaming) {
    reply_error("The client attempted to invoke the streaming '" + m.target +
                "' method with a non-streaming invocation.");
    return;
  }
  if (m.streaming && !method->streaming) {
    reply_error("The client attempted to invoke the non-streaming '" + m.target +
                "' method with a streaming invocation.");
    return;
  }
  if (m.stream_ids.size() != method->stream_count) {
    reply_error("An unexpected error occurred invoking '" + m.target +
                "' on the server. HubException: Client sent " +
                std::to_string(m.stream_ids.size()) + " stream(s), Hub method expects " +
                std::to_string(method->stream_count) + ".");
    return;
  }
  if (m.streaming && st->streams.count(*m.invocation_id)) {
    reply_error("Invocation ID '" + *m.invocation_id + "' is already in use.");
    return;
  }
  // Upload streams exist from the moment the invocation is read: items may follow at once.
  detail::upload_list uploads;
  for (std::size_t i = 0; i < m.stream_ids.size(); ++i)
    uploads.push_back(
        std::make_shared<detail::upload_channel>(st->ex, options_.stream_buffer_capacity));
  // A CancelInvocation can reach an ordinary invocation only while its id is unique.
  std::shared_ptr<detail::cancellation_state> cancellation;
  if (method->takes_cancellation && !m.streaming && m.invocation_id &&
      !st->cancellations.count(*m.invocation_id))
    cancellation = std::make_shared<detail::cancellation_state>(st->ex);
  else if (method->takes_cancellation && m.streaming)
    cancellation = std::make_shared<detail::cancellation_state>(st->ex);
  detail::bound_call call;
  try {
    call = method->bind(m.arguments, uploads, cancellation_token(cancellation));
  } catch (const detail::binding_failure& e) {
    std::string text = bind_prefix;
    if (options_.enable_detailed_errors) text += std::string(" ") + e.what();
    reply_error(text);
    return;
  }
  for (std::size_t i = 0; i < m.stream_ids.size(); ++i) st->uploads[m.stream_ids[i]] = uploads[i];
  // The parsed arguments stay with the call for the filters (HubMethodArguments): moved, not
  // copied, and only when there are filters to read them.
  invocation_arguments args;
  if (!filters_.empty())
    args = std::make_shared<const std::vector<protocol::raw_value>>(std::move(m.arguments));

  if (m.streaming) {
    auto sink = std::make_shared<stream_sink_impl>(st->hc, *m.invocation_id, st->ex);
    if (cancellation) sink->link(std::move(cancellation));
    st->streams[*m.invocation_id] = sink;
    asio::co_spawn(
        st->ex,
        [this, st, id = *m.invocation_id, target = m.target, method, call = std::move(call),
         args = std::move(args)]() mutable {
          return run_stream(st, std::move(id), std::move(target), method, std::move(call),
                            std::move(args));
        },
        asio::detached);
    return;
  }
  // MaximumParallelInvocationsPerClient = 1: one non-streaming invocation at a time, in order,
  // while the reader keeps reading (pings, cancels, client results, upload items).
  if (cancellation) st->cancellations[*m.invocation_id] = cancellation;
  st->queue.push_back({m.invocation_id, m.target, method, std::move(call), std::move(args),
                       m.stream_ids, std::move(cancellation)});
  start_worker(st);
}

void hub_dispatcher::start_worker(std::shared_ptr<connection_state> st) {
  st->hc->invocation_started();
  if (!st->worker_running) {
    st->worker_running = true;
    asio::co_spawn(
        st->ex, [this, st] { return run_invocations(st); }, asio::detached);
  }
}

asio::awaitable<detail::invocation_outcome> hub_dispatcher::invoke(
    hub& h, const detail::method_descriptor& m, const detail::bound_call& call,
    const invocation_arguments& args) {
  if (filters_.empty()) return call(h);
  // The context lives in this frame while the filters run.
  return [](const detail::hub_filter_pipeline& filters, hub& h, std::string_view name,
            const detail::method_descriptor& m, const detail::bound_call& call,
            invocation_arguments args) -> asio::awaitable<detail::invocation_outcome> {
    static const std::vector<protocol::raw_value> none;
    hub_invocation_context ctx(h, name, m, args ? *args : none);
    co_return co_await filters.invoke(ctx, call);
  }(filters_, h, def_.name, m, call, args);
}

asio::awaitable<void> hub_dispatcher::run_invocations(std::shared_ptr<connection_state> st) {
  auto& hc = *st->hc;
  while (!st->queue.empty() && !st->reader_done) {
    auto p = std::move(st->queue.front());
    st->queue.pop_front();
    if (p.authentication_refreshed) {
      co_await authentication_refreshed(st);
      hc.invocation_finished();
      continue;
    }
    try {
      auto h = make_hub(*st);
      auto op = invoke(*h, *p.method, p.call, p.arguments);
      auto out = co_await std::move(op);
      if (p.id) {
        if (out.k == detail::invocation_outcome::kind::value)
          hc.send_completion_result(*p.id, out.value);
        else  // void methods answer `result: null` (§6.1)
          hc.send_completion_result(*p.id, protocol::payload::of(nullptr));
      }
    } catch (const unauthorized_invocation&) {
      if (p.id) hc.send_completion_error(*p.id, unauthorized_text(p.target));
    } catch (const std::exception& e) {
      if (p.id)
        hc.send_completion_error(*p.id, error_text("An unexpected error occurred invoking '" +
                                                       p.target + "' on the server.",
                                                   e));
    }
    // Upload streams the method left open are completed by the server.
    for (const auto& sid : p.upload_ids) {
      auto it = st->uploads.find(sid);
      if (it != st->uploads.end()) {
        it->second->complete(std::nullopt);
        st->uploads.erase(it);
      }
    }
    if (p.cancellation) st->cancellations.erase(*p.id);
    hc.invocation_finished();  // a shutdown waiting for this answer closes now
  }
  st->worker_running = false;
}

asio::awaitable<void> hub_dispatcher::run_stream(std::shared_ptr<connection_state> st,
                                                 std::string id, std::string target,
                                                 const detail::method_descriptor* method,
                                                 detail::bound_call call,
                                                 invocation_arguments args) {
  auto& hc = *st->hc;
  auto sink = st->streams[id];
  std::optional<std::string> error;
  std::unique_ptr<hub> h;
  detail::invocation_outcome out;
  bool started = false;
  try {
    h = make_hub(*st);
    auto op = invoke(*h, *method, call, args);
    out = co_await std::move(op);
    started = true;
  } catch (const unauthorized_invocation&) {
    error = unauthorized_text(target);
  } catch (const std::exception& e) {
    error = error_text("An unexpected error occurred invoking '" + target + "' on the server.", e);
  }
  if (started && out.k != detail::invocation_outcome::kind::stream) {
    error = "The value returned by the streaming method '" + target +
            "' is not a ChannelReader<> or IAsyncEnumerable<>.";
  } else if (started) {
    try {
      co_await out.producer(sink);
    } catch (const stream_cancelled&) {
    } catch (const std::exception& e) {
      if (!sink->cancelled())
        error = error_text("An error occurred on the server while streaming results.", e);
    }
  }
  sink->cancel();  // over: whatever still waits on it (a producer's side task) ends
  st->streams.erase(id);
  if (st->reader_done) co_return;
  if (error)
    hc.send_completion_error(id, *error);
  else
    hc.send_completion_void(id);  // end of stream, also after a cancel
}

}  // namespace hubcast::dispatch
