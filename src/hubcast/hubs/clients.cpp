#include <hubcast/hubs/clients.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>

#include <hubcast/core/log.hpp>
#include <hubcast/core/shards.hpp>
#include <hubcast/lifetime/hub_lifetime_manager.hpp>
#include <hubcast/session/hub_connection.hpp>

namespace hubcast {

namespace asio = boost::asio;

bool client_proxy::send_to_caller_here(std::string_view method,
                                       const protocol::payload& args) const {
  if (kind_ != target_kind::caller) return false;
  auto c = caller_.lock();
  if (!c || lm_->shards().current() != c->shard()) return false;
  c->send_invocation(method, args);
  return true;
}

asio::awaitable<void> client_proxy::operation(std::string method, protocol::payload args) const {
  lifetime::outgoing m{std::move(method), std::move(args)};
  switch (kind_) {
    case target_kind::all:
      return lm_->send_all(std::move(m), {});
    case target_kind::all_except:
      return lm_->send_all(std::move(m), list_);
    case target_kind::connection:
    case target_kind::caller:
      return lm_->send_connection(key_, std::move(m));
    case target_kind::connections:
      return lm_->send_connections(list_, std::move(m));
    case target_kind::group:
      return lm_->send_group(key_, std::move(m), {});
    case target_kind::groups:
      return lm_->send_groups(list_, std::move(m));
    case target_kind::group_except:
      return lm_->send_group(key_, std::move(m), list_);
    case target_kind::user:
      return lm_->send_user(key_, std::move(m));
    case target_kind::users:
      break;
  }
  return lm_->send_users(list_, std::move(m));
}

void client_proxy::send_payload(std::string_view method, protocol::payload args) const {
  if (send_to_caller_here(method, args)) return;
  auto& shards = lm_->shards();
  auto here = shards.current();
  auto ex = shards.executor(here < shards.size() ? here : 0);
  // Started at once when called on that shard (co_spawn dispatches), queued in order otherwise.
  auto op = operation(std::string(method), std::move(args));
  asio::co_spawn(ex, std::move(op), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      spdlog::warn("A send to clients failed: {}", log::escape(x.what()));
    }
  });
}

asio::awaitable<void> client_proxy::send_payload_async(std::string method,
                                                       protocol::payload args) const {
  if (send_to_caller_here(method, args)) co_return;
  auto op = operation(std::move(method), std::move(args));
  co_await std::move(op);
}

boost::asio::awaitable<boost::json::value> single_client_proxy::invoke_raw(
    std::string method, protocol::payload args, std::chrono::milliseconds timeout) const {
  auto op = lm_->invoke_connection(key_, std::move(method), std::move(args), timeout);
  auto r = co_await std::move(op);
  if (r.error) throw hub_exception(*r.error);
  co_return r.has_value ? to_json_value(r.value) : boost::json::value(nullptr);
}

asio::awaitable<void> group_manager::add(std::string connection_id, std::string group) const {
  auto op = lm_->add_to_group(std::move(connection_id), std::move(group));
  co_await std::move(op);
}

asio::awaitable<void> group_manager::remove(std::string connection_id, std::string group) const {
  auto op = lm_->remove_from_group(std::move(connection_id), std::move(group));
  co_await std::move(op);
}

}  // namespace hubcast
