#include "statistics.hpp"

#include <algorithm>
#include <cmath>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <hubcast/protocol/json_parse.hpp>
#include "wire_text.hpp"

namespace stockhub {

void connection_registry::add(const std::string& connection_id, entry e) {
  std::lock_guard lock(mutex_);
  by_id_[connection_id] = std::move(e);
}

void connection_registry::remove(const std::string& connection_id) {
  std::lock_guard lock(mutex_);
  by_id_.erase(connection_id);
}

std::vector<connected_user> connection_registry::users() const {
  std::map<std::string, connected_user> by_email;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, e] : by_id_) {
      auto& u = by_email[e.email];
      if (u.connections == 0) {
        u.email = e.email;
        u.roles = e.roles;
        u.connected_since = e.since;
      }
      ++u.connections;
      if (std::find(u.transports.begin(), u.transports.end(), e.transport) == u.transports.end())
        u.transports.push_back(e.transport);
      if (e.since < u.connected_since) u.connected_since = e.since;
    }
  }
  std::vector<connected_user> out;
  for (auto& [email, u] : by_email) {
    std::sort(u.transports.begin(), u.transports.end());
    out.push_back(std::move(u));
  }
  return out;
}

void connection_registry::count(node_statistics& out) const {
  std::lock_guard lock(mutex_);
  std::map<std::string, int> users;
  out.connections = static_cast<int>(by_id_.size());
  for (const auto& [id, e] : by_id_) {
    ++out.connections_by_transport[e.transport];
    ++out.connections_by_protocol[e.protocol];
    ++users[e.email];
  }
  out.connected_users = static_cast<int>(users.size());
}

namespace {
bool valid_breakdown(const std::map<std::string, int>& m) {
  if (m.size() > 16) return false;
  for (const auto& [k, n] : m)
    if (!printable_token(k, 32) || n < 0) return false;
  return true;
}

bool valid_rate(double r) {
  return std::isfinite(r) && r >= 0;
}
}  // namespace

std::string encode_node_statistics(const node_statistics& s) {
  return boost::json::serialize(hubcast::to_json(s));
}

std::optional<node_statistics> decode_node_statistics(std::string_view in) {
  if (in.size() > max_node_statistics_bytes) return std::nullopt;
  boost::json::parse_options options;
  options.max_depth = 3;
  boost::system::error_code ec;
  auto v = hubcast::protocol::parse_json(in, ec, options);
  if (ec || !v.is_object()) return std::nullopt;
  node_statistics s;
  try {
    s = hubcast::from_json<node_statistics>(v);
  } catch (const hubcast::binding_error&) {
    return std::nullopt;
  }
  if (!printable_token(s.node, 256) || s.connections < 0 || s.connected_users < 0 ||
      !valid_breakdown(s.connections_by_transport) || !valid_breakdown(s.connections_by_protocol) ||
      !valid_rate(s.messages_per_second) || !valid_rate(s.ticks_per_second))
    return std::nullopt;
  return s;
}

std::pair<double, double> rate_meter::sample(std::uint64_t messages, std::uint64_t ticks,
                                             std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (!started_) {
    started_ = true;
    at_ = now;
    messages_ = messages;
    ticks_ = ticks;
    return {0, 0};
  }
  auto elapsed = now - at_;
  if (elapsed >= window_) {
    double seconds = std::chrono::duration<double>(elapsed).count();
    message_rate_ = static_cast<double>(messages - messages_) / seconds;
    tick_rate_ = static_cast<double>(ticks - ticks_) / seconds;
    at_ = now;
    messages_ = messages;
    ticks_ = ticks;
  }
  return {message_rate_, tick_rate_};
}

}  // namespace stockhub
