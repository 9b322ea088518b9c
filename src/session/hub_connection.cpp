#include "session/hub_connection.hpp"

namespace hubcast::session {

hub_connection::hub_connection(std::shared_ptr<transport::connection> conn,
                               const hub_options& options)
    : conn_(std::move(conn)), options_(options) {
  last_write_ = last_read_ = clock::now();
}

hub_connection::~hub_connection() {
  fail_all_results("Connection closed.");
}

void hub_connection::set_protocol(const protocol::hub_protocol* p) {
  protocol_ = p;
  conn_->set_binary(p->format() == protocol::transfer_format::binary);
}

bool hub_connection::send_bytes(protocol::shared_bytes b) {
  if (closing_) return false;
  if (conn_->try_send(std::move(b)) != transport::send_result::ok) return false;
  last_write_ = clock::now();
  return true;
}

bool hub_connection::send(const protocol::serialized_message& m) {
  if (!protocol_) return false;
  auto b = m.get(protocol_->id());
  if (!b) return send_invocation(m.target(), m.args());  // its protocol was not in use yet
  return send_bytes(std::move(b));
}

bool hub_connection::write(std::string bytes) {
  return send_bytes(std::make_shared<const std::string>(std::move(bytes)));
}

bool hub_connection::send_invocation(std::string_view target, const protocol::payload& args,
                                     std::optional<std::string_view> invocation_id) {
  if (!protocol_ || closing_) return false;
  std::string out;
  protocol_->write_invocation(out, target, args, invocation_id, options_.encoding);
  return write(std::move(out));
}

bool hub_connection::send_completion_result(std::string_view id, const protocol::payload& r) {
  if (!protocol_ || closing_) return false;
  std::string out;
  protocol_->write_completion_result(out, id, r, options_.encoding);
  return write(std::move(out));
}

bool hub_connection::send_completion_error(std::string_view id, std::string_view error) {
  if (!protocol_ || closing_) return false;
  std::string out;
  protocol_->write_completion_error(out, id, error);
  return write(std::move(out));
}

bool hub_connection::send_completion_void(std::string_view id) {
  if (!protocol_ || closing_) return false;
  std::string out;
  protocol_->write_completion_void(out, id);
  return write(std::move(out));
}

bool hub_connection::send_stream_item(std::string_view id, const protocol::payload& item) {
  if (!protocol_ || closing_) return false;
  std::string out;
  protocol_->write_stream_item(out, id, item, options_.encoding);
  return write(std::move(out));
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
  if (client_clock_started_ && now - last_read_ >= options_.client_timeout_interval) {
    std::string error = "Connection closed with an error.";
    if (options_.enable_detailed_errors)
      error +=
          " OperationCanceledException: Client hasn't sent a message/ping within the configured "
          "ClientTimeoutInterval.";
    close(std::move(error), true);
    return;
  }
  if (now - last_write_ >= options_.keep_alive_interval) {
    std::string out;
    protocol_->write_ping(out);
    write(std::move(out));
  }
}

std::string hub_connection::register_result(result_handler h) {
  auto id = std::to_string(next_result_id_++);
  pending_results_.emplace(id, std::move(h));
  return id;
}

bool hub_connection::complete_result(const std::string& id, client_result r) {
  auto it = pending_results_.find(id);
  if (it == pending_results_.end()) return false;
  auto h = std::move(it->second);
  pending_results_.erase(it);
  h(std::move(r));
  return true;
}

void hub_connection::cancel_result(const std::string& id) {
  pending_results_.erase(id);
}

void hub_connection::fail_all_results(const std::string& error) {
  auto pending = std::move(pending_results_);
  pending_results_.clear();
  for (auto& [id, h] : pending) h(client_result{error, {}, false});
}

}  // namespace hubcast::session
