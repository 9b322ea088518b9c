#include "hubs/clients.hpp"

#include "core/shards.hpp"
#include "lifetime/hub_lifetime_manager.hpp"
#include "session/hub_connection.hpp"

namespace hubcast {

void client_proxy::send_payload(std::string_view method, protocol::payload args) const {
  lifetime::outgoing m{std::string(method), std::move(args)};
  switch (kind_) {
    case target_kind::all:
      lm_->send_all(m);
      break;
    case target_kind::all_except:
      lm_->send_all(m, list_);
      break;
    case target_kind::connection:
      lm_->send_connection(key_, m);
      break;
    case target_kind::connections:
      lm_->send_connections(list_, m);
      break;
    case target_kind::group:
      lm_->send_group(key_, m);
      break;
    case target_kind::groups:
      lm_->send_groups(list_, m);
      break;
    case target_kind::group_except:
      lm_->send_group(key_, m, list_);
      break;
    case target_kind::user:
      lm_->send_user(key_, m);
      break;
    case target_kind::users:
      lm_->send_users(list_, m);
      break;
    case target_kind::caller: {
      // On the caller's own shard, write directly: ordered with the invocation's Completion.
      auto c = caller_.lock();
      if (c && lm_->shards().current() == c->shard()) {
        c->send_invocation(m.target, m.args);
      } else {
        lm_->send_connection(key_, m);
      }
      break;
    }
  }
}

boost::asio::awaitable<boost::json::value> single_client_proxy::invoke_raw(
    std::string method, protocol::payload args, std::chrono::milliseconds timeout) const {
  auto r = co_await lm_->invoke_connection(key_, std::move(method), std::move(args), timeout);
  if (r.error) throw hub_exception(*r.error);
  co_return r.has_value ? to_json_value(r.value) : boost::json::value(nullptr);
}

void group_manager::add(const std::string& connection_id, const std::string& group) const {
  lm_->add_to_group(connection_id, group);
}

void group_manager::remove(const std::string& connection_id, const std::string& group) const {
  lm_->remove_from_group(connection_id, group);
}

}  // namespace hubcast
