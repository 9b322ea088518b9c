#include "dispatch/hub_dispatcher.hpp"

#include "core/log.hpp"

#include <cctype>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/fifo.hpp"
#include "protocol/handshake.hpp"
#include "protocol/hub_protocol.hpp"
#include "protocol/text_framing.hpp"
#include "session/hub_connection.hpp"

namespace hubcast::dispatch {

namespace asio = boost::asio;
using protocol::hub_message;
using session::hub_connection;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string unauthorized_text(const std::string& target) {
  return "Failed to invoke '" + target + "' because user is unauthorized";
}

constexpr std::size_t stream_backpressure_bytes = 256 * 1024;

// Server-to-client stream bound to one invocation id.
class stream_sink_impl final : public detail::stream_sink {
 public:
  stream_sink_impl(std::shared_ptr<hub_connection> hc, std::string id, asio::any_io_executor ex)
      : hc_(std::move(hc)), id_(std::move(id)), event_(ex, asio::steady_timer::time_point::max()) {}

  asio::awaitable<void> async_write(protocol::payload item) override {
    if (cancelled_) throw stream_cancelled();
    // A slow client: wait for its queue to drain rather than buffer without bound.
    if (hc_->transport().queued_bytes() > stream_backpressure_bytes && !hc_->closing()) {
      auto draining = hc_->transport().async_wait_drained(stream_backpressure_bytes / 2);
      co_await std::move(draining);
    }
    if (cancelled_ || !hc_->send_stream_item(id_, item)) throw stream_cancelled();
  }

  bool cancelled() const override { return cancelled_; }

  detail::try_write_result try_write(const protocol::payload& item,
                                     detail::framing_cache& cache) override {
    if (cancelled_ || hc_->closing() || !hc_->protocol())
      return detail::try_write_result::cancelled;
    if (hc_->transport().queued_bytes() > stream_backpressure_bytes)
      return detail::try_write_result::full;
    const auto* proto = hc_->protocol();
    auto bytes = cache.find(proto, id_);
    if (!bytes) {
      std::string out;
      proto->write_stream_item(out, id_, item, hc_->options().encoding);
      bytes = std::make_shared<const std::string>(std::move(out));
      cache.add(proto, id_, bytes);
    }
    return hc_->send_framed(std::move(bytes)) ? detail::try_write_result::written
                                              : detail::try_write_result::cancelled;
  }

  asio::awaitable<void> async_wait_writable() override {
    if (cancelled_ || hc_->closing()) co_return;
    if (hc_->transport().queued_bytes() > stream_backpressure_bytes / 2) {
      auto draining = hc_->transport().async_wait_drained(stream_backpressure_bytes / 2);
      co_await std::move(draining);
    }
  }

  asio::awaitable<void> async_wait_cancelled() override {
    while (!cancelled_) {
      event_.expires_at(asio::steady_timer::time_point::max());
      co_await event_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  // The producer sees the cancellation at its next write or in wait_cancelled(). (Emitting an
  // Asio cancellation signal into the producer's own awaits was tried: the signal must outlive
  // the coroutine's last resumption, which the dispatcher cannot see.)
  void cancel() {
    if (cancelled_) return;
    cancelled_ = true;
    event_.cancel();
  }

 private:
  std::shared_ptr<hub_connection> hc_;
  std::string id_;
  asio::steady_timer event_;
  bool cancelled_ = false;
};

}  // namespace

struct hub_dispatcher::connection_state {
  struct pending_call {
    std::optional<std::string> id;
    std::string target;  // as the client spelled it
    const detail::method_descriptor* method = nullptr;
    detail::bound_call call;
    std::vector<std::string> upload_ids;
  };

