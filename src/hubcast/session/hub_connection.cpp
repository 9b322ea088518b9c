#include <hubcast/session/hub_connection.hpp>

#include <algorithm>
#include <stdexcept>

namespace hubcast::session {

hub_connection::hub_connection(std::shared_ptr<transport::connection> conn,
                               const hub_options& options)
    : conn_(std::move(conn)), options_(options) {
  last_write_ = last_read_ = clock::now();
}

void hub_connection::set_user_identifier(std::optional<std::string> id) {
  if (user_identifier_set_) throw std::logic_error("a connection's user identifier is set once");
  user_identifier_set_ = true;
  user_identifier_ = std::move(id);
}

bool hub_connection::join_group(const std::string& group) {
  if (std::find(groups_.begin(), groups_.end(), group) != groups_.end()) return false;
  groups_.push_back(group);
  return true;
}

bool hub_connection::leave_group(const std::string& group) {
  auto it = std::find(groups_.begin(), groups_.end(), group);
  if (it == groups_.end()) return false;
  groups_.erase(it);
  return true;
}

hub_connection::~hub_connection() = default;

void hub_connection::set_protocol(const protocol::hub_protocol* p) {
  protocol_ = p;
  conn_->set_binary(p->format() == protocol::transfer_format::binary);
}

bool hub_connection::send_bytes(protocol::shared_bytes b) {
  const std::size_t size = b->size();
  if (closing_ || conn_->try_send(std::move(b)) != transport::send_result::ok) {
    if (counters_) counters_->messages_dropped.add();
    return false;
  }
  if (counters_) {
    counters_->messages_sent.add();
    counters_->bytes_sent.add(size);
  }
  // No clock read per delivery: the heartbeat (1 s) stamps the time of the last write.
  wrote_since_tick_ = true;
  return true;
}

bool hub_connection::send(const protocol::serialized_message& m) {
  if (!protocol_) return false;
  auto b = m.get(protocol_->id());
  if (!b) {
    if (!m.has_source()) return false;  // from a backplane, without this protocol's bytes
    return send_invocation(m.target(), m.args());  // its protocol was not in use yet
  }
  return write_counted(std::move(b));
}

bool hub_connection::write(std::string bytes) {
  return send_bytes(std::make_shared<const std::string>(std::move(bytes)));
}

bool hub_connection::write_counted(protocol::shared_bytes bytes) {
  if (closing_) return false;
  if (stateful_) {
    // Kept until acknowledged and replayed after a reconnect; it shares the queued bytes.
    replay_.push_back({++sent_seq_, bytes});
    replay_bytes_ += bytes->size();
    if (conn_->is_lost()) return true;  // the replay will carry it
  }
  return send_bytes(std::move(bytes));
}

void hub_connection::enable_stateful() {
  stateful_ = true;
}

bool hub_connection::accept_counted() {
  if (!stateful_) return true;
  ++received_seq_;
  if (received_seq_ <= highest_processed_) return false;
  highest_processed_ = received_seq_;
  return true;
}

void hub_connection::on_ack(std::int64_t id) {
  while (!replay_.empty() && replay_.front().id <= id) {
    replay_bytes_ -= replay_.front().bytes->size();
    replay_.pop_front();
  }
}

bool hub_connection::on_sequence(std::int64_t id) {
  if (!stateful_) return true;
  if (id > received_seq_ + 1) return false;
  received_seq_ = id - 1;
  return true;
}

void hub_connection::replay() {
  if (!stateful_ || !protocol_ || closing_) return;
  std::string seq;
  protocol_->write_sequence(seq, replay_.empty() ? sent_seq_ + 1 : replay_.front().id);
  write(std::move(seq));
  for (const auto& b : replay_) send_bytes(b.bytes);
  last_read_ = clock::now();
}

bool hub_connection::send_invocation(std::string_view target, const protocol::payload& args,
                                     std::optional<std::string_view> invocation_id) {
  if (!protocol_ || closing_) return false;
  std::string out;
  protocol_->write_invocation(out, target, args, invocation_id, options_.encoding);
  return write_counted(std::make_shared<const std::string>(std::move(out)));
}

bool hub_connection::send_completion_result(std::string_view id, const protocol::payload& r) {
  if (!protocol_ || closing_) return false;
  std::string out;
  protocol_->write_completion_result(out, id, r, options_.encoding);
  return write_counted(std::make_shared<const std::string>(std::move(out)));
}

bool hub_connection::send_completion_error(std::string_view id, std::string_view error) {
  if (!protocol_ || closing_) return false;
  std::string out;
  protocol_->write_completion_error(out, id, error);
  return write_counted(std::make_shared<const std::string>(std::move(out)));
}

bool hub_connection::send_completion_void(std::string_view id) {
  if (!protocol_ || closing_) return false;
  std::string out;
  protocol_->write_completion_void(out, id);
  return write_counted(std::make_shared<const std::string>(std::move(out)));
}

bool hub_connection::send_stream_item(std::string_view id, const protocol::payload& item) {
  if (!protocol_ || closing_) return false;
  std::string out;
  protocol_->write_stream_item(out, id, item, options_.encoding);
  return write_counted(std::make_shared<const std::string>(std::move(out)));
}

void hub_connection::close(std::optional<std::string> error, bool allow_reconnect) {
  if (closing_) return;
  if (protocol_) {
    std::string out;
    protocol_->write_close(out, error, allow_reconnect);
    write(std::move(out));
  }
  closing_ = true;
  conn_->complete();
}

void hub_connection::close_when_idle(std::optional<std::string> error, bool allow_reconnect) {
  if (closing_) return;
  if (in_flight_ == 0) {
    close(std::move(error), allow_reconnect);
    return;
  }
  close_when_idle_ = pending_close{std::move(error), allow_reconnect};
}

void hub_connection::invocation_finished() {
  if (in_flight_ > 0) --in_flight_;
  if (in_flight_ == 0 && close_when_idle_) {
    auto c = std::move(*close_when_idle_);
    close_when_idle_.reset();
    close(std::move(c.error), c.allow_reconnect);
  }
}

void hub_connection::on_received(bool is_ping) {
  last_read_ = clock::now();
  // The client-timeout clock starts with the first Ping (old clients never ping).
  if (is_ping) client_clock_started_ = true;
}

void hub_connection::tick(clock::time_point now) {
  if (closing_ || !protocol_) return;
  if (options_.close_on_authentication_expiration) {
    auto exp = conn_->auth_expires_at();
    if (exp && std::chrono::system_clock::now() >= *exp) {
      // §12: no error, reconnect allowed: the client comes back with a fresh token.
      close(std::nullopt, true);
      return;
    }
  }
  if (conn_->transport() == transport::transport_type::long_polling) return;
  if (conn_->is_lost()) return;  // waiting for a stateful reconnect: no clocks
  if (stateful_ && highest_processed_ > last_ack_sent_) {
    // At most one Ack per heartbeat, only when something new arrived (§11).
    std::string ack;
    protocol_->write_ack(ack, highest_processed_);
    write(std::move(ack));
    last_ack_sent_ = highest_processed_;
  }
  if (client_clock_started_ && now - last_read_ >= options_.client_timeout_interval) {
    std::string error = "Connection closed with an error.";
    if (options_.enable_detailed_errors)
      error +=
          " OperationCanceledException: Client hasn't sent a message/ping within the configured "
          "ClientTimeoutInterval.";
    close(std::move(error), true);
    return;
  }
  if (wrote_since_tick_) {
    wrote_since_tick_ = false;
    last_write_ = now;
  }
  if (now - last_write_ >= options_.keep_alive_interval) {
    std::string out;
    protocol_->write_ping(out);
    write(std::move(out));
    wrote_since_tick_ = false;
    last_write_ = now;
  }
}

}  // namespace hubcast::session