  std::shared_ptr<transport::connection> conn;
  std::shared_ptr<hub_connection> hc;
  asio::any_io_executor ex;
  fifo<pending_call> queue;
  bool worker_running = false;
  bool reader_done = false;
  std::unordered_map<std::string, std::shared_ptr<detail::upload_channel>> uploads;
  std::unordered_map<std::string, std::shared_ptr<stream_sink_impl>> streams;
  std::optional<std::string> close_error;
};

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
    if (!co_await conn->async_read(chunk, binary)) {
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
        std::weak_ptr<hub_connection> weak = st.hc;
        conn->set_on_reconnected([weak] {
          if (auto hc = weak.lock()) hc->replay();
        });
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
  st->hc->user = conn->user();
  if (st->hc->user) {
    if (options_.user_id_provider) {
      st->hc->user_identifier = options_.user_id_provider(*st->hc->user);
    } else if (auto id = st->hc->user->name_identifier()) {
      st->hc->user_identifier = std::string(*id);
    }
  }
  conn->set_coalesce(true);
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
    if (!co_await conn->async_read(chunk, binary)) break;
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
  co_return true;
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
  st->queue.clear();
  for (auto& [id, s] : st->streams) s->cancel();
  for (auto& [id, u] : st->uploads) u->complete(std::string("The connection was closed."));
  hc.fail_all_results("Connection disconnected.");
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
      session::client_result r{c->error, std::move(c->result), c->has_result};
      hc.complete_result(c->invocation_id, std::move(r));
    }
  } else if (auto* cancel = std::get_if<protocol::cancel_invocation_message>(&m)) {
    auto it = st->streams.find(cancel->invocation_id);
    if (it != st->streams.end()) it->second->cancel();
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
  detail::bound_call call;
  try {
    call = method->bind(m.arguments, uploads);
  } catch (const detail::binding_failure& e) {
    std::string text = bind_prefix;
    if (options_.enable_detailed_errors) text += std::string(" ") + e.what();
    reply_error(text);
    return;
  }
  for (std::size_t i = 0; i < m.stream_ids.size(); ++i) st->uploads[m.stream_ids[i]] = uploads[i];

  if (m.streaming) {
    auto sink = std::make_shared<stream_sink_impl>(st->hc, *m.invocation_id, st->ex);
    st->streams[*m.invocation_id] = sink;
    asio::co_spawn(
        st->ex,
        [this, st, id = *m.invocation_id, target = m.target, method,
         call = std::move(call)]() mutable {
          return run_stream(st, std::move(id), std::move(target), method, std::move(call));
        },
        asio::detached);
    return;
  }
  // MaximumParallelInvocationsPerClient = 1: one non-streaming invocation at a time, in order,
  // while the reader keeps reading (pings, cancels, client results, upload items).
  st->queue.push_back({m.invocation_id, m.target, method, std::move(call), m.stream_ids});
  hc.invocation_started();
  if (!st->worker_running) {
    st->worker_running = true;
    asio::co_spawn(
        st->ex, [this, st] { return run_invocations(st); }, asio::detached);
  }
}

asio::awaitable<detail::invocation_outcome> hub_dispatcher::invoke(
    hub& h, const detail::method_descriptor& m, const detail::bound_call& call) {
  if (filters_.empty()) return call(h);
  // The context lives in this frame while the filters run.
  return [](const detail::hub_filter_pipeline& filters, hub& h, std::string_view name,
            const detail::method_descriptor& m,
            const detail::bound_call& call) -> asio::awaitable<detail::invocation_outcome> {
    hub_invocation_context ctx(h, name, m);
    co_return co_await filters.invoke(ctx, call);
  }(filters_, h, def_.name, m, call);
}

asio::awaitable<void> hub_dispatcher::run_invocations(std::shared_ptr<connection_state> st) {
  auto& hc = *st->hc;
  while (!st->queue.empty() && !st->reader_done) {
    auto p = std::move(st->queue.front());
    st->queue.pop_front();
    try {
      auto h = make_hub(*st);
      auto op = invoke(*h, *p.method, p.call);
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
    hc.invocation_finished();  // a shutdown waiting for this answer closes now
  }
  st->worker_running = false;
}

asio::awaitable<void> hub_dispatcher::run_stream(std::shared_ptr<connection_state> st,
                                                 std::string id, std::string target,
                                                 const detail::method_descriptor* method,
                                                 detail::bound_call call) {
  auto& hc = *st->hc;
  auto sink = st->streams[id];
  std::optional<std::string> error;
  std::unique_ptr<hub> h;
  detail::invocation_outcome out;
  bool started = false;
  try {
    h = make_hub(*st);
    auto op = invoke(*h, *method, call);
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
